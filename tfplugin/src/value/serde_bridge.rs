//! Moving between values and plain Rust structs with serde.
//!
//! Resources describe their state as a `#[derive(Serialize, Deserialize)]`
//! model and convert at the edges. Unknowns read as null (`None`): code that
//! must tell "unknown" from "null" looks at the [`Value`] itself.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Value, from_json_bytes, to_json_value};
use crate::types::Type;

/// A value that does not fit the model or type it is converted to.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

/// Requests and responses follow the schema, so a mismatch with the model is
/// the provider's bug: an error diagnostic that says so.
impl From<ValueError> for crate::diag::Diagnostics {
    fn from(e: ValueError) -> crate::diag::Diagnostics {
        crate::diag::Diagnostic::error(
            "Provider model does not match its schema",
            format!("{e}. This is a bug in the provider."),
        )
        .into()
    }
}

/// Reads a value into a Rust type (unknowns become null).
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, ValueError> {
    serde_json::from_value(to_json_value(v)).map_err(|e| ValueError(e.to_string()))
}

/// Builds a value of type `ty` from a Rust value. Fields the type lacks are an
/// error (a bug in the model), fields the model lacks become null.
pub fn to_value<T: Serialize>(model: &T, ty: &Type) -> Result<Value, ValueError> {
    let bytes = serde_json::to_vec(model).map_err(|e| ValueError(e.to_string()))?;
    from_json_bytes(&bytes, ty, false).map_err(|e| ValueError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Model {
        id: Option<String>,
        name: String,
        tags: Vec<String>,
        enabled: bool,
    }

    #[test]
    fn model_round_trip_and_unknown_reads_as_none() {
        let ty = Type::object([
            ("id", Type::String),
            ("name", Type::String),
            ("tags", Type::set(Type::String)),
            ("enabled", Type::Bool),
        ]);
        let m = Model {
            id: None,
            name: "n".into(),
            tags: vec!["a".into()],
            enabled: true,
        };
        let v = to_value(&m, &ty).unwrap();
        assert_eq!(v.get("tags"), &Value::Set(vec!["a".into()]));
        assert_eq!(from_value::<Model>(&v).unwrap(), m);
        let mut planned = v.clone();
        planned.set("id", Value::unknown());
        assert_eq!(from_value::<Model>(&planned).unwrap().id, None);
    }
}
