//! What the resources share: the tenant attributes, import ids, checks at
//! plan time, the `timeouts` block as a model, and the replication grace
//! period after a create.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tfplugin::validate::Guid;
use tfplugin::{Attribute, AttributePath, Ctx, Diagnostic, Diagnostics, Value};

use crate::Client;
use crate::graph::{ErrorKind, GraphError, Scope, wait_until};

/// The tenant a resource acts in: required, a GUID, and replacing the
/// resource when it changes (objects cannot move between tenants).
pub fn tenant_id_attribute(what: &str) -> Attribute {
    guid_identity_attribute(
        "tenant_id",
        format!(
            "The tenant {what}. The provider block must hold credentials for it (a `tenant` block)."
        ),
    )
}

/// A tenant-id attribute other than `tenant_id` (e.g. the partner tenant).
pub fn other_tenant_attribute(name: &str, description: &str) -> Attribute {
    guid_identity_attribute(name, description.to_owned())
}

/// A required GUID that names the object a resource manages: another GUID
/// replaces the resource, the same GUID in other letter case does not
/// (Graph compares GUIDs ignoring case; the update only records the new
/// spelling).
pub fn guid_identity_attribute(name: &str, description: String) -> Attribute {
    Attribute::string(name)
        .required()
        .validator(Guid)
        .plan_modifier(tfplugin::plan::RequiresReplaceIf {
            when: |prior: &Value, planned: &Value| !same_guid(prior, planned),
            description:
                "Changing this value replaces the resource (a change of letter case only does not)."
                    .to_owned(),
        })
        .description(description)
}

/// Two values that hold the same GUID, ignoring case.
fn same_guid(a: &Value, b: &Value) -> bool {
    match (a.as_str(), b.as_str()) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => a == b,
    }
}

/// `id`: computed once at create and then stable.
pub fn id_attribute(description: &str) -> Attribute {
    Attribute::string("id")
        .computed()
        .use_state_for_unknown()
        .description(description.to_owned())
}

/// The description of every resource's `timeouts` block.
pub const TIMEOUTS_DESCRIPTION: &str =
    "How long each operation may wait for Microsoft Graph before it fails.";

/// A `timeouts` block: one optional duration per operation.
pub fn timeouts_block(operations: &[(&str, Duration)]) -> tfplugin::NestedBlock {
    tfplugin::timeouts::block(TIMEOUTS_DESCRIPTION, operations)
}

/// The `timeouts` block in a resource model (what the user configured).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeoutsBlock(BTreeMap<String, Option<String>>);

/// Refuses a plan that names a tenant the provider has no credentials for.
/// Call from `modify_plan`.
pub fn check_tenants(
    ctx: &Ctx<'_, Client>,
    config: &Value,
    attrs: &[&str],
    diags: &mut Diagnostics,
) {
    for a in attrs {
        if let Some(id) = config.get(a).as_str()
            && !ctx.client.graph.has_tenant(id)
        {
            diags.error_at(
                AttributePath::root().attr(*a),
                "Tenant not configured",
                format!(
                    "Tenant {id} has no credentials in the provider block. Add a `tenant {{ tenant_id = \"{id}\" ... }}` block to the mto provider."
                ),
            );
        }
    }
}

/// Refuses `a == b` for two tenant attributes (a share to itself).
pub fn check_distinct(config: &Value, a: &str, b: &str, diags: &mut Diagnostics) {
    if let (Some(x), Some(y)) = (config.get(a).as_str(), config.get(b).as_str())
        && x.eq_ignore_ascii_case(y)
    {
        diags.error_at(
            AttributePath::root().attr(b),
            "Same tenant on both sides",
            format!("{b} must differ from {a}: a tenant cannot share with or accept from itself."),
        );
    }
}

/// Refuses ids that differ only in case within (and across) the given set
/// attributes: Graph compares ids case-insensitively, so they name one
/// object, and Terraform would plan a change forever.
pub fn check_case_duplicates(config: &Value, attrs: &[&str], diags: &mut Diagnostics) {
    let mut seen: Vec<(String, &str)> = Vec::new();
    for a in attrs {
        let v = config.get(a);
        if v.is_unknown() {
            continue;
        }
        for id in v.string_items() {
            let lower = id.to_ascii_lowercase();
            if let Some((_, first)) = seen.iter().find(|(s, _)| *s == lower) {
                let detail = if first == a {
                    format!("{a} lists {id:?} twice (ids are compared without regard to case).")
                } else {
                    format!(
                        "{id:?} is in both {first} and {a}; an object is either a user or a group."
                    )
                };
                diags.error_at(
                    AttributePath::root().attr(*a),
                    "The same object twice",
                    detail,
                );
            } else {
                seen.push((lower, a));
            }
        }
    }
}

