//! Schema-driven msgpack, the form Terraform uses for every DynamicValue.
//!
//! Decoding reads the bytes into an `rmpv::Value` first (bounded depth, no
//! pre-allocation from untrusted lengths) and then walks it alongside the
//! type, so malformed input always ends in an error, never a panic.

use std::collections::BTreeMap;

use rmpv::Value as Mp;

use super::{Number, Refinements, Value};
use crate::types::Type;

/// Extension code of a plain unknown.
const EXT_UNKNOWN: i8 = 0;
/// Extension code of an unknown carrying refinements.
const EXT_REFINED: i8 = 12;
const MAX_DEPTH: usize = 256;

/// Why msgpack bytes are not a value of the expected type (or a value
/// cannot be encoded as one).
#[derive(Debug, thiserror::Error)]
pub enum MsgpackError {
    /// Not msgpack at all.
    #[error("malformed msgpack: {0}")]
    Malformed(String),
    /// A value of the wrong kind.
    #[error("at {path}: expected {expected}, found {found}")]
    Mismatch {
        /// Where, as an attribute path.
        path: String,
        /// What the type wants.
        expected: String,
        /// What was there.
        found: String,
    },
    /// An object attribute the type does not have.
    #[error("at {path}: attribute {name:?} is not in the schema")]
    UnexpectedAttribute {
        /// Where, as an attribute path.
        path: String,
        /// The attribute.
        name: String,
    },
    /// Anything else wrong with a value.
    #[error("at {path}: {message}")]
    Invalid {
        /// Where, as an attribute path.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Decodes msgpack `bytes` as a value of type `ty`.
pub fn from_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, MsgpackError> {
    let mut rd = bytes;
    let mp = rmpv::decode::read_value_with_max_depth(&mut rd, MAX_DEPTH)
        .map_err(|e| MsgpackError::Malformed(e.to_string()))?;
    if !rd.is_empty() {
        return Err(MsgpackError::Malformed(format!(
            "{} trailing bytes",
            rd.len()
        )));
    }
    let mut path = String::new();
    decode(&mp, ty, &mut path)
}

/// Encodes `value` as msgpack for type `ty`.
pub fn to_msgpack(value: &Value, ty: &Type) -> Result<Vec<u8>, MsgpackError> {
    let mut path = String::new();
    let mp = encode(value, ty, &mut path)?;
    let mut out = Vec::with_capacity(64);
    rmpv::encode::write_value(&mut out, &mp).map_err(|e| MsgpackError::Malformed(e.to_string()))?;
    Ok(out)
}

fn kind(mp: &Mp) -> &'static str {
    match mp {
        Mp::Nil => "nil",
        Mp::Boolean(_) => "bool",
        Mp::Integer(_) => "integer",
        Mp::F32(_) | Mp::F64(_) => "float",
        Mp::String(_) => "string",
        Mp::Binary(_) => "binary",
        Mp::Array(_) => "array",
        Mp::Map(_) => "map",
        Mp::Ext(..) => "extension",
    }
}

fn shown(path: &str) -> String {
    if path.is_empty() {
        "the root".to_owned()
    } else {
        path.to_owned()
    }
}

fn mismatch(path: &str, expected: &Type, found: &Mp) -> MsgpackError {
    MsgpackError::Mismatch {
        path: shown(path),
        expected: expected.to_string(),
        found: kind(found).to_owned(),
    }
}

fn with_segment<T>(path: &mut String, seg: &str, f: impl FnOnce(&mut String) -> T) -> T {
    let len = path.len();
    path.push_str(seg);
    let out = f(path);
    path.truncate(len);
    out
}

fn decode(mp: &Mp, ty: &Type, path: &mut String) -> Result<Value, MsgpackError> {
    // Terraform may send an unknown in any position, with any extension code.
    if let Mp::Ext(code, payload) = mp {
        let refinements = if *code == EXT_REFINED {
            decode_refinements(payload)
        } else {
            Refinements::default()
        };
        return Ok(Value::Unknown(refinements));
    }
    if let Type::Dynamic = ty {
        return decode_dynamic(mp, path);
    }
    if let Mp::Nil = mp {
        return Ok(Value::Null);
    }
    match ty {
        Type::String => match mp {
            Mp::String(s) => match s.as_str() {
                Some(s) => Ok(Value::String(s.to_owned())),
                None => Err(MsgpackError::Invalid {
                    path: shown(path),
                    message: "string is not valid UTF-8".into(),
                }),
            },
            _ => Err(mismatch(path, ty, mp)),
        },
        Type::Number => decode_number(mp)
            .map(Value::Number)
            .ok_or_else(|| mismatch(path, ty, mp)),
        Type::Bool => match mp {
            Mp::Boolean(b) => Ok(Value::Bool(*b)),
            _ => Err(mismatch(path, ty, mp)),
        },
        Type::List(el) | Type::Set(el) => {
            let Mp::Array(items) = mp else {
                return Err(mismatch(path, ty, mp));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(with_segment(path, &format!("[{i}]"), |p| {
                    decode(item, el, p)
                })?);
            }
            Ok(if matches!(ty, Type::Set(_)) {
                Value::Set(out)
            } else {
                Value::List(out)
            })
        }
        Type::Map(el) => {
            let Mp::Map(entries) = mp else {
                return Err(mismatch(path, ty, mp));
            };
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let key = map_key(k, path)?;
                let value = with_segment(path, &format!("[{key:?}]"), |p| decode(v, el, p))?;
                out.insert(key, value);
            }
            Ok(Value::Map(out))
        }
        Type::Object(attrs) => {
            let Mp::Map(entries) = mp else {
                return Err(mismatch(path, ty, mp));
            };
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let key = map_key(k, path)?;
                let Some(attr_ty) = attrs.get(&key) else {
                    return Err(MsgpackError::UnexpectedAttribute {
                        path: shown(path),
                        name: key,
                    });
                };
                let value = with_segment(path, &format!(".{key}"), |p| decode(v, attr_ty, p))?;
                out.insert(key, value);
            }
            // Terraform always sends every attribute; tolerate a short object
            // by filling nulls rather than failing the whole request.
            for name in attrs.keys() {
                out.entry(name.clone()).or_insert(Value::Null);
            }
            Ok(Value::Object(out))
        }
        Type::Tuple(elems) => {
            let Mp::Array(items) = mp else {
                return Err(mismatch(path, ty, mp));
            };
            if items.len() != elems.len() {
                return Err(MsgpackError::Invalid {
                    path: shown(path),
                    message: format!("tuple of {} elements, found {}", elems.len(), items.len()),
                });
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, el)) in items.iter().zip(elems).enumerate() {
                out.push(with_segment(path, &format!("[{i}]"), |p| {
                    decode(item, el, p)
                })?);
            }
            Ok(Value::Tuple(out))
        }
        Type::Dynamic => unreachable!("handled above"),
    }
}

