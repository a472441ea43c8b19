//! OData query options: `$filter` (parsed to a small AST that [`crate::store::filter`] compiles
//! to SQL for the document table, or that evaluates on JSON for small in-memory collections),
//! `$search`, `$select`, `$top` and the `$skiptoken` page token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Raw query parameters with case-insensitive lookup of `$`-options.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct QueryParams(pub Vec<(String, String)>);

impl QueryParams {
    /// The value of a query option (`name` like `$filter`), matched case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A literal in a filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    /// `'text'`
    Str(String),
    /// `true` / `false`
    Bool(bool),
    /// `null`
    Null,
    /// A number.
    Num(f64),
}

/// Comparison operator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// `eq`
    Eq,
    /// `ne` (advanced query)
    Ne,
}

/// A parsed `$filter` or `$search` expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// `a and b`
    And(Box<Filter>, Box<Filter>),
    /// `a or b`
    Or(Box<Filter>, Box<Filter>),
    /// `not a` (advanced query)
    Not(Box<Filter>),
    /// `prop eq lit`
    Cmp {
        /// Property.
        prop: String,
        /// Operator.
        op: Op,
        /// Literal.
        value: Lit,
    },
    /// `startswith(prop,'x')`
    StartsWith {
        /// Property.
        prop: String,
        /// Prefix.
        value: String,
    },
    /// `endswith(prop,'x')` (advanced query)
    EndsWith {
        /// Property.
        prop: String,
        /// Suffix.
        value: String,
    },
    /// `prop in ('a','b')`: equal to one of the literals.
    In {
        /// Property.
        prop: String,
        /// Literals.
        values: Vec<Lit>,
    },
    /// `prop/any(x: body)` over a multi-valued property; inside `body` the element is the
    /// property [`ELEMENT`] (a primitive element) or its own properties (`x/issuer` → `issuer`).
    /// `prop/any()` (no body) matches a non-empty collection.
    Any {
        /// The multi-valued property.
        prop: String,
        /// The condition on one element, if any.
        body: Option<Box<Filter>>,
    },
    /// `$search` clause `"prop:term"`: a word of the property starts with `term`.
    Token {
        /// Property.
        prop: String,
        /// Term.
        term: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    Comma,
    Colon,
}

/// The name a lambda body gives the element itself (`p` in `proxyAddresses/any(p:p eq 'x')`).
pub const ELEMENT: &str = "$it";

fn invalid_filter(detail: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid filter clause: {detail}"))
}

fn lex(s: &str) -> Result<Vec<Tok>, ApiError> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1
            }
            '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(invalid_filter("unterminated string literal")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            v.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            v.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '-')
                {
                    i += 1;
                }
                let t: String = chars[start..i].iter().collect();
                out.push(Tok::Num(
                    t.parse()
                        .map_err(|_| invalid_filter(&format!("bad number '{t}'")))?,
                ));
            }
            c if c.is_alphabetic() || c == '_' || c == '@' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '/' | '.' | '@'))
                {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(invalid_filter(&format!("unexpected character '{other}'"))),
        }
    }
    Ok(out)
}

/// The deepest `$filter` or `$search` expression tree accepted (nesting of parentheses and
/// `not`, and length of `and`/`or` chains, which nest too). Every walk over a filter (evaluation,
/// SQL compilation, dropping it) recurses once per level, so this bound is what keeps a hostile
/// query from exhausting a worker's stack; it also keeps the compiled SQL far below SQLite's
/// expression depth limit (1000). Graph's own directory limits are much lower (UNCONFIRMED here:
/// its OData parser refuses deep recursion, the directory a filter height above 3).
pub const MAX_FILTER_DEPTH: usize = 100;

fn too_deep() -> ApiError {
    invalid_filter(&format!(
        "The query specified in the URI is not valid. The recursion limit has been exceeded (at most {MAX_FILTER_DEPTH} nested or chained expressions)."
    ))
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// Current recursion depth of the descent (parentheses and `not`).
    depth: usize,
}

/// A parsed sub-expression with the height of its tree.
type Parsed = (Filter, usize);

