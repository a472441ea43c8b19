//! The JSON form of values: stored state (`RawState.json`), as Terraform
//! hands it to UpgradeResourceState.
//!
//! `serde_json` rounds numbers to 64 bits as it parses, so this module reads
//! JSON with a small parser of its own that keeps each number's text.

use std::collections::BTreeMap;

use super::{Number, Value};
use crate::types::Type;

const MAX_DEPTH: usize = 256;

/// Why JSON is not a value of the expected type.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// Not JSON at all.
    #[error("malformed JSON at byte {offset}: {message}")]
    Syntax {
        /// Where parsing stopped.
        offset: usize,
        /// The parser's complaint.
        message: String,
    },
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
}

/// A parsed JSON document with numbers kept as text.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "bool",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }
}

/// Decodes JSON `bytes` as a value of type `ty`. With `drop_unknown_attributes`,
/// object attributes that the type no longer has are skipped instead of being
/// an error: that is how state written by an older schema stays readable.
pub fn from_json_bytes(
    bytes: &[u8],
    ty: &Type,
    drop_unknown_attributes: bool,
) -> Result<Value, JsonError> {
    let mut p = Parser { bytes, pos: 0 };
    p.skip_ws();
    let doc = p.value(0)?;
    p.skip_ws();
    if p.pos != bytes.len() {
        return Err(p.err("trailing characters"));
    }
    let mut path = String::new();
    convert(&doc, ty, drop_unknown_attributes, &mut path)
}

fn shown(path: &str) -> String {
    if path.is_empty() {
        "the root".to_owned()
    } else {
        path.to_owned()
    }
}

fn convert(j: &Json, ty: &Type, drop: bool, path: &mut String) -> Result<Value, JsonError> {
    let mismatch = |path: &str| JsonError::Mismatch {
        path: shown(path),
        expected: ty.to_string(),
        found: j.kind().to_owned(),
    };
    if let Json::Null = j {
        return Ok(Value::Null);
    }
    match ty {
        Type::Dynamic => {
            let Json::Object(fields) = j else {
                return Err(mismatch(path));
            };
            let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
            let (Some(type_json), Some(value)) = (field("type"), field("value")) else {
                return Err(mismatch(path));
            };
            let inner_ty =
                Type::from_json(&to_serde(type_json)).map_err(|e| JsonError::Mismatch {
                    path: shown(path),
                    expected: "a type".into(),
                    found: e.to_string(),
                })?;
            let inner = convert(value, &inner_ty, drop, path)?;
            Ok(Value::Dynamic(inner_ty, Box::new(inner)))
        }
        Type::String => match j {
            Json::String(s) => Ok(Value::String(s.clone())),
            _ => Err(mismatch(path)),
        },
        Type::Number => match j {
            Json::Number(n) | Json::String(n) => Number::parse(n)
                .map(Value::Number)
                .map_err(|_| mismatch(path)),
            _ => Err(mismatch(path)),
        },
        Type::Bool => match j {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            _ => Err(mismatch(path)),
        },
        Type::List(el) | Type::Set(el) => {
            let Json::Array(items) = j else {
                return Err(mismatch(path));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(convert(item, el, drop, path)?);
                path.truncate(len);
            }
            Ok(if matches!(ty, Type::Set(_)) {
                Value::Set(out)
            } else {
                Value::List(out)
            })
        }
        Type::Tuple(elems) => {
            let Json::Array(items) = j else {
                return Err(mismatch(path));
            };
            if items.len() != elems.len() {
                return Err(mismatch(path));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, el)) in items.iter().zip(elems).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(convert(item, el, drop, path)?);
                path.truncate(len);
            }
            Ok(Value::Tuple(out))
        }
        Type::Map(el) => {
            let Json::Object(fields) = j else {
                return Err(mismatch(path));
            };
            let mut out = BTreeMap::new();
            for (k, v) in fields {
                let len = path.len();
                path.push_str(&format!("[{k:?}]"));
                out.insert(k.clone(), convert(v, el, drop, path)?);
                path.truncate(len);
            }
            Ok(Value::Map(out))
        }
        Type::Object(attrs) => {
            let Json::Object(fields) = j else {
                return Err(mismatch(path));
            };
            let mut out = BTreeMap::new();
            for (k, v) in fields {
                let Some(attr_ty) = attrs.get(k) else {
                    if drop {
                        continue;
                    }
                    return Err(JsonError::UnexpectedAttribute {
                        path: shown(path),
                        name: k.clone(),
                    });
                };
                let len = path.len();
                path.push('.');
                path.push_str(k);
                out.insert(k.clone(), convert(v, attr_ty, drop, path)?);
                path.truncate(len);
            }
            for name in attrs.keys() {
                out.entry(name.clone()).or_insert(Value::Null);
            }
            Ok(Value::Object(out))
        }
    }
}

fn to_serde(j: &Json) -> serde_json::Value {
    use serde_json::Value as S;
    match j {
        Json::Null => S::Null,
        Json::Bool(b) => S::Bool(*b),
        Json::Number(n) => serde_json::from_str(n).unwrap_or(S::Null),
        Json::String(s) => S::String(s.clone()),
        Json::Array(items) => S::Array(items.iter().map(to_serde).collect()),
        Json::Object(fields) => S::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), to_serde(v)))
                .collect(),
        ),
    }
}

