//! The blocks of `mto_sync_job` that shape who is provisioned and how:
//! `scoping_filter` / `group_scoping_filter` (a filter group each: its
//! clauses all hold; any block lets an object in) and `attribute_mapping`.
//! Their schema, their plan-time checks (with attribute paths) and their
//! conversion to and from the typed schema model of `graph::sync`.

use super::prelude::*;

use crate::graph::sync::{ManagedAttribute, MappedValue, Scope, ScopeClause};

/// Entra's scoping filter operators, normalized (upper case, `_` as a
/// space), and whether they take values.
const OPERATORS: &[(&str, bool)] = &[
    ("EQUALS", true),
    ("NOT EQUALS", true),
    ("IS TRUE", false),
    ("IS FALSE", false),
    ("IS NULL", false),
    ("IS NOT NULL", false),
    ("REGEX MATCH", true),
    ("NOT REGEX MATCH", true),
    ("GREATER THAN", true),
    ("GREATER THAN OR EQUALS", true),
    ("LESS THAN", true),
    ("LESS THAN OR EQUALS", true),
    ("INCLUDES", true),
    ("ENDS WITH", true),
    ("&", true),
    ("!&", true),
];

/// The operators as Microsoft's documentation spells them.
const OPERATOR_NAMES: &str = "EQUALS, NOT EQUALS, IS TRUE, IS FALSE, IS NULL, IS NOT NULL, REGEX MATCH, NOT REGEX MATCH, \
     Greater_Than, Greater_Than_OR_EQUALS, Less_Than, Less_Than_OR_EQUALS, Includes, ENDS_WITH, &, !&";

/// Attributes Entra's scoping filters cannot use (reference §6.6).
const REFUSED_IN_FILTERS: &[&str] = &[
    "userType",
    "appRoleAssignments",
    "manager",
    "members",
    "alternativeSecurityIds",
];

/// The flow types an attribute mapping may have.
const FLOW_TYPES: &[&str] = &["Always", "ObjectAddOnly"];

fn normalize(op: &str) -> String {
    op.trim()
        .to_ascii_uppercase()
        .replace('_', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------
// Model

/// One `scoping_filter` block: a filter group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterBlock {
    #[serde(default)]
    pub clause: Vec<ClauseBlock>,
}

/// One `clause` block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClauseBlock {
    pub attribute: String,
    pub operator: String,
    pub values: Option<Vec<String>>,
}

/// One `attribute_mapping` block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MappingBlock {
    pub target_attribute: String,
    pub source_attribute: Option<String>,
    pub constant: Option<String>,
    pub expression: Option<String>,
    pub flow_type: Option<String>,
    pub matching_precedence: Option<i64>,
}

/// The blocks as the schema model's scope.
pub fn to_scope(blocks: &[FilterBlock]) -> Scope {
    blocks
        .iter()
        .map(|b| {
            b.clause
                .iter()
                .map(|c| ScopeClause {
                    attribute: c.attribute.clone(),
                    operator: c.operator.clone(),
                    values: c.values.clone().unwrap_or_default(),
                })
                .collect()
        })
        .collect()
}

/// A scope read from Graph as blocks. A clause without values reads as
/// `values` unset, unless the prior state's clause at the same place said
/// `values = []`.
pub fn from_scope(scope: &Scope, prior: &[FilterBlock]) -> Vec<FilterBlock> {
    scope
        .iter()
        .enumerate()
        .map(|(i, clauses)| FilterBlock {
            clause: clauses
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    let prior_values = prior
                        .get(i)
                        .and_then(|b| b.clause.get(j))
                        .and_then(|c| c.values.as_ref());
                    ClauseBlock {
                        attribute: c.attribute.clone(),
                        operator: c.operator.clone(),
                        values: if c.values.is_empty() && prior_values.is_none() {
                            None
                        } else {
                            Some(c.values.clone())
                        },
                    }
                })
                .collect(),
        })
        .collect()
}

