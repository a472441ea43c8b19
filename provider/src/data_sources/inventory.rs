//! `data.mto_inventory`: what already exists in one tenant that this
//! provider's resources would manage — the organization and its tenants,
//! the join, partner configurations that accept users, synchronization
//! configurations and their jobs — each with the import id of that
//! resource and the address a configuration would likely give it. Made for
//! adopting what administrators built (`import` blocks with `for_each`,
//! see `examples/adopt/`). Reads only.
//!
//! Keys name tenants by `tenant_keys` (tenant id → key), else by the
//! organization's display name for the tenant ("Contoso B" → `contoso_b`),
//! else by the tenant id; pairs are `<sharing key>_to_<receiving key>`, as
//! the quick start names its mesh.
//!
//! Permissions (application): `MultiTenantOrganization.Read.All`,
//! `Policy.Read.All`, `Application.Read.All`, `Synchronization.Read.All`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tfplugin::validate::Guid;
use tfplugin::{Attribute, Block, DataSourceReadResponse, ObjectNesting, Schema, Type};

use super::TenantDataSource;
use crate::diag::OrDiag;
use crate::graph::ReadMode;
use crate::graph::partners::Direction;
use crate::operation::{Op, Outcome};
use crate::resources::outbound_share::{default_name, import_id_of};

const TIMEOUT: Duration = Duration::from_secs(300);

pub struct InventoryData;

#[derive(Serialize, Deserialize)]
pub struct InventoryModel {
    tenant_id: String,
    tenant_keys: Option<BTreeMap<String, String>>,
    organization: Option<OrganizationItem>,
    member_tenants: Option<BTreeMap<String, MemberItem>>,
    join_request: Option<JoinItem>,
    inbound_acceptances: Option<BTreeMap<String, AcceptanceItem>>,
    outbound_shares: Option<BTreeMap<String, ShareItem>>,
    sync_jobs: Option<BTreeMap<String, JobItem>>,
}

#[derive(Serialize, Deserialize)]
struct OrganizationItem {
    display_name: Option<String>,
    description: Option<String>,
    state: Option<String>,
    import_id: String,
    address: String,
}

#[derive(Serialize, Deserialize)]
struct MemberItem {
    member_tenant_id: String,
    display_name: Option<String>,
    role: Option<String>,
    state: Option<String>,
    import_id: String,
    address: String,
}

#[derive(Serialize, Deserialize)]
struct JoinItem {
    owner_tenant_id: String,
    member_state: Option<String>,
    import_id: String,
    address: String,
}

#[derive(Serialize, Deserialize)]
struct AcceptanceItem {
    source_tenant_id: String,
    user_sync_allowed: bool,
    auto_redeem: bool,
    import_id: String,
    address: String,
}

#[derive(Serialize, Deserialize)]
struct ShareItem {
    target_tenant_id: String,
    configuration_name: String,
    service_principal_id: String,
    user_ids: Vec<String>,
    group_ids: Vec<String>,
    auto_redeem: bool,
    created_by_this_provider: bool,
    import_id: String,
    address: String,
}

#[derive(Serialize, Deserialize)]
struct JobItem {
    service_principal_id: String,
    job_id: String,
    enabled: bool,
    user_type: Option<String>,
    show_in_address_list: Option<bool>,
    delete_out_of_scope: Option<bool>,
    import_id: String,
    address: String,
}

fn computed(name: &str, ty: Type, description: &str) -> Attribute {
    Attribute::new(name, ty)
        .computed()
        .description(description.to_owned())
}

fn string(name: &str, description: &str) -> Attribute {
    computed(name, Type::String, description)
}

fn import_and_address(what: &str) -> [Attribute; 2] {
    [
        string("import_id", &format!("The import id of {what}.")),
        string(
            "address",
            "The address a configuration would likely give it.",
        ),
    ]
}

fn nested(
    name: &str,
    nesting: ObjectNesting,
    attributes: Vec<Attribute>,
    description: &str,
) -> Attribute {
    Attribute::nested(name, nesting, attributes)
        .computed()
        .description(description.to_owned())
}

#[tfplugin::async_trait]
impl TenantDataSource for InventoryData {
    const TYPE_NAME: &'static str = "mto_inventory";
    const TIMEOUT: Duration = TIMEOUT;
    type Model = InventoryModel;