/// Join two sub-expressions under `node`, refusing trees taller than [`MAX_FILTER_DEPTH`].
fn join(
    (left, lh): Parsed,
    (right, rh): Parsed,
    node: fn(Box<Filter>, Box<Filter>) -> Filter,
) -> Result<Parsed, ApiError> {
    let h = 1 + lh.max(rh);
    if h > MAX_FILTER_DEPTH {
        return Err(too_deep());
    }
    Ok((node(Box::new(left), Box::new(right)), h))
}

impl Parser {
    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Ident(i)) if i.eq_ignore_ascii_case(kw))
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, t: Tok) -> Result<(), ApiError> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            _ => Err(invalid_filter(&format!("expected {t:?}"))),
        }
    }

    /// Enter one level of recursion, or fail beyond the bound (two levels per tree level: a
    /// `not(` is a `not` and a parenthesis).
    fn descend(&mut self) -> Result<(), ApiError> {
        self.depth += 1;
        if self.depth > 2 * MAX_FILTER_DEPTH {
            return Err(too_deep());
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Parsed, ApiError> {
        let mut left = self.and()?;
        while self.peek_kw("or") {
            self.pos += 1;
            let right = self.and()?;
            left = join(left, right, Filter::Or)?;
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Parsed, ApiError> {
        let mut left = self.unary()?;
        while self.peek_kw("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = join(left, right, Filter::And)?;
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Parsed, ApiError> {
        if self.peek_kw("not") {
            self.pos += 1;
            self.descend()?;
            let (inner, h) = self.unary()?;
            self.depth -= 1;
            if h + 1 > MAX_FILTER_DEPTH {
                return Err(too_deep());
            }
            return Ok((Filter::Not(Box::new(inner)), h + 1));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Parsed, ApiError> {
        match self.next() {
            Some(Tok::LParen) => {
                self.descend()?;
                let f = self.or()?;
                self.depth -= 1;
                self.expect(Tok::RParen)?;
                Ok(f)
            }
            Some(Tok::Ident(name)) => self.comparison(name),
            _ => Err(invalid_filter("expected an expression")),
        }
    }

    /// `startswith(prop,'x')`, `endswith(prop,'x')`, `prop/any(x: …)`, `prop in (…)` or
    /// `prop op literal`, after `name`.
    fn comparison(&mut self, name: String) -> Result<Parsed, ApiError> {
        let lower = name.to_ascii_lowercase();
        let call = self.toks.get(self.pos) == Some(&Tok::LParen);
        if (lower == "startswith" || lower == "endswith") && call {
            self.pos += 1;
            let prop = match self.next() {
                Some(Tok::Ident(p)) => p,
                _ => return Err(invalid_filter("expected a property name")),
            };
            self.expect(Tok::Comma)?;
            let value = match self.next() {
                Some(Tok::Str(v)) => v,
                _ => return Err(invalid_filter("expected a string literal")),
            };
            self.expect(Tok::RParen)?;
            let f = if lower == "startswith" {
                Filter::StartsWith { prop, value }
            } else {
                Filter::EndsWith { prop, value }
            };
            return Ok((f, 1));
        }
        if call && let Some((prop, op)) = name.rsplit_once('/') {
            return self.lambda(prop, op);
        }
        let op = match self.next() {
            Some(Tok::Ident(o)) if o.eq_ignore_ascii_case("eq") => Op::Eq,
            Some(Tok::Ident(o)) if o.eq_ignore_ascii_case("ne") => Op::Ne,
            Some(Tok::Ident(o)) if o.eq_ignore_ascii_case("in") => {
                let values = self.literal_list()?;
                return Ok((Filter::In { prop: name, values }, 1));
            }
            Some(Tok::Ident(o)) => {
                return Err(ApiError::unsupported_query(format!(
                    "Unsupported query operator '{o}'."
                )));
            }
            _ => return Err(invalid_filter("expected an operator")),
        };
        let value = self.literal()?;
        Ok((
            Filter::Cmp {
                prop: name,
                op,
                value,
            },
            1,
        ))
    }

    fn literal(&mut self) -> Result<Lit, ApiError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Num(n)) => Ok(Lit::Num(n)),
            Some(Tok::Ident(i)) if i == "true" => Ok(Lit::Bool(true)),
            Some(Tok::Ident(i)) if i == "false" => Ok(Lit::Bool(false)),
            Some(Tok::Ident(i)) if i == "null" => Ok(Lit::Null),
            _ => Err(invalid_filter("expected a literal")),
        }
    }

    /// `('a', 'b', …)` after `in`: at least one literal, at most [`MAX_FILTER_DEPTH`] (Graph's
    /// directory allows 15).
    fn literal_list(&mut self) -> Result<Vec<Lit>, ApiError> {
        self.expect(Tok::LParen)?;
        let mut values = vec![self.literal()?];
        loop {
            match self.next() {
                Some(Tok::Comma) => values.push(self.literal()?),
                Some(Tok::RParen) => break,
                _ => return Err(invalid_filter("expected ',' or ')' in an 'in' list")),
            }
            if values.len() > MAX_FILTER_DEPTH {
                return Err(too_deep());
            }
        }
        Ok(values)
    }

    /// `prop/any(x: body)` or `prop/any()`, the parenthesis next.
    fn lambda(&mut self, prop: &str, op: &str) -> Result<Parsed, ApiError> {
        if !op.eq_ignore_ascii_case("any") {
            return Err(ApiError::unsupported_query(format!(
                "Unsupported query lambda operator '{op}'."
            )));
        }
        self.pos += 1; // (
        if self.toks.get(self.pos) == Some(&Tok::RParen) {
            self.pos += 1;
            return Ok((
                Filter::Any {
                    prop: prop.to_string(),
                    body: None,
                },
                1,
            ));
        }
        let var = match (self.next(), self.next()) {
            (Some(Tok::Ident(v)), Some(Tok::Colon)) if !v.contains('/') => v,
            _ => {
                return Err(invalid_filter(
                    "expected 'variable:' in a lambda expression",
                ));
            }
        };
        // A lambda is a tree level and a parenthesis, like `not(`: two levels of descent.
        self.descend()?;
        self.descend()?;
        let (body, h) = self.or()?;
        self.depth -= 2;
        self.expect(Tok::RParen)?;
        if h + 1 > MAX_FILTER_DEPTH {
            return Err(too_deep());
        }
        let body = body.bind(&var)?;
        Ok((
            Filter::Any {
                prop: prop.to_string(),
                body: Some(Box::new(body)),
            },
            h + 1,
        ))
    }
}

/// Parse a `$filter` value. Expressions deeper than [`MAX_FILTER_DEPTH`] are a 400.
pub fn parse_filter(s: &str) -> Result<Filter, ApiError> {
    let mut p = Parser {
        toks: lex(s)?,
        pos: 0,
        depth: 0,
    };
    let (f, _) = p.or()?;
    if p.pos != p.toks.len() {
        return Err(invalid_filter("unexpected trailing input"));
    }
    Ok(f)
}

/// Parse a `$search` value: `"prop:term"` clauses joined by `AND`/`OR` (at most
/// [`MAX_FILTER_DEPTH`] clauses).
pub fn parse_search(s: &str, allowed: &[&str]) -> Result<Filter, ApiError> {
    let bad = || ApiError::bad_request(format!("Syntax error: invalid $search value '{s}'."));
    let mut clauses: Vec<Filter> = Vec::new();
    let mut ops: Vec<bool> = Vec::new(); // true = AND
    let mut rest = s.trim();
    loop {
        let body = rest.strip_prefix('"').ok_or_else(bad)?;
        let end = body.find('"').ok_or_else(bad)?;
        let clause = &body[..end];
        rest = body[end + 1..].trim_start();
        let (prop, term) = clause.split_once(':').ok_or_else(bad)?;
        let prop = canonical(prop.trim(), allowed).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid $search: property '{}' is not searchable.",
                prop.trim()
            ))
        })?;
        clauses.push(Filter::Token {
            prop,
            term: term.trim().to_lowercase(),
        });
        // The clauses become a chain of AND/OR nodes as tall as their number.
        if clauses.len() > MAX_FILTER_DEPTH {
            return Err(ApiError::bad_request(format!(
                "Invalid $search: at most {MAX_FILTER_DEPTH} clauses are supported."
            )));
        }
        if rest.is_empty() {
            break;
        }
        let (op, after) = rest.split_once(char::is_whitespace).ok_or_else(bad)?;
        ops.push(match op {
            "AND" | "and" => true,
            "OR" | "or" => false,
            _ => return Err(bad()),
        });
        rest = after.trim_start();
    }
    // AND binds tighter than OR.
    let mut groups: Vec<Filter> = Vec::new();
    let mut iter = clauses.into_iter();
    let mut cur = iter.next().ok_or_else(bad)?;
    for (is_and, next) in ops.into_iter().zip(iter) {
        if is_and {
            cur = Filter::And(Box::new(cur), Box::new(next));
        } else {
            groups.push(cur);
            cur = next;
        }
    }
    groups.push(cur);
    let mut f = groups.remove(0);
    for g in groups {
        f = Filter::Or(Box::new(f), Box::new(g));
    }
    Ok(f)
}