fn map_key(k: &Mp, path: &str) -> Result<String, MsgpackError> {
    match k {
        Mp::String(s) => s
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| MsgpackError::Invalid {
                path: shown(path),
                message: "map key is not valid UTF-8".into(),
            }),
        other => Err(MsgpackError::Invalid {
            path: shown(path),
            message: format!("map key must be a string, found {}", kind(other)),
        }),
    }
}

fn decode_dynamic(mp: &Mp, path: &mut String) -> Result<Value, MsgpackError> {
    match mp {
        Mp::Nil => Ok(Value::Null),
        Mp::Array(parts) if parts.len() == 2 => {
            let type_json = match &parts[0] {
                Mp::Binary(b) => b.as_slice(),
                Mp::String(s) => s.as_bytes(),
                other => {
                    return Err(MsgpackError::Invalid {
                        path: shown(path),
                        message: format!("dynamic value type must be bytes, found {}", kind(other)),
                    });
                }
            };
            let ty = Type::from_json_bytes(type_json).map_err(|e| MsgpackError::Invalid {
                path: shown(path),
                message: e.to_string(),
            })?;
            let inner = decode(&parts[1], &ty, path)?;
            Ok(Value::Dynamic(ty, Box::new(inner)))
        }
        other => Err(MsgpackError::Invalid {
            path: shown(path),
            message: format!(
                "dynamic value must be a [type, value] pair, found {}",
                kind(other)
            ),
        }),
    }
}

fn decode_number(mp: &Mp) -> Option<Number> {
    match mp {
        Mp::Integer(i) => {
            if let Some(v) = i.as_i64() {
                Some(Number::Int(v))
            } else {
                i.as_u64().map(Number::from_u64)
            }
        }
        // Terraform numbers are real numbers: NaN and infinities are not values.
        Mp::F32(f) if f.is_finite() => Some(Number::from_f64(f64::from(*f))),
        Mp::F64(f) if f.is_finite() => Some(Number::from_f64(*f)),
        Mp::String(s) => s.as_str().and_then(|s| Number::parse(s).ok()),
        _ => None,
    }
}

