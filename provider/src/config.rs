//! The provider block: credentials for several tenants at once, and the
//! endpoints to reach them.
//!
//! One provider configuration drives a whole mesh: each resource names the
//! tenant it acts in through its `tenant_id`, because provider aliases cannot
//! be iterated with `for_each`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;
use tfplugin::schema::NestedBlock;
use tfplugin::validate::{Guid, NotBlank, is_guid};
use tfplugin::{Attribute, AttributePath, Block, Diagnostics, Schema, Value};

pub const DEFAULT_GRAPH_ENDPOINT: &str = "https://graph.microsoft.com";
pub const DEFAULT_LOGIN_ENDPOINT: &str = "https://login.microsoftonline.com";
/// How long after creating an object a refresh that cannot find it keeps
/// looking: Graph replicates new objects to its read replicas with a delay
/// (seconds in practice; no bound is documented).
pub const DEFAULT_REPLICATION_GRACE: &str = "30s";

/// One tenant's application credentials.
#[derive(Clone, Deserialize)]
pub struct TenantCredentials {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: Option<String>,
}

// Hand-written so a secret can never reach a log line through `{:?}`.
impl std::fmt::Debug for TenantCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantCredentials")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The validated provider configuration.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// By lower-case tenant id.
    pub tenants: BTreeMap<String, TenantCredentials>,
    pub graph_endpoint: url::Url,
    pub login_endpoint: url::Url,
    /// See [`DEFAULT_REPLICATION_GRACE`].
    pub replication_grace: std::time::Duration,
}

impl ProviderConfig {
    pub fn tenant(&self, tenant_id: &str) -> Option<&TenantCredentials> {
        self.tenants.get(&tenant_id.to_ascii_lowercase())
    }
}

pub fn schema() -> Schema {
    let tenant = Block::new()
        .description("Credentials of an application registered in one tenant. Repeat the block for every tenant the configuration manages.")
        .attribute(
            Attribute::string("tenant_id")
                .required()
                .validator(Guid)
                .description("The tenant (directory) id."),
        )
        .attribute(
            Attribute::string("client_id")
                .required()
                .validator(Guid)
                .description("The application (client) id of the app registration in that tenant."),
        )
        .attribute(
            Attribute::string("client_secret")
                .optional()
                .sensitive()
                .validator(NotBlank)
                .description("A client secret of that application. Never logged or shown in plans."),
        );
    Schema::new(
        Block::new()
            .description(
                "Manages Microsoft Entra multi-tenant organizations and cross-tenant synchronization. \
                 One provider block holds the credentials of every tenant involved; each resource \
                 says which tenant it acts in with its `tenant_id`.",
            )
            .attribute(
                Attribute::string("graph_endpoint")
                    .optional()
                    .description(format!(
                        "Base URL of Microsoft Graph. Defaults to `{DEFAULT_GRAPH_ENDPOINT}`. Set it for a national cloud or the local sandbox; plain `http` is accepted only for loopback addresses."
                    )),
            )
            .attribute(
                Attribute::string("login_endpoint")
                    .optional()
                    .description(format!(
                        "Base URL of the Microsoft identity platform. Defaults to `{DEFAULT_LOGIN_ENDPOINT}`. Plain `http` is accepted only for loopback addresses."
                    )),
            )
            .attribute(
                Attribute::string("replication_grace_period")
                    .optional()
                    .validator(tfplugin::validate::DurationString)
                    .description(format!(
                        "How long after this provider created an object a refresh that cannot find it keeps looking \
                         before reporting it deleted (Graph replicates new objects with a delay, so a plan right \
                         after an apply may not see them yet). Default `{DEFAULT_REPLICATION_GRACE}`; `0s` turns it off."
                    )),
            )
            .block(NestedBlock::list("tenant", tenant)),
    )
}

/// Whether an endpoint may be used: https anywhere, http only on loopback,
/// because a token sent over plain http to another host could be read by
/// anyone on the path.
pub fn check_endpoint(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}."))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo them: the URL may hold a password.
        let mut bare = url.clone();
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        return Err(format!(
            "{:?} carries credentials (user:password@); they are refused in an endpoint URL. Give the tenant's credentials in its `tenant` block.",
            bare.as_str()
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{raw:?} must not carry a query or fragment."));
    }
    let host = url
        .host_str()
        .ok_or_else(|| format!("{raw:?} has no host."))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" => {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = bare.eq_ignore_ascii_case("localhost")
                || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(url)
            } else {
                Err(format!(
                    "{raw:?} uses plain http to a host that is not loopback; use https (http is accepted only for 127.0.0.1, ::1 or localhost)."
                ))
            }
        }
        other => Err(format!("{raw:?} uses scheme {other:?}; use https.")),
    }
}

/// Checks the parts of the block that can be checked before anything is
/// known about the tenants: endpoints and duplicate tenants.
pub fn validate(config: &Value, diags: &mut Diagnostics) {
    for attr in ["graph_endpoint", "login_endpoint"] {
        if let Some(raw) = config.get(attr).as_str()
            && let Err(msg) = check_endpoint(raw)
        {
            diags.error_at(AttributePath::root().attr(attr), "Endpoint refused", msg);
        }
    }
    let mut seen = BTreeMap::new();
    for (i, t) in config
        .get("tenant")
        .as_slice()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if let Some(id) = t.get("tenant_id").as_str()
            && let Some(first) = seen.insert(id.to_ascii_lowercase(), i)
        {
            diags.error_at(
                AttributePath::root().attr("tenant").index(i as i64).attr("tenant_id"),
                "Tenant configured twice",
                format!("Tenant {id} already has credentials in tenant block {first}; give each tenant one block."),
            );
        }
    }
}