fn canonical(prop: &str, allowed: &[&str]) -> Option<String> {
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(prop))
        .map(|a| a.to_string())
}

impl Filter {
    /// Whether the expression needs an advanced query (`ConsistencyLevel: eventual`).
    pub fn is_advanced(&self) -> bool {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => a.is_advanced() || b.is_advanced(),
            Filter::Not(_) | Filter::EndsWith { .. } => true,
            Filter::Cmp { op, .. } => *op == Op::Ne,
            Filter::Any { body, .. } => body.as_ref().is_some_and(|b| b.is_advanced()),
            Filter::StartsWith { .. } | Filter::Token { .. } | Filter::In { .. } => false,
        }
    }

    /// Apply `f` to every property name that is not inside a nested lambda's body.
    fn map_props(
        self,
        f: &mut impl FnMut(String) -> Result<String, ApiError>,
    ) -> Result<Filter, ApiError> {
        Ok(match self {
            Filter::And(a, b) => Filter::And(Box::new(a.map_props(f)?), Box::new(b.map_props(f)?)),
            Filter::Or(a, b) => Filter::Or(Box::new(a.map_props(f)?), Box::new(b.map_props(f)?)),
            Filter::Not(a) => Filter::Not(Box::new(a.map_props(f)?)),
            Filter::Cmp { prop, op, value } => Filter::Cmp {
                prop: f(prop)?,
                op,
                value,
            },
            Filter::StartsWith { prop, value } => Filter::StartsWith {
                prop: f(prop)?,
                value,
            },
            Filter::EndsWith { prop, value } => Filter::EndsWith {
                prop: f(prop)?,
                value,
            },
            Filter::In { prop, values } => Filter::In {
                prop: f(prop)?,
                values,
            },
            Filter::Any { prop, body } => Filter::Any {
                prop: f(prop)?,
                body,
            },
            Filter::Token { prop, term } => Filter::Token {
                prop: f(prop)?,
                term,
            },
        })
    }

    /// Rewrite a lambda body's references to its variable `var`: `var` becomes [`ELEMENT`],
    /// `var/p` becomes `p`; any other property is an error (the body may only look at the
    /// element).
    fn bind(self, var: &str) -> Result<Filter, ApiError> {
        self.map_props(&mut |p: String| {
            if p == var {
                return Ok(ELEMENT.to_string());
            }
            match p.split_once('/') {
                Some((v, rest)) if v == var && !rest.is_empty() => Ok(rest.to_string()),
                _ => Err(invalid_filter(&format!(
                    "'{p}' is not the lambda variable '{var}' or one of its properties"
                ))),
            }
        })
    }

    /// Replace property names by their canonical spelling from `allowed`, or fail with Graph's
    /// unsupported-filter error naming `type_name`. A multi-valued property is filterable only
    /// through `any()`, listed as `prop/sub` entries: `proxyAddresses/$it` (the element itself,
    /// [`ELEMENT`]) or `identities/issuer` (a property of each element).
    pub fn canonicalize(self, allowed: &[&str], type_name: &str) -> Result<Filter, ApiError> {
        let unsupported = |p: &str| {
            ApiError::unsupported_query(format!(
                "Unsupported or invalid query filter clause specified for property '{p}' of resource '{type_name}'."
            ))
        };
        Ok(match self {
            Filter::Any { prop, body } => {
                let mut canon = None;
                let mut subs: Vec<&str> = Vec::new();
                for a in allowed {
                    if let Some((head, sub)) = a.split_once('/')
                        && head.eq_ignore_ascii_case(&prop)
                    {
                        canon = Some(head);
                        subs.push(sub);
                    }
                }
                let canon = canon.ok_or_else(|| unsupported(&prop))?;
                let body = match body {
                    Some(b) => Some(Box::new(b.canonicalize(&subs, type_name)?)),
                    None => None,
                };
                Filter::Any {
                    prop: canon.to_string(),
                    body,
                }
            }
            Filter::And(a, b) => Filter::And(
                Box::new(a.canonicalize(allowed, type_name)?),
                Box::new(b.canonicalize(allowed, type_name)?),
            ),
            Filter::Or(a, b) => Filter::Or(
                Box::new(a.canonicalize(allowed, type_name)?),
                Box::new(b.canonicalize(allowed, type_name)?),
            ),
            Filter::Not(a) => Filter::Not(Box::new(a.canonicalize(allowed, type_name)?)),
            t @ Filter::Token { .. } => t,
            other => other.map_props(&mut |p: String| {
                canonical(&p, allowed)
                    .filter(|c| !c.contains('/'))
                    .ok_or_else(|| unsupported(&p))
            })?,
        })
    }

    /// Evaluate on a JSON object (for collections that are not in the document table).
    pub fn eval(&self, obj: &Map<String, Value>) -> bool {
        let get = |p: &str| obj.get(p).unwrap_or(&Value::Null);
        let lower = |v: &Value| v.as_str().map(str::to_lowercase);
        match self {
            Filter::And(a, b) => a.eval(obj) && b.eval(obj),
            Filter::Or(a, b) => a.eval(obj) || b.eval(obj),
            Filter::Not(a) => !a.eval(obj),
            Filter::Cmp { prop, op, value } => {
                let v = get(prop);
                let eq = match value {
                    Lit::Null => v.is_null(),
                    Lit::Str(s) => lower(v).as_deref() == Some(s.to_lowercase().as_str()),
                    Lit::Bool(b) => v.as_bool() == Some(*b),
                    Lit::Num(n) => v.as_f64() == Some(*n),
                };
                if *op == Op::Eq { eq } else { !eq }
            }
            Filter::In { prop, values } => values.iter().any(|value| {
                Filter::Cmp {
                    prop: prop.clone(),
                    op: Op::Eq,
                    value: value.clone(),
                }
                .eval(obj)
            }),
            Filter::Any { prop, body } => match get(prop) {
                Value::Array(items) => match body {
                    None => !items.is_empty(),
                    Some(b) => items.iter().any(|item| match item {
                        Value::Object(m) => b.eval(m),
                        v => {
                            let mut m = Map::new();
                            m.insert(ELEMENT.to_string(), v.clone());
                            b.eval(&m)
                        }
                    }),
                },
                _ => false,
            },
            Filter::StartsWith { prop, value } => {
                lower(get(prop)).is_some_and(|s| s.starts_with(&value.to_lowercase()))
            }
            Filter::EndsWith { prop, value } => {
                lower(get(prop)).is_some_and(|s| s.ends_with(&value.to_lowercase()))
            }
            Filter::Token { prop, term } => lower(get(prop)).is_some_and(|s| {
                s.starts_with(term.as_str())
                    || s.match_indices(term.as_str()).any(|(i, _)| {
                        i > 0 && matches!(s.as_bytes()[i - 1], b' ' | b'.' | b'_' | b'-' | b'@')
                    })
            }),
        }
    }
}