    fn schema(&self) -> Schema {
        let strings = Type::List(Box::new(Type::String));
        let organization = nested(
            "organization",
            ObjectNesting::Single,
            [
                vec![
                    string("display_name", "Its display name."),
                    string("description", "Its description."),
                    string("state", "`active` or `inactive`."),
                ],
                import_and_address("the `mto_organization`").to_vec(),
            ]
            .concat(),
            "The multi-tenant organization, when this tenant is one of its owners; null otherwise.",
        );
        let members = nested(
            "member_tenants",
            ObjectNesting::Map,
            [
                vec![
                    string("member_tenant_id", "The member tenant."),
                    string("display_name", "Its name in the organization."),
                    string("role", "`owner` or `member`."),
                    string("state", "`pending`, `active` or `removed`."),
                ],
                import_and_address("its `mto_member_tenant`").to_vec(),
            ]
            .concat(),
            "When this tenant owns the organization: the other tenants in it, by key.",
        );
        let join = nested(
            "join_request",
            ObjectNesting::Single,
            [
                vec![
                    string("owner_tenant_id", "The owner that added this tenant."),
                    string("member_state", "`pending` or `active`."),
                ],
                import_and_address("its `mto_join_request`").to_vec(),
            ]
            .concat(),
            "This tenant's join of another tenant's organization; null when it has none.",
        );
        let acceptances = nested(
            "inbound_acceptances",
            ObjectNesting::Map,
            [
                vec![
                    string("source_tenant_id", "The tenant whose users are accepted."),
                    computed(
                        "user_sync_allowed",
                        Type::Bool,
                        "`userSyncInbound.isSyncAllowed`.",
                    ),
                    computed("auto_redeem", Type::Bool, "Inbound automatic redemption."),
                ],
                import_and_address("its `mto_inbound_acceptance`").to_vec(),
            ]
            .concat(),
            "Partner configurations that let users in (user synchronization or automatic redemption inbound), by `<source key>_to_<this key>`.",
        );
        let shares = nested(
            "outbound_shares",
            ObjectNesting::Map,
            [
                vec![
                    string(
                        "target_tenant_id",
                        "The tenant the configuration synchronizes to.",
                    ),
                    string("configuration_name", "The configuration's name."),
                    string("service_principal_id", "Its service principal."),
                    computed("user_ids", strings.clone(), "The users assigned to it."),
                    computed("group_ids", strings, "The groups assigned to it."),
                    computed(
                        "auto_redeem",
                        Type::Bool,
                        "Outbound automatic redemption towards the target.",
                    ),
                    computed(
                        "created_by_this_provider",
                        Type::Bool,
                        "Whether it carries this provider's tag `terraform-provider-mto`.",
                    ),
                ],
                import_and_address("its `mto_outbound_share`").to_vec(),
            ]
            .concat(),
            "Synchronization configurations whose target is known, by `<this key>_to_<target key>` (followed by `_<name in snake case>` for a configuration not named `MTO_Sync_<target tenant id>`).",
        );
        let jobs = nested(
            "sync_jobs",
            ObjectNesting::Map,
            [
                vec![
                    string(
                        "service_principal_id",
                        "The configuration's service principal.",
                    ),
                    string("job_id", "The job."),
                    computed("enabled", Type::Bool, "Whether its schedule is active."),
                    string("user_type", "The `userType` its user mapping sets."),
                    computed(
                        "show_in_address_list",
                        Type::Bool,
                        "The `showInAddressList` its user mapping sets.",
                    ),
                    computed(
                        "delete_out_of_scope",
                        Type::Bool,
                        "Whether users leaving the scope are soft-deleted.",
                    ),
                ],
                import_and_address("its `mto_sync_job`").to_vec(),
            ]
            .concat(),
            "The jobs of those configurations, with the same keys.",
        );
        Schema::new(
            Block::new()
                .description(
                    "What already exists in one tenant that this provider's resources would manage, each with the import id \
                     of the resource and a likely address: the organization and its tenants, the join, partner configurations \
                     that accept users, synchronization configurations and their jobs. For adopting what administrators built \
                     (for example in the Microsoft 365 admin center) with `import` blocks and `for_each`. Reads only.",
                )
                .attribute(
                    Attribute::string("tenant_id")
                        .required()
                        .validator(Guid)
                        .description("The tenant to look in."),
                )
                .attribute(
                    Attribute::new("tenant_keys", Type::Map(Box::new(Type::String)))
                        .optional()
                        .description(
                            "Keys for tenants, by tenant id, as the configuration names them (`{ \"<id>\" = \"a\" }`). \
                             Default: the organization's display name for the tenant in snake case, else the tenant id."
                                .to_owned(),
                        ),
                )
                .attribute(organization)
                .attribute(members)
                .attribute(join)
                .attribute(acceptances)
                .attribute(shares)
                .attribute(jobs),
        )
    }

