//! The `Azure2Azure` synchronization schema: the default document (reference §6.6), validation
//! of `PUT .../schema`, and compilation of the user object mapping into what the engine runs.
//!
//! Directory attribute names are the provisioning service's (`physicalDeliveryOfficeName`,
//! `telephoneNumber`, `mobile`, ...); the engine reads and writes the corresponding Graph
//! properties of the user documents (`officeLocation`, `businessPhones`, `mobilePhone`, ...).
//! Graph property names are accepted as attribute names too.
//!
//! What the engine evaluates: `Attribute` mappings (copy the source attribute; a null source
//! value is skipped, reference §6.6), `Constant` mappings (value from `source.name`, falling back
//! to the unquoted `expression`; booleans case-insensitively), `Function` mappings whose
//! functions [`super::expr`] evaluates (others are stored and skipped), `flowType:
//! ObjectAddOnly` (written on creation only), the object mapping's `enabled`, `flowTypes` and
//! scoping filters ([`super::scope`]). Two object mappings run: users (`Provision Microsoft
//! Entra ID Users`) and security groups (`Provision Microsoft Entra ID Groups`, disabled by
//! default, as Entra ships it).

use serde_json::{Map, Value, json};

use super::expr::{self, Expr};
use super::scope::{self, Scope};
use crate::error::ApiError;
use crate::util::seed_guid;

/// The only synchronization template of a CTS configuration.
pub const TEMPLATE_ID: &str = "Azure2Azure";
/// The user rule's name.
pub const RULE_NAME: &str = "USER_INBOUND_USER";
/// Source directory name.
pub const SOURCE_DIRECTORY: &str = "Azure Active Directory";
/// Target directory name.
pub const TARGET_DIRECTORY: &str = "Azure Active Directory (target tenant)";
/// Name of the user object mapping.
pub const USER_MAPPING_NAME: &str = "Provision Microsoft Entra ID Users";
/// Name of the group object mapping (UNCONFIRMED: the user mapping's name with "Groups").
pub const GROUP_MAPPING_NAME: &str = "Provision Microsoft Entra ID Groups";
/// Schema version string.
pub const SCHEMA_VERSION: &str = "v1.2";

/// The rule id of `USER_INBOUND_USER`. UNCONFIRMED: Graph's value is not documented; the sandbox
/// uses a fixed deterministic GUID (the same for every job) so clients can read it from the schema.
pub fn rule_id() -> String {
    seed_guid(
        "00000000-0000-0000-0000-000000000000",
        "syncrule",
        RULE_NAME,
    )
}

/// A directory attribute: its name in the schema, the Graph user property it reads/writes
/// (`""` = none), its type, and whether each directory has it.
struct Attr {
    name: &'static str,
    prop: &'static str,
    ty: &'static str,
    source: bool,
    target: bool,
}

const fn a(name: &'static str, prop: &'static str, ty: &'static str) -> Attr {
    Attr {
        name,
        prop,
        ty,
        source: true,
        target: true,
    }
}

const ATTRS: &[Attr] = &[
    Attr {
        name: "objectId",
        prop: "id",
        ty: "String",
        source: true,
        target: false,
    },
    Attr {
        name: "netId",
        prop: "",
        ty: "String",
        source: true,
        target: false,
    },
    Attr {
        name: "alternativeSecurityIds",
        prop: "",
        ty: "String",
        source: false,
        target: true,
    },
    a("IsSoftDeleted", "", "Boolean"),
    a("accountEnabled", "accountEnabled", "Boolean"),
    a("city", "city", "String"),
    a("companyName", "companyName", "String"),
    a("country", "country", "String"),
    a("department", "department", "String"),
    a("displayName", "displayName", "String"),
    a("employeeHireDate", "employeeHireDate", "DateTime"),
    a("employeeId", "employeeId", "String"),
    a("employeeType", "employeeType", "String"),
    a("facsimileTelephoneNumber", "faxNumber", "String"),
    a("givenName", "givenName", "String"),
    a("jobTitle", "jobTitle", "String"),
    a("mail", "mail", "String"),
    a("mailNickname", "mailNickname", "String"),
    a("manager", "", "Reference"),
    a("mobile", "mobilePhone", "String"),
    a("physicalDeliveryOfficeName", "officeLocation", "String"),
    a("postalCode", "postalCode", "String"),
    a("preferredLanguage", "preferredLanguage", "String"),
    Attr {
        name: "showInAddressList",
        prop: "showInAddressList",
        ty: "Boolean",
        source: false,
        target: true,
    },
    a("state", "state", "String"),
    a("streetAddress", "streetAddress", "String"),
    a("surname", "surname", "String"),
    a("telephoneNumber", "businessPhones", "String"),
    a("usageLocation", "usageLocation", "String"),
    a("userPrincipalName", "userPrincipalName", "String"),
    Attr {
        name: "userType",
        prop: "userType",
        ty: "String",
        source: false,
        target: true,
    },
];

