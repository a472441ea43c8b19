//! Cross-tenant access partner configurations
//! (`/policies/crossTenantAccessPolicy/partners/{tenantId}`) and their
//! identity synchronization policy (`.../identitySynchronization`).
//!
//! In one tenant, the acceptance of A's users (inbound) and the share to A
//! (outbound) touch the same partner configuration, and Graph replaces a
//! complex property as a whole on PATCH: setting one direction of automatic
//! redemption means reading the other first. Every read-modify-write
//! therefore goes through a [`PartnerLock`], which holds the per-partner
//! lock so that two resources applied in parallel do not undo each other.
//!
//! `PUT .../identitySynchronization` is create-only (409 when one exists,
//! for example from an organization join); `PATCH` updates it. Graph
//! refuses to delete a partner configuration that still has one.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use super::client::{ReadMode, TenantApi, seg};
use super::error::Result;
use super::mto::{found, to_json};
use super::poll::{Created, create_once};

const PARTNERS: &str = "/policies/crossTenantAccessPolicy/partners";
/// How long one list of partners serves refreshes.
const SNAPSHOT_TTL: Duration = Duration::from_secs(20);
const SNAPSHOT_KEY: &str = "partners";

/// Which half of automatic redemption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Redeem the partner's invitations here (`inboundAllowed`).
    Inbound,
    /// Redeem this tenant's invitations in the partner (`outboundAllowed`).
    Outbound,
}

/// `{inboundAllowed, outboundAllowed}`: null inherits the default, which is
/// always false.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct InboundOutbound {
    pub inbound_allowed: Option<bool>,
    pub outbound_allowed: Option<bool>,
}

impl InboundOutbound {
    fn get(&self, d: Direction) -> Option<bool> {
        match d {
            Direction::Inbound => self.inbound_allowed,
            Direction::Outbound => self.outbound_allowed,
        }
    }

    fn set(&mut self, d: Direction, value: Option<bool>) {
        match d {
            Direction::Inbound => self.inbound_allowed = value,
            Direction::Outbound => self.outbound_allowed = value,
        }
    }
}

/// `{isSyncAllowed}` of `userSyncInbound` (and of the templates).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncAllowed {
    pub is_sync_allowed: Option<bool>,
}

/// A partner configuration. Settings this provider does not manage are
/// kept opaque: it only needs to know whether they are set.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PartnerConfiguration {
    pub tenant_id: String,
    pub automatic_user_consent_settings: Option<InboundOutbound>,
    pub is_in_multi_tenant_organization: Option<bool>,
    pub is_service_provider: Option<bool>,
    inbound_trust: Option<serde_json::Value>,
    b2b_collaboration_inbound: Option<serde_json::Value>,
    b2b_collaboration_outbound: Option<serde_json::Value>,
    b2b_direct_connect_inbound: Option<serde_json::Value>,
    b2b_direct_connect_outbound: Option<serde_json::Value>,
    tenant_restrictions: Option<serde_json::Value>,
    /// Only in lists read with `$expand=identitySynchronization`: absent
    /// when the server ignored the expansion, `Some(None)` when there is no
    /// policy.
    #[serde(deserialize_with = "present")]
    identity_synchronization: Option<Option<IdentitySyncPolicy>>,
}

impl PartnerConfiguration {
    /// Automatic redemption in direction `d` as a plain bool.
    pub fn auto_redeem(&self, d: Direction) -> bool {
        self.automatic_user_consent_settings
            .as_ref()
            .and_then(|s| s.get(d))
            .unwrap_or(false)
    }

    pub fn in_multi_tenant_organization(&self) -> bool {
        self.is_in_multi_tenant_organization == Some(true)
    }

    /// Whether it holds no setting at all, i.e. behaves exactly like no
    /// configuration.
    fn is_bare(&self) -> bool {
        [
            &self.inbound_trust,
            &self.b2b_collaboration_inbound,
            &self.b2b_collaboration_outbound,
            &self.b2b_direct_connect_inbound,
            &self.b2b_direct_connect_outbound,
            &self.tenant_restrictions,
        ]
        .iter()
        .all(|v| v.as_ref().is_none_or(serde_json::Value::is_null))
            && !self.auto_redeem(Direction::Inbound)
            && !self.auto_redeem(Direction::Outbound)
            && self.is_service_provider != Some(true)
    }
}

/// A field that may be absent (outer `None`) or null (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The identity synchronization policy for a partner (in the receiving
/// tenant, for the sharing tenant).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IdentitySyncPolicy {
    pub tenant_id: Option<String>,
    pub display_name: Option<String>,
    pub user_sync_inbound: Option<SyncAllowed>,
    /// `groupSyncInbound` (beta only: a v1.0 read never has it).
    pub group_sync_inbound: Option<SyncAllowed>,
}

