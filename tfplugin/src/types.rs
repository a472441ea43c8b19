//! cty types, as Terraform describes them on the wire.
//!
//! A type travels as JSON bytes (`Schema.Attribute.type`, function parameter
//! types, and the first element of a `dynamic` value): primitives are strings
//! (`"string"`), composites are arrays (`["list","string"]`,
//! `["object",{"a":"number"}]`).

use std::collections::BTreeMap;
use std::fmt;

/// A Terraform (cty) type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    /// `string`.
    String,
    /// `number`.
    Number,
    /// `bool`.
    Bool,
    /// Any type, decided per value (`dynamic` in Terraform).
    Dynamic,
    /// `list(T)`.
    List(Box<Type>),
    /// `set(T)`.
    Set(Box<Type>),
    /// `map(T)`.
    Map(Box<Type>),
    /// Attributes by name. Optional-attribute markers (a third element in the
    /// JSON form, used only by function parameters) are accepted and dropped:
    /// on the wire an object value always carries every attribute.
    Object(BTreeMap<String, Type>),
    /// `tuple([...])`.
    Tuple(Vec<Type>),
}

/// A type description that could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("invalid type description: {0}")]
pub struct TypeError(pub String);

impl Type {
    /// `list(t)`.
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    /// `set(t)`.
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }
    /// `map(t)`.
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }
    /// An object type from `(name, type)` pairs.
    pub fn object<I, S>(attrs: I) -> Type
    where
        I: IntoIterator<Item = (S, Type)>,
        S: Into<String>,
    {
        Type::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The element type of a list, set or map.
    pub fn element(&self) -> Option<&Type> {
        match self {
            Type::List(t) | Type::Set(t) | Type::Map(t) => Some(t),
            _ => None,
        }
    }

    /// Whether this type, or any type nested in it, is `dynamic`.
    pub fn has_dynamic(&self) -> bool {
        match self {
            Type::Dynamic => true,
            Type::String | Type::Number | Type::Bool => false,
            Type::List(t) | Type::Set(t) | Type::Map(t) => t.has_dynamic(),
            Type::Object(a) => a.values().any(Type::has_dynamic),
            Type::Tuple(e) => e.iter().any(Type::has_dynamic),
        }
    }

    /// Terraform's JSON form (`["list", "string"]`).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Type::String => J::from("string"),
            Type::Number => J::from("number"),
            Type::Bool => J::from("bool"),
            Type::Dynamic => J::from("dynamic"),
            Type::List(t) => J::Array(vec![J::from("list"), t.to_json()]),
            Type::Set(t) => J::Array(vec![J::from("set"), t.to_json()]),
            Type::Map(t) => J::Array(vec![J::from("map"), t.to_json()]),
            Type::Object(attrs) => J::Array(vec![
                J::from("object"),
                J::Object(
                    attrs
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_json()))
                        .collect(),
                ),
            ]),
            Type::Tuple(elems) => J::Array(vec![
                J::from("tuple"),
                J::Array(elems.iter().map(Type::to_json).collect()),
            ]),
        }
    }

    /// The wire form: JSON bytes.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_json()).expect("a type always serializes")
    }

    /// Parses the wire form.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, TypeError> {
        let j: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| TypeError(e.to_string()))?;
        Type::from_json(&j)
    }

    /// Parses Terraform's JSON form.
    pub fn from_json(j: &serde_json::Value) -> Result<Type, TypeError> {
        Self::from_json_depth(j, 0)
    }

    fn from_json_depth(j: &serde_json::Value, depth: usize) -> Result<Type, TypeError> {
        use serde_json::Value as J;
        if depth > 64 {
            return Err(TypeError("type nested too deeply".into()));
        }
        let bad = || TypeError(j.to_string());
        match j {
            J::String(s) => match s.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(bad()),
            },
            J::Array(parts) if parts.len() >= 2 => {
                let kind = parts[0].as_str().ok_or_else(bad)?;
                let arg = &parts[1];
                let d = depth + 1;
                match (kind, parts.len()) {
                    ("list", 2) => Ok(Type::list(Self::from_json_depth(arg, d)?)),
                    ("set", 2) => Ok(Type::set(Self::from_json_depth(arg, d)?)),
                    ("map", 2) => Ok(Type::map(Self::from_json_depth(arg, d)?)),
                    ("object", 2 | 3) => {
                        let attrs = arg.as_object().ok_or_else(bad)?;
                        let mut out = BTreeMap::new();
                        for (k, v) in attrs {
                            out.insert(k.clone(), Self::from_json_depth(v, d)?);
                        }
                        Ok(Type::Object(out))
                    }
                    ("tuple", 2) => {
                        let elems = arg.as_array().ok_or_else(bad)?;
                        Ok(Type::Tuple(
                            elems
                                .iter()
                                .map(|e| Self::from_json_depth(e, d))
                                .collect::<Result<_, _>>()?,
                        ))
                    }
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Type {
    /// Terraform's own spelling, as shown in error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::Dynamic => f.write_str("dynamic"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Set(t) => write!(f, "set({t})"),
            Type::Map(t) => write!(f, "map({t})"),
            Type::Object(a) => {
                f.write_str("object({")?;
                for (i, (k, v)) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_str("})")
            }
            Type::Tuple(e) => {
                f.write_str("tuple([")?;
                for (i, t) in e.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_of_every_kind() {
        let t = Type::object([
            ("s", Type::String),
            ("n", Type::Number),
            ("b", Type::Bool),
            ("d", Type::Dynamic),
            ("l", Type::list(Type::String)),
            ("st", Type::set(Type::map(Type::Number))),
            ("t", Type::Tuple(vec![Type::String, Type::Bool])),
        ]);
        let bytes = t.to_json_bytes();
        assert_eq!(Type::from_json_bytes(&bytes).unwrap(), t);
        assert_eq!(
            String::from_utf8(Type::set(Type::map(Type::Number)).to_json_bytes()).unwrap(),
            r#"["set",["map","number"]]"#
        );
    }

    #[test]
    fn object_with_optional_marker_is_accepted() {
        let t = Type::from_json_bytes(br#"["object",{"a":"string"},["a"]]"#).unwrap();
        assert_eq!(t, Type::object([("a", Type::String)]));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &b"\"strin\""[..],
            b"[\"list\"]",
            b"[1,2]",
            b"{}",
            b"not json",
        ] {
            assert!(
                Type::from_json_bytes(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "[\"list\",".repeat(100) + "\"string\"" + &"]".repeat(100);
        assert!(Type::from_json_bytes(deep.as_bytes()).is_err());
    }
}
