//! The JSON form of stored state (UpgradeResourceState): never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfplugin::Type;
use tfplugin::value::from_json_bytes;

fuzz_target!(|data: &[u8]| {
    let ty = Type::object([
        ("id", Type::String),
        ("n", Type::Number),
        ("tags", Type::set(Type::String)),
        ("nested", Type::list(Type::object([("a", Type::Bool)]))),
        ("d", Type::Dynamic),
    ]);
    let _ = from_json_bytes(data, &ty, true);
    let _ = from_json_bytes(data, &ty, false);
    let _ = Type::from_json_bytes(data);
});