/// The attributes of the `Group` object of both directories (UNCONFIRMED: Graph's full list is
/// longer; these are the ones group provisioning of cross-tenant synchronization uses).
const GROUP_ATTRS: &[Attr] = &[
    Attr {
        name: "objectId",
        prop: "id",
        ty: "String",
        source: true,
        target: false,
    },
    a("displayName", "displayName", "String"),
    a("description", "description", "String"),
    a("mailNickname", "mailNickname", "String"),
    a("securityEnabled", "securityEnabled", "Boolean"),
    a("mailEnabled", "mailEnabled", "Boolean"),
    a("members", "", "Reference"),
];

fn find_in(attrs: &'static [Attr], name: &str) -> Option<&'static Attr> {
    attrs.iter().find(|a| {
        a.name.eq_ignore_ascii_case(name)
            || (!a.prop.is_empty() && a.prop.eq_ignore_ascii_case(name))
    })
}

/// The object kinds the engine provisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    /// `User`.
    User,
    /// `Group`.
    Group,
}

impl Object {
    fn name(self) -> &'static str {
        match self {
            Object::User => "User",
            Object::Group => "Group",
        }
    }

    fn attrs(self) -> &'static [Attr] {
        match self {
            Object::User => ATTRS,
            Object::Group => GROUP_ATTRS,
        }
    }

    fn of(mapping: &Value) -> Option<Object> {
        let s = mapping.get("sourceObjectName").and_then(Value::as_str)?;
        if s.eq_ignore_ascii_case("User") {
            Some(Object::User)
        } else if s.eq_ignore_ascii_case("Group") {
            Some(Object::Group)
        } else {
            None
        }
    }
}

/// Where a source attribute's value is read from.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceRef {
    /// A Graph property of the source object.
    Prop(String),
    /// The first of the user's `businessPhones` (`telephoneNumber`).
    FirstPhone,
    /// Nothing the sandbox stores (`netId`, `manager`, `members`, ...).
    None,
}

/// Resolve a source attribute name of `object` (directory or Graph name; an undeclared name is
/// read as a property of that name, e.g. a directory extension).
pub fn source_ref(object: Object, name: &str) -> SourceRef {
    match find_in(object.attrs(), name) {
        Some(a) if a.name == "telephoneNumber" => SourceRef::FirstPhone,
        Some(a) if a.prop.is_empty() => SourceRef::None,
        Some(a) => SourceRef::Prop(a.prop.to_string()),
        None => SourceRef::Prop(name.to_string()),
    }
}

fn attr_mapping(target: &str, source: &str) -> Value {
    json!({
        "defaultValue": null,
        "exportMissingReferences": false,
        "flowBehavior": "FlowWhenChanged",
        "flowType": "Always",
        "matchingPriority": 0,
        "source": {"expression": format!("[{source}]"), "name": source, "parameters": [], "type": "Attribute"},
        "targetAttributeName": target,
    })
}

fn constant_mapping(target: &str, value: &str, flow_type: &str) -> Value {
    json!({
        "defaultValue": null,
        "exportMissingReferences": false,
        "flowBehavior": "FlowWhenChanged",
        "flowType": flow_type,
        "matchingPriority": 0,
        "source": {"expression": format!("\"{value}\""), "name": value, "parameters": [], "type": "Constant"},
        "targetAttributeName": target,
    })
}

/// The default user attribute mappings of a CTS configuration (reference §6.6).
fn default_attribute_mappings() -> Vec<Value> {
    let mut m = vec![json!({
        "defaultValue": null,
        "exportMissingReferences": false,
        "flowBehavior": "FlowWhenChanged",
        "flowType": "Always",
        "matchingPriority": 1,
        "source": {
            "expression": "AltSecIdFromNetId([netId])",
            "name": "AltSecIdFromNetId",
            "parameters": [{"key": "source", "value": {"expression": "[netId]", "name": "netId", "parameters": [], "type": "Attribute"}}],
            "type": "Function",
        },
        "targetAttributeName": "alternativeSecurityIds",
    })];
    for name in [
        "IsSoftDeleted",
        "accountEnabled",
        "streetAddress",
        "city",
        "state",
        "postalCode",
        "country",
        "department",
        "employeeId",
        "displayName",
        "givenName",
        "jobTitle",
        "mailNickname",
        "physicalDeliveryOfficeName",
        "preferredLanguage",
        "surname",
        "telephoneNumber",
        "userPrincipalName",
        "mail",
    ] {
        m.push(attr_mapping(name, name));
    }
    m.push(constant_mapping("showInAddressList", "True", "Always"));
    // Per the ED configure page, an existing B2B user's userType only changes when "Apply this
    // mapping" is Always, so the default is "only during object creation".
    m.push(constant_mapping("userType", "Member", "ObjectAddOnly"));
    m
}