/// Refinement keys of extension 12 (cty's msgpack unknown encoding).
mod refinement_key {
    pub const NULLNESS: u64 = 1;
    pub const STRING_PREFIX: u64 = 2;
    pub const NUMBER_MIN: u64 = 3;
    pub const NUMBER_MAX: u64 = 4;
    pub const LENGTH_MIN: u64 = 5;
    pub const LENGTH_MAX: u64 = 6;
}

/// Reads what it understands and ignores the rest: a refinement we cannot
/// read only makes the unknown less precise, never wrong.
fn decode_refinements(payload: &[u8]) -> Refinements {
    let mut out = Refinements::default();
    let mut rd = payload;
    let Ok(Mp::Map(entries)) = rmpv::decode::read_value_with_max_depth(&mut rd, 8) else {
        return out;
    };
    for (k, v) in &entries {
        let Some(key) = k.as_u64() else { continue };
        match key {
            refinement_key::NULLNESS => out.nullable = v.as_bool(),
            refinement_key::STRING_PREFIX => out.string_prefix = v.as_str().map(str::to_owned),
            refinement_key::NUMBER_MIN | refinement_key::NUMBER_MAX => {
                let bound = match v {
                    Mp::Array(pair) if pair.len() == 2 => {
                        decode_number(&pair[0]).zip(pair[1].as_bool())
                    }
                    _ => None,
                };
                if key == refinement_key::NUMBER_MIN {
                    out.number_lower = bound;
                } else {
                    out.number_upper = bound;
                }
            }
            refinement_key::LENGTH_MIN => out.length_lower = v.as_i64(),
            refinement_key::LENGTH_MAX => out.length_upper = v.as_i64(),
            _ => {}
        }
    }
    out
}

fn encode_refinements(r: &Refinements) -> Vec<u8> {
    let mut entries = Vec::new();
    if let Some(n) = r.nullable {
        entries.push((Mp::from(refinement_key::NULLNESS), Mp::Boolean(n)));
    }
    if let Some(p) = &r.string_prefix {
        entries.push((
            Mp::from(refinement_key::STRING_PREFIX),
            Mp::from(p.as_str()),
        ));
    }
    for (key, bound) in [
        (refinement_key::NUMBER_MIN, &r.number_lower),
        (refinement_key::NUMBER_MAX, &r.number_upper),
    ] {
        if let Some((n, inclusive)) = bound {
            entries.push((
                Mp::from(key),
                Mp::Array(vec![encode_number(n), Mp::Boolean(*inclusive)]),
            ));
        }
    }
    for (key, len) in [
        (refinement_key::LENGTH_MIN, r.length_lower),
        (refinement_key::LENGTH_MAX, r.length_upper),
    ] {
        if let Some(l) = len {
            entries.push((Mp::from(key), Mp::from(l)));
        }
    }
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &Mp::Map(entries)).expect("writing to a Vec cannot fail");
    out
}

fn encode_number(n: &Number) -> Mp {
    match n {
        Number::Int(i) => Mp::from(*i),
        Number::Float(f) => Mp::F64(*f),
        Number::Big(s) => Mp::from(s.as_str()),
    }
}

