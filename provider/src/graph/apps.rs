//! The cross-tenant synchronization configuration in the sharing tenant:
//! an application and its service principal, instantiated from the
//! application template `518e5f48-1fc8-4c48-9387-9fdf28b0dfe7`, and the app
//! role assignments (users and groups) that make up its scope.
//!
//! Graph: `POST /applicationTemplates/{id}/instantiate` (201, with the
//! application and the service principal), `/servicePrincipals` and
//! `/applications` (GET, PATCH `displayName`, DELETE: deleting the
//! application deletes its service principal, jobs, secrets and
//! assignments), `/servicePrincipals/{id}/appRoleAssignedTo` (POST 201,
//! DELETE 204). Synchronization paths take the service principal's id.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::client::{ReadMode, TenantApi, odata_str, q, seg};
use super::error::{ErrorKind, Result};
use super::mto::found;
use super::poll::{Created, create_once};

/// The cross-tenant synchronization configuration application template.
pub const SYNC_CONFIGURATION_TEMPLATE_ID: &str = "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7";
/// The tag this provider puts on the service principal of every
/// configuration it instantiates: how a later create tells a configuration
/// an interrupted apply of ours left behind from an administrator's.
pub const OWNERSHIP_TAG: &str = "terraform-provider-mto";
/// The name the admin center gives a configuration: `MTO_Sync_<target>`.
const ADMIN_CENTER_PREFIX: &str = "MTO_Sync_";
/// The app role that assignments of a synchronization configuration use.
const ACCESS_ROLE: &str = "msiam_access";
const NO_ROLE: &str = "00000000-0000-0000-0000-000000000000";