impl MappingBlock {
    /// The mapping as the schema model has it (defaults filled in).
    pub fn managed(&self) -> ManagedAttribute {
        let value = match (&self.source_attribute, &self.constant, &self.expression) {
            (Some(a), _, _) => MappedValue::Attribute(a.clone()),
            (None, Some(c), _) => MappedValue::Constant(c.clone()),
            (None, None, e) => MappedValue::Expression(e.clone().unwrap_or_default()),
        };
        ManagedAttribute {
            target: self.target_attribute.clone(),
            value,
            flow_type: self.flow_type.clone().unwrap_or_else(|| "Always".into()),
            matching_priority: self.matching_precedence.unwrap_or(0),
        }
    }

    /// A mapping read from Graph, keeping the user's spelling of its target.
    pub fn from_managed(m: &ManagedAttribute, target: &str) -> MappingBlock {
        let (mut source_attribute, mut constant, mut expression) = (None, None, None);
        match &m.value {
            MappedValue::Attribute(a) => source_attribute = Some(a.clone()),
            MappedValue::Constant(c) => constant = Some(c.clone()),
            MappedValue::Expression(e) => expression = Some(e.clone()),
        }
        MappingBlock {
            target_attribute: target.to_owned(),
            source_attribute,
            constant,
            expression,
            flow_type: Some(m.flow_type.clone()),
            matching_precedence: Some(m.matching_priority),
        }
    }

    /// Whether this mapping sets `target`.
    pub fn targets(&self, target: &str) -> bool {
        self.target_attribute.eq_ignore_ascii_case(target)
    }
}

// ---------------------------------------------------------------------------
// Schema

/// A `scoping_filter`-shaped block list named `name`.
pub fn filter_block(name: &str, description: &str) -> tfplugin::NestedBlock {
    let clause = Block::new()
        .description("One condition on a source attribute, e.g. `department EQUALS Engineering`.")
        .attribute(
            Attribute::string("attribute")
                .required()
                .validator(NotBlank)
                .description("The source attribute (`department`, `companyName`, `country`, an extension attribute, …). Entra's scoping filters cannot use `userType`, `appRoleAssignments`, `manager`, `members` or date attributes; those fail the plan."),
        )
        .attribute(
            Attribute::string("operator")
                .required()
                .description(format!("One of Entra's operators: {OPERATOR_NAMES} (case and `_` versus space do not matter). `IS TRUE`, `IS FALSE`, `IS NULL` and `IS NOT NULL` take no values; the others at least one. `REGEX MATCH` values must be valid regular expressions, `Greater_Than`/`Less_Than` values integers.")),
        )
        .attribute(
            Attribute::new("values", Type::list(Type::String))
                .optional()
                .description("The values the attribute is compared with (`EQUALS` any of them, `NOT EQUALS` none of them)."),
        );
    tfplugin::NestedBlock::list(
        name,
        Block::new()
            .description(description)
            .block(tfplugin::NestedBlock::list("clause", clause).min_items(1)),
    )
}

/// The `attribute_mapping` block list.
pub fn mapping_block() -> tfplugin::NestedBlock {
    tfplugin::NestedBlock::list(
        "attribute_mapping",
        Block::new()
            .description(
                "An attribute mapping of the user mapping (`Provision Microsoft Entra ID Users`) that this resource manages. \
                 Microsoft's default mappings and mappings not named here are left as they are; a managed mapping changed \
                 out of band shows as drift. An import manages every mapping that differs from the job template's default \
                 (apart from `userType` and `showInAddressList`, which `user_type` and `show_in_address_list` read), \
                 ordered by target attribute.",
            )
            .attribute(
                Attribute::string("target_attribute")
                    .required()
                    .validator(NotBlank)
                    .description("The attribute of the target user it sets (`department`, `jobTitle`, `userType`, …). Each target at most once."),
            )
            .attribute(Attribute::string("source_attribute").optional().validator(NotBlank).description("Copy this source attribute. Exactly one of `source_attribute`, `constant` and `expression`."))
            .attribute(Attribute::string("constant").optional().description("Set this constant value."))
            .attribute(Attribute::string("expression").optional().validator(NotBlank).description("Compute the value with an expression, e.g. `Join(\", \", [surname], [givenName])` (at most 10,000 characters)."))
            .attribute(
                Attribute::string("flow_type")
                    .default("Always")
                    .validator(OneOf(FLOW_TYPES))
                    .description("When the mapping applies (\"Apply this mapping\"): `Always` (default; also updates existing users) or `ObjectAddOnly` (only when the user is created)."),
            )
            .attribute(
                Attribute::number("matching_precedence")
                    .default(Value::from(0i64))
                    .description("Above 0 makes it a matching attribute (lowest tried first). Default 0. Cross-tenant synchronization matches on `alternativeSecurityIds` only; Graph refuses other matching attributes."),
            ),
    )
}

