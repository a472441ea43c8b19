//! The two multi-tenant organization templates of a tenant, which Graph
//! applies to the partner configurations it creates when tenants join.
//!
//! Graph: `/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization`
//! and `.../multiTenantOrganizationPartnerConfiguration` (GET, PATCH 204,
//! `resetToDefaultSettings` 204). They always exist. Only non-null settings
//! of a template overwrite a partner's values.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::client::TenantApi;
use super::error::{GraphError, Result};
use super::partners::{InboundOutbound, SyncAllowed};

const IDENTITY_SYNC: &str =
    "/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization";
const PARTNER_CONFIGURATION: &str =
    "/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration";
/// The values of the `templateApplicationLevel` flags, in Graph's order.
pub const LEVELS: &[&str] = &["none", "newPartners", "existingPartners"];

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IdentitySyncTemplate {
    /// Comma-combined flags, e.g. `newPartners,existingPartners`.
    pub template_application_level: Option<String>,
    pub user_sync_inbound: Option<SyncAllowed>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PartnerConfigurationTemplate {
    pub template_application_level: Option<String>,
    pub automatic_user_consent_settings: Option<InboundOutbound>,
}

/// Both templates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Templates {
    pub identity_sync: IdentitySyncTemplate,
    pub partner: PartnerConfigurationTemplate,
}

/// What this provider writes into both templates. `None` leaves a
/// partner's own value alone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TemplateSettings {
    pub levels: BTreeSet<String>,
    pub user_sync_inbound_allowed: Option<bool>,
    pub inbound_auto_redeem: Option<bool>,
    pub outbound_auto_redeem: Option<bool>,
}

/// Reads the comma-combined flags as a set (absent reads as `none`).
pub fn parse_levels(raw: Option<&str>) -> BTreeSet<String> {
    raw.unwrap_or("none")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Writes a set of levels as Graph's flags, in Graph's own order for
/// readable requests (an empty set is `none`).
pub fn format_levels(levels: &BTreeSet<String>) -> String {
    let mut items: Vec<&str> = levels.iter().map(String::as_str).collect();
    items.sort_by_key(|s| LEVELS.iter().position(|l| l == s).unwrap_or(LEVELS.len()));
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(",")
    }
}

/// The templates of one tenant.
#[derive(Clone, Copy)]
pub struct TemplatesApi<'a> {
    api: &'a TenantApi<'a>,
}

impl<'a> TenantApi<'a> {
    pub fn templates(&'a self) -> TemplatesApi<'a> {
        TemplatesApi { api: self }
    }
}

impl TemplatesApi<'_> {
    pub async fn get(self) -> Result<Templates> {
        let (s, p) = tokio::join!(
            self.api.get(IDENTITY_SYNC).batched().json(),
            self.api.get(PARTNER_CONFIGURATION).batched().json()
        );
        Ok(Templates {
            identity_sync: s?,
            partner: p?,
        })
    }

    /// Writes both templates (concurrently).
    pub async fn update(self, settings: &TemplateSettings) -> Result<()> {
        let level = format_levels(&settings.levels);
        let sync = serde_json::json!({
            "templateApplicationLevel": level,
            "userSyncInbound": {"isSyncAllowed": settings.user_sync_inbound_allowed},
        });
        let partner = serde_json::json!({
            "templateApplicationLevel": level,
            "automaticUserConsentSettings": {
                "inboundAllowed": settings.inbound_auto_redeem,
                "outboundAllowed": settings.outbound_auto_redeem,
            },
        });
        let (a, b) = tokio::join!(
            self.api.patch(IDENTITY_SYNC, sync).done(),
            self.api.patch(PARTNER_CONFIGURATION, partner).done()
        );
        a?;
        b
    }

    /// Resets both templates to their defaults; returns every failure.
    pub async fn reset(self) -> Vec<GraphError> {
        let reset = |path: &str| {
            self.api
                .post(
                    format!("{path}/resetToDefaultSettings"),
                    serde_json::json!({}),
                )
                .done()
        };
        let (a, b) = tokio::join!(reset(IDENTITY_SYNC), reset(PARTNER_CONFIGURATION));
        [a, b].into_iter().filter_map(Result::err).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip_in_graphs_order() {
        let set = parse_levels(Some("existingPartners, newPartners"));
        assert_eq!(format_levels(&set), "newPartners,existingPartners");
        assert_eq!(format_levels(&BTreeSet::new()), "none");
        assert_eq!(parse_levels(None), BTreeSet::from(["none".to_owned()]));
    }
}
