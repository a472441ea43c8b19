//! `WHERE` fragments over the `docs` table: [`SqlFilter`], compiled from a parsed `$filter` or
//! `$search` ([`crate::query::Filter`]) or built for one property.
//!
//! The SQL text only ever contains property names from fixed allow-lists (the callers
//! canonicalize filters first), never user input; values are positional parameters.

use rusqlite::types::Value as SqlValue;

use crate::query::{ELEMENT, Filter, Lit, Op};

/// A compiled `WHERE` fragment over `body` with its parameters; empty matches everything.
#[derive(Clone, Debug, Default)]
pub struct SqlFilter {
    /// SQL boolean expression, e.g. `lower(json_extract(body,'$.mail')) = lower(?)`.
    pub(super) sql: String,
    /// Positional parameters for the `?` in `sql`.
    pub(super) params: Vec<SqlValue>,
}

impl SqlFilter {
    /// Combine two filters with AND.
    pub fn and(self, other: SqlFilter) -> SqlFilter {
        if self.sql.is_empty() {
            return other;
        }
        if other.sql.is_empty() {
            return self;
        }
        let mut params = self.params;
        params.extend(other.params);
        SqlFilter {
            sql: format!("({}) AND ({})", self.sql, other.sql),
            params,
        }
    }

    /// Documents whose string property `prop` (a fixed name) equals `value` exactly.
    pub fn prop_equals(prop: &str, value: &str) -> SqlFilter {
        SqlFilter {
            sql: format!("json_extract(body, '$.{prop}') = ?"),
            params: vec![value.to_string().into()],
        }
    }

    /// Compile a filter over the `docs` table. Property names must be canonical (allow-listed):
    /// they are the only part of the SQL text not fixed here.
    pub fn compile(f: &Filter) -> SqlFilter {
        SqlFilter::compile_in(f, 0)
    }

    /// Compile inside `depth` nested `any()` lambdas: at depth 0 properties are the document's,
    /// deeper they are those of the element `je{depth}` of the innermost lambda's collection.
    fn compile_in(f: &Filter, depth: usize) -> SqlFilter {
        let col = |prop: &str| -> String {
            match (depth, prop) {
                (0, "id") => "key".to_string(),
                (0, p) => format!("json_extract(body, '$.{p}')"),
                (d, ELEMENT) => format!("je{d}.value"),
                (d, p) => format!("json_extract(je{d}.value, '$.{p}')"),
            }
        };
        fn like_escape(s: &str) -> String {
            let mut o = String::new();
            for c in s.to_lowercase().chars() {
                if matches!(c, '%' | '_' | '\\') {
                    o.push('\\');
                }
                o.push(c);
            }
            o
        }
        match f {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let (x, y) = (
                    SqlFilter::compile_in(a, depth),
                    SqlFilter::compile_in(b, depth),
                );
                let op = if matches!(f, Filter::And(..)) {
                    "AND"
                } else {
                    "OR"
                };
                let mut params = x.params;
                params.extend(y.params);
                SqlFilter {
                    sql: format!("({}) {op} ({})", x.sql, y.sql),
                    params,
                }
            }
            Filter::Not(a) => {
                let x = SqlFilter::compile_in(a, depth);
                SqlFilter {
                    sql: format!("NOT ({})", x.sql),
                    params: x.params,
                }
            }
            Filter::Cmp { prop, op, value } => {
                let c = col(prop);
                let (sql, params): (String, Vec<SqlValue>) = match (op, value) {
                    (Op::Eq, Lit::Null) => (format!("{c} IS NULL"), vec![]),
                    (Op::Ne, Lit::Null) => (format!("{c} IS NOT NULL"), vec![]),
                    (Op::Eq, Lit::Str(s)) => {
                        (format!("lower({c}) = lower(?)"), vec![s.clone().into()])
                    }
                    (Op::Ne, Lit::Str(s)) => (
                        format!("({c} IS NULL OR lower({c}) != lower(?))"),
                        vec![s.clone().into()],
                    ),
                    (Op::Eq, Lit::Bool(b)) => (format!("{c} = ?"), vec![i64::from(*b).into()]),
                    (Op::Ne, Lit::Bool(b)) => (
                        format!("({c} IS NULL OR {c} != ?)"),
                        vec![i64::from(*b).into()],
                    ),
                    (Op::Eq, Lit::Num(n)) => (format!("{c} = ?"), vec![(*n).into()]),
                    (Op::Ne, Lit::Num(n)) => {
                        (format!("({c} IS NULL OR {c} != ?)"), vec![(*n).into()])
                    }
                };
                SqlFilter { sql, params }
            }
            Filter::In { prop, values } => {
                let mut parts = Vec::with_capacity(values.len());
                let mut params = Vec::new();
                for value in values {
                    let x = SqlFilter::compile_in(
                        &Filter::Cmp {
                            prop: prop.clone(),
                            op: Op::Eq,
                            value: value.clone(),
                        },
                        depth,
                    );
                    parts.push(format!("({})", x.sql));
                    params.extend(x.params);
                }
                SqlFilter {
                    sql: parts.join(" OR "),
                    params,
                }
            }
            Filter::Any { prop, body } => {
                // The collection is the document's (depth 0) or the current element's.
                let source = match depth {
                    0 => format!("body, '$.{prop}'"),
                    d => format!("je{d}.value, '$.{prop}'"),
                };
                let inner = depth + 1;
                let (cond, params) = match body {
                    Some(b) => {
                        let x = SqlFilter::compile_in(b, inner);
                        (format!(" WHERE {}", x.sql), x.params)
                    }
                    None => (String::new(), Vec::new()),
                };
                SqlFilter {
                    sql: format!("EXISTS (SELECT 1 FROM json_each({source}) AS je{inner}{cond})"),
                    params,
                }
            }
            Filter::StartsWith { prop, value } => SqlFilter {
                sql: format!("lower({}) LIKE ? ESCAPE '\\'", col(prop)),
                params: vec![format!("{}%", like_escape(value)).into()],
            },
            Filter::EndsWith { prop, value } => SqlFilter {
                sql: format!("lower({}) LIKE ? ESCAPE '\\'", col(prop)),
                params: vec![format!("%{}", like_escape(value)).into()],
            },
            Filter::Token { prop, term } => {
                let c = format!("lower({})", col(prop));
                let t = like_escape(term);
                let seps = [" ", ".", "\\_", "-", "@"];
                let mut sql = format!("{c} LIKE ? ESCAPE '\\'");
                let mut params: Vec<SqlValue> = vec![format!("{t}%").into()];
                for s in seps {
                    sql.push_str(&format!(" OR {c} LIKE ? ESCAPE '\\'"));
                    params.push(format!("%{s}{t}%").into());
                }
                SqlFilter {
                    sql: format!("({sql})"),
                    params,
                }
            }
        }
    }
}