    async fn read(&self, op: Op<'_, Self::Model>, resp: &mut DataSourceReadResponse) -> Outcome {
        let config = op.state;
        let api = &op.api;
        let me = config.tenant_id.clone();
        let (tenants, join, partners, configurations) = tokio::join!(
            api.mto().tenants(),
            api.mto().join_request(),
            api.partners().all(),
            api.apps().all_configurations(),
        );
        // Outside an organization Graph answers the tenants list with 404.
        let tenants = match tenants {
            Err(e) if e.is_not_found() => Vec::new(),
            other => other.or_diag("Cannot read the organization's tenants")?,
        };
        let join = match join {
            Err(e) if e.is_not_found() => None,
            other => Some(other.or_diag("Cannot read the join request")?),
        };
        let partners = partners.or_diag("Cannot read the partner configurations")?;
        let configurations =
            configurations.or_diag("Cannot read the synchronization configurations")?;

        let mut keys = Keys::default();
        for t in &tenants {
            if let Some(name) = &t.display_name {
                keys.by_name
                    .insert(t.tenant_id.to_ascii_lowercase(), snake(name));
            }
        }
        for (id, key) in config.tenant_keys.iter().flatten() {
            keys.given.insert(id.to_ascii_lowercase(), key.clone());
        }
        let mine = keys.of(&me);

        let my_role = tenants
            .iter()
            .find(|t| t.tenant_id.eq_ignore_ascii_case(&me))
            .and_then(|t| t.effective_role().map(str::to_owned));
        let is_owner = my_role.as_deref() == Some("owner");
        let organization = if is_owner {
            let org = api
                .mto()
                .get()
                .await
                .or_diag("Cannot read the organization")?;
            Some(OrganizationItem {
                display_name: org.display_name,
                description: org.description,
                state: org.state,
                import_id: me.clone(),
                address: "mto_organization.this".to_owned(),
            })
        } else {
            None
        };
        let member_tenants = is_owner.then(|| {
            tenants
                .iter()
                .filter(|t| !t.tenant_id.eq_ignore_ascii_case(&me))
                .map(|t| {
                    let key = keys.of(&t.tenant_id);
                    let item = MemberItem {
                        member_tenant_id: t.tenant_id.clone(),
                        display_name: t.display_name.clone(),
                        role: t.effective_role().map(str::to_owned),
                        state: t.state.clone(),
                        import_id: format!("{me}/{}", t.tenant_id),
                        address: format!("mto_member_tenant.{}", identifier(&key)),
                    };
                    (key, item)
                })
                .collect()
        });
        let join_request = join.and_then(|j| {
            let owner = j
                .added_by_tenant_id
                .clone()
                .filter(|o| !o.eq_ignore_ascii_case(&me))?;
            j.is_request().then(|| JoinItem {
                owner_tenant_id: owner,
                member_state: j.member_state.clone(),
                import_id: me.clone(),
                address: format!("mto_join_request.{}", identifier(&mine)),
            })
        });

        let mut inbound_acceptances = BTreeMap::new();
        let mut outbound_redeem = BTreeMap::new();
        for (p, sync) in &partners {
            let user_sync_allowed = sync.as_ref().is_some_and(|s| s.user_sync_allowed());
            let auto_redeem = p.auto_redeem(Direction::Inbound);
            outbound_redeem.insert(
                p.tenant_id.to_ascii_lowercase(),
                p.auto_redeem(Direction::Outbound),
            );
            if !(user_sync_allowed || auto_redeem) {
                continue;
            }
            let key = format!("{}_to_{mine}", keys.of(&p.tenant_id));
            inbound_acceptances.insert(
                key.clone(),
                AcceptanceItem {
                    source_tenant_id: p.tenant_id.clone(),
                    user_sync_allowed,
                    auto_redeem,
                    import_id: format!("{me}/{}", p.tenant_id),
                    address: format!("mto_inbound_acceptance.{}", identifier(&key)),
                },
            );
        }

        let mut outbound_shares = BTreeMap::new();
        let mut sync_jobs = BTreeMap::new();
        for c in &configurations {
            let target = api
                .apps()
                .target_of(c)
                .await
                .or_diag("Cannot read a configuration's target")?;
            let Some(target) = target else {
                continue; // Not aimed at a tenant yet: nothing a share would import.
            };
            // Two configurations to one target (a Guest/Member split): the
            // one with another name than the admin center's is told apart.
            let mut key = format!("{mine}_to_{}", keys.of(&target));
            if c.display_name != default_name(&target) {
                key = format!("{key}_{}", snake(&c.display_name));
            }
            let sp = c.service_principal_id.as_str();
            let assigned = api
                .apps()
                .assignments(sp)
                .await
                .or_diag("Cannot read a configuration's assignments")?;
            let ids = |kind: &str| -> Vec<String> {
                let set: BTreeSet<String> = assigned
                    .iter()
                    .filter(|a| a.principal_type.eq_ignore_ascii_case(kind))
                    .map(|a| a.principal_id.clone())
                    .collect();
                set.into_iter().collect()
            };
            let share_import = import_id_of(&me, &target, &c.display_name, sp);
            outbound_shares.insert(
                key.clone(),
                ShareItem {
                    target_tenant_id: target.clone(),
                    configuration_name: c.display_name.clone(),
                    service_principal_id: sp.to_owned(),
                    user_ids: ids("User"),
                    group_ids: ids("Group"),
                    auto_redeem: outbound_redeem
                        .get(&target.to_ascii_lowercase())
                        .copied()
                        .unwrap_or(false),
                    created_by_this_provider: c.marked,
                    import_id: share_import,
                    address: format!("mto_outbound_share.{}", identifier(&key)),
                },
            );
            let sync = api.synchronization(sp);
            let Some(job) = sync
                .azure2azure_job()
                .await
                .or_diag("Cannot read a configuration's job")?
            else {
                continue;
            };
            let settings = sync
                .schema(&job.id, ReadMode::Refresh)
                .await
                .or_diag("Cannot read a job's schema")?
                .and_then(|s| s.user_settings());
            let import_id = if c.display_name == default_name(&target) {
                format!("{me}/{target}")
            } else {
                format!("{me}/{sp}/{}", job.id)
            };
            sync_jobs.insert(
                key.clone(),
                JobItem {
                    service_principal_id: sp.to_owned(),
                    job_id: job.id.clone(),
                    enabled: job.is_enabled(),
                    user_type: settings.as_ref().and_then(|s| s.user_type.clone()),
                    show_in_address_list: settings.as_ref().and_then(|s| s.show_in_address_list),
                    delete_out_of_scope: settings.as_ref().map(|s| s.delete_out_of_scope),
                    import_id,
                    address: format!("mto_sync_job.{}", identifier(&key)),
                },
            );
        }

        resp.set_state(&InventoryModel {
            organization,
            member_tenants,
            join_request,
            inbound_acceptances: Some(inbound_acceptances),
            outbound_shares: Some(outbound_shares),
            sync_jobs: Some(sync_jobs),
            ..config
        });
        Ok(())
    }
}

