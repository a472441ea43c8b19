//! `provider::mto::pairs(tenants)`: every ordered pair of distinct tenants,
//! so an N-tenant mesh of shares is one `for_each`.

use std::collections::BTreeSet;

use tfplugin::{Function, FunctionDef, FunctionError, Parameter, Type, Value};

pub struct Pairs;

pub fn pair_type() -> Type {
    Type::object([("source", Type::String), ("target", Type::String)])
}

impl Function for Pairs {
    fn name(&self) -> &'static str {
        "pairs"
    }

    fn definition(&self) -> FunctionDef {
        FunctionDef {
            parameters: vec![Parameter::new(
                "tenants",
                Type::list(Type::String),
                "Tenant ids (or any names), each once.",
            )],
            variadic: None,
            return_type: Type::list(pair_type()),
            summary: "Every ordered pair of distinct tenants".into(),
            description: "Returns `{source, target}` for every ordered pair of distinct elements of \
                `tenants`: n·(n−1) pairs, sources in list order, then targets in list order. \
                Use it to declare a share and an acceptance per direction of a mesh:\n\n\
                ```hcl\nfor_each = { for p in provider::mto::pairs(local.tenants) : \"${p.source}_to_${p.target}\" => p }\n```\n\n\
                Duplicate or empty elements are an error."
                .into(),
            deprecation_message: String::new(),
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let items = args.first().and_then(Value::as_slice).unwrap_or_default();
        let mut tenants = Vec::with_capacity(items.len());
        let mut seen = BTreeSet::new();
        for (i, item) in items.iter().enumerate() {
            let Some(s) = item.as_str() else {
                return Err(FunctionError::argument(
                    0,
                    format!("tenants[{i}] is null; every element must be a tenant id."),
                ));
            };
            if s.trim().is_empty() {
                return Err(FunctionError::argument(
                    0,
                    format!("tenants[{i}] is empty; every element must be a tenant id."),
                ));
            }
            if !seen.insert(s.to_ascii_lowercase()) {
                return Err(FunctionError::argument(
                    0,
                    format!(
                        "tenants[{i}] ({s:?}) appears more than once; each tenant may be listed only once."
                    ),
                ));
            }
            tenants.push(s);
        }
        let mut out = Vec::with_capacity(tenants.len() * tenants.len().saturating_sub(1));
        for source in &tenants {
            for target in &tenants {
                if source != target {
                    out.push(Value::object([
                        ("source", Value::from(*source)),
                        ("target", Value::from(*target)),
                    ]));
                }
            }
        }
        Ok(Value::List(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(items: &[&str]) -> Result<Value, FunctionError> {
        Pairs.call(&[Value::List(items.iter().map(|s| Value::from(*s)).collect())])
    }

    #[test]
    fn three_tenants_give_six_ordered_pairs() {
        let out = call(&["a", "b", "c"]).unwrap();
        let got: Vec<(String, String)> = out
            .as_slice()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p.get("source").as_str().unwrap().into(),
                    p.get("target").as_str().unwrap().into(),
                )
            })
            .collect();
        let want = [
            ("a", "b"),
            ("a", "c"),
            ("b", "a"),
            ("b", "c"),
            ("c", "a"),
            ("c", "b"),
        ];
        assert_eq!(got, want.map(|(s, t)| (s.to_owned(), t.to_owned())));
    }

    #[test]
    fn fewer_than_two_tenants_give_no_pairs() {
        assert_eq!(call(&[]).unwrap(), Value::List(vec![]));
        assert_eq!(call(&["a"]).unwrap(), Value::List(vec![]));
    }

    #[test]
    fn duplicates_and_empty_strings_blame_the_argument() {
        let e = call(&["a", "A"]).unwrap_err();
        assert_eq!(e.argument, Some(0));
        assert!(e.text.contains("tenants[1]"), "{}", e.text);
        let e = call(&["a", " "]).unwrap_err();
        assert!(e.text.contains("empty"), "{}", e.text);
        let e = Pairs.call(&[Value::List(vec![Value::Null])]).unwrap_err();
        assert!(e.text.contains("null"), "{}", e.text);
    }
}
