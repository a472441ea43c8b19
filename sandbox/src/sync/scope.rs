//! Scoping filters of an object mapping (`objectMappings[].scope`, Graph's `filter` resource):
//!
//! ```json
//! {"groups": [{"name": "Engineering", "clauses": [
//!     {"operatorName": "EQUALS", "sourceOperandName": "department",
//!      "targetOperand": {"values": ["Engineering"]}}]}],
//!  "inputFilterGroups": [], "categoryFilterGroups": []}
//! ```
//!
//! An object is in scope when **any** group of `groups` holds, and a group holds when **all** of
//! its clauses do (GDC `synchronization-filter`, `synchronization-filtergroup`). Objects that
//! fail `inputFilterGroups` are not processed at all (neither provisioned nor deprovisioned);
//! `categoryFilterGroups` ("experimental") is validated and stored, not evaluated.
//!
//! Operators (ED "Scoping users or groups to be provisioned with scoping filters"): `EQUALS`,
//! `NOT EQUALS`, `IS TRUE`, `IS FALSE`, `IS NULL`, `IS NOT NULL`, `REGEX MATCH`,
//! `NOT REGEX MATCH`, `Greater_Than`, `Greater_Than_OR_EQUALS`, `Includes`, `ENDS_WITH`, `&`,
//! `!&` (and, UNCONFIRMED, `Less_Than`, `Less_Than_OR_EQUALS`). Names are matched ignoring case
//! and treating `_` as a space, so `NOT_EQUALS` and `NOT EQUALS` are the same operator; the
//! stored schema keeps what the client sent. Comparisons are case-sensitive, and every operator
//! but `IS NULL` is false on a null or empty value ("Scoping filters will return false if the
//! value is null / empty").

use regex::{Regex, RegexBuilder};
use serde_json::Value;

use super::expr::Val;
use super::schema::{malformed, schema_invalid};
use crate::error::ApiError;

/// A clause's operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `EQUALS`: equals one of the values.
    Equals,
    /// `NOT EQUALS`: equals none of the values.
    NotEquals,
    /// `IS TRUE`.
    IsTrue,
    /// `IS FALSE`.
    IsFalse,
    /// `IS NULL` (absent or empty).
    IsNull,
    /// `IS NOT NULL`.
    IsNotNull,
    /// `REGEX MATCH` (.NET `Regex.IsMatch`: the pattern matches somewhere in the value).
    RegexMatch,
    /// `NOT REGEX MATCH`.
    NotRegexMatch,
    /// `Greater_Than` (integers).
    GreaterThan,
    /// `Greater_Than_OR_EQUALS`.
    GreaterThanOrEquals,
    /// `Less_Than` (UNCONFIRMED).
    LessThan,
    /// `Less_Than_OR_EQUALS` (UNCONFIRMED).
    LessThanOrEquals,
    /// `Includes`: contains one of the values.
    Includes,
    /// `ENDS_WITH`.
    EndsWith,
    /// `&`: the value exists in (is part of) the input string.
    In,
    /// `!&`: the value does not exist in the input string.
    NotIn,
}

/// Operator names, normalized (upper case, `_` as space), and whether they take values.
const OPERATORS: &[(&str, Op, bool)] = &[
    ("EQUALS", Op::Equals, true),
    ("NOT EQUALS", Op::NotEquals, true),
    ("IS TRUE", Op::IsTrue, false),
    ("IS FALSE", Op::IsFalse, false),
    ("IS NULL", Op::IsNull, false),
    ("IS NOT NULL", Op::IsNotNull, false),
    ("REGEX MATCH", Op::RegexMatch, true),
    ("NOT REGEX MATCH", Op::NotRegexMatch, true),
    ("GREATER THAN", Op::GreaterThan, true),
    ("GREATER THAN OR EQUALS", Op::GreaterThanOrEquals, true),
    ("LESS THAN", Op::LessThan, true),
    ("LESS THAN OR EQUALS", Op::LessThanOrEquals, true),
    ("INCLUDES", Op::Includes, true),
    ("ENDS WITH", Op::EndsWith, true),
    ("&", Op::In, true),
    ("!&", Op::NotIn, true),
];

