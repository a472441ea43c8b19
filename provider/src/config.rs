//! The provider block: credentials for several tenants at once, and the
//! endpoints to reach them.
//!
//! Each `tenant` block (or, with none, the `ARM_*` environment variables the
//! azuread provider reads) chooses exactly one credential; conflicting or
//! missing settings are reported on the attribute that causes them, at
//! validation, before anything is planned. Files named by the block are read
//! when the provider is configured (`parse`).
//!
//! One provider configuration drives a whole mesh: each resource names the
//! tenant it acts in through its `tenant_id`, because provider aliases cannot
//! be iterated with `for_each`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use tfplugin::schema::NestedBlock;
use tfplugin::validate::{Guid, NotBlank, is_guid};
use tfplugin::{Attribute, AttributePath, Block, Diagnostics, Schema, Value};

use crate::credentials::{ClientCertificate, Credential, OidcSource, Secret};

pub const DEFAULT_GRAPH_ENDPOINT: &str = "https://graph.microsoft.com";
pub const DEFAULT_LOGIN_ENDPOINT: &str = "https://login.microsoftonline.com";
/// How long after creating an object a refresh that cannot find it keeps
/// looking: Graph replicates new objects to its read replicas with a delay
/// (seconds in practice; no bound is documented).
pub const DEFAULT_REPLICATION_GRACE: &str = "30s";

/// One tenant's application credentials, loaded and checked.
#[derive(Clone, Debug)]
pub struct TenantCredentials {
    pub tenant_id: String,
    /// `None` only for a managed identity picked by the endpoint (system-assigned).
    pub client_id: Option<String>,
    pub credential: Credential,
    /// Which `tenant` block it came from; `None` for the environment fallback.
    pub block: Option<usize>,
    /// The attribute (or environment variable) holding the credential, for diagnostics.
    pub credential_attribute: &'static str,
    /// The attribute that gave the client id.
    pub client_id_attribute: &'static str,
}

impl TenantCredentials {
    /// Client-secret credentials (for tests and the simplest configurations).
    pub fn secret(tenant_id: &str, client_id: &str, secret: &str) -> TenantCredentials {
        TenantCredentials {
            tenant_id: tenant_id.to_owned(),
            client_id: Some(client_id.to_owned()),
            credential: Credential::Secret(Secret::new(secret)),
            block: None,
            credential_attribute: "client_secret",
            client_id_attribute: "client_id",
        }
    }

