//! Attribute-mapping expressions of the provisioning service ("Reference for writing expressions
//! for attribute mappings in Microsoft Entra ID"): `Join(" ", [givenName], [surname])`,
//! `Switch([department], "Other", "Sales", "S")`, `IIF([country]="US", "United States", [country])`.
//!
//! Syntax (as the reference describes it): a function name followed by arguments in
//! parentheses; an argument is an attribute in square brackets, a string constant in double
//! quotes (`\"` and `\\` escaped with a backslash), a number, another function, or nothing
//! (`Switch([a], , "1", "x")` leaves the default out); a comparison (`=`, `<>`, `>`, `>=`, `<`,
//! `<=`) may stand where a condition is expected. Function names are case-sensitive.
//!
//! [`parse`] reads the `expression` text, [`from_source`] the structured
//! `attributeMappingSource` (`type`, `name`, `parameters`) when there is no text. Both are
//! **bounded**: at most [`MAX_LEN`] characters (the documented expression limit) and
//! [`MAX_DEPTH`] nested calls; beyond that the schema is refused, so hostile input neither
//! overflows the stack nor takes long.
//!
//! Every function of the reference is accepted; [`EVALUATED`] lists those the engine computes.
//! A mapping that uses another one is stored and skipped by the engine (docs/sandbox.md).

use serde_json::{Map, Value};

/// The longest expression accepted (reference §6.6: "expression max 10,000 chars").
pub const MAX_LEN: usize = 10_000;
/// The deepest nesting of calls accepted.
pub const MAX_DEPTH: usize = 32;

/// Every function of Entra's expression reference (plus `AltSecIdFromNetId`, the matching
/// function of cross-tenant synchronization).
pub const KNOWN: &[&str] = &[
    "AltSecIdFromNetId",
    "Append",
    "AppRoleAssignmentsComplex",
    "BitAnd",
    "CBool",
    "CDate",
    "Coalesce",
    "ConvertToBase64",
    "ConvertToUTF8Hex",
    "Count",
    "CStr",
    "DateAdd",
    "DateDiff",
    "DateFromNum",
    "FormatDateTime",
    "Guid",
    "IgnoreFlowIfNullOrEmpty",
    "IIF",
    "InStr",
    "IsNull",
    "IsNullOrEmpty",
    "IsPresent",
    "IsString",
    "Item",
    "Join",
    "Left",
    "Mid",
    "NormalizeDiacritics",
    "Not",
    "Now",
    "NumFromDate",
    "PCase",
    "RandomString",
    "Redact",
    "RemoveDuplicates",
    "Replace",
    "SelectUniqueValue",
    "SingleAppRoleAssignment",
    "Split",
    "StripSpaces",
    "Switch",
    "ToLower",
    "ToUpper",
    "Word",
];

/// The functions the engine evaluates, with their (minimum, maximum) argument counts.
pub const EVALUATED: &[(&str, usize, usize)] = &[
    ("Append", 2, 2),
    ("CStr", 1, 1),
    ("Coalesce", 1, usize::MAX),
    ("IIF", 3, 3),
    ("IgnoreFlowIfNullOrEmpty", 1, 1),
    ("IsNull", 1, 1),
    ("IsNullOrEmpty", 1, 1),
    ("IsPresent", 1, 1),
    ("Join", 2, usize::MAX),
    ("Left", 2, 2),
    ("Mid", 3, 3),
    ("Not", 1, 1),
    ("StripSpaces", 1, 1),
    ("Switch", 4, usize::MAX),
    ("ToLower", 1, 2),
    ("ToUpper", 1, 2),
    ("Word", 3, 3),
];

/// A comparison operator of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A string constant.
    Str(String),
    /// A number, as written.
    Num(String),
    /// `[attribute]` (the directory attribute name as written).
    Attr(String),
    /// `Name(args)`; `None` is an argument left empty.
    Call(String, Vec<Option<Expr>>),
    /// `left op right`.
    Compare(Cmp, Box<Expr>, Box<Expr>),
}

/// Why an expression is refused (the schema validation turns it into a 400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExprError(pub String);