// ---------------------------------------------------------------------------
// Plan-time checks

/// Checks every clause of the block list `name`: a known operator, the
/// right number of values, regular expressions that compile, integers where
/// compared as such, and attributes Entra accepts in scoping filters.
pub fn check_filters(config: &Value, name: &str, diags: &mut Diagnostics) {
    let Some(blocks) = config.get(name).as_slice() else {
        return;
    };
    for (i, block) in blocks.iter().enumerate() {
        let Some(clauses) = block.get("clause").as_slice() else {
            continue;
        };
        for (j, clause) in clauses.iter().enumerate() {
            let at = AttributePath::root()
                .attr(name)
                .index(i as i64)
                .attr("clause")
                .index(j as i64);
            check_clause(clause, &at, diags);
        }
    }
}

fn check_clause(clause: &Value, at: &AttributePath, diags: &mut Diagnostics) {
    if let Some(attr) = clause.get("attribute").as_str() {
        let refused = REFUSED_IN_FILTERS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(attr.trim()))
            || attr.trim().to_ascii_lowercase().ends_with("datetime");
        if refused {
            diags.error_at(
                at.attr("attribute"),
                "Attribute not allowed in a scoping filter",
                format!(
                    "Entra's scoping filters cannot use {attr:?} (userType, appRoleAssignments, manager, members and date \
                     attributes are refused). No filter is needed to keep guests out: only internal members of the sharing \
                     tenant are ever synchronized. Filter on another attribute (department, companyName, country, an \
                     extension attribute)."
                ),
            );
        }
    }
    let Some(op) = clause.get("operator").as_str() else {
        return;
    };
    let Some(&(normal, takes_values)) = OPERATORS.iter().find(|(n, _)| *n == normalize(op)) else {
        diags.error_at(
            at.attr("operator"),
            "Unknown scoping filter operator",
            format!("{op:?} is not one of Entra's operators: {OPERATOR_NAMES}."),
        );
        return;
    };
    let values_v = clause.get("values");
    if values_v.is_unknown()
        || values_v
            .as_slice()
            .is_some_and(|v| v.iter().any(Value::is_unknown))
    {
        return; // Checked again at plan, once known.
    }
    let values = values_v.string_items();
    let values_at = at.attr("values");
    if !takes_values && !values.is_empty() {
        diags.error_at(
            values_at,
            "This operator takes no values",
            format!("{op} compares with nothing; remove values."),
        );
        return;
    }
    if takes_values && values.is_empty() {
        diags.error_at(
            values_at,
            "This operator needs a value",
            format!("{op} compares the attribute with values; give at least one in values."),
        );
        return;
    }
    for (k, v) in values.iter().enumerate() {
        let path = values_at.index(k as i64);
        match normal {
            "REGEX MATCH" | "NOT REGEX MATCH" => {
                if let Err(e) = regex::RegexBuilder::new(v).size_limit(1 << 20).build() {
                    diags.error_at(
                        path,
                        "Invalid regular expression",
                        format!("{v:?} is not a valid regular expression: {e}"),
                    );
                }
            }
            "GREATER THAN" | "GREATER THAN OR EQUALS" | "LESS THAN" | "LESS THAN OR EQUALS"
                if v.trim().parse::<i64>().is_err() =>
            {
                diags.error_at(
                    path,
                    "Not an integer",
                    format!("{op} compares integers; {v:?} is not one."),
                );
            }
            _ => {}
        }
    }
}