    /// The path of `attr` in this tenant's block, if it came from one.
    pub fn path(&self, attr: &str) -> Option<AttributePath> {
        self.block.map(|i| {
            AttributePath::root()
                .attr("tenant")
                .index(i as i64)
                .attr(attr)
        })
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
    /// Whether plans compare each resource's Graph permissions with the granted ones.
    pub check_permissions: bool,
}

impl ProviderConfig {
    pub fn tenant(&self, tenant_id: &str) -> Option<&TenantCredentials> {
        self.tenants.get(&tenant_id.to_ascii_lowercase())
    }
}

fn optional(name: &str, description: &str) -> Attribute {
    Attribute::string(name)
        .optional()
        .validator(NotBlank)
        .description(description.to_owned())
}

fn secret(name: &str, description: &str) -> Attribute {
    optional(name, description).sensitive()
}

pub fn schema() -> Schema {
    let tenant = Block::new()
        .description("Credentials of an application registered in one tenant: exactly one of a client secret, a client certificate, a federated OIDC token (`use_oidc`) or a managed identity (`use_msi`). Repeat the block for every tenant the configuration manages.")
        .attribute(
            Attribute::string("tenant_id")
                .required()
                .validator(Guid)
                .description("The tenant (directory) id."),
        )
        .attribute(
            Attribute::string("client_id")
                .optional()
                .validator(Guid)
                .description("The application (client) id of the app registration in that tenant. Required unless `client_id_file_path` gives it, or `use_msi` uses the system-assigned identity."),
        )
        .attribute(optional("client_id_file_path", "A file holding the client id, as HCP Terraform dynamic credentials provide it (`var.tfc_azure_dynamic_credentials.aliases[\"TAG\"].client_id_file_path`)."))
        .attribute(secret("client_secret", "A client secret of that application. Never logged or shown in plans."))
        .attribute(optional("client_secret_file_path", "A file holding the client secret."))
        .attribute(secret("client_certificate", "The client certificate with its private key: a base64-encoded PKCS#12 bundle (`.pfx`), or PEM text with the certificate and an unencrypted RSA key. The provider signs a client assertion (PS256, `x5t#S256`) for every token request."))
        .attribute(optional("client_certificate_path", "A file with the client certificate and its private key: a PKCS#12 bundle (`.pfx`/`.p12`), or PEM with the certificate and an unencrypted RSA key."))
        .attribute(secret("client_certificate_password", "The password of the PKCS#12 bundle."))
        .attribute(
            Attribute::bool("use_oidc")
                .optional()
                .description("Authenticate with a federated OIDC token (workload identity federation): `oidc_token`, `oidc_token_file_path`, or a token requested from the pipeline (`oidc_request_url` and `oidc_request_token`, taken from GitHub Actions' or Azure DevOps' variables when unset)."),
        )
        .attribute(secret("oidc_token", "The OIDC token (a JWT) to exchange for a Graph token."))
        .attribute(optional("oidc_token_file_path", "A file holding the OIDC token, read again for every token request (HCP Terraform's `oidc_token_file_path`, a Kubernetes projected token)."))
        .attribute(optional("oidc_request_url", "The URL to request an OIDC token from (GitHub Actions' `ACTIONS_ID_TOKEN_REQUEST_URL`, Azure DevOps' `SYSTEM_OIDCREQUESTURI`). Defaults to `ARM_OIDC_REQUEST_URL`, then to those variables."))
        .attribute(secret("oidc_request_token", "The bearer token for `oidc_request_url` (`ACTIONS_ID_TOKEN_REQUEST_TOKEN`, or Azure DevOps' `SYSTEM_ACCESSTOKEN`). Defaults to `ARM_OIDC_REQUEST_TOKEN`, then to those variables."))
        .attribute(optional("ado_pipeline_service_connection_id", "The Azure DevOps service connection whose OIDC token is requested; makes the request Azure DevOps-style. Defaults to `ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID` (or `ARM_OIDC_AZURE_SERVICE_CONNECTION_ID`)."))
        .attribute(
            Attribute::bool("use_msi")
                .optional()
                .description("Authenticate as a managed identity of the machine Terraform runs on. With `client_id`, that user-assigned identity; without, the system-assigned one. The identity must belong to this tenant."),
        )
        .attribute(optional("msi_endpoint", &format!("The managed identity endpoint. Defaults to `ARM_MSI_ENDPOINT`, then `{DEFAULT_MSI_ENDPOINT}`.")));
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
            .attribute(
                Attribute::bool("check_permissions")
                    .optional()
                    .description("Whether a plan fails when a tenant's token lacks a Graph application permission that a resource or data source in that tenant needs, naming every missing one (default `true`). Turn it off only if Graph grants the access some way the check does not know."),
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
    check_url(url, raw)
}

/// A pipeline's OIDC token request URL: as [`check_endpoint`], but it may
/// carry a query (GitHub's ends in `?api-version=2.0`).
pub fn check_request_url(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}."))?;
    check_url(url, raw)
}

fn check_url(url: url::Url, raw: &str) -> Result<url::Url, String> {
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
/// known about the tenants: endpoints, duplicate tenants and each tenant's
/// choice of credential.
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
        choose(&BlockSource { block: t, index: i }, diags);
    }
}