fn err<T>(m: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError(m.into()))
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn at(&self) -> String {
        format!("at position {}", self.i + 1)
    }

    fn string(&mut self) -> Result<String, ExprError> {
        // Opening quote already seen.
        self.i += 1;
        let mut out = Vec::new();
        while let Some(&b) = self.s.get(self.i) {
            self.i += 1;
            match b {
                b'\\' => match self.s.get(self.i) {
                    Some(&e) => {
                        out.push(e);
                        self.i += 1;
                    }
                    None => break,
                },
                b'"' => return Ok(String::from_utf8_lossy(&out).into_owned()),
                _ => out.push(b),
            }
        }
        err("unterminated string constant")
    }

    fn attribute(&mut self) -> Result<String, ExprError> {
        self.i += 1;
        let start = self.i;
        while let Some(&b) = self.s.get(self.i) {
            if b == b']' {
                let name = self.text[start..self.i].trim().to_string();
                self.i += 1;
                if name.is_empty() {
                    return err("empty attribute name '[]'");
                }
                return Ok(name);
            }
            if b == b'[' {
                break;
            }
            self.i += 1;
        }
        err(format!("unterminated attribute name {}", self.at()))
    }

    fn word(&mut self) -> String {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
        {
            self.i += 1;
        }
        self.text[start..self.i].to_string()
    }

    fn cmp(&mut self) -> Option<Cmp> {
        let two = self.s.get(self.i..self.i + 2);
        let (op, n) = match two {
            Some(b"<>") => (Cmp::Ne, 2),
            Some(b">=") => (Cmp::Ge, 2),
            Some(b"<=") => (Cmp::Le, 2),
            _ => match self.s.get(self.i) {
                Some(b'=') => (Cmp::Eq, 1),
                Some(b'>') => (Cmp::Gt, 1),
                Some(b'<') => (Cmp::Lt, 1),
                _ => return None,
            },
        };
        self.i += n;
        Some(op)
    }

    /// An argument: a term, optionally compared with another term.
    fn operand(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let left = self.term(depth)?;
        self.ws();
        match self.cmp() {
            Some(op) => {
                let right = self.term(depth)?;
                Ok(Expr::Compare(op, Box::new(left), Box::new(right)))
            }
            None => Ok(left),
        }
    }

    fn term(&mut self, depth: usize) -> Result<Expr, ExprError> {
        match self.peek() {
            Some(b'"') => Ok(Expr::Str(self.string()?)),
            Some(b'[') => Ok(Expr::Attr(self.attribute()?)),
            Some(b'&') if matches!(self.s.get(self.i + 1), Some(b'H' | b'h')) => {
                self.i += 2;
                let digits = self.word();
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return err(format!("bad hexadecimal number {}", self.at()));
                }
                Ok(Expr::Num(format!("&H{digits}")))
            }
            Some(b) if b.is_ascii_digit() || b == b'-' => {
                let start = self.i;
                self.i += 1;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|b| b.is_ascii_digit() || *b == b'.')
                {
                    self.i += 1;
                }
                let n = &self.text[start..self.i];
                if n == "-" {
                    return err(format!("a number was expected {}", self.at()));
                }
                Ok(Expr::Num(n.to_string()))
            }
            Some(b) if b.is_ascii_alphabetic() => {
                let name = self.word();
                if self.peek() != Some(b'(') {
                    return err(format!(
                        "'{name}' must be followed by '(' (attributes are written [{name}], strings \"{name}\")"
                    ));
                }
                if depth >= MAX_DEPTH {
                    return err(format!(
                        "the expression nests functions more than {MAX_DEPTH} levels deep"
                    ));
                }
                self.i += 1;
                let mut args = Vec::new();
                if self.peek() == Some(b')') {
                    self.i += 1;
                    return Ok(Expr::Call(name, args));
                }
                loop {
                    match self.peek() {
                        Some(b',') | Some(b')') => args.push(None),
                        _ => args.push(Some(self.operand(depth + 1)?)),
                    }
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b')') => {
                            self.i += 1;
                            return Ok(Expr::Call(name, args));
                        }
                        _ => return err(format!("',' or ')' expected {}", self.at())),
                    }
                }
            }
            Some(_) => err(format!("unexpected character {}", self.at())),
            None => err("the expression ends too early"),
        }
    }
}

