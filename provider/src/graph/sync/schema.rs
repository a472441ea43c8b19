//! The synchronization schema of a job, typed where this provider edits it
//! and kept whole everywhere else.
//!
//! Graph's `PUT .../schema` replaces the schema, so an edit must carry
//! everything Microsoft put there (directories, rules, metadata, the
//! default attribute mappings) back unchanged. Every struct here keeps the
//! properties it does not name in `rest`, and serializes them again, so a
//! read-edit-write round trip changes only what the edit changed.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A job's `synchronizationSchema`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SyncSchema {
    #[serde(default)]
    pub synchronization_rules: Vec<SyncRule>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// One synchronization rule (cross-tenant synchronization has one,
/// `USER_INBOUND_USER`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SyncRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub object_mappings: Vec<ObjectMapping>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// How one kind of source object becomes a target object.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMapping {
    #[serde(default)]
    pub source_object_name: String,
    /// Whether the mapping runs; absent means it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `Add, Update, Delete` (comma-separated); absent means all three.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_types: Option<String>,
    #[serde(default)]
    pub attribute_mappings: Vec<AttributeMapping>,
    /// The scoping filter; `null` lets every object in.
    #[serde(default)]
    pub scope: Option<Filter>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// A scoping filter: an object is in scope when any of `groups` holds,
/// and a group holds when all its clauses hold.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(default)]
    pub groups: Vec<FilterGroup>,
    /// Objects failing these are not processed at all.
    #[serde(default)]
    pub input_filter_groups: Vec<FilterGroup>,
    #[serde(default)]
    pub category_filter_groups: Vec<FilterGroup>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Clauses that must all hold.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FilterGroup {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub clauses: Vec<FilterClause>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// One condition on a source attribute, e.g. `department EQUALS Sales`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FilterClause {
    /// `EQUALS`, `NOT EQUALS`, `IS NULL`, `REGEX MATCH`, `Greater_Than`, …
    pub operator_name: String,
    pub source_operand_name: String,
    #[serde(default)]
    pub target_operand: Option<FilterOperand>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// The values a clause compares with.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FilterOperand {
    #[serde(default)]
    pub values: Vec<String>,
}

/// The name of the filter group that scopes a job to no one while it
/// deprovisions (see [`SyncSchema::scope_to_nobody`]).
pub const NOBODY: &str = "terraform-provider-mto: deprovisioning";

impl Filter {
    /// A filter no object passes: its one clause asks for an attribute every
    /// object has to be empty.
    fn nobody(always_set: &str) -> Filter {
        Filter {
            groups: vec![FilterGroup {
                name: NOBODY.to_owned(),
                clauses: vec![FilterClause {
                    operator_name: "IS NULL".to_owned(),
                    source_operand_name: always_set.to_owned(),
                    target_operand: Some(FilterOperand { values: Vec::new() }),
                    rest: Map::new(),
                }],
                rest: Map::new(),
            }],
            ..Filter::default()
        }
    }
}

/// How one target attribute is computed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AttributeMapping {
    pub target_attribute_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<MappingSource>,
    /// `Always` (default) or `ObjectAddOnly`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_type: Option<String>,
    /// Above 0: a matching attribute (the lowest is tried first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching_priority: Option<i64>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Where a mapped value comes from: an attribute, a constant or a
/// function of other sources.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MappingSource {
    /// `Attribute`, `Constant` or `Function`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl MappingSource {
    /// A constant, written as Graph writes one (`"expression": "\"Member\""`).
    pub fn constant(value: &str) -> MappingSource {
        let mut rest = Map::new();
        rest.insert("parameters".into(), Value::Array(Vec::new()));
        MappingSource {
            kind: "Constant".into(),
            name: Some(value.to_owned()),
            expression: Some(format!("\"{value}\"")),
            rest,
        }
    }

    /// The value, when this is a constant.
    pub fn constant_value(&self) -> Option<&str> {
        (self.kind == "Constant")
            .then_some(self.name.as_deref())
            .flatten()
    }
}