/// Environment fallback for a single tenant, as in the azurerm/azuread
/// providers: used only when the block configures no tenant at all.
fn env_tenant() -> Option<TenantCredentials> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    Some(TenantCredentials {
        tenant_id: get("ARM_TENANT_ID")?,
        client_id: get("ARM_CLIENT_ID")?,
        client_secret: get("ARM_CLIENT_SECRET"),
    })
}

/// Builds the configuration, reporting every problem with its path.
pub fn parse(config: &Value, diags: &mut Diagnostics) -> Option<ProviderConfig> {
    if !config.is_wholly_known() {
        let path = config.first_unknown_path().unwrap_or_default();
        diags.error_at(
            path,
            "Provider configuration depends on unknown values",
            "The mto provider needs its credentials and endpoints before planning. Do not derive them from resources that are not created yet.",
        );
        return None;
    }
    validate(config, diags);
    let endpoint = |attr: &str, default: &str, diags: &mut Diagnostics| {
        let raw = config.get(attr).as_str().unwrap_or(default);
        match check_endpoint(raw) {
            Ok(u) => Some(u),
            Err(msg) => {
                // Already reported by validate when it came from config.
                if config.get(attr).is_null() {
                    diags.error_at(AttributePath::root().attr(attr), "Endpoint refused", msg);
                }
                None
            }
        }
    };
    let graph_endpoint = endpoint("graph_endpoint", DEFAULT_GRAPH_ENDPOINT, diags);
    let login_endpoint = endpoint("login_endpoint", DEFAULT_LOGIN_ENDPOINT, diags);

    let mut tenants = BTreeMap::new();
    let blocks = config.get("tenant").as_slice().unwrap_or_default();
    for (i, t) in blocks.iter().enumerate() {
        match tfplugin::value::from_value::<TenantCredentials>(t) {
            Ok(creds) => {
                tenants.insert(creds.tenant_id.to_ascii_lowercase(), creds);
            }
            Err(e) => diags.error_at(
                AttributePath::root().attr("tenant").index(i as i64),
                "Invalid tenant block",
                e.to_string(),
            ),
        }
    }
    if blocks.is_empty()
        && let Some(creds) = env_tenant()
    {
        if !is_guid(&creds.tenant_id) || !is_guid(&creds.client_id) {
            diags.error(
                "Invalid credentials in the environment",
                "ARM_TENANT_ID and ARM_CLIENT_ID must be GUIDs.",
            );
        } else {
            tenants.insert(creds.tenant_id.to_ascii_lowercase(), creds);
        }
    }
    if diags.has_errors() {
        return None;
    }
    let grace = config
        .get("replication_grace_period")
        .as_str()
        .unwrap_or(DEFAULT_REPLICATION_GRACE);
    let replication_grace = tfplugin::validate::parse_duration(grace).unwrap_or_default();
    Some(ProviderConfig {
        tenants,
        graph_endpoint: graph_endpoint?,
        login_endpoint: login_endpoint?,
        replication_grace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_http_only_on_loopback() {
        assert!(check_endpoint("https://graph.microsoft.com").is_ok());
        assert!(check_endpoint("http://127.0.0.1:8080").is_ok());
        assert!(check_endpoint("http://[::1]:8080").is_ok());
        assert!(check_endpoint("http://localhost:1").is_ok());
        assert!(check_endpoint("http://graph.example.com").is_err());
        assert!(check_endpoint("http://10.0.0.1").is_err());
        assert!(check_endpoint("ftp://x").is_err());
        assert!(check_endpoint("not a url").is_err());
        assert!(check_endpoint("https://x/?a=1").is_err());
    }

    #[test]
    fn endpoints_with_credentials_are_refused_without_echoing_them() {
        for raw in [
            "http://user:pass@127.0.0.1:8080",
            "https://user@graph.microsoft.com",
            "https://:s3cret@graph.microsoft.com/",
        ] {
            let msg = check_endpoint(raw).unwrap_err();
            assert!(msg.contains("carries credentials"), "{msg}");
            assert!(!msg.contains("pass@") && !msg.contains("user@"), "{msg}");
            assert!(!msg.contains("s3cret"), "{msg}");
        }
        let mut d = Diagnostics::new();
        let config = Value::object([
            (
                "graph_endpoint",
                Value::from("http://user:pass@127.0.0.1:1"),
            ),
            ("login_endpoint", Value::Null),
        ]);
        validate(&config, &mut d);
        let diag = d.iter().next().unwrap();
        assert_eq!(diag.path.as_ref().unwrap().to_string(), "graph_endpoint");
        assert!(
            diag.detail.contains("carries credentials"),
            "{}",
            diag.detail
        );
    }

    fn tenant(id: &str) -> Value {
        Value::object([
            ("tenant_id", Value::from(id)),
            (
                "client_id",
                Value::from("11111111-1111-1111-1111-111111111111"),
            ),
            ("client_secret", Value::from("s3cret")),
        ])
    }

    #[test]
    fn duplicate_tenants_are_reported_on_the_second_block() {
        let id = "22222222-2222-2222-2222-222222222222";
        let config = Value::object([
            ("graph_endpoint", Value::Null),
            ("login_endpoint", Value::Null),
            (
                "tenant",
                Value::List(vec![tenant(id), tenant(&id.to_uppercase())]),
            ),
        ]);
        let mut d = Diagnostics::new();
        assert!(parse(&config, &mut d).is_none());
        let diag = d.iter().next().unwrap();
        assert_eq!(
            diag.path.as_ref().unwrap().to_string(),
            "tenant[1].tenant_id"
        );
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let creds = TenantCredentials {
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: Some("s3cret".into()),
        };
        assert!(!format!("{creds:?}").contains("s3cret"));
    }
}