fn directory_object(object: Object, source: bool) -> Value {
    let attributes: Vec<Value> = object
        .attrs()
        .iter()
        .filter(|a| if source { a.source } else { a.target })
        .map(|a| {
            let referenced = match (a.ty, a.name) {
                ("Reference", "members") => json!([
                    {"referencedObjectName": "User", "referencedProperty": null},
                    {"referencedObjectName": "Group", "referencedProperty": null}
                ]),
                ("Reference", _) => {
                    json!([{"referencedObjectName": "User", "referencedProperty": null}])
                }
                _ => json!([]),
            };
            json!({
                "anchor": a.name == "objectId",
                "apiExpressions": [],
                "caseExact": false,
                "defaultValue": null,
                "flowNullValues": false,
                "metadata": [],
                "multivalued": matches!(a.name, "alternativeSecurityIds" | "members"),
                "mutability": if a.name == "objectId" { "ReadOnly" } else { "ReadWrite" },
                "name": a.name,
                "referencedObjects": referenced,
                "required": false,
                "type": a.ty,
            })
        })
        .collect();
    json!({
        "attributes": attributes,
        "metadata": [],
        "name": object.name(),
        "supportedApis": [],
    })
}

fn directory(name: &str, source: bool) -> Value {
    json!({
        "id": seed_guid("00000000-0000-0000-0000-000000000000", "syncdirectory", name),
        "name": name,
        "discoverabilities": "None",
        "discoveryDateTime": null,
        "readOnly": false,
        "version": null,
        "objects": [
            directory_object(Object::User, source),
            directory_object(Object::Group, source),
        ],
    })
}

/// The group object mapping as a new job has it: disabled (Entra ships it so; group provisioning
/// is opt-in), direct mappings of `displayName`, `description`, `mailNickname` and `members`.
/// UNCONFIRMED: the exact default attribute list of Entra's group mapping.
fn default_group_mapping() -> Value {
    let attributes: Vec<Value> = ["displayName", "description", "mailNickname", "members"]
        .iter()
        .map(|n| attr_mapping(n, n))
        .collect();
    json!({
        "attributeMappings": attributes,
        "enabled": false,
        "flowTypes": "Add, Update, Delete",
        "metadata": [],
        "name": GROUP_MAPPING_NAME,
        "scope": null,
        "sourceObjectName": "Group",
        "targetObjectName": "Group",
    })
}

/// A fresh schema for a job (`id` = the job id).
pub fn default_schema(id: &str) -> Value {
    json!({
        "id": id,
        "version": SCHEMA_VERSION,
        "synchronizationRules": [{
            "containerFilter": {"includedContainers": []},
            "editable": true,
            "groupFilter": {"includedGroups": []},
            "id": rule_id(),
            "metadata": [
                {"key": "defaultSourceObjectMappings", "value": "User"},
                {"key": "supportsProvisionOnDemand", "value": "true"},
            ],
            "name": RULE_NAME,
            "objectMappings": [{
                "attributeMappings": default_attribute_mappings(),
                "enabled": true,
                "flowTypes": "Add, Update, Delete",
                "metadata": [],
                "name": USER_MAPPING_NAME,
                "scope": null,
                "sourceObjectName": "User",
                "targetObjectName": "User",
            }, default_group_mapping()],
            "priority": 1,
            "sourceDirectoryName": SOURCE_DIRECTORY,
            "targetDirectoryName": TARGET_DIRECTORY,
        }],
        "directories": [directory(SOURCE_DIRECTORY, true), directory(TARGET_DIRECTORY, false)],
    })
}

/// The template, as `GET .../synchronization/templates` lists it.
pub fn template(app_id: &str) -> Value {
    json!({
        "id": TEMPLATE_ID,
        "applicationId": app_id,
        "default": true,
        "description": "Cross-tenant synchronization: provisions users of this tenant as B2B users in a target tenant.",
        "discoverable": true,
        "factoryTag": TEMPLATE_ID,
        "metadata": [],
        "schema": default_schema(TEMPLATE_ID),
    })
}

