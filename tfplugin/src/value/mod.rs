//! The value model: every Terraform value is null, unknown or known.
//!
//! Values are untyped trees; the schema's [`Type`] is what gives them a wire
//! form. That is deliberate: msgpack cannot tell a list from a set or an
//! object from a map, so both directions of the codec take the type, exactly
//! as Terraform's own (cty) codec does.

mod json;
mod msgpack;
mod number;
mod serde_bridge;

use std::collections::BTreeMap;

pub use json::{JsonError, from_json_bytes, to_json_value};
pub use msgpack::{MsgpackError, from_msgpack, to_msgpack};
pub use number::{Number, NumberError};
pub use serde_bridge::{ValueError, from_value, to_value};

use crate::diag::{AttributePath, PathStep};
use crate::types::Type;

/// What Terraform knows about a value that is not known yet.
///
/// Refinements travel as msgpack extension 12; an unknown with none travels
/// as extension 0. A provider that receives refinements may ignore them, but
/// a value it later returns for that unknown must satisfy them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Refinements {
    /// `Some(false)`: the value will certainly not be null.
    pub nullable: Option<bool>,
    /// A string will start with this.
    pub string_prefix: Option<String>,
    /// Lower bound and whether it is inclusive.
    pub number_lower: Option<(Number, bool)>,
    /// Upper bound and whether it is inclusive.
    pub number_upper: Option<(Number, bool)>,
    /// A collection will have at least this many elements.
    pub length_lower: Option<i64>,
    /// A collection will have at most this many elements.
    pub length_upper: Option<i64>,
}

impl Refinements {
    /// Whether nothing is known at all.
    pub fn is_empty(&self) -> bool {
        *self == Refinements::default()
    }
}

/// A Terraform value: null, unknown, or known (of some [`Type`]).
#[derive(Clone, Debug)]
pub enum Value {
    /// No value.
    Null,
    /// Known only after apply, perhaps with some facts about it.
    Unknown(Refinements),
    /// A bool.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(String),
    /// A list.
    List(Vec<Value>),
    /// Unordered; equality ignores order.
    Set(Vec<Value>),
    /// A map.
    Map(BTreeMap<String, Value>),
    /// An object (attributes by name).
    Object(BTreeMap<String, Value>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A value in a `dynamic` slot, carrying the concrete type it travels
    /// with (`[type JSON, value]` in msgpack).
    Dynamic(Type, Box<Value>),
}

static NULL: Value = Value::Null;

impl Value {
    /// An unknown without refinements.
    pub fn unknown() -> Value {
        Value::Unknown(Refinements::default())
    }

    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// An object from `(name, value)` pairs.
    pub fn object<I, S>(attrs: I) -> Value
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A null-filled object of the given object type.
    pub fn null_object(ty: &Type) -> Value {
        match ty {
            Type::Object(attrs) => {
                Value::Object(attrs.keys().map(|k| (k.clone(), Value::Null)).collect())
            }
            _ => Value::Null,
        }
    }