impl AttributeMapping {
    /// A new constant mapping that applies to existing objects too.
    fn constant(target: &str, value: &str) -> AttributeMapping {
        AttributeMapping::new(target, MappingSource::constant(value), ALWAYS, 0)
    }

    /// A new mapping as Graph writes one.
    fn new(
        target: &str,
        source: MappingSource,
        flow_type: &str,
        priority: i64,
    ) -> AttributeMapping {
        let mut rest = Map::new();
        rest.insert("defaultValue".into(), Value::Null);
        rest.insert("flowBehavior".into(), "FlowWhenChanged".into());
        rest.insert("exportMissingReferences".into(), false.into());
        AttributeMapping {
            target_attribute_name: target.to_owned(),
            source: Some(source),
            flow_type: Some(flow_type.to_owned()),
            matching_priority: Some(priority),
            rest,
        }
    }
}

impl MappingSource {
    /// A direct copy of the source attribute `name`.
    pub fn attribute(name: &str) -> MappingSource {
        let mut rest = Map::new();
        rest.insert("parameters".into(), Value::Array(Vec::new()));
        MappingSource {
            kind: "Attribute".into(),
            name: Some(name.to_owned()),
            expression: Some(format!("[{name}]")),
            rest,
        }
    }

    /// An expression (`Join(", ", [surname], [givenName])`); Graph
    /// evaluates its text.
    pub fn expression(text: &str) -> MappingSource {
        let mut rest = Map::new();
        rest.insert("parameters".into(), Value::Array(Vec::new()));
        let name = text.split('(').next().unwrap_or_default().trim();
        MappingSource {
            kind: "Function".into(),
            name: Some(name.to_owned()),
            expression: Some(text.to_owned()),
            rest,
        }
    }
}

/// Where a managed attribute mapping takes its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MappedValue {
    /// Copied from a source attribute.
    Attribute(String),
    /// A constant.
    Constant(String),
    /// An expression text.
    Expression(String),
}

/// An attribute mapping as this provider manages it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedAttribute {
    /// The target attribute (`department`, `userType`, …).
    pub target: String,
    pub value: MappedValue,
    /// `Always` or `ObjectAddOnly`.
    pub flow_type: String,
    /// 0: not a matching attribute.
    pub matching_priority: i64,
}

impl ManagedAttribute {
    fn source(&self) -> MappingSource {
        match &self.value {
            MappedValue::Attribute(a) => MappingSource::attribute(a),
            MappedValue::Constant(c) => MappingSource::constant(c),
            MappedValue::Expression(e) => MappingSource::expression(e),
        }
    }

    fn of(m: &AttributeMapping) -> Option<ManagedAttribute> {
        let source = m.source.as_ref()?;
        let value = if source.kind.eq_ignore_ascii_case("Attribute") {
            MappedValue::Attribute(source.name.clone().unwrap_or_default())
        } else if source.kind.eq_ignore_ascii_case("Constant") {
            MappedValue::Constant(source.name.clone().unwrap_or_default())
        } else {
            MappedValue::Expression(source.expression.clone().unwrap_or_default())
        };
        Some(ManagedAttribute {
            target: m.target_attribute_name.clone(),
            value,
            flow_type: m.flow_type.clone().unwrap_or_else(|| ALWAYS.to_owned()),
            matching_priority: m.matching_priority.unwrap_or(0),
        })
    }
}

/// One clause of a scoping filter: `department EQUALS Engineering`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeClause {
    pub attribute: String,
    /// Entra's operator name (`EQUALS`, `IS NOT NULL`, `REGEX MATCH`, …).
    pub operator: String,
    pub values: Vec<String>,
}

/// A scoping filter as this provider manages it: an object is in scope
/// when any group holds, and a group holds when all its clauses do. Empty:
/// no filter.
pub type Scope = Vec<Vec<ScopeClause>>;