/// Composite ids, joined with `/` (tenant ids and Graph ids never contain it).
pub fn join_id(parts: &[&str]) -> String {
    parts.join("/")
}

/// An import id: `n` non-empty parts separated by `/`, the ones named in
/// `guids` (by position) GUIDs. `shape` shows the expected form, e.g.
/// `<owner tenant id>/<member tenant id>`; its parts name the GUIDs in
/// messages.
pub fn parse_import_id(
    id: &str,
    shape: &str,
    counts: &[usize],
    guids: &[usize],
) -> Result<Vec<String>, Diagnostics> {
    let parts: Vec<String> = id.split('/').map(|p| p.trim().to_owned()).collect();
    if !counts.contains(&parts.len()) || parts.iter().any(String::is_empty) {
        return Err(Diagnostic::error(
            "Invalid import id",
            format!("Expected an id of the form {shape}, got {id:?}."),
        )
        .into());
    }
    let names: Vec<&str> = shape
        .split('/')
        .map(|n| n.trim_matches(|c| matches!(c, '<' | '>' | '[' | ']')))
        .collect();
    let mut d = Diagnostics::new();
    for &i in guids {
        if let Some(value) = parts.get(i)
            && !tfplugin::validate::is_guid(value)
        {
            let name = names.get(i).copied().unwrap_or("each part");
            d.error(
                "Invalid import id",
                format!("{name} must be a GUID, got {value:?}."),
            );
        }
    }
    if d.has_errors() { Err(d) } else { Ok(parts) }
}

pub use crate::model;

/// Graph often returns `""` where the user configured nothing (or the
/// reverse); both mean "no value", so keep whichever the state already has
/// instead of reporting a change.
pub fn keep_empty_equivalent(new: Option<String>, prior: &Option<String>) -> Option<String> {
    let empty = |v: &Option<String>| v.as_deref().is_none_or(str::is_empty);
    if empty(&new) && empty(prior) {
        prior.clone()
    } else {
        new
    }
}

const CREATED_AT: &str = "created_at";
const ADOPTED: &str = "adopted";

/// Records in private state when the resource created its object.
pub fn mark_created(private: &mut tfplugin::Private) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    private.set(CREATED_AT, now);
}

/// Records that a create found its object already there and took it on
/// (the same name or the same pair, where Graph offers no marker to tell
/// an interrupted apply of ours from an administrator's work).
pub fn mark_adopted(private: &mut tfplugin::Private) {
    private.set(ADOPTED, true);
}

/// Whether this provider made the object in state: created by a resource
/// of this provider, neither imported nor adopted at create.
pub fn created_here(private: &tfplugin::Private) -> bool {
    private.get::<u64>(CREATED_AT).is_some() && private.get::<bool>(ADOPTED) != Some(true)
}

/// The rest of the grace period, if the object was created recently.
pub fn settle_remaining(private: &tfplugin::Private, grace: Duration) -> Option<Duration> {
    let created: u64 = private.get(CREATED_AT)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    grace
        .checked_sub(Duration::from_secs(now.saturating_sub(created)))
        .filter(|d| !d.is_zero())
}

/// Reads an object for a refresh. When Graph says it is not there but this
/// provider created it less than the provider's `replication_grace_period`
/// ago, looks again (directly, not through shared reads) until it shows up
/// or the period ends: Graph replicates new objects with a delay, and a
/// spurious "will be created" right after an apply is worse than a short
/// wait. `fetch(false)` is the refresh read, `fetch(true)` a direct one.
pub async fn read_settled<T, F, Fut>(
    ctx: &Ctx<'_, Client>,
    private: &tfplugin::Private,
    mut fetch: F,
) -> Result<Option<T>, GraphError>
where
    F: FnMut(bool) -> Fut,
    Fut: Future<Output = Result<Option<T>, GraphError>>,
{
    if let Some(found) = fetch(false).await? {
        return Ok(Some(found));
    }
    let Some(remaining) = settle_remaining(private, ctx.client.config.replication_grace) else {
        return Ok(None);
    };
    let scope = Scope::new(ctx.cancel, remaining);
    match wait_until(
        &scope,
        Duration::from_secs(2),
        "a new object to replicate",
        || fetch(true),
    )
    .await
    {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == ErrorKind::Timeout => Ok(None),
        Err(e) => Err(e),
    }
}

