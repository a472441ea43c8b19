//! Schema-driven msgpack decoding of DynamicValues, as Terraform sends them:
//! never a panic, and whatever decodes re-encodes to something that decodes
//! to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfplugin::Type;
use tfplugin::value::{from_msgpack, to_msgpack};

fn types() -> Vec<Type> {
    vec![
        Type::object([
            ("s", Type::String),
            ("n", Type::Number),
            ("b", Type::Bool),
            ("l", Type::list(Type::String)),
            ("set", Type::set(Type::object([("a", Type::String), ("b", Type::Number)]))),
            ("m", Type::map(Type::Bool)),
            ("t", Type::Tuple(vec![Type::String, Type::Dynamic])),
            ("d", Type::Dynamic),
        ]),
        Type::Dynamic,
        Type::list(Type::Dynamic),
        Type::Number,
    ]
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let types = types();
    let ty = &types[selector as usize % types.len()];
    if let Ok(v) = from_msgpack(bytes, ty) {
        let again = to_msgpack(&v, ty).expect("a decoded value re-encodes");
        let back = from_msgpack(&again, ty).expect("a re-encoded value decodes");
        assert_eq!(back, v);
    }
});