// ---------------------------------------------------------------------------------------------
// Validation

pub(super) fn malformed(path: &str, what: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid synchronization schema: {path} {what}."))
}

pub(super) fn schema_invalid(message: String) -> ApiError {
    // Reference §6.6 / ED configure page: changing or adding matching attributes is `schemaInvalid`.
    ApiError::BadRequest {
        code: "schemaInvalid",
        message,
    }
}

/// The object mappings of the schema's `USER_INBOUND_USER` rule (or its first rule).
fn object_mappings(schema: &Value) -> impl Iterator<Item = &Value> {
    let rules = schema.get("synchronizationRules").and_then(Value::as_array);
    let rule = rules.and_then(|rules| {
        rules
            .iter()
            .find(|r| r.get("name").and_then(Value::as_str) == Some(RULE_NAME))
            .or_else(|| rules.first())
    });
    rule.and_then(|r| r.get("objectMappings"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The user object mapping of a schema: the first mapping from `User` in the
/// `USER_INBOUND_USER` rule (or the first rule).
pub fn user_mapping(schema: &Value) -> Option<&Value> {
    object_mappings(schema).find(|m| Object::of(m) == Some(Object::User))
}

/// The group object mapping of a schema, if it has one.
pub fn group_mapping(schema: &Value) -> Option<&Value> {
    object_mappings(schema).find(|m| Object::of(m) == Some(Object::Group))
}

/// Attribute names a directory of the schema declares for an object (extensions included).
fn declared_attributes(schema: &Value, directory: &str, object: Object) -> Vec<String> {
    schema
        .get("directories")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|d| d.get("name").and_then(Value::as_str) == Some(directory))
        .filter_map(|d| d.get("objects").and_then(Value::as_array))
        .flatten()
        .filter(|o| {
            o.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(object.name()))
        })
        .filter_map(|o| o.get("attributes").and_then(Value::as_array))
        .flatten()
        .filter_map(|a| a.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

const FLOW_TYPES: &[&str] = &[
    "Always",
    "ObjectAddOnly",
    "MultiValueAddOnly",
    "ValueAddOnly",
    "AttributeAddOnly",
];
const FLOW_BEHAVIORS: &[&str] = &["FlowWhenChanged", "FlowAlways"];
const SOURCE_TYPES: &[&str] = &["Attribute", "Constant", "Function"];

fn parse_flow_types(s: &str) -> Option<(bool, bool, bool)> {
    let (mut add, mut update, mut delete) = (false, false, false);
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.to_ascii_lowercase().as_str() {
            "add" => add = true,
            "update" => update = true,
            "delete" => delete = true,
            _ => return None,
        }
    }
    Some((add, update, delete))
}

/// The attributes one object mapping may use: those its directories declare (the defaults when
/// the schema declares none for that object).
struct Declared {
    source: Vec<String>,
    target: Vec<String>,
}

impl Declared {
    fn of(schema: &Value, job_id: &str, object: Object) -> Declared {
        let get = |dir: &str| {
            let d = declared_attributes(schema, dir, object);
            if d.is_empty() {
                declared_attributes(&default_schema(job_id), dir, object)
            } else {
                d
            }
        };
        Declared {
            source: get(SOURCE_DIRECTORY),
            target: get(TARGET_DIRECTORY),
        }
    }

    fn has_source(&self, object: Object, name: &str) -> bool {
        self.source.iter().any(|s| s.eq_ignore_ascii_case(name))
            || find_in(object.attrs(), name).is_some_and(|a| a.source)
    }

    fn has_target(&self, object: Object, name: &str) -> bool {
        self.target.iter().any(|s| s.eq_ignore_ascii_case(name))
            || find_in(object.attrs(), name).is_some_and(|a| a.target)
    }
}

/// Attributes a user scoping filter may not use (reference §6.6: appRoleAssignments, userType,
/// manager, date attributes; multi-valued attributes are not supported by scoping filters).
fn refused_in_filter(object: Object, name: &str) -> bool {
    const REFUSED: &[&str] = &["appRoleAssignments", "userType", "manager", "members"];
    REFUSED.iter().any(|r| r.eq_ignore_ascii_case(name))
        || find_in(object.attrs(), name).is_some_and(|a| a.ty == "DateTime" || a.ty == "Reference")
        || name.eq_ignore_ascii_case("alternativeSecurityIds")
        || name.to_ascii_lowercase().ends_with("datetime")
}

/// Validate one mapping's `Function` source (and every expression text): bounded parse, known
/// functions, declared attributes.
fn check_expression(
    source: &Map<String, Value>,
    ap: &str,
    target: &str,
    object: Object,
    declared: &Declared,
) -> Result<(), ApiError> {
    let e = expr::from_source(source).map_err(|e| {
        schema_invalid(format!(
            "The expression of {ap} (target attribute '{target}') is invalid: {e}."
        ))
    })?;
    for a in e.attributes() {
        if !declared.has_source(object, a) {
            return Err(schema_invalid(format!(
                "The attribute '{a}' used in the expression of {ap} is not defined on object '{}' of directory '{SOURCE_DIRECTORY}'.",
                object.name()
            )));
        }
    }
    Ok(())
}

/// Validate a schema sent with `PUT .../schema` and return it as stored (its `id` forced to the
/// job id). Malformed documents are 400 `BadRequest`; a changed, added or removed matching
/// attribute, an attribute no directory declares, an invalid expression or scoping filter, or a
/// scoping filter on an attribute Entra refuses is 400 `schemaInvalid`.
pub fn validate(job_id: &str, body: Value) -> Result<Value, ApiError> {
    let Value::Object(mut obj) = body else {
        return Err(malformed("the body", "is not an object"));
    };
    let rules = obj
        .get("synchronizationRules")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("synchronizationRules", "must be an array"))?;
    if rules.is_empty() {
        return Err(malformed("synchronizationRules", "must not be empty"));
    }
    if let Some(d) = obj.get("directories")
        && !d.is_array()
    {
        return Err(malformed("directories", "must be an array"));
    }
    let probe = Value::Object(obj.clone());
    for (ri, rule) in rules.iter().enumerate() {
        let rp = format!("synchronizationRules[{ri}]");
        let maps = rule
            .get("objectMappings")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed(&format!("{rp}.objectMappings"), "must be an array"))?;
        for (mi, m) in maps.iter().enumerate() {
            let mp = format!("{rp}.objectMappings[{mi}]");
            for k in ["sourceObjectName", "targetObjectName"] {
                if !m.get(k).is_some_and(Value::is_string) {
                    return Err(malformed(&format!("{mp}.{k}"), "must be a string"));
                }
            }
            if let Some(e) = m.get("enabled")
                && !e.is_boolean()
            {
                return Err(malformed(&format!("{mp}.enabled"), "must be a boolean"));
            }
            match m.get("flowTypes") {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if parse_flow_types(s).is_some() => {}
                Some(_) => {
                    return Err(malformed(
                        &format!("{mp}.flowTypes"),
                        "must be a comma-separated list of Add, Update, Delete",
                    ));
                }
            }
            let attrs = m
                .get("attributeMappings")
                .and_then(Value::as_array)
                .ok_or_else(|| malformed(&format!("{mp}.attributeMappings"), "must be an array"))?;
            let object = Object::of(m);
            let declared = object.map(|o| Declared::of(&probe, job_id, o));
            if let (Some(object), Some(declared)) = (object, &declared) {
                let check_attr = |a: &str| -> Result<(), ApiError> {
                    if refused_in_filter(object, a) {
                        return Err(schema_invalid(format!(
                            "Scoping filters cannot use the attribute '{a}': cross-tenant synchronization does not support scoping filters on appRoleAssignments, userType, manager, multi-valued or date attributes."
                        )));
                    }
                    if !declared.has_source(object, a) {
                        return Err(schema_invalid(format!(
                            "The attribute '{a}' used in a scoping filter is not defined on object '{}' of directory '{SOURCE_DIRECTORY}'.",
                            object.name()
                        )));
                    }
                    Ok(())
                };
                scope::parse_scope(m.get("scope"), &format!("{mp}.scope"), &check_attr)?;
            }
            let mut matching = Vec::new();
            for (ai, am) in attrs.iter().enumerate() {
                let ap = format!("{mp}.attributeMappings[{ai}]");
                let target = am
                    .get("targetAttributeName")
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| {
                        malformed(
                            &format!("{ap}.targetAttributeName"),
                            "must be a non-empty string",
                        )
                    })?;
                let source = am
                    .get("source")
                    .and_then(Value::as_object)
                    .ok_or_else(|| malformed(&format!("{ap}.source"), "must be an object"))?;
                let sty = source
                    .get("type")
                    .and_then(Value::as_str)
                    .filter(|t| SOURCE_TYPES.contains(t))
                    .ok_or_else(|| {
                        malformed(
                            &format!("{ap}.source.type"),
                            "must be Attribute, Constant or Function",
                        )
                    })?;
                let sname = source.get("name").and_then(Value::as_str).unwrap_or("");
                if sty == "Attribute" && sname.trim().is_empty() {
                    return Err(malformed(
                        &format!("{ap}.source.name"),
                        "must name a source attribute",
                    ));
                }
                for (k, allowed) in [("flowType", FLOW_TYPES), ("flowBehavior", FLOW_BEHAVIORS)] {
                    match am.get(k) {
                        None | Some(Value::Null) => {}
                        Some(Value::String(s)) if allowed.contains(&s.as_str()) => {}
                        Some(_) => {
                            return Err(malformed(
                                &format!("{ap}.{k}"),
                                &format!("must be one of {}", allowed.join(", ")),
                            ));
                        }
                    }
                }
                let priority = match am.get("matchingPriority") {
                    None | Some(Value::Null) => 0,
                    Some(v) => v.as_i64().ok_or_else(|| {
                        malformed(&format!("{ap}.matchingPriority"), "must be an integer")
                    })?,
                };
                let (Some(object), Some(declared)) = (object, &declared) else {
                    // Mappings of other objects: structure only; expressions stay bounded.
                    if sty == "Function" {
                        expr::from_source(source).map_err(|e| {
                            schema_invalid(format!(
                                "The expression of {ap} (target attribute '{target}') is invalid: {e}."
                            ))
                        })?;
                    }
                    continue;
                };
                if object == Object::User && priority > 0 {
                    matching.push((
                        target.to_string(),
                        priority,
                        source
                            .get("expression")
                            .and_then(Value::as_str)
                            .unwrap_or(sname)
                            .to_string(),
                    ));
                }
                if !declared.has_target(object, target) {
                    return Err(schema_invalid(format!(
                        "The attribute '{target}' is not defined on object '{}' of directory '{TARGET_DIRECTORY}'.",
                        object.name()
                    )));
                }
                if sty == "Attribute" && !declared.has_source(object, sname) {
                    return Err(schema_invalid(format!(
                        "The attribute '{sname}' is not defined on object '{}' of directory '{SOURCE_DIRECTORY}'.",
                        object.name()
                    )));
                }
                if sty == "Function" {
                    check_expression(source, &ap, target, object, declared)?;
                }
            }
            if object == Some(Object::User) {
                let ok = matches!(matching.as_slice(), [(t, 1, e)]
                    if t.eq_ignore_ascii_case("alternativeSecurityIds") && e.contains("AltSecIdFromNetId"));
                if !ok {
                    return Err(schema_invalid(
                        "The matching attribute of cross-tenant synchronization cannot be changed: keep exactly one matching attribute, alternativeSecurityIds from AltSecIdFromNetId([netId]) with matchingPriority 1.".into(),
                    ));
                }
            }
        }
    }
    if user_mapping(&Value::Object(obj.clone())).is_none() {
        return Err(schema_invalid(
            "The schema has no object mapping for source object 'User'.".into(),
        ));
    }
    obj.insert("id".into(), json!(job_id));
    if !obj.contains_key("version") {
        obj.insert("version".into(), json!(SCHEMA_VERSION));
    }
    if !obj.contains_key("directories") {
        let d = default_schema(job_id);
        obj.insert("directories".into(), d["directories"].clone());
    }
    Ok(Value::Object(obj))
}