/// The operator names as the documentation writes them (for error messages).
pub const OPERATOR_NAMES: &str = "EQUALS, NOT EQUALS, IS TRUE, IS FALSE, IS NULL, IS NOT NULL, REGEX MATCH, NOT REGEX MATCH, Greater_Than, Greater_Than_OR_EQUALS, Less_Than, Less_Than_OR_EQUALS, Includes, ENDS_WITH, &, !&";

fn normalize(op: &str) -> String {
    op.trim()
        .to_ascii_uppercase()
        .replace('_', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// One clause.
#[derive(Clone, Debug)]
pub struct Clause {
    /// The source attribute as written (`sourceOperandName`).
    pub attr: String,
    /// The operator.
    pub op: Op,
    /// `targetOperand.values`.
    pub values: Vec<String>,
    regex: Option<Regex>,
}

impl PartialEq for Clause {
    fn eq(&self, o: &Self) -> bool {
        self.attr == o.attr && self.op == o.op && self.values == o.values
    }
}

/// A set of filter groups: any group, all its clauses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// The groups (OR), each a list of clauses (AND).
    pub groups: Vec<Vec<Clause>>,
}

/// The evaluated parts of an object mapping's `scope`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope {
    /// `groups`: objects that fail it are out of scope (and deprovisioned).
    pub groups: Option<Filter>,
    /// `inputFilterGroups`: objects that fail it are not processed.
    pub input: Option<Filter>,
}

/// Longest regular expression compiled for `REGEX MATCH` (bytes of the compiled program).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

fn compile_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// Parse and check one filter-group collection. `check_attr` refuses an attribute a scoping
/// filter may not use (with the Graph error naming it).
fn parse_groups(
    v: Option<&Value>,
    path: &str,
    check_attr: &dyn Fn(&str) -> Result<(), ApiError>,
) -> Result<Option<Filter>, ApiError> {
    let groups = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(malformed(path, "must be an array of filter groups")),
    };
    if groups.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(groups.len());
    for (gi, g) in groups.iter().enumerate() {
        let gp = format!("{path}[{gi}]");
        let g = g
            .as_object()
            .ok_or_else(|| malformed(&gp, "must be an object {name, clauses}"))?;
        if let Some(n) = g.get("name")
            && !n.is_string()
            && !n.is_null()
        {
            return Err(malformed(&format!("{gp}.name"), "must be a string"));
        }
        let clauses = match g.get("clauses") {
            None | Some(Value::Null) => &Vec::new(),
            Some(Value::Array(c)) => c,
            Some(_) => return Err(malformed(&format!("{gp}.clauses"), "must be an array")),
        };
        let mut group = Vec::with_capacity(clauses.len());
        for (ci, c) in clauses.iter().enumerate() {
            let cp = format!("{gp}.clauses[{ci}]");
            let c = c.as_object().ok_or_else(|| {
                malformed(
                    &cp,
                    "must be an object {operatorName, sourceOperandName, targetOperand}",
                )
            })?;
            let attr = c
                .get("sourceOperandName")
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| {
                    malformed(
                        &format!("{cp}.sourceOperandName"),
                        "must name a source attribute",
                    )
                })?;
            let op_name = c
                .get("operatorName")
                .and_then(Value::as_str)
                .ok_or_else(|| malformed(&format!("{cp}.operatorName"), "must be a string"))?;
            let norm = normalize(op_name);
            let &(_, op, takes_values) = OPERATORS
                .iter()
                .find(|(n, _, _)| *n == norm)
                .ok_or_else(|| {
                    schema_invalid(format!(
                        "The scoping filter operator '{op_name}' is not supported. Supported operators: {OPERATOR_NAMES}."
                    ))
                })?;
            check_attr(attr)?;
            let values: Vec<String> = match c.get("targetOperand") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Object(t)) => match t.get("values") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(vs)) => vs
                        .iter()
                        .map(|v| {
                            v.as_str().map(str::to_string).ok_or_else(|| {
                                malformed(
                                    &format!("{cp}.targetOperand.values"),
                                    "must be an array of strings",
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?,
                    Some(_) => {
                        return Err(malformed(
                            &format!("{cp}.targetOperand.values"),
                            "must be an array of strings",
                        ));
                    }
                },
                Some(_) => {
                    return Err(malformed(
                        &format!("{cp}.targetOperand"),
                        "must be an object {values}",
                    ));
                }
            };
            if takes_values && values.is_empty() {
                return Err(malformed(
                    &format!("{cp}.targetOperand.values"),
                    &format!("must hold the value(s) operator '{op_name}' compares with"),
                ));
            }
            let mut regex = None;
            match op {
                Op::RegexMatch | Op::NotRegexMatch => {
                    regex = Some(compile_regex(&values[0]).map_err(|e| {
                        schema_invalid(format!(
                            "The scoping filter on '{attr}' has an invalid regular expression '{}': {e}",
                            values[0]
                        ))
                    })?);
                }
                Op::GreaterThan | Op::GreaterThanOrEquals | Op::LessThan | Op::LessThanOrEquals
                    if values[0].trim().parse::<i64>().is_err() =>
                {
                    return Err(schema_invalid(format!(
                        "The scoping filter on '{attr}' compares with '{}', which is not an integer; operator '{op_name}' needs an integer value.",
                        values[0]
                    )));
                }
                _ => {}
            }
            group.push(Clause {
                attr: attr.to_string(),
                op,
                values,
                regex,
            });
        }
        out.push(group);
    }
    Ok(Some(Filter { groups: out }))
}