impl Filter {
    /// The groups of the filter, typed.
    fn typed(&self) -> Scope {
        self.groups
            .iter()
            .map(|g| {
                g.clauses
                    .iter()
                    .map(|c| ScopeClause {
                        attribute: c.source_operand_name.clone(),
                        operator: c.operator_name.clone(),
                        values: c
                            .target_operand
                            .as_ref()
                            .map(|o| o.values.clone())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .collect()
    }

    /// A filter of `scope`'s groups (`None` for an empty scope).
    fn of(scope: &Scope) -> Option<Filter> {
        if scope.is_empty() {
            return None;
        }
        Some(Filter {
            groups: scope
                .iter()
                .enumerate()
                .map(|(i, clauses)| FilterGroup {
                    name: format!("scoping_filter {}", i + 1),
                    clauses: clauses
                        .iter()
                        .map(|c| FilterClause {
                            operator_name: c.operator.clone(),
                            source_operand_name: c.attribute.clone(),
                            target_operand: Some(FilterOperand {
                                values: c.values.clone(),
                            }),
                            rest: Map::new(),
                        })
                        .collect(),
                    rest: Map::new(),
                })
                .collect(),
            ..Filter::default()
        })
    }
}

/// The scope of an object mapping, typed (no filter reads as empty).
fn scope_of(m: &ObjectMapping) -> Scope {
    m.scope.as_ref().map(Filter::typed).unwrap_or_default()
}

/// Sets the scope of an object mapping, keeping a filter that already
/// says the same (its group names, its input filters).
fn set_scope(m: &mut ObjectMapping, scope: &Scope) {
    if scope_of(m) != *scope {
        m.scope = Filter::of(scope);
    }
}

/// The name of the group object mapping in a cross-tenant synchronization
/// schema.
pub const GROUP_MAPPING_NAME: &str = "Provision Microsoft Entra ID Groups";

/// The flow type that applies a mapping on every change, not only when
/// the object is created.
const ALWAYS: &str = "Always";

/// The settings of the job's schema this provider manages.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserMapping {
    /// The `userType` constant: `Member` or `Guest`.
    pub user_type: String,
    /// The `showInAddressList` constant.
    pub show_in_address_list: bool,
    /// Whether the mapping's flow types include `Delete` (users leaving the
    /// scope are soft-deleted in the target).
    pub delete_out_of_scope: bool,
    /// The user mapping's scoping filter (empty: none).
    pub scope: Scope,
    /// Whether the group mapping runs (security groups provisioned as
    /// groups, with their members).
    pub provision_groups: bool,
    /// The group mapping's scoping filter (written only with
    /// `provision_groups`).
    pub group_scope: Scope,
    /// Attribute mappings of the user mapping this provider manages; the
    /// others are left as they are. When one targets `userType` or
    /// `showInAddressList`, it replaces the constant above.
    pub attributes: Vec<ManagedAttribute>,
}

/// The same settings as found in a schema: a constant that is not there
/// (or not a constant) reads as `None`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FoundUserMapping {
    pub user_type: Option<String>,
    pub show_in_address_list: Option<bool>,
    pub delete_out_of_scope: bool,
    pub scope: Scope,
    /// Whether the schema has a group mapping that runs.
    pub provision_groups: bool,
    pub group_scope: Scope,
}

impl ObjectMapping {
    fn attribute(&self, target: &str) -> Option<&AttributeMapping> {
        self.attribute_mappings
            .iter()
            .find(|m| m.target_attribute_name.eq_ignore_ascii_case(target))
    }

    /// The constant a target attribute is set to, if it is one.
    pub fn constant_of(&self, target: &str) -> Option<&str> {
        self.attribute(target)?.source.as_ref()?.constant_value()
    }

    /// Sets `target` to the constant `value` for every object (flow type
    /// `Always`: Graph's default applies `userType` to new users only, and a
    /// change must reach the users the job already created, and existing
    /// B2B guests, too).
    fn set_constant(&mut self, target: &str, value: &str) {
        let fresh = AttributeMapping::constant(target, value);
        match self
            .attribute_mappings
            .iter_mut()
            .find(|m| m.target_attribute_name.eq_ignore_ascii_case(target))
        {
            Some(m) => {
                m.source = fresh.source;
                m.flow_type = fresh.flow_type;
            }
            None => self.attribute_mappings.push(fresh),
        }
    }

    /// Whether the flow types include `name` (absent flow types mean all).
    fn flows(&self, name: &str) -> bool {
        self.flow_types
            .as_deref()
            .unwrap_or("Add, Update, Delete")
            .split(',')
            .any(|f| f.trim().eq_ignore_ascii_case(name))
    }
}

impl SyncSchema {
    /// The first rule's id, which provisioning on demand names.
    pub fn rule_id(&self) -> Option<&str> {
        self.synchronization_rules.first()?.id.as_deref()
    }

    fn user_mapping(&self) -> Option<&ObjectMapping> {
        self.synchronization_rules
            .first()?
            .object_mappings
            .iter()
            .find(|m| m.source_object_name.eq_ignore_ascii_case("User"))
    }

    fn user_mapping_mut(&mut self) -> Option<&mut ObjectMapping> {
        self.synchronization_rules
            .first_mut()?
            .object_mappings
            .iter_mut()
            .find(|m| m.source_object_name.eq_ignore_ascii_case("User"))
    }

    fn group_mapping(&self) -> Option<&ObjectMapping> {
        self.synchronization_rules
            .first()?
            .object_mappings
            .iter()
            .find(|m| m.source_object_name.eq_ignore_ascii_case("Group"))
    }

    /// The group mapping, added (disabled, with direct mappings of the
    /// group's name, description, nickname and members) when the schema
    /// has none.
    fn group_mapping_mut(&mut self) -> Option<&mut ObjectMapping> {
        let rule = self.synchronization_rules.first_mut()?;
        let at = match rule
            .object_mappings
            .iter()
            .position(|m| m.source_object_name.eq_ignore_ascii_case("Group"))
        {
            Some(i) => i,
            None => {
                let mut rest = Map::new();
                rest.insert("name".into(), GROUP_MAPPING_NAME.into());
                rest.insert("targetObjectName".into(), "Group".into());
                rest.insert("metadata".into(), Value::Array(Vec::new()));
                rule.object_mappings.push(ObjectMapping {
                    source_object_name: "Group".to_owned(),
                    enabled: Some(false),
                    flow_types: Some("Add, Update, Delete".to_owned()),
                    attribute_mappings: ["displayName", "description", "mailNickname", "members"]
                        .iter()
                        .map(|a| AttributeMapping::new(a, MappingSource::attribute(a), ALWAYS, 0))
                        .collect(),
                    scope: None,
                    rest,
                });
                rule.object_mappings.len() - 1
            }
        };
        rule.object_mappings.get_mut(at)
    }

    /// The attribute mapping of the user mapping for `target`, as this
    /// provider manages it; `None` when there is none.
    pub fn user_attribute(&self, target: &str) -> Option<ManagedAttribute> {
        ManagedAttribute::of(self.user_mapping()?.attribute(target)?)
    }

    /// The user mapping's attribute mappings that are not as `defaults` (the
    /// job template's schema) has them: what an import manages. The targets
    /// of the `user_type` and `show_in_address_list` shorthands are left out
    /// (those attributes read them), and so is a mapping without a source.
    pub fn user_attributes_changed_from(&self, defaults: &SyncSchema) -> Vec<ManagedAttribute> {
        let Some(m) = self.user_mapping() else {
            return Vec::new();
        };
        let default = defaults.user_mapping();
        m.attribute_mappings
            .iter()
            .filter(|a| {
                !["userType", "showInAddressList"]
                    .iter()
                    .any(|t| a.target_attribute_name.eq_ignore_ascii_case(t))
            })
            .filter_map(ManagedAttribute::of)
            .filter(|a| {
                default
                    .and_then(|d| d.attribute(&a.target))
                    .and_then(ManagedAttribute::of)
                    .as_ref()
                    != Some(a)
            })
            .collect()
    }

    /// The managed settings of the user mapping; `None` when the schema has
    /// no user mapping.
    pub fn user_settings(&self) -> Option<FoundUserMapping> {
        let m = self.user_mapping()?;
        let group = self.group_mapping();
        let provision_groups = group.is_some_and(|g| g.enabled != Some(false));
        Some(FoundUserMapping {
            user_type: m.constant_of("userType").map(str::to_owned),
            show_in_address_list: m
                .constant_of("showInAddressList")
                .map(|v| v.eq_ignore_ascii_case("true")),
            delete_out_of_scope: m.flows("Delete"),
            scope: scope_of(m),
            provision_groups,
            group_scope: group
                .filter(|_| provision_groups)
                .map(scope_of)
                .unwrap_or_default(),
        })
    }

    /// Scopes every object mapping to no one, with deletes flowing: the
    /// next full cycle removes from the target everything this job
    /// provisioned (users soft-deleted, groups deleted), as Microsoft
    /// documents un-sharing, without touching the configuration's
    /// assignments (which belong to the share).
    pub fn scope_to_nobody(&mut self) {
        for rule in &mut self.synchronization_rules {
            for m in &mut rule.object_mappings {
                let always_set = if m.source_object_name.eq_ignore_ascii_case("User") {
                    "userPrincipalName"
                } else {
                    "displayName"
                };
                m.scope = Some(Filter::nobody(always_set));
                m.flow_types = Some("Add, Update, Delete".to_owned());
            }
        }
    }

    /// Writes the managed settings into the user mapping; returns whether
    /// anything changed (false also when there is no user mapping).
    pub fn apply_user_settings(&mut self, s: &UserMapping) -> bool {
        let Some(mapping) = self.user_mapping_mut() else {
            return false;
        };
        let before = mapping.clone();
        let managed = |target: &str| {
            s.attributes
                .iter()
                .any(|a| a.target.eq_ignore_ascii_case(target))
        };
        if !managed("userType") {
            mapping.set_constant("userType", &s.user_type);
        }
        if !managed("showInAddressList") {
            mapping.set_constant(
                "showInAddressList",
                if s.show_in_address_list {
                    "True"
                } else {
                    "False"
                },
            );
        }
        for a in &s.attributes {
            mapping.set_managed(a);
        }
        set_scope(mapping, &s.scope);
        mapping.flow_types = Some(
            if s.delete_out_of_scope {
                "Add, Update, Delete"
            } else {
                "Add, Update"
            }
            .to_owned(),
        );
        let mut changed = *mapping != before;
        changed |= self.apply_group_settings(s);
        changed
    }

    /// Turns the group mapping on (with `members`, which keeps the target
    /// groups' membership in step, and the group scope) or off. Returns
    /// whether anything changed.
    fn apply_group_settings(&mut self, s: &UserMapping) -> bool {
        if !s.provision_groups {
            return match self.synchronization_rules.first_mut().and_then(|r| {
                r.object_mappings
                    .iter_mut()
                    .find(|m| m.source_object_name.eq_ignore_ascii_case("Group"))
            }) {
                Some(g) if g.enabled != Some(false) => {
                    g.enabled = Some(false);
                    true
                }
                _ => false,
            };
        }
        let Some(g) = self.group_mapping_mut() else {
            return false;
        };
        let before = g.clone();
        g.enabled = Some(true);
        if g.attribute("members").is_none() {
            g.attribute_mappings.push(AttributeMapping::new(
                "members",
                MappingSource::attribute("members"),
                ALWAYS,
                0,
            ));
        }
        set_scope(g, &s.group_scope);
        *g != before
    }
}

impl ObjectMapping {
    /// Writes a managed attribute mapping: the existing mapping of its
    /// target is changed in place (keeping its other properties), or a new
    /// one is added.
    fn set_managed(&mut self, a: &ManagedAttribute) {
        let source = a.source();
        match self
            .attribute_mappings
            .iter_mut()
            .find(|m| m.target_attribute_name.eq_ignore_ascii_case(&a.target))
        {
            Some(m) => {
                if ManagedAttribute::of(m).as_ref() != Some(a) {
                    m.source = Some(source);
                    m.flow_type = Some(a.flow_type.clone());
                    m.matching_priority = Some(a.matching_priority);
                }
            }
            None => self.attribute_mappings.push(AttributeMapping::new(
                &a.target,
                source,
                &a.flow_type,
                a.matching_priority,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema_doc() -> Value {
        json!({
            "id": "job", "version": "v1.2",
            "directories": [{"name": "Azure Active Directory", "objects": []}],
            "synchronizationRules": [{"id": "r1", "name": "USER_INBOUND_USER", "priority": 1,
                "objectMappings": [
                    {"sourceObjectName": "Group", "targetObjectName": "Group", "attributeMappings": [], "scope": null},
                    {"sourceObjectName": "User", "targetObjectName": "User", "name": "Provision Microsoft Entra ID Users",
                     "flowTypes": "Add, Update, Delete", "scope": null, "attributeMappings": [
                        {"targetAttributeName": "displayName", "source": {"type": "Attribute", "name": "displayName", "expression": "[displayName]", "parameters": []}, "flowType": "Always", "matchingPriority": 0},
                        {"targetAttributeName": "userType", "source": {"type": "Constant", "name": "Member", "expression": "\"Member\"", "parameters": []}, "flowType": "ObjectAddOnly", "defaultValue": null}
                    ]}
                ]}]
        })
    }

    fn parse(v: Value) -> SyncSchema {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn an_untouched_schema_round_trips_unchanged() {
        let doc = schema_doc();
        let back = serde_json::to_value(parse(doc.clone())).unwrap();
        assert_eq!(back, doc);
    }

    #[test]
    fn settings_are_written_and_read_back() {
        let mut s = parse(schema_doc());
        let wanted = UserMapping {
            user_type: "Guest".into(),
            show_in_address_list: false,
            delete_out_of_scope: false,
            ..UserMapping::default()
        };
        assert!(s.apply_user_settings(&wanted));
        assert!(
            !s.apply_user_settings(&wanted),
            "a second write changes nothing"
        );
        assert_eq!(
            s.user_settings(),
            Some(FoundUserMapping {
                user_type: Some("Guest".into()),
                show_in_address_list: Some(false),
                delete_out_of_scope: false,
                ..FoundUserMapping::default()
            })
        );
        assert_eq!(s.rule_id(), Some("r1"));
        let doc = serde_json::to_value(&s).unwrap();
        let user = &doc["synchronizationRules"][0]["objectMappings"][1];
        assert_eq!(user["flowTypes"], "Add, Update");
        assert_eq!(
            user["attributeMappings"][1]["flowType"], "Always",
            "a change must reach existing users"
        );
        assert_eq!(
            user["attributeMappings"][2]["targetAttributeName"],
            "showInAddressList"
        );
        assert_eq!(
            user["attributeMappings"][2]["source"]["expression"],
            "\"False\""
        );
        assert_eq!(
            user["attributeMappings"][0]["matchingPriority"], 0,
            "unmanaged mappings are kept"
        );
        assert_eq!(
            doc["synchronizationRules"][0]["objectMappings"][0]["sourceObjectName"],
            "Group"
        );
    }

    #[test]
    fn a_schema_without_a_user_mapping_reads_as_nothing_and_is_not_edited() {
        let mut s = parse(json!({"synchronizationRules": [{"id": "r", "objectMappings": []}]}));
        assert_eq!(s.user_settings(), None);
        assert!(!s.apply_user_settings(&UserMapping {
            user_type: "Member".into(),
            show_in_address_list: true,
            delete_out_of_scope: true,
            ..UserMapping::default()
        }));
    }

    #[test]
    fn a_job_scoped_to_nobody_keeps_its_mappings_and_deletes() {
        let mut s = parse(schema_doc());
        let before = s.user_settings();
        s.scope_to_nobody();
        let doc = serde_json::to_value(&s).unwrap();
        for m in doc["synchronizationRules"][0]["objectMappings"]
            .as_array()
            .unwrap()
        {
            assert_eq!(m["flowTypes"], "Add, Update, Delete");
            let clause = &m["scope"]["groups"][0]["clauses"][0];
            assert_eq!(clause["operatorName"], "IS NULL", "{m:#}");
            assert_eq!(m["scope"]["groups"][0]["name"], NOBODY);
        }
        assert_eq!(
            doc["synchronizationRules"][0]["objectMappings"][1]["scope"]["groups"][0]["clauses"][0]
                ["sourceOperandName"],
            "userPrincipalName"
        );
        assert_eq!(
            s.user_settings().unwrap().user_type,
            before.unwrap().user_type
        );
    }

    #[test]
    fn a_scoping_filter_reads_as_graph_writes_it() {
        let s = parse(
            json!({"synchronizationRules": [{"objectMappings": [{"sourceObjectName": "User", "attributeMappings": [],
            "scope": {"groups": [{"name": "Engineering only", "clauses": [
                {"operatorName": "EQUALS", "sourceOperandName": "department", "targetOperand": {"values": ["Engineering"]}}]}],
                "inputFilterGroups": [], "categoryFilterGroups": []}}]}]}),
        );
        let scope = s.synchronization_rules[0].object_mappings[0]
            .scope
            .as_ref()
            .unwrap();
        assert_eq!(scope.groups[0].clauses[0].source_operand_name, "department");
        assert_eq!(
            scope.groups[0].clauses[0]
                .target_operand
                .as_ref()
                .unwrap()
                .values,
            ["Engineering"]
        );
    }

    #[test]
    fn absent_flow_types_mean_deletes_flow() {
        let s = parse(json!({"synchronizationRules": [{"objectMappings": [
            {"sourceObjectName": "user", "attributeMappings": [
                {"targetAttributeName": "ShowInAddressList", "source": {"type": "Constant", "name": "TRUE"}}
            ]}
        ]}]}));
        let found = s.user_settings().unwrap();
        assert!(found.delete_out_of_scope);
        assert_eq!(found.show_in_address_list, Some(true));
        assert_eq!(found.user_type, None);
    }

    fn member_settings() -> UserMapping {
        UserMapping {
            user_type: "Member".into(),
            show_in_address_list: true,
            delete_out_of_scope: true,
            ..UserMapping::default()
        }
    }

    #[test]
    fn a_user_scope_is_written_read_back_and_kept_when_unchanged() {
        let mut s = parse(schema_doc());
        let scope = vec![vec![ScopeClause {
            attribute: "department".into(),
            operator: "EQUALS".into(),
            values: vec!["Engineering".into()],
        }]];
        let wanted = UserMapping {
            scope: scope.clone(),
            ..member_settings()
        };
        assert!(s.apply_user_settings(&wanted));
        assert!(
            !s.apply_user_settings(&wanted),
            "the same scope is not rewritten"
        );
        assert_eq!(s.user_settings().unwrap().scope, scope);
        let doc = serde_json::to_value(&s).unwrap();
        let clause = &doc["synchronizationRules"][0]["objectMappings"][1]["scope"]["groups"][0]["clauses"]
            [0];
        assert_eq!(clause["operatorName"], "EQUALS");
        assert_eq!(clause["targetOperand"]["values"][0], "Engineering");
        assert!(s.apply_user_settings(&member_settings()));
        assert_eq!(
            serde_json::to_value(&s).unwrap()["synchronizationRules"][0]["objectMappings"][1]["scope"],
            Value::Null,
            "no blocks: no filter"
        );
    }

    #[test]
    fn group_provisioning_enables_the_group_mapping_with_members() {
        let mut s = parse(schema_doc());
        assert!(
            s.user_settings().unwrap().provision_groups,
            "no `enabled`: it runs"
        );
        let wanted = UserMapping {
            provision_groups: true,
            ..member_settings()
        };
        assert!(s.apply_user_settings(&wanted));
        let found = s.user_settings().unwrap();
        assert!(found.provision_groups);
        let doc = serde_json::to_value(&s).unwrap();
        let group = &doc["synchronizationRules"][0]["objectMappings"][0];
        assert_eq!(group["enabled"], true);
        assert_eq!(
            group["attributeMappings"][0]["targetAttributeName"],
            "members"
        );
        assert!(s.apply_user_settings(&member_settings()));
        assert!(!s.user_settings().unwrap().provision_groups);
    }

    #[test]
    fn a_schema_without_a_group_mapping_gets_one_when_groups_are_provisioned() {
        let mut s = parse(
            json!({"synchronizationRules": [{"id": "r", "objectMappings": [
            {"sourceObjectName": "User", "attributeMappings": []}]}]}),
        );
        assert!(!s.user_settings().unwrap().provision_groups);
        assert!(s.apply_user_settings(&UserMapping {
            provision_groups: true,
            ..member_settings()
        }));
        let doc = serde_json::to_value(&s).unwrap();
        let group = &doc["synchronizationRules"][0]["objectMappings"][1];
        assert_eq!(group["name"], GROUP_MAPPING_NAME);
        assert_eq!(group["enabled"], true);
        let targets: Vec<&str> = group["attributeMappings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["targetAttributeName"].as_str().unwrap())
            .collect();
        assert_eq!(
            targets,
            ["displayName", "description", "mailNickname", "members"]
        );
    }

    #[test]
    fn an_import_manages_the_mappings_changed_from_the_template_and_not_the_shorthands() {
        let template = parse(schema_doc());
        let mut job = parse(schema_doc());
        assert!(job.user_attributes_changed_from(&template).is_empty());
        let title = ManagedAttribute {
            target: "jobTitle".into(),
            value: MappedValue::Attribute("department".into()),
            flow_type: "ObjectAddOnly".into(),
            matching_priority: 0,
        };
        let name = ManagedAttribute {
            target: "displayName".into(),
            value: MappedValue::Expression("Join(\" \", [givenName], [surname])".into()),
            flow_type: "Always".into(),
            matching_priority: 0,
        };
        let guest = ManagedAttribute {
            target: "userType".into(),
            value: MappedValue::Constant("Guest".into()),
            flow_type: "Always".into(),
            matching_priority: 0,
        };
        assert!(job.apply_user_settings(&UserMapping {
            attributes: vec![title.clone(), name.clone(), guest],
            ..member_settings()
        }));
        let mut changed = job.user_attributes_changed_from(&template);
        changed.sort_by(|a, b| a.target.cmp(&b.target));
        assert_eq!(changed, [name, title]);
        // Without the template's schema every mapping counts as changed.
        assert_eq!(
            job.user_attributes_changed_from(&SyncSchema::default())
                .len(),
            2
        );
    }

    #[test]
    fn managed_attribute_mappings_merge_into_the_defaults() {
        let mut s = parse(schema_doc());
        let department = ManagedAttribute {
            target: "department".into(),
            value: MappedValue::Constant("Engineering".into()),
            flow_type: "Always".into(),
            matching_priority: 0,
        };
        let name = ManagedAttribute {
            target: "displayName".into(),
            value: MappedValue::Expression("Join(\", \", [surname], [givenName])".into()),
            flow_type: "ObjectAddOnly".into(),
            matching_priority: 0,
        };
        let user_type = ManagedAttribute {
            target: "userType".into(),
            value: MappedValue::Constant("Guest".into()),
            flow_type: "Always".into(),
            matching_priority: 0,
        };
        let wanted = UserMapping {
            attributes: vec![department.clone(), name.clone(), user_type.clone()],
            ..member_settings()
        };
        assert!(s.apply_user_settings(&wanted));
        assert!(!s.apply_user_settings(&wanted));
        assert_eq!(s.user_attribute("department"), Some(department));
        assert_eq!(s.user_attribute("DisplayName"), Some(name));
        assert_eq!(
            s.user_attribute("userType"),
            Some(user_type),
            "the mapping wins over the user_type shorthand"
        );
        let doc = serde_json::to_value(&s).unwrap();
        let mappings = doc["synchronizationRules"][0]["objectMappings"][1]["attributeMappings"]
            .as_array()
            .unwrap();
        let display = &mappings[0];
        assert_eq!(display["source"]["type"], "Function");
        assert_eq!(display["source"]["name"], "Join");
        assert_eq!(
            display["matchingPriority"], 0,
            "its other properties are kept"
        );
        assert!(
            mappings
                .iter()
                .any(|m| m["targetAttributeName"] == "showInAddressList"),
            "the other shorthand still applies"
        );
    }
}