// ---------------------------------------------------------------------------------------------
// Compilation for the engine

/// Where a mapped value goes on the target object.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A Graph property, written as is.
    Prop(String),
    /// `businessPhones` from a single `telephoneNumber` value.
    Phones,
    /// `userPrincipalName`: rewritten to `alias_domain#EXT#@<target initial domain>`.
    Upn,
}

/// Where a mapped value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A Graph property of the source object.
    Prop(String),
    /// The first of the source user's `businessPhones`.
    FirstPhone,
    /// A constant (already typed for the target).
    Const(Value),
    /// An expression [`super::expr`] evaluates.
    Expr(Box<Expr>),
}

/// One evaluated attribute mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    /// Target.
    pub target: Target,
    /// Source.
    pub source: Source,
    /// `flowType: ObjectAddOnly` (written when the object is created only).
    pub add_only: bool,
    /// The target attribute is a Boolean (expression results `True`/`False` become booleans).
    pub boolean: bool,
}

/// The user object mapping as the engine runs it.
#[derive(Clone, Debug, PartialEq)]
pub struct UserRule {
    /// The rule id (for provisionOnDemand).
    pub rule_id: String,
    /// The object mapping's `enabled`.
    pub enabled: bool,
    /// `flowTypes` contains `Add`.
    pub add: bool,
    /// `flowTypes` contains `Update`.
    pub update: bool,
    /// `flowTypes` contains `Delete`.
    pub delete: bool,
    /// Evaluated mappings, in schema order.
    pub mappings: Vec<Mapping>,
    /// The scoping filter.
    pub scope: Scope,
}