/// Parse `$select` against the properties of a type. Returns canonical names.
pub fn parse_select(
    raw: Option<&str>,
    known: &[&str],
    type_name: &str,
) -> Result<Option<Vec<String>>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let mut out = Vec::new();
    for p in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let c = canonical(p, known).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Could not find a property named '{p}' on type 'microsoft.graph.{type_name}'."
            ))
        })?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// Keep the selected properties (missing ones as null), or the `default` set, or — with an
/// empty `default` — every public property. Properties starting with `_` are never returned.
pub fn project(
    obj: &Map<String, Value>,
    select: Option<&[String]>,
    default: &[&str],
) -> Map<String, Value> {
    let mut out = Map::new();
    match select {
        Some(sel) => {
            for p in sel {
                out.insert(p.clone(), obj.get(p).cloned().unwrap_or(Value::Null));
            }
        }
        None if !default.is_empty() => {
            for p in default {
                out.insert(
                    (*p).to_string(),
                    obj.get(*p).cloned().unwrap_or(Value::Null),
                );
            }
        }
        None => {
            for (k, v) in obj {
                if !k.starts_with('_') {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    out
}

/// The OData system query options (`$`-prefixed) Graph knows; any other `$` option is refused.
pub const SYSTEM_QUERY_OPTIONS: &[&str] = &[
    "$filter",
    "$select",
    "$expand",
    "$orderby",
    "$top",
    "$skip",
    "$count",
    "$search",
    "$skiptoken",
    "$deltatoken",
    "$format",
];

impl QueryParams {
    /// Refuse unknown or misspelt system query options (`$filtr`) and known ones that `route`
    /// does not support (`supported`), instead of ignoring them.
    pub fn check_options(&self, supported: &[&str]) -> Result<(), ApiError> {
        for (k, _) in &self.0 {
            if !k.starts_with('$') {
                continue;
            }
            if !SYSTEM_QUERY_OPTIONS
                .iter()
                .any(|o| o.eq_ignore_ascii_case(k))
            {
                // UNCONFIRMED code: the directory's message for an unknown query argument.
                return Err(ApiError::request_bad_request(format!(
                    "Unrecognized query argument specified: '{k}'."
                )));
            }
            if !supported.iter().any(|o| o.eq_ignore_ascii_case(k)) {
                return Err(ApiError::bad_request(format!(
                    "The query specified in the URI is not valid. Query option '{}' is not allowed.",
                    k.trim_start_matches('$')
                )));
            }
        }
        Ok(())
    }
}

/// Parse `$orderby` (`prop [asc|desc]`, comma-separated) against the properties of a type:
/// an unknown property is a 400 naming it, a known one that is not in `sortable` Graph's
/// "Sorting not supported for current query.". Returns canonical names, `true` = descending.
pub fn parse_orderby(
    raw: Option<&str>,
    known: &[&str],
    sortable: &[&str],
    type_name: &str,
) -> Result<Vec<(String, bool)>, ApiError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for item in raw.split(',').map(str::trim) {
        let mut words = item.split_whitespace();
        let Some(prop) = words.next() else {
            return Err(ApiError::bad_request(format!(
                "Invalid $orderby value '{raw}'."
            )));
        };
        let desc = match words.next() {
            None => false,
            Some(d) if d.eq_ignore_ascii_case("asc") => false,
            Some(d) if d.eq_ignore_ascii_case("desc") => true,
            Some(d) => {
                return Err(ApiError::bad_request(format!(
                    "Syntax error at position {} in '{raw}': '{d}' is not 'asc' or 'desc'.",
                    raw.find(d).unwrap_or(0)
                )));
            }
        };
        if words.next().is_some() {
            return Err(ApiError::bad_request(format!(
                "Invalid $orderby value '{raw}'."
            )));
        }
        let c = canonical(prop, known).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Could not find a property named '{prop}' on type 'microsoft.graph.{type_name}'."
            ))
        })?;
        if !sortable.contains(&c.as_str()) {
            return Err(sorting_not_supported());
        }
        out.push((c, desc));
    }
    Ok(out)
}