/// A value as plain JSON, for logging and for the serde bridge. Unknowns
/// become null; numbers beyond a double are rounded.
pub fn to_json_value(v: &Value) -> serde_json::Value {
    use serde_json::Value as S;
    match v {
        Value::Null | Value::Unknown(_) => S::Null,
        Value::Bool(b) => S::Bool(*b),
        Value::Number(Number::Int(i)) => S::from(*i),
        Value::Number(n) => serde_json::Number::from_f64(n.as_f64())
            .map(S::Number)
            .unwrap_or(S::Null),
        Value::String(s) => S::String(s.clone()),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            S::Array(items.iter().map(to_json_value).collect())
        }
        Value::Map(m) | Value::Object(m) => S::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), to_json_value(v)))
                .collect(),
        ),
        Value::Dynamic(_, v) => to_json_value(v),
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> JsonError {
        JsonError::Syntax {
            offset: self.pos,
            message: message.to_owned(),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn expect_literal(&mut self, lit: &str, v: Json) -> Result<Json, JsonError> {
        if self.bytes[self.pos..].starts_with(lit.as_bytes()) {
            self.pos += lit.len();
            Ok(v)
        } else {
            Err(self.err("unexpected character"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.bytes.get(self.pos) {
            None => Err(self.err("unexpected end of input")),
            Some(b'n') => self.expect_literal("null", Json::Null),
            Some(b't') => self.expect_literal("true", Json::Bool(true)),
            Some(b'f') => self.expect_literal("false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.bytes.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    self.skip_ws();
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                let mut fields = Vec::new();
                self.skip_ws();
                if self.bytes.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Json::Object(fields));
                }
                loop {
                    self.skip_ws();
                    if self.bytes.get(self.pos) != Some(&b'"') {
                        return Err(self.err("expected a string key"));
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    if self.bytes.get(self.pos) != Some(&b':') {
                        return Err(self.err("expected ':'"));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    let v = self.value(depth + 1)?;
                    fields.push((key, v));
                    self.skip_ws();
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Json::Object(fields));
                        }
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') =
                    self.bytes.get(self.pos)
                {
                    self.pos += 1;
                }
                let text = std::str::from_utf8(&self.bytes[start..self.pos]).expect("ASCII");
                Number::parse(text).map_err(|_| JsonError::Syntax {
                    offset: start,
                    message: format!("invalid number {text:?}"),
                })?;
                Ok(Json::Number(text.to_owned()))
            }
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        let s = std::str::from_utf8(digits).map_err(|_| self.err("bad \\u escape"))?;
        let v = u32::from_str_radix(s, 16).map_err(|_| self.err("bad \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.bytes.get(self.pos) else {
                        return Err(self.err("unterminated escape"));
                    };
                    self.pos += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Err(self.err("lone surrogate"));
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("bad surrogate pair"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(code).ok_or_else(|| self.err("invalid code point"))?
                        }
                        _ => return Err(self.err("invalid escape")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0x00..=0x1f => return Err(self.err("control character in string")),
                _ => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("string is not valid UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty() -> Type {
        Type::object([
            ("id", Type::String),
            ("n", Type::Number),
            ("tags", Type::set(Type::String)),
            ("d", Type::Dynamic),
        ])
    }

    #[test]
    fn raw_state_keeps_big_numbers_and_escapes() {
        let raw = br#"{"id":"a\"b\u00e9\ud83d\ude00","n":123456789012345678901234567890.5,"tags":["x"],"d":{"type":"string","value":"v"}}"#;
        let v = from_json_bytes(raw, &ty(), false).unwrap();
        assert_eq!(v.get("id").as_str(), Some("a\"bé😀"));
        assert_eq!(
            v.get("n").as_number().unwrap().to_string(),
            "123456789012345678901234567890.5"
        );
        assert_eq!(v.get("tags"), &Value::Set(vec!["x".into()]));
        assert_eq!(v.get("d").as_str(), Some("v"));
    }

    #[test]
    fn attributes_removed_from_the_schema_are_dropped_only_when_asked() {
        let raw = br#"{"id":"a","gone":1}"#;
        let v = from_json_bytes(raw, &ty(), true).unwrap();
        assert_eq!(v.get("id").as_str(), Some("a"));
        assert!(v.get("n").is_null());
        let err = from_json_bytes(raw, &ty(), false).unwrap_err();
        assert!(err.to_string().contains("gone"));
    }

    #[test]
    fn malformed_json_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"id\":}",
            b"[1,]",
            b"\"\\ud800\"",
            b"{\"id\":\"x\"} x",
            b"{\"n\":1e999999999}",
            b"\"\x01\"",
            b"nul",
            b"-",
        ] {
            assert!(
                from_json_bytes(bad, &ty(), true).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert!(from_json_bytes(deep.as_bytes(), &Type::Dynamic, true).is_err());
    }
}