/// The group object mapping as the engine runs it.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRule {
    /// Whether the schema has a group mapping that is enabled.
    pub enabled: bool,
    /// `flowTypes` contains `Add`.
    pub add: bool,
    /// `flowTypes` contains `Update`.
    pub update: bool,
    /// `flowTypes` contains `Delete`.
    pub delete: bool,
    /// Evaluated mappings of `displayName`, `description`, `mailNickname`.
    pub mappings: Vec<Mapping>,
    /// `members` is mapped: membership is kept in step.
    pub members: bool,
    /// The scoping filter (on group attributes).
    pub scope: Scope,
}

fn constant_value(source: &Map<String, Value>) -> String {
    if let Some(n) = source.get("name").and_then(Value::as_str)
        && !n.is_empty()
    {
        return n.to_string();
    }
    let e = source
        .get("expression")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    e.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(e)
        .to_string()
}

fn flows(m: &Value) -> (bool, bool, bool) {
    m.get("flowTypes")
        .and_then(Value::as_str)
        .and_then(parse_flow_types)
        .unwrap_or((true, true, true))
}

/// The scoping filter of a mapping as the engine runs it (a stored schema was validated, so
/// anything unreadable here is treated as no filter).
fn compiled_scope(m: &Value) -> Scope {
    scope::parse_scope(m.get("scope"), "scope", &|_| Ok(())).unwrap_or_default()
}