/// Checks the `attribute_mapping` blocks: exactly one source each, no
/// target twice, and no mapping that fights a shorthand set in the same
/// configuration (`user_type` / `show_in_address_list`).
pub fn check_mappings(config: &Value, diags: &mut Diagnostics) {
    let Some(blocks) = config.get("attribute_mapping").as_slice() else {
        return;
    };
    let mut seen: Vec<String> = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let at = AttributePath::root()
            .attr("attribute_mapping")
            .index(i as i64);
        let sources = ["source_attribute", "constant", "expression"];
        if sources.iter().all(|s| !block.get(s).is_unknown()) {
            let given = sources.iter().filter(|s| !block.get(s).is_null()).count();
            if given != 1 {
                diags.error_at(
                    at.attr("source_attribute"),
                    "Give exactly one source",
                    format!(
                        "An attribute mapping takes its value from exactly one of source_attribute, constant and expression; \
                         this one gives {given}."
                    ),
                );
            }
        }
        if let Some(e) = block.get("expression").as_str()
            && e.chars().count() > 10_000
        {
            diags.error_at(
                at.attr("expression"),
                "Expression too long",
                "Entra accepts expressions of at most 10,000 characters.",
            );
        }
        let Some(target) = block.get("target_attribute").as_str() else {
            continue;
        };
        if seen.iter().any(|s| s.eq_ignore_ascii_case(target)) {
            diags.error_at(
                at.attr("target_attribute"),
                "Target attribute mapped twice",
                format!("{target:?} is the target of an earlier attribute_mapping; map each target attribute once."),
            );
        }
        seen.push(target.to_owned());
        for (shorthand, attr) in [
            ("user_type", "userType"),
            ("show_in_address_list", "showInAddressList"),
        ] {
            if target.eq_ignore_ascii_case(attr) && !config.get(shorthand).is_null() {
                diags.error_at(
                    at.attr("target_attribute"),
                    format!("{attr} is set twice"),
                    format!(
                        "{shorthand} already sets {attr}; an attribute_mapping for {attr} replaces that shorthand. Keep one: \
                         remove {shorthand}, or remove this attribute_mapping."
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(attr: &str, op: &str, values: &[&str]) -> Value {
        Value::object([
            ("attribute", Value::from(attr)),
            ("operator", Value::from(op)),
            (
                "values",
                Value::List(values.iter().map(|v| Value::from(*v)).collect()),
            ),
        ])
    }

    fn filters(clauses: Vec<Value>) -> Value {
        Value::object([(
            "scoping_filter",
            Value::List(vec![Value::object([("clause", Value::List(clauses))])]),
        )])
    }

    fn errors(config: &Value) -> Vec<(String, String)> {
        let mut d = Diagnostics::new();
        check_filters(config, "scoping_filter", &mut d);
        check_mappings(config, &mut d);
        d.iter()
            .map(|d| {
                (
                    d.summary.clone(),
                    format!("{:?}", d.path.as_ref().map(|p| p.steps().to_vec())),
                )
            })
            .collect()
    }

    #[test]
    fn operators_are_matched_ignoring_case_and_underscores() {
        let ok = filters(vec![
            clause("department", "equals", &["Engineering"]),
            clause("department", "NOT_EQUALS", &["Sales"]),
            clause("companyName", "is not null", &[]),
            clause("extension_1_costCenter", "Greater_Than", &["10"]),
            clause("country", "REGEX MATCH", &["^(DE|FR)$"]),
        ]);
        assert_eq!(errors(&ok), vec![]);
    }

    #[test]
    fn values_unknown_at_validate_are_not_counted_as_missing() {
        let c = Value::object([
            ("attribute", Value::from("employeeType")),
            ("operator", Value::from("EQUALS")),
            ("values", Value::List(vec![Value::unknown()])),
        ]);
        assert_eq!(errors(&filters(vec![c])), vec![]);
    }

    #[test]
    fn a_bad_clause_fails_on_its_own_path() {
        let bad = filters(vec![
            clause("department", "LIKE", &["x"]),
            clause("department", "IS NULL", &["x"]),
            clause("department", "EQUALS", &[]),
            clause("country", "REGEX MATCH", &["(unclosed"]),
            clause("userType", "EQUALS", &["Member"]),
            clause("employeeHireDateTime", "IS NOT NULL", &[]),
            clause("extension_1_level", "Greater_Than", &["high"]),
        ]);
        let found = errors(&bad);
        let summaries: Vec<&str> = found.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            summaries,
            [
                "Unknown scoping filter operator",
                "This operator takes no values",
                "This operator needs a value",
                "Invalid regular expression",
                "Attribute not allowed in a scoping filter",
                "Attribute not allowed in a scoping filter",
                "Not an integer",
            ]
        );
        assert!(
            found[0].1.contains("Index(0)") && found[0].1.contains("\"operator\""),
            "{found:?}"
        );
        assert!(
            found[3].1.contains("Index(3)") && found[3].1.contains("\"values\""),
            "{found:?}"
        );
        assert!(found[4].1.contains("\"attribute\""), "{found:?}");
    }

    fn mapping(target: &str, fields: &[(&str, &str)]) -> Value {
        let mut attrs = vec![("target_attribute", Value::from(target))];
        for f in ["source_attribute", "constant", "expression"] {
            let v = fields
                .iter()
                .find(|(k, _)| *k == f)
                .map_or(Value::Null, |(_, v)| Value::from(*v));
            attrs.push((f, v));
        }
        Value::object(attrs)
    }

    #[test]
    fn mappings_need_one_source_and_distinct_targets() {
        let config = Value::object([
            (
                "attribute_mapping",
                Value::List(vec![
                    mapping("department", &[("source_attribute", "department")]),
                    mapping("jobTitle", &[]),
                    mapping("DEPARTMENT", &[("constant", "x")]),
                    mapping(
                        "city",
                        &[("constant", "x"), ("expression", "Join(\",\", [a])")],
                    ),
                ]),
            ),
            ("user_type", Value::Null),
        ]);
        let found = errors(&config);
        let summaries: Vec<&str> = found.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            summaries,
            [
                "Give exactly one source",
                "Target attribute mapped twice",
                "Give exactly one source"
            ]
        );
    }

    #[test]
    fn a_mapping_and_its_shorthand_together_are_refused() {
        let config = Value::object([
            (
                "attribute_mapping",
                Value::List(vec![mapping("userType", &[("constant", "Guest")])]),
            ),
            ("user_type", Value::from("Member")),
        ]);
        assert_eq!(errors(&config)[0].0, "userType is set twice");
        let alone = Value::object([
            (
                "attribute_mapping",
                Value::List(vec![mapping("userType", &[("constant", "Guest")])]),
            ),
            ("user_type", Value::Null),
        ]);
        assert_eq!(errors(&alone), vec![]);
    }

    #[test]
    fn a_scope_round_trips_through_blocks() {
        let blocks = vec![FilterBlock {
            clause: vec![
                ClauseBlock {
                    attribute: "department".into(),
                    operator: "EQUALS".into(),
                    values: Some(vec!["Engineering".into()]),
                },
                ClauseBlock {
                    attribute: "country".into(),
                    operator: "IS NOT NULL".into(),
                    values: None,
                },
            ],
        }];
        assert_eq!(from_scope(&to_scope(&blocks), &blocks), blocks);
        let mut with_empty = blocks.clone();
        with_empty[0].clause[1].values = Some(vec![]);
        assert_eq!(from_scope(&to_scope(&with_empty), &with_empty), with_empty);
    }
}