/// A synchronization configuration's objects.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncConfiguration {
    pub service_principal_id: String,
    /// Empty when only the service principal was read (see
    /// [`Apps::application_object_id`]).
    pub application_object_id: String,
    pub application_client_id: String,
    pub display_name: String,
    /// Whether the service principal carries [`OWNERSHIP_TAG`].
    pub marked: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ServicePrincipal {
    id: String,
    app_id: String,
    display_name: Option<String>,
    application_template_id: Option<String>,
    app_roles: Vec<AppRole>,
    tags: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct AppRole {
    id: String,
    value: Option<String>,
    display_name: Option<String>,
}

impl ServicePrincipal {
    fn configuration(&self) -> SyncConfiguration {
        SyncConfiguration {
            service_principal_id: self.id.clone(),
            application_object_id: String::new(),
            application_client_id: self.app_id.clone(),
            display_name: self.display_name.clone().unwrap_or_default(),
            marked: self.is_marked(),
        }
    }

    fn is_marked(&self) -> bool {
        self.tags
            .iter()
            .any(|t| t.eq_ignore_ascii_case(OWNERSHIP_TAG))
    }

    /// Made from the synchronization template (or by a server that does
    /// not report the template).
    fn is_sync_configuration(&self) -> bool {
        self.application_template_id
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case(SYNC_CONFIGURATION_TEMPLATE_ID))
    }

    /// The id of the `msiam_access` role (Graph leaves its `value` null on
    /// some configurations, so the display name counts too).
    fn access_role_id(&self) -> &str {
        let is_access = |r: &&AppRole| {
            r.value.as_deref() == Some(ACCESS_ROLE)
                || r.display_name.as_deref() == Some(ACCESS_ROLE)
        };
        self.app_roles
            .iter()
            .find(is_access)
            .or_else(|| self.app_roles.first())
            .map_or(NO_ROLE, |r| r.id.as_str())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instantiated {
    application: IdAndAppId,
    service_principal: IdAndAppId,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct IdAndAppId {
    id: String,
    app_id: String,
}

/// One user or group assigned to a configuration.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct AppRoleAssignment {
    pub id: String,
    pub principal_id: String,
    /// `User` or `Group`.
    pub principal_type: String,
}

/// Applications and service principals of one tenant.
#[derive(Clone, Copy)]
pub struct Apps<'a> {
    api: &'a TenantApi<'a>,
}

impl<'a> TenantApi<'a> {
    pub fn apps(&'a self) -> Apps<'a> {
        Apps { api: self }
    }
}

fn sp_path(sp: &str) -> String {
    format!("/servicePrincipals/{}", seg(sp))
}

fn assignments_path(sp: &str) -> String {
    format!("/servicePrincipals/{}/appRoleAssignedTo", seg(sp))
}

impl Apps<'_> {
    /// Synchronization configurations named `name`.
    pub async fn find_configurations(self, name: &str) -> Result<Vec<SyncConfiguration>> {
        let filter = format!("displayName eq {}", odata_str(name));
        let sps: Vec<ServicePrincipal> = self
            .api
            .list(&format!("/servicePrincipals?$filter={}", q(&filter)))
            .await?;
        Ok(sps
            .iter()
            .filter(|sp| sp.is_sync_configuration())
            .map(ServicePrincipal::configuration)
            .collect())
    }

    /// Every synchronization configuration of the tenant (service principals
    /// made from the synchronization template), for discovery.
    pub async fn all_configurations(self) -> Result<Vec<SyncConfiguration>> {
        let filter = format!(
            "applicationTemplateId eq {}",
            odata_str(SYNC_CONFIGURATION_TEMPLATE_ID)
        );
        let sps: Vec<ServicePrincipal> = self
            .api
            .list(&format!("/servicePrincipals?$filter={}", q(&filter)))
            .await?;
        Ok(sps.iter().map(ServicePrincipal::configuration).collect())
    }

    /// The tenant a configuration synchronizes to: its saved `CompanyId`
    /// secret, else the tenant id in an admin-center name `MTO_Sync_<id>`.
    pub async fn target_of(self, c: &SyncConfiguration) -> Result<Option<String>> {
        let from_secret = self
            .api
            .synchronization(&c.service_principal_id)
            .target_tenant()
            .await?;
        Ok(from_secret.or_else(|| {
            c.display_name
                .strip_prefix(ADMIN_CENTER_PREFIX)
                .filter(|id| is_guid(id))
                .map(str::to_owned)
        }))
    }

    /// The other configurations of this tenant that synchronize to
    /// `target` (all but service principal `except`).
    pub async fn others_to(self, target: &str, except: &str) -> Result<Vec<SyncConfiguration>> {
        let mut out = Vec::new();
        for c in self.all_configurations().await? {
            if c.service_principal_id.eq_ignore_ascii_case(except) {
                continue;
            }
            // A configuration deleted since the list (another share's destroy
            // running beside this one) synchronizes to no one.
            let to = match self.target_of(&c).await {
                Err(e) if e.is_not_found() => None,
                other => other?,
            };
            if to.is_some_and(|t| t.eq_ignore_ascii_case(target)) {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Instantiates a new configuration named `name`. Never resent blindly:
    /// see [`Apps::find_or_instantiate`].
    pub async fn instantiate(self, name: &str) -> Result<SyncConfiguration> {
        let made: Instantiated = self
            .api
            .post(
                format!("/applicationTemplates/{SYNC_CONFIGURATION_TEMPLATE_ID}/instantiate"),
                serde_json::json!({"displayName": name}),
            )
            .not_idempotent()
            .json()
            .await?;
        Ok(SyncConfiguration {
            service_principal_id: made.service_principal.id,
            application_object_id: made.application.id,
            application_client_id: made.application.app_id,
            display_name: name.to_owned(),
            marked: false,
        })
    }

    /// Puts [`OWNERSHIP_TAG`] on the configuration's service principal,
    /// keeping its other tags. Graph's instantiate takes no tags, so this is
    /// the create's next request.
    pub async fn mark(self, c: &SyncConfiguration) -> Result<()> {
        let sp: ServicePrincipal = self
            .api
            .get(format!(
                "{}?$select=id,tags",
                sp_path(&c.service_principal_id)
            ))
            .retry_not_found()
            .json()
            .await?;
        if sp.is_marked() {
            return Ok(());
        }
        let mut tags = sp.tags;
        tags.push(OWNERSHIP_TAG.to_owned());
        self.api
            .patch(
                sp_path(&c.service_principal_id),
                serde_json::json!({"tags": tags}),
            )
            .retry_not_found()
            .done()
            .await
    }

    /// Whether a configuration holds nothing anyone configured: no users or
    /// groups assigned and no job. What an apply interrupted between the
    /// instantiate and the marker leaves; an administrator's configuration
    /// has at least a job once it is set up.
    pub async fn is_bare(self, c: &SyncConfiguration) -> Result<bool> {
        let sp = c.service_principal_id.as_str();
        let (assigned, jobs) =
            tokio::join!(self.assignments(sp), self.api.synchronization(sp).jobs());
        Ok(assigned?.is_empty() && jobs?.is_empty())
    }

    /// The configurations named `name`, instantiating one if there is none
    /// (at most once, even when an answer is lost).
    pub async fn find_or_instantiate(self, name: &str) -> Result<Created<Vec<SyncConfiguration>>> {
        create_once(
            self.api.scope(),
            || async { Ok(Some(self.find_configurations(name).await?).filter(|f| !f.is_empty())) },
            || async { Ok(vec![self.instantiate(name).await?]) },
        )
        .await
    }

    /// The configuration of service principal `sp`, or `None`.
    pub async fn configuration(
        self,
        sp: &str,
        mode: ReadMode,
    ) -> Result<Option<SyncConfiguration>> {
        let sp: Option<ServicePrincipal> = self.api.find(sp_path(sp), mode).await?;
        Ok(sp.as_ref().map(ServicePrincipal::configuration))
    }

    /// The object id of the application with client id `client_id` (empty
    /// when there is none).
    pub async fn application_object_id(self, client_id: &str) -> Result<String> {
        let filter = format!("appId eq {}", odata_str(client_id));
        let apps: Vec<IdAndAppId> = self
            .api
            .list(&format!("/applications?$filter={}", q(&filter)))
            .await?;
        Ok(apps.into_iter().next().map(|a| a.id).unwrap_or_default())
    }

    /// Fills in the application's object id when only the service principal
    /// was read.
    pub async fn complete(self, mut c: SyncConfiguration) -> Result<SyncConfiguration> {
        if c.application_object_id.is_empty() {
            c.application_object_id = self.application_object_id(&c.application_client_id).await?;
        }
        Ok(c)
    }

    /// Renames the application and its service principal.
    pub async fn rename(self, c: &SyncConfiguration, name: &str) -> Result<()> {
        let body = serde_json::json!({"displayName": name});
        self.api
            .patch(
                format!("/applications/{}", seg(&c.application_object_id)),
                body.clone(),
            )
            .done()
            .await?;
        self.api
            .patch(sp_path(&c.service_principal_id), body)
            .done()
            .await
    }

    /// Deletes the application, and with it the service principal, its
    /// jobs, secrets and assignments. `false` when it was already gone.
    pub async fn delete_application(self, app_object_id: &str) -> Result<bool> {
        found(
            self.api
                .delete(format!("/applications/{}", seg(app_object_id)))
                .done()
                .await,
        )
    }

    /// The users and groups assigned to service principal `sp`.
    pub async fn assignments(self, sp: &str) -> Result<Vec<AppRoleAssignment>> {
        self.api.list(&assignments_path(sp)).await
    }

    /// Makes the assignments of `sp` exactly `principals` (object ids, in
    /// any case): removes the others, then adds the missing ones.
    pub async fn assign_exactly(self, sp: &str, principals: &BTreeSet<String>) -> Result<()> {
        let want: BTreeSet<String> = principals.iter().map(|p| p.to_ascii_lowercase()).collect();
        let have = self.assignments(sp).await?;
        let have_ids: BTreeSet<String> = have
            .iter()
            .map(|a| a.principal_id.to_ascii_lowercase())
            .collect();
        for a in &have {
            if !want.contains(&a.principal_id.to_ascii_lowercase()) {
                let path = format!("{}/{}", assignments_path(sp), seg(&a.id));
                found(self.api.delete(path).done().await)?;
            }
        }
        let missing: Vec<&String> = want.difference(&have_ids).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let service_principal: ServicePrincipal =
            self.api.get(sp_path(sp)).retry_not_found().json().await?;
        let role = service_principal.access_role_id();
        for principal in missing {
            let body =
                serde_json::json!({"principalId": principal, "resourceId": sp, "appRoleId": role});
            match self
                .api
                .post(assignments_path(sp), body)
                .retry_not_found_briefly()
                .done()
                .await
            {
                // Already assigned (a concurrent or interrupted apply).
                Err(e) if e.kind == ErrorKind::Conflict => {}
                other => other?,
            }
        }
        Ok(())
    }
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, ch)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                ch == '-'
            } else {
                ch.is_ascii_hexdigit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_center_names_with_a_tenant_id_name_a_target() {
        assert!(is_guid("bbbbbbbb-0000-4000-8000-00000000000b"));
        assert!(!is_guid("bbbbbbbb-0000-4000-8000-00000000000"));
        assert!(!is_guid("bbbbbbbb_0000-4000-8000-00000000000b"));
        assert!(!is_guid("Sales share"));
    }

    #[test]
    fn the_access_role_is_found_by_value_or_name() {
        let sp: ServicePrincipal = serde_json::from_value(serde_json::json!({
            "id": "sp", "appId": "app",
            "appRoles": [
                {"id": "r0", "value": "other", "displayName": "other"},
                {"id": "r1", "value": null, "displayName": "msiam_access"}
            ]
        }))
        .unwrap();
        assert_eq!(sp.access_role_id(), "r1");
        let none: ServicePrincipal =
            serde_json::from_value(serde_json::json!({"id": "sp"})).unwrap();
        assert_eq!(none.access_role_id(), NO_ROLE);
    }

    #[test]
    fn only_template_made_principals_are_configurations() {
        let other: ServicePrincipal = serde_json::from_value(serde_json::json!({
            "id": "sp", "applicationTemplateId": "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"
        }))
        .unwrap();
        assert!(!other.is_sync_configuration());
        let ours: ServicePrincipal = serde_json::from_value(serde_json::json!({
            "id": "sp", "applicationTemplateId": SYNC_CONFIGURATION_TEMPLATE_ID.to_uppercase()
        }))
        .unwrap();
        assert!(ours.is_sync_configuration());
    }
}