/// The objects that the resources planned in this provider process manage,
/// keyed by resource type and their identifying attributes in lower case,
/// with the spelling the first claimant used.
///
/// Terraform plans each resource instance in its own call, so two
/// resources that name one Graph object are only visible side by side
/// here. Two spellings of one key are two resources (one instance always
/// plans with one configuration); the same spelling twice is not
/// reported, because Terraform plans a replaced instance twice.
#[derive(Default)]
pub struct Claims(std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>);

impl Claims {
    /// Records that a resource of `type_name` manages the object named by
    /// `values`; returns the other spelling when another resource already
    /// claimed the same object with different letter case.
    pub fn claim(&self, type_name: &str, values: &[String]) -> Option<Vec<String>> {
        let key = std::iter::once(type_name.to_owned())
            .chain(values.iter().map(|v| v.to_lowercase()))
            .collect::<Vec<_>>()
            .join("\u{1f}");
        let mut claims = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match claims.get(&key) {
            Some(first) if first.as_slice() != values => Some(first.clone()),
            Some(_) => None,
            None => {
                claims.insert(key, values.to_vec());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids_are_checked_for_shape_and_guids() {
        let g = "aaaaaaaa-0000-4000-8000-00000000000a";
        let id = format!("{g}/{g}");
        assert_eq!(
            parse_import_id(&id, "<x>/<y>", &[2], &[0, 1]).unwrap(),
            [g, g]
        );
        let e = parse_import_id("a//b", "<x>/<y>", &[2], &[]).unwrap_err();
        assert!(e.to_string().contains("<x>/<y>"), "{e}");
        assert!(parse_import_id("a", "<x>/<y>", &[2], &[]).is_err());
        let e = parse_import_id(
            &format!("{g}/nope"),
            "<owner tenant id>/<member tenant id>",
            &[2],
            &[0, 1],
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("member tenant id must be a GUID"),
            "{e}"
        );
        assert_eq!(
            parse_import_id(&format!("{g}/{g}/x"), "<a>/<b>[/<c>]", &[2, 3], &[0, 1])
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn empty_and_null_descriptions_are_the_same() {
        assert_eq!(keep_empty_equivalent(Some(String::new()), &None), None);
        assert_eq!(
            keep_empty_equivalent(None, &Some(String::new())),
            Some(String::new())
        );
        assert_eq!(
            keep_empty_equivalent(Some("x".into()), &None),
            Some("x".into())
        );
    }

    #[test]
    fn a_second_spelling_of_one_object_is_reported_and_the_same_spelling_is_not() {
        let claims = Claims::default();
        let upper = vec!["AAAA-1".to_owned(), "BBBB-2".to_owned()];
        let lower = vec!["aaaa-1".to_owned(), "bbbb-2".to_owned()];
        assert_eq!(claims.claim("mto_inbound_acceptance", &upper), None);
        // A replaced instance plans twice with one configuration.
        assert_eq!(claims.claim("mto_inbound_acceptance", &upper), None);
        assert_eq!(
            claims.claim("mto_inbound_acceptance", &lower),
            Some(upper.clone())
        );
        // Another type, or another object, is another claim.
        assert_eq!(claims.claim("mto_outbound_share", &lower), None);
        let other = vec!["aaaa-1".to_owned(), "cccc-3".to_owned()];
        assert_eq!(claims.claim("mto_inbound_acceptance", &other), None);
    }

    #[test]
    fn only_a_create_of_this_provider_counts_as_created_here() {
        let mut private = tfplugin::Private::default();
        assert!(!created_here(&private), "imported: nothing recorded");
        mark_created(&mut private);
        assert!(created_here(&private));
        mark_adopted(&mut private);
        assert!(!created_here(&private), "adopted at create");
    }

    #[test]
    fn guids_in_other_letter_case_are_the_same_guid() {
        let s = |v: &str| Value::from(v);
        assert!(same_guid(&s("AAAAAAAA-0000"), &s("aaaaaaaa-0000")));
        assert!(!same_guid(&s("aaaaaaaa-0000"), &s("aaaaaaaa-0001")));
        assert!(same_guid(&Value::Null, &Value::Null));
        assert!(!same_guid(&Value::Null, &s("a")));
    }
}