/// Compile one attribute mapping of `object`; None for what the engine does not evaluate.
fn compile_mapping(object: Object, am: &Value) -> Option<Mapping> {
    let tname = am.get("targetAttributeName").and_then(Value::as_str)?;
    let source = am.get("source").and_then(Value::as_object)?;
    let tattr = find_in(object.attrs(), tname);
    let target = match (object, tattr) {
        (Object::User, Some(a)) if a.name == "telephoneNumber" => Target::Phones,
        (Object::User, Some(a)) if a.name == "userPrincipalName" => Target::Upn,
        // alternativeSecurityIds, IsSoftDeleted, manager, members
        (_, Some(a)) if a.prop.is_empty() => return None,
        // The target group's kind is fixed: a security group.
        (Object::Group, Some(a)) if a.ty == "Boolean" => return None,
        (_, Some(a)) => Target::Prop(a.prop.to_string()),
        (_, None) => Target::Prop(tname.to_string()), // a declared directory extension
    };
    let boolean = tattr.is_some_and(|a| a.ty == "Boolean");
    let source = match source.get("type").and_then(Value::as_str) {
        Some("Attribute") => {
            let sname = source.get("name").and_then(Value::as_str).unwrap_or("");
            match source_ref(object, sname) {
                SourceRef::FirstPhone => Source::FirstPhone,
                SourceRef::None => return None,
                SourceRef::Prop(p) => Source::Prop(p),
            }
        }
        Some("Constant") => {
            let v = constant_value(source);
            if boolean {
                match v.to_ascii_lowercase().as_str() {
                    "true" => Source::Const(Value::Bool(true)),
                    "false" => Source::Const(Value::Bool(false)),
                    _ => return None,
                }
            } else {
                Source::Const(Value::String(v))
            }
        }
        Some("Function") => match expr::from_source(source) {
            Ok(e) if e.evaluable() => Source::Expr(Box::new(e)),
            // Known functions the sandbox does not compute: stored, not evaluated.
            _ => return None,
        },
        _ => return None,
    };
    let add_only = am.get("flowType").and_then(Value::as_str) == Some("ObjectAddOnly");
    Some(Mapping {
        target,
        source,
        add_only,
        boolean,
    })
}