/// Builds the configuration, reporting every problem with its path. Reads
/// the files the tenant blocks name (certificates, secrets, client ids).
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
    let before = error_count(diags);
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
    let validated_ok = error_count(diags) == before;
    if validated_ok {
        for (i, t) in blocks.iter().enumerate() {
            let src = BlockSource { block: t, index: i };
            if let Some(choice) = choose(&src, &mut Diagnostics::new())
                && let Some(creds) = load(&src, choice, diags)
            {
                tenants.insert(creds.tenant_id.to_ascii_lowercase(), creds);
            }
        }
    }
    if blocks.is_empty() && std::env::var_os("ARM_TENANT_ID").is_some() {
        let src = EnvSource;
        if let Some(choice) = choose(&src, diags)
            && let Some(creds) = load(&src, choice, diags)
        {
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
        check_permissions: config.get("check_permissions").as_bool().unwrap_or(true),
    })
}

fn error_count(diags: &Diagnostics) -> usize {
    diags
        .iter()
        .filter(|d| d.severity == tfplugin::diag::Severity::Error)
        .count()
}

// ---------------------------------------------------------------------------
// One tenant's settings, from a block or the environment

/// Where Azure's managed identity endpoint (IMDS) answers.
pub const DEFAULT_MSI_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// The tenant attributes and their `ARM_*` variables, as the azuread provider names them.
const ENV: &[(&str, &str)] = &[
    ("tenant_id", "ARM_TENANT_ID"),
    ("client_id", "ARM_CLIENT_ID"),
    ("client_id_file_path", "ARM_CLIENT_ID_FILE_PATH"),
    ("client_secret", "ARM_CLIENT_SECRET"),
    ("client_secret_file_path", "ARM_CLIENT_SECRET_FILE_PATH"),
    ("client_certificate", "ARM_CLIENT_CERTIFICATE"),
    ("client_certificate_path", "ARM_CLIENT_CERTIFICATE_PATH"),
    (
        "client_certificate_password",
        "ARM_CLIENT_CERTIFICATE_PASSWORD",
    ),
    ("use_oidc", "ARM_USE_OIDC"),
    ("oidc_token", "ARM_OIDC_TOKEN"),
    ("oidc_token_file_path", "ARM_OIDC_TOKEN_FILE_PATH"),
    ("oidc_request_url", "ARM_OIDC_REQUEST_URL"),
    ("oidc_request_token", "ARM_OIDC_REQUEST_TOKEN"),
    (
        "ado_pipeline_service_connection_id",
        "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID",
    ),
    ("use_msi", "ARM_USE_MSI"),
    ("msi_endpoint", "ARM_MSI_ENDPOINT"),
];