    /// Whether the value is null.
    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Dynamic(_, v) => v.is_null(),
            _ => false,
        }
    }

    /// Unknown at the top level (a known list may still hold unknowns).
    pub fn is_unknown(&self) -> bool {
        match self {
            Value::Unknown(_) => true,
            Value::Dynamic(_, v) => v.is_unknown(),
            _ => false,
        }
    }

    /// Known all the way down: no unknown anywhere inside.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => {
                v.iter().all(Value::is_wholly_known)
            }
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            Value::Dynamic(_, v) => v.is_wholly_known(),
        }
    }

    /// The first path at which an unknown sits, for error messages.
    pub fn first_unknown_path(&self) -> Option<AttributePath> {
        fn walk(v: &Value, path: &mut Vec<PathStep>) -> bool {
            match v {
                Value::Unknown(_) => true,
                Value::List(items) | Value::Tuple(items) => {
                    for (i, item) in items.iter().enumerate() {
                        path.push(PathStep::Index(i as i64));
                        if walk(item, path) {
                            return true;
                        }
                        path.pop();
                    }
                    false
                }
                // Set elements cannot be addressed: stop at the set.
                Value::Set(items) => items.iter().any(|i| !i.is_wholly_known()),
                Value::Map(m) => {
                    for (k, item) in m {
                        path.push(PathStep::Key(k.clone()));
                        if walk(item, path) {
                            return true;
                        }
                        path.pop();
                    }
                    false
                }
                Value::Object(m) => {
                    for (k, item) in m {
                        path.push(PathStep::Attr(k.clone()));
                        if walk(item, path) {
                            return true;
                        }
                        path.pop();
                    }
                    false
                }
                Value::Dynamic(_, v) => walk(v, path),
                _ => false,
            }
        }
        let mut path = Vec::new();
        walk(self, &mut path).then(|| AttributePath::from_steps(path))
    }

    /// An object attribute; null when absent or when `self` is not an object.
    pub fn get(&self, name: &str) -> &Value {
        match self {
            Value::Object(m) | Value::Map(m) => m.get(name).unwrap_or(&NULL),
            Value::Dynamic(_, v) => v.get(name),
            _ => &NULL,
        }
    }

    /// Sets an object attribute (no-op on non-objects).
    pub fn set(&mut self, name: &str, value: Value) {
        if let Value::Object(m) | Value::Map(m) = self {
            m.insert(name.to_owned(), value);
        }
    }

    /// The value at `path`; null when the path leads nowhere.
    pub fn get_path(&self, path: &AttributePath) -> &Value {
        let mut cur = self;
        for step in path.steps() {
            cur = match (step, cur) {
                (PathStep::Attr(name), v) => v.get(name),
                (PathStep::Key(k), Value::Map(m)) => m.get(k).unwrap_or(&NULL),
                (PathStep::Index(i), Value::List(items) | Value::Tuple(items)) => {
                    usize::try_from(*i)
                        .ok()
                        .and_then(|i| items.get(i))
                        .unwrap_or(&NULL)
                }
                _ => &NULL,
            };
        }
        cur
    }

    /// Replaces the value at `path`; returns false if the path does not
    /// lead to an existing slot.
    pub fn set_path(&mut self, path: &AttributePath, value: Value) -> bool {
        let steps = path.steps();
        let Some((last, parents)) = steps.split_last() else {
            *self = value;
            return true;
        };
        let mut cur = self;
        for step in parents {
            cur = match (step, cur) {
                (PathStep::Attr(name), Value::Object(m)) => match m.get_mut(name) {
                    Some(v) => v,
                    None => return false,
                },
                (PathStep::Key(k), Value::Map(m)) => match m.get_mut(k) {
                    Some(v) => v,
                    None => return false,
                },
                (PathStep::Index(i), Value::List(items) | Value::Tuple(items)) => {
                    match usize::try_from(*i).ok().and_then(|i| items.get_mut(i)) {
                        Some(v) => v,
                        None => return false,
                    }
                }
                _ => return false,
            };
        }
        match (last, cur) {
            (PathStep::Attr(name), Value::Object(m)) if m.contains_key(name) => {
                m.insert(name.clone(), value);
                true
            }
            (PathStep::Key(k), Value::Map(m)) => {
                m.insert(k.clone(), value);
                true
            }
            (PathStep::Index(i), Value::List(items) | Value::Tuple(items)) => {
                match usize::try_from(*i).ok().and_then(|i| items.get_mut(i)) {
                    Some(slot) => {
                        *slot = value;
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Dynamic(_, v) => v.as_str(),
            _ => None,
        }
    }

    /// The bool, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Dynamic(_, v) => v.as_bool(),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            Value::Dynamic(_, v) => v.as_number(),
            _ => None,
        }
    }

    /// The number as an integer, if it is one that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// Elements of a list, set or tuple.
    pub fn as_slice(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            Value::Dynamic(_, v) => v.as_slice(),
            _ => None,
        }
    }

    /// Attributes of an object or entries of a map.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            Value::Dynamic(_, v) => v.as_map(),
            _ => None,
        }
    }

    /// The strings of a known list or set of strings, skipping nulls.
    pub fn string_items(&self) -> Vec<String> {
        self.as_slice()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Replaces every unknown inside `self` with the value at the same place
    /// in `prior` (null where `prior` has none): after an update that left
    /// the computed attributes as they were, this turns the plan into the
    /// new state. Objects and maps match by key, lists and tuples by
    /// position; set elements cannot be matched and are left as they are.
    pub fn fill_unknowns_from(&mut self, prior: &Value) {
        let prior = match prior {
            Value::Dynamic(_, p) => p,
            p => p,
        };
        match self {
            Value::Unknown(_) => *self = prior.clone(),
            Value::Object(m) | Value::Map(m) => {
                for (k, v) in m.iter_mut() {
                    v.fill_unknowns_from(prior.get(k));
                }
            }
            Value::List(items) | Value::Tuple(items) => {
                let before = prior.as_slice().unwrap_or_default();
                for (i, v) in items.iter_mut().enumerate() {
                    v.fill_unknowns_from(before.get(i).unwrap_or(&NULL));
                }
            }
            Value::Dynamic(_, v) => v.fill_unknowns_from(prior),
            _ => {}
        }
    }

    /// A best guess at the type of a known value, used when a value lands in
    /// a `dynamic` slot without a type of its own.
    pub fn infer_type(&self) -> Type {
        match self {
            Value::Null | Value::Unknown(_) => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(items) => Type::list(common_type(items)),
            Value::Set(items) => Type::set(common_type(items)),
            Value::Map(m) => Type::map(common_type(m.values())),
            Value::Object(m) => {
                Type::Object(m.iter().map(|(k, v)| (k.clone(), v.infer_type())).collect())
            }
            Value::Tuple(items) => Type::Tuple(items.iter().map(Value::infer_type).collect()),
            Value::Dynamic(t, _) => t.clone(),
        }
    }
}