/// Parse and check an object mapping's `scope` (null or a `filter`).
pub fn parse_scope(
    scope: Option<&Value>,
    path: &str,
    check_attr: &dyn Fn(&str) -> Result<(), ApiError>,
) -> Result<Scope, ApiError> {
    let obj = match scope {
        None | Some(Value::Null) => return Ok(Scope::default()),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(malformed(path, "must be null or a filter object")),
    };
    for k in obj.keys() {
        if !k.starts_with("@odata.")
            && !matches!(
                k.as_str(),
                "groups" | "inputFilterGroups" | "categoryFilterGroups"
            )
        {
            return Err(malformed(
                &format!("{path}.{k}"),
                "is not a property of a filter (groups, inputFilterGroups, categoryFilterGroups)",
            ));
        }
    }
    let groups = parse_groups(obj.get("groups"), &format!("{path}.groups"), check_attr)?;
    let input = parse_groups(
        obj.get("inputFilterGroups"),
        &format!("{path}.inputFilterGroups"),
        check_attr,
    )?;
    parse_groups(
        obj.get("categoryFilterGroups"),
        &format!("{path}.categoryFilterGroups"),
        check_attr,
    )?;
    Ok(Scope { groups, input })
}

fn int(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

impl Clause {
    fn holds(&self, v: &Val) -> bool {
        let text = match v {
            Val::Null => None,
            Val::One(s) => Some(s.as_str()),
            Val::Many(m) => m.first().map(String::as_str),
        }
        .filter(|s| !s.is_empty());
        let Some(t) = text else {
            return self.op == Op::IsNull;
        };
        let first = self.values.first().map(String::as_str).unwrap_or("");
        let num = |f: fn(i64, i64) -> bool| match (int(t), int(first)) {
            (Some(a), Some(b)) => f(a, b),
            _ => false,
        };
        match self.op {
            Op::Equals => self.values.iter().any(|x| x == t),
            Op::NotEquals => self.values.iter().all(|x| x != t),
            Op::IsTrue => t.eq_ignore_ascii_case("true"),
            Op::IsFalse => t.eq_ignore_ascii_case("false"),
            Op::IsNull => false,
            Op::IsNotNull => true,
            Op::RegexMatch => self.regex.as_ref().is_some_and(|r| r.is_match(t)),
            Op::NotRegexMatch => self.regex.as_ref().is_some_and(|r| !r.is_match(t)),
            Op::GreaterThan => num(|a, b| a > b),
            Op::GreaterThanOrEquals => num(|a, b| a >= b),
            Op::LessThan => num(|a, b| a < b),
            Op::LessThanOrEquals => num(|a, b| a <= b),
            Op::Includes => self.values.iter().any(|x| t.contains(x.as_str())),
            Op::EndsWith => self.values.iter().any(|x| t.ends_with(x.as_str())),
            Op::In => self.values.iter().any(|x| x.contains(t)),
            Op::NotIn => self.values.iter().all(|x| !x.contains(t)),
        }
    }
}

impl Filter {
    /// Whether an object passes: `get` gives a source attribute's value by the name a clause
    /// writes.
    pub fn matches(&self, get: &dyn Fn(&str) -> Val) -> bool {
        self.groups
            .iter()
            .any(|g| g.iter().all(|c| c.holds(&get(&c.attr))))
    }

    /// Every attribute the filter reads.
    pub fn attributes(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().flatten().map(|c| c.attr.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter(v: Value) -> Filter {
        parse_scope(Some(&v), "scope", &|_| Ok(()))
            .unwrap()
            .groups
            .unwrap()
    }

    fn clause(op: &str, values: &[&str]) -> Value {
        json!({"groups": [{"name": "g", "clauses": [
            {"operatorName": op, "sourceOperandName": "a", "targetOperand": {"values": values}}]}]})
    }

    fn holds(op: &str, values: &[&str], a: Option<&str>) -> bool {
        filter(clause(op, values)).matches(&|_| a.map_or(Val::Null, |s| Val::One(s.into())))
    }

    #[test]
    fn operators_follow_the_documented_semantics() {
        assert!(holds("EQUALS", &["Engineering"], Some("Engineering")));
        assert!(
            !holds("EQUALS", &["Engineering"], Some("engineering")),
            "case-sensitive"
        );
        assert!(holds("NOT_EQUALS", &["Sales"], Some("Engineering")));
        assert!(!holds("NOT EQUALS", &["Sales"], None), "false on null");
        assert!(holds("IS TRUE", &[], Some("True")));
        assert!(holds("IS_FALSE", &[], Some("False")));
        assert!(holds("IS NULL", &[], None));
        assert!(holds("IS NULL", &[], Some("")));
        assert!(holds("IS NOT NULL", &[], Some("x")));
        assert!(holds(
            "REGEX MATCH",
            &[r".*\@domain.com"],
            Some("a@domain.com")
        ));
        assert!(!holds("NOT REGEX MATCH", &[r".*\@domain.com"], None));
        assert!(holds("Greater_Than", &["1000000"], Some("1500000")));
        assert!(holds("Greater_Than_OR_EQUALS", &["5"], Some("5")));
        assert!(!holds("Greater_Than", &["5"], Some("five")));
        assert!(holds("Includes", &["gin"], Some("Engineering")));
        assert!(holds("ENDS_WITH", &["ring"], Some("Engineering")));
        assert!(holds("&", &["Sales,Engineering"], Some("Engineering")));
        assert!(holds("!&", &["Sales,Marketing"], Some("Engineering")));
    }

    #[test]
    fn clauses_and_inside_a_group_or_between_groups() {
        let f = filter(json!({"groups": [
            {"clauses": [
                {"operatorName": "EQUALS", "sourceOperandName": "a", "targetOperand": {"values": ["1"]}},
                {"operatorName": "EQUALS", "sourceOperandName": "b", "targetOperand": {"values": ["2"]}}]},
            {"clauses": [
                {"operatorName": "EQUALS", "sourceOperandName": "c", "targetOperand": {"values": ["3"]}}]}]}));
        let user = |a: &'static str, b: &'static str, c: &'static str| {
            move |k: &str| {
                Val::One(
                    match k {
                        "a" => a,
                        "b" => b,
                        _ => c,
                    }
                    .into(),
                )
            }
        };
        assert!(f.matches(&user("1", "2", "x")));
        assert!(!f.matches(&user("1", "x", "x")));
        assert!(f.matches(&user("x", "x", "3")));
    }

    #[test]
    fn unknown_operators_bad_regexes_and_missing_values_are_refused() {
        let e = |v: Value| parse_scope(Some(&v), "scope", &|_| Ok(())).unwrap_err();
        assert!(e(clause("LIKE", &["x"])).to_string().contains("LIKE"));
        assert!(
            e(clause("REGEX MATCH", &["(unclosed"]))
                .to_string()
                .contains("regular expression")
        );
        assert!(e(clause("EQUALS", &[])).to_string().contains("values"));
        assert!(
            e(clause("Greater_Than", &["ten"]))
                .to_string()
                .contains("integer")
        );
        assert!(e(json!({"groups": "x"})).to_string().contains("array"));
    }
}