/// Parse an expression's text, then check its functions ([`check`]).
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    if text.chars().count() > MAX_LEN {
        return err(format!(
            "the expression is longer than {MAX_LEN} characters"
        ));
    }
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    let e = p.operand(0)?;
    if p.peek().is_some() {
        return err(format!("unexpected text {}", p.at()));
    }
    check(&e)?;
    Ok(e)
}

/// Build the expression of a structured `attributeMappingSource`
/// (`{type: Attribute|Constant|Function, name, expression, parameters: [{key, value}]}`),
/// preferring its `expression` text when there is one.
pub fn from_source(source: &Map<String, Value>) -> Result<Expr, ExprError> {
    fn build(source: &Map<String, Value>, depth: usize) -> Result<Expr, ExprError> {
        if let Some(text) = source.get("expression").and_then(Value::as_str)
            && !text.trim().is_empty()
        {
            return parse(text);
        }
        let name = source.get("name").and_then(Value::as_str).unwrap_or("");
        match source.get("type").and_then(Value::as_str) {
            Some("Attribute") => Ok(Expr::Attr(name.to_string())),
            Some("Constant") => Ok(Expr::Str(name.to_string())),
            Some("Function") => {
                if depth >= MAX_DEPTH {
                    return err(format!(
                        "the expression nests functions more than {MAX_DEPTH} levels deep"
                    ));
                }
                let mut args = Vec::new();
                for p in source
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    match p.get("value").and_then(Value::as_object) {
                        Some(v) => args.push(Some(build(v, depth + 1)?)),
                        None => args.push(None),
                    }
                }
                let e = Expr::Call(name.to_string(), args);
                check(&e)?;
                Ok(e)
            }
            _ => err("source.type must be Attribute, Constant or Function"),
        }
    }
    build(source, 0)
}

/// Refuse unknown functions and wrong argument counts of the evaluated ones (iteratively).
pub fn check(e: &Expr) -> Result<(), ExprError> {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Call(name, args) => {
                if !KNOWN.contains(&name.as_str()) {
                    return err(format!(
                        "'{name}' is not a function of the provisioning expression language (function names are case-sensitive)"
                    ));
                }
                if let Some((_, min, max)) = EVALUATED.iter().find(|(n, _, _)| n == name)
                    && (args.len() < *min || args.len() > *max)
                {
                    return err(format!(
                        "{name} takes {} arguments, not {}",
                        if min == max {
                            min.to_string()
                        } else if *max == usize::MAX {
                            format!("at least {min}")
                        } else {
                            format!("{min} to {max}")
                        },
                        args.len()
                    ));
                }
                if name == "Switch" && args.len() % 2 != 0 {
                    return err(
                        "Switch takes a source, a default value and key/value pairs (an even number of arguments)",
                    );
                }
                stack.extend(args.iter().flatten());
            }
            Expr::Compare(_, a, b) => {
                stack.push(a);
                stack.push(b);
            }
            _ => {}
        }
    }
    Ok(())
}

impl Expr {
    /// The attribute names the expression reads.
    pub fn attributes(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Attr(a) => out.push(a.as_str()),
                Expr::Call(_, args) => stack.extend(args.iter().flatten()),
                Expr::Compare(_, a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                _ => {}
            }
        }
        out
    }

    /// Whether the engine can compute it (every function in [`EVALUATED`]).
    pub fn evaluable(&self) -> bool {
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Call(name, args) => {
                    if !EVALUATED.iter().any(|(n, _, _)| n == name) {
                        return false;
                    }
                    stack.extend(args.iter().flatten());
                }
                Expr::Compare(_, a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                _ => {}
            }
        }
        true
    }

    /// The top-level function name, if the expression is a call.
    pub fn function(&self) -> Option<&str> {
        match self {
            Expr::Call(n, _) => Some(n),
            _ => None,
        }
    }
}

