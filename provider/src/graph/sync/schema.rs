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
        let mut rest = Map::new();
        rest.insert("defaultValue".into(), Value::Null);
        rest.insert("flowBehavior".into(), "FlowWhenChanged".into());
        rest.insert("matchingPriority".into(), 0.into());
        rest.insert("exportMissingReferences".into(), false.into());
        AttributeMapping {
            target_attribute_name: target.to_owned(),
            source: Some(MappingSource::constant(value)),
            flow_type: Some(ALWAYS.to_owned()),
            rest,
        }
    }
}

/// The flow type that applies a mapping on every change, not only when
/// the object is created.
const ALWAYS: &str = "Always";

/// The settings of the user mapping this provider manages.
#[derive(Clone, Debug, PartialEq)]
pub struct UserMapping {
    /// The `userType` constant: `Member` or `Guest`.
    pub user_type: String,
    /// The `showInAddressList` constant.
    pub show_in_address_list: bool,
    /// Whether the mapping's flow types include `Delete` (users leaving the
    /// scope are soft-deleted in the target).
    pub delete_out_of_scope: bool,
}

/// The same settings as found in a schema: a constant that is not there
/// (or not a constant) reads as `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundUserMapping {
    pub user_type: Option<String>,
    pub show_in_address_list: Option<bool>,
    pub delete_out_of_scope: bool,
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

    /// The managed settings of the user mapping; `None` when the schema has
    /// no user mapping.
    pub fn user_settings(&self) -> Option<FoundUserMapping> {
        let m = self.user_mapping()?;
        Some(FoundUserMapping {
            user_type: m.constant_of("userType").map(str::to_owned),
            show_in_address_list: m
                .constant_of("showInAddressList")
                .map(|v| v.eq_ignore_ascii_case("true")),
            delete_out_of_scope: m.flows("Delete"),
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
        mapping.set_constant("userType", &s.user_type);
        mapping.set_constant(
            "showInAddressList",
            if s.show_in_address_list {
                "True"
            } else {
                "False"
            },
        );
        mapping.flow_types = Some(
            if s.delete_out_of_scope {
                "Add, Update, Delete"
            } else {
                "Add, Update"
            }
            .to_owned(),
        );
        *mapping != before
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
            delete_out_of_scope: true
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
}