impl IdentitySyncPolicy {
    /// `userSyncInbound.isSyncAllowed` (null reads as not allowed).
    pub fn user_sync_allowed(&self) -> bool {
        self.user_sync_inbound
            .as_ref()
            .and_then(|s| s.is_sync_allowed)
            .unwrap_or(false)
    }
}

/// The partner configurations of one tenant.
#[derive(Clone, Copy)]
pub struct Partners<'a> {
    api: &'a TenantApi<'a>,
}

impl<'a> TenantApi<'a> {
    pub fn partners(&'a self) -> Partners<'a> {
        Partners { api: self }
    }
}

fn partner_path(partner: &str) -> String {
    format!("{PARTNERS}/{}", seg(partner))
}

fn sync_path(partner: &str) -> String {
    format!("{PARTNERS}/{}/identitySynchronization", seg(partner))
}

impl<'a> Partners<'a> {
    /// The partner configuration for `partner`, or `None`.
    pub async fn get(self, partner: &str, mode: ReadMode) -> Result<Option<PartnerConfiguration>> {
        self.api.find(partner_path(partner), mode).await
    }

    /// The identity synchronization policy for `partner`, or `None`.
    pub async fn sync_policy(
        self,
        partner: &str,
        mode: ReadMode,
    ) -> Result<Option<IdentitySyncPolicy>> {
        self.api.find(sync_path(partner), mode).await
    }

    /// `groupSyncInbound.isSyncAllowed` of the identity synchronization
    /// policy for `partner` (read through `/beta`, the only version that
    /// has it; null reads as not allowed); `None` when there is no policy.
    pub async fn group_sync_allowed(self, partner: &str, mode: ReadMode) -> Result<Option<bool>> {
        let policy: Option<IdentitySyncPolicy> = self
            .api
            .get(sync_path(partner))
            .read_mode(mode)
            .beta()
            .optional()
            .await?;
        Ok(policy.map(|p| {
            p.group_sync_inbound
                .and_then(|g| g.is_sync_allowed)
                .unwrap_or(false)
        }))
    }

    /// Both halves of an acceptance, read together; `None` when either is
    /// missing.
    pub async fn with_sync_policy(
        self,
        partner: &str,
        mode: ReadMode,
    ) -> Result<Option<(PartnerConfiguration, IdentitySyncPolicy)>> {
        let (p, s) = tokio::join!(self.get(partner, mode), self.sync_policy(partner, mode));
        Ok(p?.zip(s?))
    }

    /// Every partner configuration of the tenant with its identity
    /// synchronization policy (`None` when it has none), for discovery.
    pub async fn all(self) -> Result<Vec<(PartnerConfiguration, Option<IdentitySyncPolicy>)>> {
        let items: Vec<PartnerConfiguration> = self
            .api
            .list(&format!("{PARTNERS}?$expand=identitySynchronization"))
            .await?;
        let mut out = Vec::with_capacity(items.len());
        for p in items {
            let sync = match &p.identity_synchronization {
                Some(s) => s.clone(),
                None => self.sync_policy(&p.tenant_id, ReadMode::Refresh).await?,
            };
            out.push((p, sync));
        }
        Ok(out)
    }

    /// For refresh: the partner configuration and its sync policy (`None`
    /// when there is none), read from one `$expand`ed list of the tenant's
    /// partners shared by every refresh in this provider process — a plan
    /// over a thousand acceptances in a tenant costs one request instead of
    /// a thousand. `None` when the partner does not exist.
    pub async fn for_refresh(
        self,
        partner: &str,
    ) -> Result<Option<(PartnerConfiguration, Option<IdentitySyncPolicy>)>> {
        let snapshot = self
            .api
            .session()
            .partner_snapshot
            .get_or_fetch(SNAPSHOT_KEY, SNAPSHOT_TTL, || async {
                let items: Vec<PartnerConfiguration> = self
                    .api
                    .list(&format!("{PARTNERS}?$expand=identitySynchronization"))
                    .await?;
                Ok(items
                    .into_iter()
                    .map(|p| (p.tenant_id.to_ascii_lowercase(), p))
                    .collect::<HashMap<_, _>>())
            })
            .await?;
        let Some(doc) = snapshot.get(&partner.to_ascii_lowercase()) else {
            return Ok(None);
        };
        let sync = match &doc.identity_synchronization {
            Some(s) => s.clone(),
            // A server that ignored $expand: ask directly.
            None => self.sync_policy(partner, ReadMode::Refresh).await?,
        };
        Ok(Some((doc.clone(), sync)))
    }