/// Tenant keys: the ones given, else from the organization's names.
#[derive(Default)]
struct Keys {
    given: BTreeMap<String, String>,
    by_name: BTreeMap<String, String>,
}

impl Keys {
    fn of(&self, tenant: &str) -> String {
        let id = tenant.to_ascii_lowercase();
        self.given
            .get(&id)
            .or_else(|| self.by_name.get(&id).filter(|k| !k.is_empty()))
            .cloned()
            .unwrap_or(id)
    }
}

/// "Contoso B" → `contoso_b`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// A key as a Terraform resource name: letters, digits, `_` and `-`,
/// starting with a letter or `_`.
fn identifier(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, 't');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_become_keys_and_keys_become_resource_names() {
        assert_eq!(snake("Contoso B"), "contoso_b");
        assert_eq!(snake("  Fabrikam, Inc. "), "fabrikam_inc");
        assert_eq!(
            identifier("contoso_a_to_contoso_b"),
            "contoso_a_to_contoso_b"
        );
        assert_eq!(
            identifier("0a0a0a0a-0000-4000-8000-00000000000a_to_b"),
            "t0a0a0a0a-0000-4000-8000-00000000000a_to_b"
        );
    }

    #[test]
    fn given_keys_win_over_names_and_ids_are_the_fallback() {
        let mut keys = Keys::default();
        keys.by_name.insert("aaaa".into(), "contoso_a".into());
        keys.by_name.insert("bbbb".into(), "contoso_b".into());
        keys.given.insert("bbbb".into(), "b".into());
        assert_eq!(keys.of("AAAA"), "contoso_a");
        assert_eq!(keys.of("bbbb"), "b");
        assert_eq!(keys.of("cccc"), "cccc");
    }
}