/// Graph's answer to an `$orderby` it refuses.
pub fn sorting_not_supported() -> ApiError {
    ApiError::unsupported_query("Sorting not supported for current query.")
}

/// Parse `$top` (1..=max).
pub fn parse_top(raw: Option<&str>, default: usize, max: usize) -> Result<usize, ApiError> {
    match raw {
        None => Ok(default),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::request_bad_request(format!(
                "Invalid page size specified: '{v}'. Must be between 1 and {max} inclusive."
            ))),
        },
    }
}

/// Continuation state carried in `$skiptoken`: the original query options and the last key.
#[derive(Debug, Serialize, Deserialize)]
pub struct PageToken {
    /// Original query parameters (without `$skiptoken` and `$count`).
    pub q: Vec<(String, String)>,
    /// Key of the last item of the previous page.
    pub after: String,
    /// With `$orderby`: how many items the previous pages held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
}

impl PageToken {
    /// Encode for a URL (base64url, no padding: safe in a query string as is).
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decode, or 400 for a token we did not issue.
    pub fn decode(s: &str) -> Result<PageToken, ApiError> {
        URL_SAFE_NO_PAD
            .decode(s.trim())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                ApiError::request_bad_request(
                    "The specified page token value has expired or is invalid.",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn filter_parses_and_or_startswith_with_precedence() {
        let f = parse_filter(
            "startswith(displayName,'Am') and accountEnabled eq true or mail eq 'x@y.z'",
        )
        .unwrap();
        assert!(matches!(f, Filter::Or(..)));
        let amy = obj(json!({"displayName":"Amy Lee","accountEnabled":true,"mail":"amy@c.com"}));
        let bob = obj(json!({"displayName":"Bob","accountEnabled":true,"mail":"X@Y.Z"}));
        let ann = obj(json!({"displayName":"Ann","accountEnabled":false}));
        assert!(f.eval(&amy));
        assert!(f.eval(&bob));
        assert!(!f.eval(&ann));
    }

    #[test]
    fn filter_string_with_escaped_quote_and_unknown_operator() {
        let f = parse_filter("displayName eq 'O''Brien'").unwrap();
        assert_eq!(
            f,
            Filter::Cmp {
                prop: "displayName".into(),
                op: Op::Eq,
                value: Lit::Str("O'Brien".into())
            }
        );
        assert!(parse_filter("displayName gt 'a'").is_err());
        assert!(parse_filter("displayName eq").is_err());
        assert!(parse_filter("(displayName eq 'a'").is_err());
    }

    #[test]
    fn filter_depth_is_bounded_for_nesting_chains_and_not() {
        let deep = |n: usize| format!("{}id eq 'x'{}", "(".repeat(n), ")".repeat(n));
        assert!(parse_filter(&deep(MAX_FILTER_DEPTH - 1)).is_ok());
        for hostile in [
            deep(5000),
            format!("{}id eq 'x'", "not(".repeat(5000)),
            format!("{}id eq 'x'", "not ".repeat(5000)),
            vec!["id eq 'x'"; 5000].join(" or "),
            vec!["id eq 'x'"; 5000].join(" and "),
            "(".repeat(200_000),
            format!(
                "{}c eq 'x'{}",
                "identities/any(c:".repeat(5000),
                ")".repeat(5000)
            ),
            format!("id in ({})", vec!["'x'"; 5000].join(",")),
        ] {
            let e = parse_filter(&hostile).unwrap_err();
            assert_eq!(e.status().as_u16(), 400, "{e}");
        }
        let chain = vec!["id eq 'x'"; MAX_FILTER_DEPTH].join(" or ");
        assert!(parse_filter(&chain).is_ok());
        let clauses = vec![r#""displayName:a""#; MAX_FILTER_DEPTH + 1].join(" OR ");
        assert!(parse_search(&clauses, &["displayName"]).is_err());
    }

    #[test]
    fn canonicalize_rejects_unknown_properties() {
        let f = parse_filter("DISPLAYNAME eq 'a'").unwrap();
        let c = f.canonicalize(&["displayName"], "User").unwrap();
        assert_eq!(
            c,
            Filter::Cmp {
                prop: "displayName".into(),
                op: Op::Eq,
                value: Lit::Str("a".into())
            }
        );
        assert!(
            parse_filter("city eq 'a'")
                .unwrap()
                .canonicalize(&["displayName"], "User")
                .is_err()
        );
    }

    #[test]
    fn search_matches_word_prefixes_and_combines_or() {
        let f = parse_search(
            r#""displayName:lee" OR "mail:bob""#,
            &["displayName", "mail"],
        )
        .unwrap();
        assert!(f.eval(&obj(json!({"displayName":"Amy Lee"}))));
        assert!(f.eval(&obj(json!({"displayName":"X","mail":"bob@c.com"}))));
        assert!(!f.eval(&obj(json!({"displayName":"Ashlee"}))));
        assert!(parse_search("displayName:lee", &["displayName"]).is_err());
    }

    #[test]
    fn select_is_case_insensitive_and_rejects_unknown() {
        let s = parse_select(Some("DisplayName,id"), &["id", "displayName"], "user")
            .unwrap()
            .unwrap();
        assert_eq!(s, vec!["displayName".to_string(), "id".to_string()]);
        assert!(parse_select(Some("nope"), &["id"], "user").is_err());
    }

    #[test]
    fn lambdas_bind_their_variable_and_evaluate_on_elements() {
        let f =
            parse_filter("identities/any(c:c/issuerAssignedId eq 'j@x.com' and c/issuer eq 'B2C')")
                .unwrap()
                .canonicalize(
                    &["identities/issuer", "identities/issuerAssignedId"],
                    "User",
                )
                .unwrap();
        let hit = obj(json!({"identities": [{"issuer": "b2c", "issuerAssignedId": "J@x.com"}]}));
        let miss = obj(json!({"identities": [{"issuer": "b2c"}, {"issuerAssignedId": "j@x.com"}]}));
        assert!(f.eval(&hit));
        assert!(!f.eval(&miss));
        assert!(!f.eval(&obj(json!({}))));
        let p = parse_filter("proxyAddresses/any(p:startswith(p,'SMTP:'))")
            .unwrap()
            .canonicalize(&["proxyAddresses/$it"], "User")
            .unwrap();
        assert!(p.eval(&obj(json!({"proxyAddresses": ["x500:a", "smtp:a@b.c"]}))));
        assert!(!p.eval(&obj(json!({"proxyAddresses": ["x500:a"]}))));
        let any = parse_filter("groupTypes/any()").unwrap();
        assert!(any.eval(&obj(json!({"groupTypes": ["Unified"]}))));
        assert!(!any.eval(&obj(json!({"groupTypes": []}))));
        // The body may only use its variable; all() and direct use of a collection are refused.
        assert!(parse_filter("identities/any(c:issuer eq 'x')").is_err());
        assert!(parse_filter("identities/any(c c/issuer eq 'x')").is_err());
        assert!(parse_filter("identities/all(c:c/issuer eq 'x')").is_err());
        for (f, allowed) in [
            ("proxyAddresses eq 'x'", &["proxyAddresses/$it"][..]),
            (
                "identities/any(c:c/other eq 'x')",
                &["identities/issuer"][..],
            ),
            ("mail/any(m:m eq 'x')", &["mail"][..]),
        ] {
            let e = parse_filter(f)
                .unwrap()
                .canonicalize(allowed, "User")
                .unwrap_err();
            assert_eq!(e.status().as_u16(), 400, "{f}");
        }
    }

    #[test]
    fn in_lists_match_any_literal() {
        let f = parse_filter("displayName in ('Amy', 'bob') and accountEnabled eq true").unwrap();
        assert!(f.eval(&obj(json!({"displayName": "BOB", "accountEnabled": true}))));
        assert!(!f.eval(&obj(json!({"displayName": "Carl", "accountEnabled": true}))));
        assert!(parse_filter("displayName in ()").is_err());
        assert!(parse_filter("displayName in ('a'").is_err());
    }

    #[test]
    fn orderby_parses_directions_and_refuses_what_graph_refuses() {
        let known = &["displayName", "jobTitle"];
        let o = parse_orderby(Some("DisplayName desc"), known, &["displayName"], "user").unwrap();
        assert_eq!(o, vec![("displayName".to_string(), true)]);
        let o = parse_orderby(Some("displayName"), known, &["displayName"], "user").unwrap();
        assert_eq!(o, vec![("displayName".to_string(), false)]);
        let e = parse_orderby(Some("jobTitle"), known, &["displayName"], "user").unwrap_err();
        assert!(e.to_string().contains("Sorting not supported"), "{e}");
        assert!(parse_orderby(Some("nope"), known, &["displayName"], "user").is_err());
        assert!(parse_orderby(Some("displayName up"), known, &["displayName"], "user").is_err());
        assert!(parse_orderby(Some(""), known, &["displayName"], "user").is_err());
    }

    #[test]
    fn unknown_and_unserved_system_query_options_are_refused() {
        let q = |k: &str| QueryParams(vec![(k.to_string(), "1".to_string())]);
        assert!(q("$top").check_options(&["$top"]).is_ok());
        assert!(q("$TOP").check_options(&["$top"]).is_ok());
        assert!(q("api-version").check_options(&[]).is_ok());
        let e = q("$topp").check_options(&["$top"]).unwrap_err();
        assert!(e.to_string().contains("Unrecognized query argument"), "{e}");
        assert!(q("$orderby").check_options(&["$top"]).is_err());
    }

    #[test]
    fn page_token_round_trips() {
        let t = PageToken {
            q: vec![("$top".into(), "2".into())],
            after: "abc".into(),
            offset: None,
        };
        let d = PageToken::decode(&t.encode()).unwrap();
        assert_eq!(d.after, "abc");
        assert!(PageToken::decode("!!").is_err());
    }
}