/// Variables a pipeline sets itself, consulted (after the `ARM_*` one) for any tenant block
/// that leaves the attribute unset: the ambient token request of the job.
const AMBIENT: &[(&str, &[&str])] = &[
    (
        "oidc_request_url",
        &["ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL"],
    ),
    (
        "oidc_request_token",
        &["ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
    ),
    (
        "ado_pipeline_service_connection_id",
        &[
            "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID",
            "ARM_OIDC_AZURE_SERVICE_CONNECTION_ID",
        ],
    ),
    ("msi_endpoint", &["ARM_MSI_ENDPOINT"]),
];

/// Azure DevOps' own variables for the same two settings.
const ADO_AMBIENT: &[(&str, &str)] = &[
    ("oidc_request_url", "SYSTEM_OIDCREQUESTURI"),
    ("oidc_request_token", "SYSTEM_ACCESSTOKEN"),
];

fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A setting as read: unset, unknown (planning only), or a value.
#[derive(Clone, Debug, PartialEq)]
enum Setting {
    Unset,
    Unknown,
    Text(String),
    Flag(bool),
}

impl Setting {
    fn is_set(&self) -> bool {
        !matches!(self, Setting::Unset | Setting::Flag(false))
    }

    fn text(&self) -> Option<&str> {
        match self {
            Setting::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// Where one tenant's settings come from.
trait Source {
    fn setting(&self, attr: &str) -> Setting;
    /// The attribute path for diagnostics (`None` for the environment).
    fn path(&self, attr: &str) -> Option<AttributePath>;
    /// How `attr` is called in messages.
    fn name(&self, attr: &str) -> String;
    fn block(&self) -> Option<usize>;
    /// How the whole source is called in messages.
    fn describe(&self) -> String;

    /// An attribute, or the pipeline's ambient variable for it.
    fn ambient(&self, attr: &str, ado: bool) -> Option<String> {
        if let Some(v) = self.setting(attr).text() {
            return Some(v.to_owned());
        }
        let names = AMBIENT
            .iter()
            .find(|(a, _)| *a == attr)
            .map(|(_, n)| *n)
            .unwrap_or_default();
        let ado_name = ADO_AMBIENT
            .iter()
            .find(|(a, _)| *a == attr)
            .map(|(_, n)| *n);
        // An Azure DevOps request (a service connection is named) uses Azure
        // DevOps' variables, any other GitHub's.
        let pipeline: Vec<&str> = match (ado, ado_name) {
            (true, Some(n)) => vec![names[0], n],
            _ => names.to_vec(),
        };
        pipeline.into_iter().find_map(env_value)
    }

    fn error(&self, diags: &mut Diagnostics, attr: &str, summary: &str, detail: String) {
        match self.path(attr) {
            Some(p) => diags.error_at(p, summary, detail),
            None => diags.error(summary, detail),
        }
    }
}

struct BlockSource<'a> {
    block: &'a Value,
    index: usize,
}

impl Source for BlockSource<'_> {
    fn setting(&self, attr: &str) -> Setting {
        let v = self.block.get(attr);
        if v.is_unknown() {
            Setting::Unknown
        } else if let Some(b) = v.as_bool() {
            Setting::Flag(b)
        } else {
            v.as_str()
                .filter(|s| !s.trim().is_empty())
                .map_or(Setting::Unset, |s| Setting::Text(s.to_owned()))
        }
    }

    fn path(&self, attr: &str) -> Option<AttributePath> {
        let block = AttributePath::root()
            .attr("tenant")
            .index(self.index as i64);
        Some(if attr.is_empty() {
            block
        } else {
            block.attr(attr)
        })
    }

    fn name(&self, attr: &str) -> String {
        attr.to_owned()
    }

    fn block(&self) -> Option<usize> {
        Some(self.index)
    }

    fn describe(&self) -> String {
        match self.block.get("tenant_id").as_str() {
            Some(id) => format!("tenant block {} ({id})", self.index),
            None => format!("tenant block {}", self.index),
        }
    }
}

struct EnvSource;

impl Source for EnvSource {
    fn setting(&self, attr: &str) -> Setting {
        let Some((_, var)) = ENV.iter().find(|(a, _)| *a == attr) else {
            return Setting::Unset;
        };
        match env_value(var) {
            None => Setting::Unset,
            Some(v) if attr.starts_with("use_") => Setting::Flag(matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "t" | "true"
            )),
            Some(v) => Setting::Text(v),
        }
    }

    fn path(&self, _attr: &str) -> Option<AttributePath> {
        None
    }

    fn name(&self, attr: &str) -> String {
        ENV.iter()
            .find(|(a, _)| *a == attr)
            .map_or_else(|| attr.to_owned(), |(_, v)| (*v).to_owned())
    }

    fn block(&self) -> Option<usize> {
        None
    }

    fn describe(&self) -> String {
        "the environment (no tenant block)".to_owned()
    }
}

/// The credential a tenant chose, before any file is read.
#[derive(Debug)]
enum Choice {
    Secret { attr: &'static str },
    Certificate { attr: &'static str },
    Oidc { attr: &'static str, ado: bool },
    ManagedIdentity,
}

/// Attributes that belong to one method, with the flag that turns it on.
const OIDC_ATTRS: &[&str] = &[
    "oidc_token",
    "oidc_token_file_path",
    "oidc_request_url",
    "oidc_request_token",
    "ado_pipeline_service_connection_id",
];

/// Picks the tenant's one credential, reporting conflicting and missing
/// settings on the attribute that causes them.
fn choose(src: &dyn Source, diags: &mut Diagnostics) -> Option<Choice> {
    let before = error_count(diags);
    let set = |a: &str| src.setting(a).is_set();
    let unknown = |a: &str| src.setting(a) == Setting::Unknown;
    let conflict = |diags: &mut Diagnostics, a: &str, b: &str| {
        src.error(
            diags,
            b,
            "Conflicting credentials",
            format!(
                "{} and {} are both set for {}: give each tenant exactly one of them.",
                src.name(a),
                src.name(b),
                src.describe()
            ),
        );
    };
    for (a, b) in [
        ("client_id", "client_id_file_path"),
        ("client_secret", "client_secret_file_path"),
        ("client_certificate", "client_certificate_path"),
        ("oidc_token", "oidc_token_file_path"),
        ("oidc_token", "oidc_request_url"),
        ("oidc_token_file_path", "oidc_request_url"),
    ] {
        if set(a) && set(b) {
            conflict(diags, a, b);
        }
    }
    let use_oidc = src.setting("use_oidc") == Setting::Flag(true);
    let use_msi = src.setting("use_msi") == Setting::Flag(true);
    let mut methods: Vec<(&'static str, Choice)> = Vec::new();
    if let Some(a) = ["client_secret", "client_secret_file_path"]
        .into_iter()
        .find(|a| set(a))
    {
        methods.push((a, Choice::Secret { attr: a }));
    }
    if let Some(a) = ["client_certificate", "client_certificate_path"]
        .into_iter()
        .find(|a| set(a))
    {
        methods.push((a, Choice::Certificate { attr: a }));
    } else if set("client_certificate_password") {
        src.error(
            diags,
            "client_certificate_password",
            "Password without a certificate",
            format!(
                "{} is set but neither {} nor {} for {}.",
                src.name("client_certificate_password"),
                src.name("client_certificate"),
                src.name("client_certificate_path"),
                src.describe()
            ),
        );
    }
    if use_oidc {
        let ado = src
            .ambient("ado_pipeline_service_connection_id", true)
            .is_some();
        let attr = ["oidc_token", "oidc_token_file_path"]
            .into_iter()
            .find(|a| set(a))
            .unwrap_or("use_oidc");
        let requestable =
            src.ambient("oidc_request_url", ado).is_some() || unknown("oidc_request_url");
        let has_token =
            src.ambient("oidc_request_token", ado).is_some() || unknown("oidc_request_token");
        if attr == "use_oidc" && !(unknown("oidc_token") || unknown("oidc_token_file_path")) {
            if !requestable {
                src.error(
                    diags,
                    "use_oidc",
                    "No OIDC token",
                    format!(
                        "use_oidc is true for {} but no token is given: set {}, {}, or a token request ({} with {}; GitHub Actions and Azure DevOps provide ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN and SYSTEM_OIDCREQUESTURI/SYSTEM_ACCESSTOKEN).",
                        src.describe(),
                        src.name("oidc_token"),
                        src.name("oidc_token_file_path"),
                        src.name("oidc_request_url"),
                        src.name("oidc_request_token")
                    ),
                );
            } else if !has_token {
                src.error(
                    diags,
                    "oidc_request_url",
                    "No token for the OIDC request",
                    format!(
                        "An OIDC token request URL is known for {} but no bearer token for it: set {} (GitHub Actions: ACTIONS_ID_TOKEN_REQUEST_TOKEN; Azure DevOps: SYSTEM_ACCESSTOKEN).",
                        src.describe(),
                        src.name("oidc_request_token")
                    ),
                );
            }
            if let Some(url) = src.ambient("oidc_request_url", ado)
                && let Err(msg) = check_request_url(&url)
            {
                src.error(diags, "oidc_request_url", "Endpoint refused", msg);
            }
        }
        methods.push(("use_oidc", Choice::Oidc { attr, ado }));
    } else {
        for a in OIDC_ATTRS {
            if set(a) {
                src.error(
                    diags,
                    a,
                    "OIDC setting without use_oidc",
                    format!(
                        "{} is set for {} but {} is not true.",
                        src.name(a),
                        src.describe(),
                        src.name("use_oidc")
                    ),
                );
            }
        }
    }
    if use_msi {
        if let Some(endpoint) = src.ambient("msi_endpoint", false)
            && let Err(msg) = check_msi_endpoint(&endpoint)
        {
            src.error(diags, "msi_endpoint", "Endpoint refused", msg);
        }
        methods.push(("use_msi", Choice::ManagedIdentity));
    } else if set("msi_endpoint") {
        src.error(
            diags,
            "msi_endpoint",
            "Managed identity endpoint without use_msi",
            format!(
                "{} is set for {} but {} is not true.",
                src.name("msi_endpoint"),
                src.describe(),
                src.name("use_msi")
            ),
        );
    }
    for (attr, _) in methods.iter().skip(1) {
        conflict(diags, methods[0].0, attr);
    }
    let any_unknown = [
        "client_secret",
        "client_secret_file_path",
        "client_certificate",
        "client_certificate_path",
        "use_oidc",
        "use_msi",
    ]
    .into_iter()
    .any(unknown);
    if methods.is_empty() && !any_unknown {
        src.error(
            diags,
            "tenant_id",
            "No credentials",
            format!(
                "{} has no credential: set one of {}, {}, {}, {}, {} = true or {} = true.",
                src.describe(),
                src.name("client_secret"),
                src.name("client_secret_file_path"),
                src.name("client_certificate"),
                src.name("client_certificate_path"),
                src.name("use_oidc"),
                src.name("use_msi")
            ),
        );
    }
    let client_id_given = set("client_id")
        || set("client_id_file_path")
        || unknown("client_id")
        || unknown("client_id_file_path");
    if !client_id_given && !use_msi {
        src.error(
            diags,
            "tenant_id",
            "No client id",
            format!(
                "{} needs {} (or {}): the application (client) id of its app registration.",
                src.describe(),
                src.name("client_id"),
                src.name("client_id_file_path")
            ),
        );
    }
    if let Some(id) = src.setting("client_id").text()
        && src.block().is_none()
        && !is_guid(id)
    {
        diags.error(
            "Invalid credentials in the environment",
            "ARM_CLIENT_ID must be a GUID.",
        );
    }
    if src.block().is_none() && !src.setting("tenant_id").text().is_some_and(is_guid) {
        diags.error(
            "Invalid credentials in the environment",
            "ARM_TENANT_ID must be a GUID.",
        );
    }
    if error_count(diags) > before || methods.len() != 1 {
        return None;
    }
    methods.pop().map(|(_, c)| c)
}

/// Like [`check_endpoint`], and also plain http to the link-local IMDS address, where Azure's
/// managed identity endpoint is.
pub fn check_msi_endpoint(raw: &str) -> Result<url::Url, String> {
    if let Ok(u) = url::Url::parse(raw)
        && u.scheme() == "http"
        && u.host_str() == Some("169.254.169.254")
    {
        return Ok(u);
    }
    check_endpoint(raw)
}

fn read_file(src: &dyn Source, attr: &str, what: &str, diags: &mut Diagnostics) -> Option<Vec<u8>> {
    let path = src.setting(attr).text()?.to_owned();
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            src.error(
                diags,
                attr,
                &format!("Cannot read the {what}"),
                format!("{} = {path:?}: {e}.", src.name(attr)),
            );
            None
        }
    }
}

fn read_text(src: &dyn Source, attr: &str, what: &str, diags: &mut Diagnostics) -> Option<String> {
    let bytes = read_file(src, attr, what, diags)?;
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    if text.is_empty() {
        src.error(
            diags,
            attr,
            &format!("Empty {what}"),
            format!("The file named by {} is empty.", src.name(attr)),
        );
        return None;
    }
    Some(text)
}

/// Reads what the chosen credential needs (files, certificates) into [`TenantCredentials`].
fn load(src: &dyn Source, choice: Choice, diags: &mut Diagnostics) -> Option<TenantCredentials> {
    let tenant_id = src.setting("tenant_id").text()?.to_owned();
    let (client_id, client_id_attribute) = if src.setting("client_id_file_path").is_set() {
        let id = read_text(src, "client_id_file_path", "client id file", diags)?;
        if !is_guid(&id) {
            src.error(
                diags,
                "client_id_file_path",
                "Invalid client id",
                format!(
                    "The file named by {} does not hold a GUID.",
                    src.name("client_id_file_path")
                ),
            );
            return None;
        }
        (Some(id), "client_id_file_path")
    } else {
        (
            src.setting("client_id").text().map(str::to_owned),
            "client_id",
        )
    };
    let (credential, credential_attribute) = match choice {
        Choice::Secret { attr } => {
            let value = if attr == "client_secret" {
                src.setting(attr).text()?.to_owned()
            } else {
                read_text(src, attr, "client secret file", diags)?
            };
            (Credential::Secret(Secret::new(value)), attr)
        }
        Choice::Certificate { attr } => {
            let password = src
                .setting("client_certificate_password")
                .text()
                .map(str::to_owned);
            let loaded = if attr == "client_certificate" {
                ClientCertificate::load_inline(src.setting(attr).text()?, password.as_deref())
            } else {
                let bytes = read_file(src, attr, "client certificate", diags)?;
                ClientCertificate::load(&bytes, password.as_deref())
            };
            match loaded {
                Ok(c) => (Credential::Certificate(std::sync::Arc::new(c)), attr),
                Err(why) => {
                    src.error(
                        diags,
                        attr,
                        "Unusable client certificate",
                        format!("{} {why}.", src.name(attr)),
                    );
                    return None;
                }
            }
        }
        Choice::Oidc { attr, ado } => {
            let source = match attr {
                "oidc_token" => OidcSource::Token(Secret::new(src.setting(attr).text()?)),
                "oidc_token_file_path" => {
                    let path = std::path::PathBuf::from(src.setting(attr).text()?);
                    // Read once now, so a wrong path fails here; it is read again for every
                    // token request.
                    read_text(src, attr, "OIDC token file", diags)?;
                    OidcSource::File(path)
                }
                _ => {
                    let url = check_request_url(&src.ambient("oidc_request_url", ado)?).ok()?;
                    let token = Secret::new(src.ambient("oidc_request_token", ado)?);
                    match src.ambient("ado_pipeline_service_connection_id", true) {
                        Some(service_connection_id) => OidcSource::AzureDevOps {
                            url,
                            token,
                            service_connection_id,
                        },
                        None => OidcSource::GitHub { url, token },
                    }
                }
            };
            let attr = if attr == "use_oidc" && src.setting("oidc_request_url").is_set() {
                "oidc_request_url"
            } else {
                attr
            };
            (Credential::Oidc(source), attr)
        }
        Choice::ManagedIdentity => {
            let raw = src
                .ambient("msi_endpoint", false)
                .unwrap_or_else(|| DEFAULT_MSI_ENDPOINT.to_owned());
            let endpoint = check_msi_endpoint(&raw).ok()?;
            let attr = if src.setting("msi_endpoint").is_set() {
                "msi_endpoint"
            } else {
                "use_msi"
            };
            (Credential::ManagedIdentity { endpoint }, attr)
        }
    };
    let name = |a: &str| -> &'static str {
        match src.block() {
            Some(_) => ENV.iter().find(|(x, _)| *x == a).map_or("", |(x, _)| x),
            None => ENV.iter().find(|(x, _)| *x == a).map_or("", |(_, v)| v),
        }
    };
    Some(TenantCredentials {
        tenant_id,
        client_id,
        credential,
        block: src.block(),
        credential_attribute: name(credential_attribute),
        client_id_attribute: name(client_id_attribute),
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
        let creds = TenantCredentials::secret("t", "c", "s3cret");
        assert!(!format!("{creds:?}").contains("s3cret"));
    }

    fn block(attrs: &[(&str, Value)]) -> Value {
        let mut v = Value::object([
            (
                "tenant_id",
                Value::from("22222222-2222-2222-2222-222222222222"),
            ),
            (
                "client_id",
                Value::from("11111111-1111-1111-1111-111111111111"),
            ),
        ]);
        for (k, x) in attrs {
            v.set(k, x.clone());
        }
        v
    }

    fn problems(t: Value) -> Vec<(String, String)> {
        let mut d = Diagnostics::new();
        choose(
            &BlockSource {
                block: &t,
                index: 1,
            },
            &mut d,
        );
        d.iter()
            .map(|x| {
                (
                    x.path.as_ref().map(|p| p.to_string()).unwrap_or_default(),
                    x.summary.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn each_tenant_needs_exactly_one_credential() {
        assert_eq!(
            problems(block(&[])),
            [(
                "tenant[1].tenant_id".to_owned(),
                "No credentials".to_owned()
            )]
        );
        assert_eq!(
            problems(block(&[
                ("client_secret", Value::from("s")),
                ("client_certificate_path", Value::from("/c.pfx")),
            ])),
            [(
                "tenant[1].client_certificate_path".to_owned(),
                "Conflicting credentials".to_owned()
            )]
        );
        assert_eq!(
            problems(block(&[
                ("client_secret", Value::from("s")),
                ("client_secret_file_path", Value::from("/s")),
            ]))[0],
            (
                "tenant[1].client_secret_file_path".to_owned(),
                "Conflicting credentials".to_owned()
            )
        );
        assert!(problems(block(&[("client_secret", Value::from("s"))])).is_empty());
        assert!(
            problems(block(&[(
                "client_secret",
                Value::Unknown(Default::default())
            )]))
            .is_empty()
        );
    }

    #[test]
    fn oidc_and_msi_settings_need_their_switch() {
        let p = problems(block(&[
            ("client_secret", Value::from("s")),
            ("oidc_token", Value::from("t")),
        ]));
        assert_eq!(p[0].0, "tenant[1].oidc_token");
        assert_eq!(p[0].1, "OIDC setting without use_oidc");
        let p = problems(block(&[
            ("client_secret", Value::from("s")),
            ("msi_endpoint", Value::from("http://127.0.0.1:1/x")),
        ]));
        assert_eq!(p[0].0, "tenant[1].msi_endpoint");
        let p = problems(block(&[
            ("client_secret", Value::from("s")),
            ("client_certificate_password", Value::from("p")),
        ]));
        assert_eq!(p[0].0, "tenant[1].client_certificate_password");
        assert!(
            problems(block(&[
                ("use_oidc", Value::Bool(true)),
                ("oidc_token_file_path", Value::from("/t")),
            ]))
            .is_empty()
        );
        let p = problems(block(&[
            ("use_oidc", Value::Bool(true)),
            ("use_msi", Value::Bool(true)),
            ("oidc_token", Value::from("t")),
        ]));
        assert_eq!(
            p[0],
            (
                "tenant[1].use_msi".to_owned(),
                "Conflicting credentials".to_owned()
            )
        );
    }

    #[test]
    fn a_client_id_is_required_except_for_a_system_assigned_identity() {
        let mut t = block(&[("client_secret", Value::from("s"))]);
        t.set("client_id", Value::Null);
        assert_eq!(
            problems(t)[0],
            ("tenant[1].tenant_id".to_owned(), "No client id".to_owned())
        );
        let mut t = block(&[("use_msi", Value::Bool(true))]);
        t.set("client_id", Value::Null);
        assert!(problems(t).is_empty());
    }

    #[test]
    fn msi_endpoints_may_be_plain_http_to_imds_only() {
        assert!(check_msi_endpoint(DEFAULT_MSI_ENDPOINT).is_ok());
        assert!(check_msi_endpoint("http://127.0.0.1:5/metadata/identity/oauth2/token").is_ok());
        assert!(check_msi_endpoint("http://10.0.0.1/metadata/identity/oauth2/token").is_err());
    }
}