    /// For refresh: `groupSyncInbound.isSyncAllowed` for `partner`, from one
    /// beta list of the tenant's partners with their policies, shared by
    /// every refresh in this provider process (the property is beta-only,
    /// so the v1.0 snapshot of [`Partners::for_refresh`] cannot carry it).
    /// A partner the list does not show with its policy is read directly.
    pub async fn group_sync_for_refresh(self, partner: &str) -> Result<Option<bool>> {
        let snapshot = self.group_sync_snapshot().await?;
        match snapshot.get(&partner.to_ascii_lowercase()) {
            Some(Some(allowed)) => Ok(Some(*allowed)),
            _ => self.group_sync_allowed(partner, ReadMode::Refresh).await,
        }
    }

    /// Reads the beta snapshot of [`Partners::group_sync_for_refresh`] in
    /// the background of another read, so that a plan's first refreshes
    /// wait for one round trip instead of two in a row. A failure is left
    /// to the read that needs the snapshot, which fetches it again and
    /// reports it.
    pub async fn warm_group_sync_snapshot(self) {
        let _ = self.group_sync_snapshot().await;
    }

    /// Partner id (lower case) → `groupSyncInbound.isSyncAllowed`, `None`
    /// for a partner listed without its policy.
    async fn group_sync_snapshot(self) -> Result<super::cache::Snapshot<Option<bool>>> {
        self.api
            .session()
            .group_sync_snapshot
            .get_or_fetch(SNAPSHOT_KEY, SNAPSHOT_TTL, || async {
                let items: Vec<PartnerConfiguration> = self
                    .api
                    .list_beta(&format!(
                        "{PARTNERS}?$select=tenantId&$expand=identitySynchronization"
                    ))
                    .await?;
                Ok(items
                    .into_iter()
                    .map(|p| {
                        let allowed = match p.identity_synchronization {
                            Some(Some(s)) => Some(
                                s.group_sync_inbound
                                    .and_then(|g| g.is_sync_allowed)
                                    .unwrap_or(false),
                            ),
                            _ => None,
                        };
                        (p.tenant_id.to_ascii_lowercase(), allowed)
                    })
                    .collect::<HashMap<_, _>>())
            })
            .await
    }

    /// Takes the lock for read-modify-write updates of `partner`'s
    /// configuration (and forgets the refresh snapshots, which the writes
    /// make stale).
    pub async fn lock(self, partner: &'a str) -> PartnerLock<'a> {
        let key = format!("{}/partners/{partner}", self.api.tenant_id());
        let guard = self.api.locks().lock(&key).await;
        self.api.session().partner_snapshot.invalidate(SNAPSHOT_KEY);
        self.api
            .session()
            .group_sync_snapshot
            .invalidate(SNAPSHOT_KEY);
        PartnerLock {
            api: self.api,
            partner,
            _guard: guard,
        }
    }
}

/// Read-modify-write access to one partner configuration, holding its lock.
pub struct PartnerLock<'a> {
    api: &'a TenantApi<'a>,
    partner: &'a str,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl PartnerLock<'_> {
    fn partners(&self) -> Partners<'_> {
        self.api.partners()
    }

    /// Makes sure the configuration exists with direction `d` set to
    /// `value`; says whether this call created it.
    pub async fn ensure_auto_redeem(&self, d: Direction, value: bool) -> Result<Created<()>> {
        let mut consent = InboundOutbound::default();
        consent.set(d, Some(value));
        let body = serde_json::json!({
            "tenantId": self.partner,
            "automaticUserConsentSettings": to_json(&consent),
        });
        let partners = self.partners();
        let outcome = create_once(
            self.api.scope(),
            || partners.get(self.partner, ReadMode::Refresh),
            || async {
                // Created meanwhile (by an organization join, or another
                // process) answers 409: create_once looks again.
                self.api.post(PARTNERS, body.clone()).done().await?;
                Ok(PartnerConfiguration::default())
            },
        )
        .await?;
        match outcome {
            Created::New(_) => Ok(Created::New(())),
            Created::Existing(current) => {
                self.set_auto_redeem(&current, d, Some(value)).await?;
                Ok(Created::Existing(()))
            }
        }
    }

    /// PATCHes one direction, keeping the other as it is.
    async fn set_auto_redeem(
        &self,
        current: &PartnerConfiguration,
        d: Direction,
        value: Option<bool>,
    ) -> Result<()> {
        let mut consent = current
            .automatic_user_consent_settings
            .clone()
            .unwrap_or_default();
        if consent.get(d) == value {
            return Ok(());
        }
        consent.set(d, value);
        self.api
            .patch(
                partner_path(self.partner),
                serde_json::json!({"automaticUserConsentSettings": to_json(&consent)}),
            )
            .retry_not_found()
            .done()
            .await
    }