fn encode(value: &Value, ty: &Type, path: &mut String) -> Result<Mp, MsgpackError> {
    let wrong = |path: &str, what: &str| MsgpackError::Mismatch {
        path: shown(path),
        expected: ty.to_string(),
        found: what.to_owned(),
    };
    match value {
        Value::Unknown(r) => {
            return Ok(if r.is_empty() {
                Mp::Ext(EXT_UNKNOWN, vec![0])
            } else {
                Mp::Ext(EXT_REFINED, encode_refinements(r))
            });
        }
        Value::Null => return Ok(Mp::Nil),
        _ => {}
    }
    if let Type::Dynamic = ty {
        let (inner_ty, inner) = match value {
            Value::Dynamic(t, v) => (t.clone(), v.as_ref()),
            other => (other.infer_type(), other),
        };
        let encoded = encode(inner, &inner_ty, path)?;
        return Ok(Mp::Array(vec![
            Mp::Binary(inner_ty.to_json_bytes()),
            encoded,
        ]));
    }
    if let Value::Dynamic(_, inner) = value {
        return encode(inner, ty, path);
    }
    match (ty, value) {
        (Type::String, Value::String(s)) => Ok(Mp::from(s.as_str())),
        (Type::Number, Value::Number(n)) => Ok(encode_number(n)),
        (Type::Bool, Value::Bool(b)) => Ok(Mp::Boolean(*b)),
        (Type::List(el), Value::List(items) | Value::Set(items) | Value::Tuple(items))
        | (Type::Set(el), Value::Set(items) | Value::List(items) | Value::Tuple(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(with_segment(path, &format!("[{i}]"), |p| {
                    encode(item, el, p)
                })?);
            }
            Ok(Mp::Array(out))
        }
        (Type::Map(el), Value::Map(m) | Value::Object(m)) => {
            let mut out = Vec::with_capacity(m.len());
            for (k, v) in m {
                let enc = with_segment(path, &format!("[{k:?}]"), |p| encode(v, el, p))?;
                out.push((Mp::from(k.as_str()), enc));
            }
            Ok(Mp::Map(out))
        }
        (Type::Object(attrs), Value::Object(m) | Value::Map(m)) => {
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(MsgpackError::UnexpectedAttribute {
                    path: shown(path),
                    name: extra.clone(),
                });
            }
            let mut out = Vec::with_capacity(attrs.len());
            for (name, attr_ty) in attrs {
                let v = m.get(name).unwrap_or(&Value::Null);
                let enc = with_segment(path, &format!(".{name}"), |p| encode(v, attr_ty, p))?;
                out.push((Mp::from(name.as_str()), enc));
            }
            Ok(Mp::Map(out))
        }
        (Type::Tuple(elems), Value::Tuple(items) | Value::List(items))
            if items.len() == elems.len() =>
        {
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, el)) in items.iter().zip(elems).enumerate() {
                out.push(with_segment(path, &format!("[{i}]"), |p| {
                    encode(item, el, p)
                })?);
            }
            Ok(Mp::Array(out))
        }
        (_, v) => Err(wrong(path, value_kind(v))),
    }
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Unknown(_) => "unknown",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Set(_) => "set",
        Value::Map(_) => "map",
        Value::Object(_) => "object",
        Value::Tuple(_) => "tuple",
        Value::Dynamic(..) => "dynamic",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: &Value, ty: &Type) -> Value {
        let bytes = to_msgpack(v, ty).unwrap();
        from_msgpack(&bytes, ty).unwrap()
    }

    fn every_type() -> Type {
        Type::object([
            ("s", Type::String),
            ("n", Type::Number),
            ("b", Type::Bool),
            ("l", Type::list(Type::String)),
            ("set", Type::set(Type::Number)),
            ("m", Type::map(Type::Bool)),
            (
                "o",
                Type::object([("x", Type::String), ("y", Type::list(Type::Number))]),
            ),
            (
                "t",
                Type::Tuple(vec![Type::String, Type::Number, Type::Bool]),
            ),
            ("d", Type::Dynamic),
        ])
    }

    #[test]
    fn every_type_round_trips() {
        let v = Value::object([
            ("s", Value::from("héllo")),
            ("n", Value::Number(Number::Float(1.25))),
            ("b", Value::from(true)),
            ("l", Value::List(vec!["a".into(), "b".into()])),
            ("set", Value::Set(vec![Value::from(1), Value::from(2)])),
            (
                "m",
                Value::Map([("k".to_owned(), Value::from(false))].into()),
            ),
            (
                "o",
                Value::object([
                    ("x", Value::from("x")),
                    ("y", Value::List(vec![Value::from(7)])),
                ]),
            ),
            (
                "t",
                Value::Tuple(vec!["a".into(), Value::from(1), Value::from(true)]),
            ),
            (
                "d",
                Value::Dynamic(
                    Type::list(Type::String),
                    Box::new(Value::List(vec!["z".into()])),
                ),
            ),
        ]);
        assert_eq!(round_trip(&v, &every_type()), v);
    }

    #[test]
    fn nulls_and_unknowns_inside_collections_round_trip() {
        let ty = Type::object([
            ("l", Type::list(Type::String)),
            ("m", Type::map(Type::Number)),
            ("o", Type::object([("a", Type::String)])),
            ("d", Type::Dynamic),
        ]);
        let v = Value::object([
            (
                "l",
                Value::List(vec![Value::Null, Value::unknown(), "x".into()]),
            ),
            (
                "m",
                Value::Map(
                    [
                        ("a".to_owned(), Value::Null),
                        ("b".to_owned(), Value::unknown()),
                    ]
                    .into(),
                ),
            ),
            ("o", Value::Null),
            ("d", Value::unknown()),
        ]);
        assert_eq!(round_trip(&v, &ty), v);
        let whole = Value::unknown();
        assert_eq!(round_trip(&whole, &ty), whole);
    }

    #[test]
    fn refined_unknowns_round_trip_and_plain_unknown_uses_code_zero() {
        let r = Refinements {
            nullable: Some(false),
            string_prefix: Some("https://".into()),
            number_lower: Some((Number::Int(0), true)),
            number_upper: Some((Number::Float(9.5), false)),
            length_lower: Some(1),
            length_upper: Some(3),
        };
        let v = Value::Unknown(r);
        assert_eq!(round_trip(&v, &Type::String), v);
        assert_eq!(
            to_msgpack(&Value::unknown(), &Type::String).unwrap(),
            vec![0xd4, 0x00, 0x00]
        );
    }

    #[test]
    fn any_extension_code_reads_as_unknown() {
        // fixext1 with code 42
        let bytes = [0xd4, 42, 0x00];
        assert!(from_msgpack(&bytes, &Type::String).unwrap().is_unknown());
        // a refined unknown with a garbage payload is still unknown
        let bytes = [0xd4, 12, 0xc1];
        assert!(from_msgpack(&bytes, &Type::Number).unwrap().is_unknown());
    }

    #[test]
    fn numbers_decode_from_int_float_and_string_without_loss() {
        let big = "123456789012345678901234567890.000000000000000000001";
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &Mp::from(big)).unwrap();
        let v = from_msgpack(&bytes, &Type::Number).unwrap();
        assert_eq!(v.as_number().unwrap().to_string(), big);
        assert_eq!(
            from_msgpack(&to_msgpack(&v, &Type::Number).unwrap(), &Type::Number).unwrap(),
            v
        );

        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &Mp::from(u64::MAX)).unwrap();
        assert_eq!(
            from_msgpack(&bytes, &Type::Number)
                .unwrap()
                .as_number()
                .unwrap()
                .to_string(),
            "18446744073709551615"
        );

        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &Mp::F32(0.5)).unwrap();
        assert_eq!(
            from_msgpack(&bytes, &Type::Number).unwrap(),
            Value::Number(Number::Float(0.5))
        );
        for n in [
            Number::Int(i64::MIN),
            Number::Int(i64::MAX),
            Number::Float(-1.5e-300),
        ] {
            let v = Value::Number(n);
            assert_eq!(round_trip(&v, &Type::Number), v);
        }
    }

    #[test]
    fn objects_encode_every_attribute_once_in_schema_order() {
        let ty = Type::object([("b", Type::String), ("a", Type::String)]);
        let bytes = to_msgpack(&Value::object([("a", Value::from("x"))]), &ty).unwrap();
        let mp = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
        let Mp::Map(entries) = mp else {
            panic!("not a map")
        };
        let keys: Vec<_> = entries
            .iter()
            .map(|(k, _)| k.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(entries[1].1, Mp::Nil);
    }

    #[test]
    fn decode_errors_name_the_path() {
        let ty = Type::object([("l", Type::list(Type::Number))]);
        let v = Value::object([("l", Value::List(vec![Value::from("x")]))]);
        let bytes = to_msgpack(&v, &Type::object([("l", Type::list(Type::String))])).unwrap();
        let err = from_msgpack(&bytes, &ty).unwrap_err().to_string();
        assert!(err.contains(".l[0]"), "{err}");
        let err = to_msgpack(&Value::object([("zz", Value::Null)]), &ty)
            .unwrap_err()
            .to_string();
        assert!(err.contains("zz"), "{err}");
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        let ty = every_type();
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0xdd, 0xff, 0xff, 0xff, 0xff], // array claiming 4G elements
            vec![0xdb, 0xff, 0xff, 0xff, 0xff, 0x41], // str claiming 4G bytes
            vec![0x91; 10_000],                 // deeply nested arrays
            vec![0x81, 0x01, 0x02],             // map with integer key
            vec![0x80, 0x00],                   // trailing bytes
        ];
        for c in cases {
            assert!(from_msgpack(&c, &ty).is_err(), "{c:x?}");
        }
        // Found by fuzzing: a float32 NaN decoded to a number that is not
        // equal to itself.
        assert!(from_msgpack(&[0xca, 0xff, 0xff, 0x23, 0x05], &Type::Number).is_err());
        assert!(from_msgpack(&[0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0], &Type::Number).is_err());
        // rmpv reads the reserved marker 0xc1 as nil: lenient, but no panic.
        assert_eq!(from_msgpack(&[0xc1], &ty).unwrap(), Value::Null);
    }
}