/// A value while evaluating: absent, one string, or several (a multi-valued attribute).
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// Null / absent.
    Null,
    /// A string (booleans are `"True"` / `"False"`, as the provisioning service writes them).
    One(String),
    /// A multi-valued attribute.
    Many(Vec<String>),
}

impl Val {
    fn text(&self) -> Option<String> {
        match self {
            Val::Null => None,
            Val::One(s) => Some(s.clone()),
            Val::Many(v) => v.first().cloned(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Val::Null => true,
            Val::One(s) => s.is_empty(),
            Val::Many(v) => v.is_empty(),
        }
    }

    fn bool(b: bool) -> Val {
        Val::One(if b { "True" } else { "False" }.into())
    }

    fn truthy(&self) -> bool {
        self.text().is_some_and(|s| s.eq_ignore_ascii_case("true"))
    }

    /// A JSON value (null for [`Val::Null`]).
    pub fn to_json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::One(s) => Value::String(s.clone()),
            Val::Many(v) => Value::Array(v.iter().cloned().map(Value::String).collect()),
        }
    }

    /// The value of a JSON property of a source object.
    pub fn from_json(v: Option<&Value>) -> Val {
        match v {
            None | Some(Value::Null) => Val::Null,
            Some(Value::String(s)) => Val::One(s.clone()),
            Some(Value::Bool(b)) => Val::bool(*b),
            Some(Value::Number(n)) => Val::One(n.to_string()),
            Some(Value::Array(a)) => Val::Many(
                a.iter()
                    .map(|x| match x {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
            ),
            Some(other) => Val::One(other.to_string()),
        }
    }
}

fn compare(op: Cmp, a: &Val, b: &Val) -> bool {
    // Reference: "If the source attribute used within the IIF function is empty or null, the
    // condition check fails."
    let (Some(a), Some(b)) = (a.text(), b.text()) else {
        return false;
    };
    let ord = match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y),
        _ => Some(a.cmp(&b)),
    };
    use std::cmp::Ordering::*;
    match (op, ord) {
        (Cmp::Eq, _) => a == b,
        (Cmp::Ne, _) => a != b,
        (Cmp::Gt, Some(Greater)) => true,
        (Cmp::Ge, Some(Greater | Equal)) => true,
        (Cmp::Lt, Some(Less)) => true,
        (Cmp::Le, Some(Less | Equal)) => true,
        _ => false,
    }
}

fn int(v: &Val) -> Option<i64> {
    v.text().and_then(|s| s.trim().parse().ok())
}