    /// Undoes this resource's part of the configuration: clears direction
    /// `d`, and deletes the configuration when nothing is left in it and it
    /// is not part of a multi-tenant organization (where Graph keeps one
    /// per pair) unless this provider created it.
    pub async fn release(&self, d: Direction, created_by_us: bool) -> Result<()> {
        let Some(current) = self.partners().get(self.partner, ReadMode::Refresh).await? else {
            return Ok(());
        };
        self.set_auto_redeem(&current, d, None).await?;
        if current.in_multi_tenant_organization() && !created_by_us {
            return Ok(());
        }
        let mut after = current.clone();
        after
            .automatic_user_consent_settings
            .get_or_insert_default()
            .set(d, None);
        if !after.is_bare()
            || self
                .partners()
                .sync_policy(self.partner, ReadMode::Refresh)
                .await?
                .is_some()
        {
            return Ok(());
        }
        found(self.api.delete(partner_path(self.partner)).done().await).map(|_| ())
    }

    /// Puts the identity synchronization policy in place with
    /// `userSyncInbound.isSyncAllowed = allowed`, creating it if missing;
    /// says whether this call created it.
    pub async fn ensure_sync_policy(&self, allowed: bool) -> Result<Created<()>> {
        let body = serde_json::json!({"userSyncInbound": {"isSyncAllowed": allowed}});
        match self
            .api
            .put(sync_path(self.partner), body.clone())
            .retry_not_found()
            .done()
            .await
        {
            Ok(()) => Ok(Created::New(())),
            Err(e) if e.kind == super::ErrorKind::Conflict => {
                self.api
                    .patch(sync_path(self.partner), body)
                    .retry_not_found()
                    .done()
                    .await?;
                Ok(Created::Existing(()))
            }
            Err(e) => Err(e),
        }
    }

    /// Withdraws inbound synchronization: deletes the policy if this
    /// provider created it, otherwise only turns synchronization off.
    /// Missing already: nothing to do.
    pub async fn withdraw_sync_policy(&self, created_by_us: bool) -> Result<()> {
        let done = if created_by_us {
            self.api.delete(sync_path(self.partner)).done().await
        } else {
            self.api
                .patch(
                    sync_path(self.partner),
                    serde_json::json!({"userSyncInbound": {"isSyncAllowed": false}}),
                )
                .done()
                .await
        };
        found(done).map(|_| ())
    }

    /// Sets `groupSyncInbound.isSyncAllowed` of the identity
    /// synchronization policy (a beta-only property, so through `/beta`).
    pub async fn set_group_sync(&self, allowed: bool) -> Result<()> {
        self.api
            .patch(
                sync_path(self.partner),
                serde_json::json!({"groupSyncInbound": {"isSyncAllowed": allowed}}),
            )
            .beta()
            .retry_not_found()
            .done()
            .await
    }

    /// Both halves, read back right after a write.
    pub async fn read_back(&self) -> Result<Option<(PartnerConfiguration, IdentitySyncPolicy)>> {
        self.partners()
            .with_sync_policy(self.partner, ReadMode::AfterWrite)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partner(v: serde_json::Value) -> PartnerConfiguration {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn bare_means_nothing_set() {
        assert!(partner(serde_json::json!({"tenantId": "x", "automaticUserConsentSettings": {"inboundAllowed": null, "outboundAllowed": false}})).is_bare());
        assert!(
            !partner(serde_json::json!({"automaticUserConsentSettings": {"inboundAllowed": true}}))
                .is_bare()
        );
        assert!(
            !partner(serde_json::json!({"b2bCollaborationInbound": {"usersAndGroups": {}}}))
                .is_bare()
        );
        assert!(!partner(serde_json::json!({"isServiceProvider": true})).is_bare());
    }

    #[test]
    fn an_expanded_list_tells_no_policy_from_no_expansion() {
        let expanded =
            partner(serde_json::json!({"tenantId": "x", "identitySynchronization": null}));
        assert_eq!(expanded.identity_synchronization, Some(None));
        let plain = partner(serde_json::json!({"tenantId": "x"}));
        assert_eq!(plain.identity_synchronization, None);
        let with = partner(
            serde_json::json!({"tenantId": "x", "identitySynchronization": {"userSyncInbound": {"isSyncAllowed": true}}}),
        );
        assert!(
            with.identity_synchronization
                .unwrap()
                .unwrap()
                .user_sync_allowed()
        );
    }

    #[test]
    fn auto_redeem_null_reads_as_false() {
        let p = partner(
            serde_json::json!({"automaticUserConsentSettings": {"inboundAllowed": true, "outboundAllowed": null}}),
        );
        assert!(p.auto_redeem(Direction::Inbound));
        assert!(!p.auto_redeem(Direction::Outbound));
    }
}