fn attribute_mappings(m: &Value) -> impl Iterator<Item = &Value> {
    m.get("attributeMappings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Compile a stored schema's user mapping. Mappings the engine does not evaluate are left out.
pub fn compile(schema: &Value) -> UserRule {
    let rule_id = schema
        .get("synchronizationRules")
        .and_then(Value::as_array)
        .and_then(|r| {
            r.iter()
                .find(|x| x.get("name").and_then(Value::as_str) == Some(RULE_NAME))
                .or_else(|| r.first())
        })
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(m) = user_mapping(schema) else {
        return UserRule {
            rule_id,
            enabled: false,
            add: false,
            update: false,
            delete: false,
            mappings: Vec::new(),
            scope: Scope::default(),
        };
    };
    let enabled = m.get("enabled").and_then(Value::as_bool).unwrap_or(true);
    let (add, update, delete) = flows(m);
    UserRule {
        rule_id,
        enabled,
        add,
        update,
        delete,
        mappings: attribute_mappings(m)
            .filter_map(|am| compile_mapping(Object::User, am))
            .collect(),
        scope: compiled_scope(m),
    }
}

/// Compile a stored schema's group mapping (disabled when there is none).
pub fn compile_groups(schema: &Value) -> GroupRule {
    let Some(m) = group_mapping(schema) else {
        return GroupRule {
            enabled: false,
            add: false,
            update: false,
            delete: false,
            mappings: Vec::new(),
            members: false,
            scope: Scope::default(),
        };
    };
    let (add, update, delete) = flows(m);
    GroupRule {
        enabled: m.get("enabled").and_then(Value::as_bool).unwrap_or(true),
        add,
        update,
        delete,
        mappings: attribute_mappings(m)
            .filter_map(|am| compile_mapping(Object::Group, am))
            .collect(),
        members: attribute_mappings(m).any(|am| {
            am.get("targetAttributeName")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("members"))
                && am.pointer("/source/name").and_then(Value::as_str) == Some("members")
        }),
        scope: compiled_scope(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schema_is_valid_and_compiles_to_the_cts_mappings() {
        let s = default_schema("job");
        let v = validate("job", s.clone()).unwrap();
        assert_eq!(v["id"], "job");
        let r = compile(&v);
        assert!(r.enabled && r.add && r.update && r.delete);
        assert_eq!(r.rule_id, rule_id());
        assert!(r.mappings.contains(&Mapping {
            target: Target::Prop("userType".into()),
            source: Source::Const(json!("Member")),
            add_only: true,
            boolean: false,
        }));
        assert!(r.mappings.contains(&Mapping {
            target: Target::Prop("showInAddressList".into()),
            source: Source::Const(json!(true)),
            add_only: false,
            boolean: true,
        }));
        assert!(r.mappings.iter().any(|m| m.target == Target::Upn));
        assert!(r.mappings.contains(&Mapping {
            target: Target::Prop("officeLocation".into()),
            source: Source::Prop("officeLocation".into()),
            add_only: false,
            boolean: false,
        }));
        let g = compile_groups(&v);
        assert!(!g.enabled, "group provisioning is off by default");
        assert!(g.members && g.mappings.len() == 3);
    }

    #[test]
    fn constants_fall_back_to_the_unquoted_expression_and_booleans_ignore_case() {
        let mut s = default_schema("j");
        let maps = s["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"]
            .as_array_mut()
            .unwrap();
        for m in maps.iter_mut() {
            if m["targetAttributeName"] == "userType" {
                m["source"]["name"] = json!("");
                m["source"]["expression"] = json!("\"Guest\"");
            }
            if m["targetAttributeName"] == "showInAddressList" {
                m["source"]["name"] = json!("false");
            }
        }
        let r = compile(&s);
        assert!(
            r.mappings
                .iter()
                .any(|m| m.source == Source::Const(json!("Guest")))
        );
        assert!(
            r.mappings
                .iter()
                .any(|m| m.target == Target::Prop("showInAddressList".into())
                    && m.source == Source::Const(json!(false)))
        );
    }

    #[test]
    fn flow_types_without_delete_are_honoured() {
        let mut s = default_schema("j");
        s["synchronizationRules"][0]["objectMappings"][0]["flowTypes"] = json!("Add, Update");
        let r = compile(&validate("j", s).unwrap());
        assert!(r.add && r.update && !r.delete);
    }

    #[test]
    fn changing_the_matching_attribute_is_schema_invalid() {
        let mut s = default_schema("j");
        s["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"][5]["matchingPriority"] =
            json!(2);
        let e = validate("j", s).unwrap_err();
        assert!(
            matches!(
                e,
                ApiError::BadRequest {
                    code: "schemaInvalid",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn malformed_schemas_are_bad_requests() {
        assert!(validate("j", json!([])).is_err());
        assert!(validate("j", json!({"synchronizationRules": "x"})).is_err());
        let mut s = default_schema("j");
        s["synchronizationRules"][0]["objectMappings"][0]["flowTypes"] = json!("Add, Explode");
        assert!(matches!(
            validate("j", s).unwrap_err(),
            ApiError::BadRequest {
                code: "BadRequest",
                ..
            }
        ));
        let mut s = default_schema("j");
        s["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"][3]["targetAttributeName"] =
            json!("shoeSize");
        assert!(matches!(
            validate("j", s).unwrap_err(),
            ApiError::BadRequest {
                code: "schemaInvalid",
                ..
            }
        ));
    }
}