/// Evaluate with `get` giving a source attribute's value (by the name written in brackets).
/// Recursion is bounded by [`MAX_DEPTH`] (checked when parsing). Only [`Expr::evaluable`]
/// expressions are evaluated; another function yields [`Val::Null`].
pub fn eval(e: &Expr, get: &dyn Fn(&str) -> Val) -> Val {
    match e {
        Expr::Str(s) | Expr::Num(s) => Val::One(s.clone()),
        Expr::Attr(a) => get(a),
        Expr::Compare(op, a, b) => Val::bool(compare(*op, &eval(a, get), &eval(b, get))),
        Expr::Call(name, args) => {
            let arg = |i: usize| -> Val {
                args.get(i)
                    .and_then(|a| a.as_ref())
                    .map_or(Val::Null, |a| eval(a, get))
            };
            match name.as_str() {
                "Append" => match (arg(0).text(), arg(1).text()) {
                    (None, None) => Val::Null,
                    (a, b) => Val::One(format!(
                        "{}{}",
                        a.unwrap_or_default(),
                        b.unwrap_or_default()
                    )),
                },
                "Join" => {
                    let sep = arg(0).text().unwrap_or_default();
                    let mut parts = Vec::new();
                    for i in 1..args.len() {
                        match arg(i) {
                            Val::Null => {}
                            Val::One(s) => parts.push(s),
                            Val::Many(v) => parts.extend(v),
                        }
                    }
                    // The reference's example `Join(", ", "", [surname], [givenName])` gives
                    // "Doe, John": empty values are left out.
                    parts.retain(|p| !p.is_empty());
                    if parts.is_empty() {
                        Val::Null
                    } else {
                        Val::One(parts.join(&sep))
                    }
                }
                "Switch" => {
                    // A null source matches the key "" (the reference's recommended null check).
                    let source = arg(0).text().unwrap_or_default();
                    let mut i = 2;
                    while i + 1 < args.len() {
                        if arg(i).text().unwrap_or_default() == source {
                            return arg(i + 1);
                        }
                        i += 2;
                    }
                    arg(1)
                }
                "IIF" => {
                    if arg(0).truthy() {
                        arg(1)
                    } else {
                        arg(2)
                    }
                }
                "Coalesce" => (0..args.len())
                    .map(arg)
                    .find(|v| *v != Val::Null)
                    .unwrap_or(Val::Null),
                "ToLower" => arg(0)
                    .text()
                    .map_or(Val::Null, |s| Val::One(s.to_lowercase())),
                "ToUpper" => arg(0)
                    .text()
                    .map_or(Val::Null, |s| Val::One(s.to_uppercase())),
                "StripSpaces" => arg(0)
                    .text()
                    .map_or(Val::Null, |s| Val::One(s.replace(' ', ""))),
                "CStr" => arg(0).text().map_or(Val::Null, Val::One),
                "Not" => Val::bool(!arg(0).truthy()),
                "IsNull" => Val::bool(arg(0) == Val::Null),
                "IsNullOrEmpty" => Val::bool(arg(0).is_empty()),
                "IsPresent" => Val::bool(!arg(0).is_empty()),
                "IgnoreFlowIfNullOrEmpty" => {
                    let v = arg(0);
                    if v.is_empty() { Val::Null } else { v }
                }
                "Left" => {
                    let Some(s) = arg(0).text() else {
                        return Val::One(String::new());
                    };
                    match int(&arg(1)) {
                        Some(n) if n < 0 => Val::One(s),
                        Some(n) => Val::One(s.chars().take(n as usize).collect()),
                        None => Val::Null,
                    }
                }
                "Mid" => {
                    let Some(s) = arg(0).text() else {
                        return Val::Null;
                    };
                    match (int(&arg(1)), int(&arg(2))) {
                        (Some(start), Some(len)) if start >= 1 && len >= 0 => Val::One(
                            s.chars()
                                .skip(start as usize - 1)
                                .take(len as usize)
                                .collect(),
                        ),
                        _ => Val::Null,
                    }
                }
                "Word" => {
                    let (Some(s), Some(n)) = (arg(0).text(), int(&arg(1))) else {
                        return Val::One(String::new());
                    };
                    let delims: Vec<char> = arg(2).text().unwrap_or_default().chars().collect();
                    if n < 1 {
                        return Val::One(String::new());
                    }
                    Val::One(
                        s.split(|c| delims.contains(&c))
                            .filter(|w| !w.is_empty())
                            .nth(n as usize - 1)
                            .unwrap_or("")
                            .to_string(),
                    )
                }
                _ => Val::Null,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, attrs: &[(&str, &str)]) -> Val {
        let e = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(e.evaluable(), "{text}");
        eval(&e, &|a| {
            attrs
                .iter()
                .find(|(k, _)| *k == a)
                .map_or(Val::Null, |(_, v)| Val::One(v.to_string()))
        })
    }

    fn one(s: &str) -> Val {
        Val::One(s.into())
    }

    #[test]
    fn the_reference_examples_evaluate() {
        let who = [("givenName", "John"), ("surname", "Doe")];
        assert_eq!(
            run(r#"Join(" ", [givenName], [surname])"#, &who),
            one("John Doe")
        );
        assert_eq!(
            run(r#"Join(", ", "", [surname], [givenName])"#, &who),
            one("Doe, John")
        );
        assert_eq!(
            run(
                r#"Append([userPrincipalName], ".test")"#,
                &[("userPrincipalName", "J@c.com")]
            ),
            one("J@c.com.test")
        );
        assert_eq!(
            run(
                r#"Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))"#,
                &who
            ),
            one("JohDoe")
        );
        let sw = r#"Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney", "QLD", "Australia/Brisbane")"#;
        assert_eq!(run(sw, &[("state", "QLD")]), one("Australia/Brisbane"));
        assert_eq!(run(sw, &[("state", "WA")]), one("Australia/Sydney"));
        assert_eq!(
            run(r#"Switch([country], [country], "", "Other")"#, &[]),
            one("Other")
        );
        let iif = r#"IIF([country]="USA",[country],[department])"#;
        assert_eq!(
            run(iif, &[("country", "USA"), ("department", "D")]),
            one("USA")
        );
        assert_eq!(
            run(iif, &[("country", "FR"), ("department", "D")]),
            one("D")
        );
        assert_eq!(
            run(iif, &[("department", "D")]),
            one("D"),
            "null fails the check"
        );
        assert_eq!(
            run(r#"Word("The quick brown fox",3," ")"#, &[]),
            one("brown")
        );
        assert_eq!(run(r#"Left("John Doe", 3)"#, &[]), one("Joh"));
        assert_eq!(
            run(
                r#"Coalesce([mail],[userPrincipalName])"#,
                &[("userPrincipalName", "u")]
            ),
            one("u")
        );
        assert_eq!(
            run(r#"IgnoreFlowIfNullOrEmpty([department])"#, &[]),
            Val::Null
        );
        assert_eq!(run(r#"ToLower("ABC")"#, &[]), one("abc"));
        assert_eq!(
            run(r#""a \"quoted\" \\ value""#, &[]),
            one(r#"a "quoted" \ value"#)
        );
    }

    #[test]
    fn switch_with_an_empty_default_and_iif_comparisons() {
        assert_eq!(run(r#"Switch([a], , "1", "x")"#, &[("a", "2")]), Val::Null);
        assert_eq!(
            run(r#"IIF([n] >= 10, "big", "small")"#, &[("n", "9")]),
            one("small")
        );
        assert_eq!(run(r#"IIF([n] <> "x", "y", "z")"#, &[("n", "w")]), one("y"));
    }

    #[test]
    fn unknown_functions_wrong_arity_and_bad_syntax_are_refused() {
        assert!(parse("Frobnicate([a])").is_err());
        assert!(parse("join(\" \", [a])").is_err(), "case-sensitive");
        assert!(parse("IIF([a]=\"b\", \"c\")").is_err());
        assert!(parse("Switch([a], \"d\", \"k\")").is_err());
        assert!(parse("Join(\" \", [a]").is_err());
        assert!(parse("[unterminated").is_err());
        let e = parse("FormatDateTime([d], , \"yyyy\", \"yy\")").unwrap();
        assert!(!e.evaluable(), "known, stored, not evaluated");
    }

    #[test]
    fn hostile_nesting_and_length_are_refused_without_recursion_trouble() {
        let deep = format!("{}[a]{}", "A(".repeat(3000), ")".repeat(3000));
        assert!(deep.len() < MAX_LEN);
        assert!(parse(&deep).unwrap_err().0.contains("levels deep"));
        let nested = format!(
            "{}[a]{}",
            "ToLower(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert!(parse(&nested).unwrap_err().0.contains("levels deep"));
        let ok = format!(
            "{}[a]{}",
            "ToLower(".repeat(MAX_DEPTH),
            ")".repeat(MAX_DEPTH)
        );
        assert!(parse(&ok).is_ok());
        assert!(
            parse(&"x".repeat(MAX_LEN + 1))
                .unwrap_err()
                .0
                .contains("longer")
        );
    }

    #[test]
    fn structured_sources_build_the_same_expression() {
        let src = serde_json::json!({"type": "Function", "name": "Join", "parameters": [
            {"key": "separator", "value": {"type": "Constant", "name": " ", "parameters": []}},
            {"key": "source1", "value": {"type": "Attribute", "name": "givenName", "parameters": []}},
            {"key": "source2", "value": {"type": "Attribute", "name": "surname", "parameters": []}}]});
        let e = from_source(src.as_object().unwrap()).unwrap();
        assert_eq!(e, parse(r#"Join(" ", [givenName], [surname])"#).unwrap());
    }
}