fn common_type<'a>(items: impl IntoIterator<Item = &'a Value>) -> Type {
    let mut found: Option<Type> = None;
    for item in items {
        let t = item.infer_type();
        if t == Type::Dynamic {
            continue;
        }
        match &found {
            None => found = Some(t),
            Some(f) if *f == t => {}
            Some(_) => return Type::Dynamic,
        }
    }
    found.unwrap_or(Type::Dynamic)
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Unknown(a), Value::Unknown(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => a == b,
            (Value::Set(a), Value::Set(b)) => set_eq(a, b),
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => a == b,
            (Value::Dynamic(ta, a), Value::Dynamic(tb, b)) => ta == tb && a == b,
            (Value::Dynamic(_, a), b) => **a == *b,
            (a, Value::Dynamic(_, b)) => *a == **b,
            _ => false,
        }
    }
}

/// Multiset equality without hashing (values hold floats). Quadratic, which
/// is fine for the set sizes schemas carry.
fn set_eq(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    'outer: for x in a {
        for (i, y) in b.iter().enumerate() {
            if !used[i] && x == y {
                used[i] = true;
                continue 'outer;
            }
        }
        return false;
    }
    true
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Number(Number::Int(i))
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        o.map(Into::into).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_equality_ignores_order_but_not_multiplicity() {
        let a = Value::Set(vec!["x".into(), "y".into()]);
        let b = Value::Set(vec!["y".into(), "x".into()]);
        assert_eq!(a, b);
        let c = Value::Set(vec!["x".into(), "x".into()]);
        assert_ne!(a, c);
        assert_ne!(
            Value::List(vec!["x".into(), "y".into()]),
            Value::List(vec!["y".into(), "x".into()])
        );
    }

    #[test]
    fn paths_get_and_set() {
        let mut v = Value::object([
            (
                "a",
                Value::List(vec![Value::object([("b", Value::from("x"))])]),
            ),
            ("m", Value::Map([("k".to_owned(), Value::from(1))].into())),
        ]);
        let p = AttributePath::root().attr("a").index(0).attr("b");
        assert_eq!(v.get_path(&p), &Value::from("x"));
        assert!(v.set_path(&p, Value::from("y")));
        assert_eq!(v.get_path(&p).as_str(), Some("y"));
        assert!(!v.set_path(
            &AttributePath::root().attr("a").index(5).attr("b"),
            Value::Null
        ));
        assert_eq!(
            v.get_path(&AttributePath::root().attr("m").key("k"))
                .as_i64(),
            Some(1)
        );
        assert!(v.get_path(&AttributePath::root().attr("nope")).is_null());
    }

    #[test]
    fn fill_unknowns_takes_the_prior_values() {
        let prior = Value::object([
            ("id", Value::from("i")),
            ("name", Value::from("old")),
            (
                "items",
                Value::List(vec![Value::object([("x", Value::from(1))])]),
            ),
        ]);
        let mut planned = Value::object([
            ("id", Value::unknown()),
            ("name", Value::from("new")),
            (
                "items",
                Value::List(vec![
                    Value::object([("x", Value::unknown())]),
                    Value::object([("x", Value::unknown())]),
                ]),
            ),
        ]);
        planned.fill_unknowns_from(&prior);
        assert_eq!(planned.get("id").as_str(), Some("i"));
        assert_eq!(planned.get("name").as_str(), Some("new"));
        let items = planned.get("items").as_slice().unwrap();
        assert_eq!(items[0].get("x").as_i64(), Some(1));
        assert!(items[1].get("x").is_null());
        assert!(planned.is_wholly_known());
    }

    #[test]
    fn wholly_known_looks_inside_collections() {
        let v = Value::object([("a", Value::List(vec![Value::unknown()]))]);
        assert!(!v.is_wholly_known());
        assert!(!v.is_unknown());
        assert_eq!(
            v.first_unknown_path().unwrap(),
            AttributePath::root().attr("a").index(0)
        );
    }
}
