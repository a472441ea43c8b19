//! The synchronization API of a CTS configuration's service principal (reference §6.2–§6.9).
//!
//! ```text
//! GET         /servicePrincipals/{id}/synchronization/templates
//! GET|POST    /servicePrincipals/{id}/synchronization/jobs                       (201)
//! POST        /servicePrincipals/{id}/synchronization/jobs/validateCredentials   (204 | 400)
//! GET|DELETE  /servicePrincipals/{id}/synchronization/jobs/{jobId}
//! POST        .../jobs/{jobId}/start | pause | restart | validateCredentials    (204)
//! POST        .../jobs/{jobId}/provisionOnDemand                                 (200; 5 per 10 s)
//! GET|PUT     .../jobs/{jobId}/schema                                            (PUT 204)
//! GET|PUT     /servicePrincipals/{id}/synchronization/secrets                    (PUT 204)
//! ```
//!
//! Job state lives in `sync_jobs` ([`crate::store::sync`]); the engine ([`crate::sync`]) runs the
//! cycles. Handlers only change documents and due times, then wake the engine's worker.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::apps::load_sp;
use super::{Ctx, check_properties, expect_object, json_response, no_content, with_context};
use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, GraphJson, GraphPath};
use crate::store::Conn;
use crate::store::docs::Doc;
use crate::store::sync::{self as ss, JobRow};
use crate::sync::engine::{JobKey, OnDemandResult, Outcome};
use crate::sync::{policy, schema, status};
use crate::util::{new_guid, now_ms, parse_guid, rfc3339};

/// Secret keys whose values `GET .../secrets` shows in clear; every other value reads `*`.
/// UNCONFIRMED which keys Graph masks; these carry no credential.
pub const NON_SECRET_KEYS: &[&str] = &[
    "AuthenticationType",
    "BaseAddress",
    "CompanyId",
    "Domain",
    "SkipOutOfScopeDeletions",
    "SyncAll",
    "SyncNotificationSettings",
    "SynchronizationSchedule",
];

/// The `synchronizationSecret` enumeration (keys `PUT .../secrets` accepts).
const SECRET_KEYS: &[&str] = &[
    "None",
    "UserName",
    "Password",
    "SecretToken",
    "AppKey",
    "BaseAddress",
    "ClientIdentifier",
    "ClientSecret",
    "SingleSignOnType",
    "Sandbox",
    "Url",
    "Domain",
    "ConsumerKey",
    "ConsumerSecret",
    "TokenKey",
    "TokenExpiration",
    "Oauth2AccessToken",
    "Oauth2AccessTokenCreationTime",
    "Oauth2RefreshToken",
    "SyncAll",
    "InstanceName",
    "Oauth2ClientId",
    "Oauth2ClientSecret",
    "CompanyId",
    "UpdateKeyOnSoftDelete",
    "SynchronizationSchedule",
    "SystemOfRecord",
    "SandboxName",
    "EnforceDomain",
    "SyncNotificationSettings",
    "SkipOutOfScopeDeletions",
    "Oauth2AuthorizationCode",
    "Oauth2RedirectUri",
    "ApplicationTemplateIdentifier",
    "Oauth2TokenExchangeUri",
    "Oauth2AuthorizationUri",
    "AuthenticationType",
    "Server",
    "PerformInboundEntitlementGrants",
    "HardDeletesEnabled",
    "SyncAgentCompatibilityKey",
    "SyncAgentADContainer",
    "ValidateDomain",
    "TestReferences",
    // A Graph secret key name (not a database connection; no SQL runs outside `store/`).
    "ConnectionString",
];

fn job_not_found(job: &str) -> ApiError {
    ApiError::resource_not_found(job)
}

fn sp_path(sp: &str) -> String {
    format!("servicePrincipals('{sp}')/synchronization")
}

/// The job as returned: the stored document with the schedule interval the sandbox runs.
fn job_json(st: &AppState, mut body: Value) -> Map<String, Value> {
    status::set_interval(&mut body, st.config.sync_interval);
    match body {
        Value::Object(mut m) => {
            m.retain(|k, _| !k.starts_with('_'));
            m
        }
        _ => Map::new(),
    }
}

async fn load_job(st: &AppState, ctx: &Ctx, sp: &Doc, job: &str) -> Result<JobRow, ApiError> {
    let (t, s, j) = (ctx.tenant().to_string(), sp.key.clone(), job.to_string());
    st.store
        .read(move |c| ss::get_job(c, &t, &s, &j))
        .await?
        .ok_or_else(|| job_not_found(job))
}

/// `GET .../synchronization/templates` — the one `Azure2Azure` template with its schema.
pub async fn list_templates(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncRead)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let app_id = sp.body.get("appId").and_then(Value::as_str).unwrap_or("");
    let body = json!({
        "@odata.context": ctx.context(&format!("{}/templates", sp_path(&sp.key))),
        "value": [schema::template(app_id)],
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET .../synchronization/templates/{templateId}` — the one template; any other id is 404.
pub async fn get_template(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, template)): GraphPath<(String, String)>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncRead)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let body = known_template(&sp, &template)?;
    let Value::Object(m) = body else {
        return Err(ApiError::resource_not_found(&template));
    };
    let out = with_context(
        ctx.context(&format!("{}/templates/$entity", sp_path(&sp.key))),
        m,
    );
    Ok(json_response(StatusCode::OK, &out))
}

/// `GET .../synchronization/templates/{templateId}/schema` — the schema a new job of the
/// template starts with (Microsoft's default mappings).
pub async fn get_template_schema(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, template)): GraphPath<(String, String)>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncRead)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let mut body = known_template(&sp, &template)?;
    let Value::Object(m) = body["schema"].take() else {
        return Err(ApiError::resource_not_found(&template));
    };
    let out = with_context(
        ctx.context(&format!(
            "{}/templates('{template}')/schema/$entity",
            sp_path(&sp.key)
        )),
        m,
    );
    Ok(json_response(StatusCode::OK, &out))
}

/// The template `id` names (its id is case-insensitive, as Graph's keys are).
fn known_template(sp: &Doc, id: &str) -> Result<Value, ApiError> {
    if !id.eq_ignore_ascii_case(schema::TEMPLATE_ID) {
        return Err(ApiError::resource_not_found(id));
    }
    let app_id = sp.body.get("appId").and_then(Value::as_str).unwrap_or("");
    Ok(schema::template(app_id))
}

/// `GET .../synchronization/jobs`.
pub async fn list_jobs(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncRead)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let (t, s) = (ctx.tenant().to_string(), sp.key.clone());
    let jobs = st.store.read(move |c| ss::list_jobs(c, &t, &s)).await?;
    let value: Vec<Value> = jobs
        .into_iter()
        .map(|j| Value::Object(job_json(&st, j.body)))
        .collect();
    let body = json!({
        "@odata.context": ctx.context(&format!("{}/jobs", sp_path(&sp.key))),
        "value": value,
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST .../synchronization/jobs` `{templateId: "Azure2Azure"}` — 201, created paused.
pub async fn create_job(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncWrite)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let body = expect_object(body)?;
    check_properties(&body, &["templateId"], "synchronizationJob")?;
    let template = body.get("templateId").and_then(Value::as_str).unwrap_or("");
    if template != schema::TEMPLATE_ID {
        return Err(ApiError::bad_request(format!(
            "The synchronization template '{template}' does not exist for service principal '{}'. Known templates: {}.",
            sp.key,
            schema::TEMPLATE_ID
        )));
    }
    // UNCONFIRMED format: `<templateId>.<tenant id without dashes>.<guid>` (reference §6.3).
    let job_id = format!(
        "{}.{}.{}",
        schema::TEMPLATE_ID,
        ctx.tenant().replace('-', ""),
        new_guid()
    );
    let now = now_ms();
    let row = JobRow {
        tenant_id: ctx.tenant().to_string(),
        sp_id: sp.key.clone(),
        job_id: job_id.clone(),
        body: status::new_job(&job_id, schema::TEMPLATE_ID, st.config.sync_interval),
        schema: schema::default_schema(&job_id),
        due_ms: None,
    };
    let stored = row.clone();
    st.store
        .write(move |tx| ss::insert_job(tx, &stored, now))
        .await?;
    let out = with_context(
        ctx.context(&format!("{}/jobs/$entity", sp_path(&sp.key))),
        job_json(&st, row.body),
    );
    Ok(json_response(StatusCode::CREATED, &out))
}

/// `GET .../synchronization/jobs/{jobId}`.
pub async fn get_job(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, job)): GraphPath<(String, String)>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncRead)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let j = load_job(&st, &ctx, &sp, &job).await?;
    let out = with_context(
        ctx.context(&format!("{}/jobs/$entity", sp_path(&sp.key))),
        job_json(&st, j.body),
    );
    Ok(json_response(StatusCode::OK, &out))
}

/// `DELETE .../synchronization/jobs/{jobId}` — 204; the users it provisioned stay.
pub async fn delete_job(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, job)): GraphPath<(String, String)>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncWrite)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let (t, s, j) = (ctx.tenant().to_string(), sp.key.clone(), job.clone());
    let found = st
        .store
        .write(move |tx| ss::delete_job(tx, &t, &s, &j))
        .await?;
    if !found {
        return Err(job_not_found(&job));
    }
    Ok(no_content())
}

/// Change a job's document and due time in one transaction.
async fn modify_job(
    st: &AppState,
    ctx: &Ctx,
    sp: &Doc,
    job: &str,
    f: impl FnOnce(&Conn, &mut Value, Option<i64>) -> Result<Option<i64>, ApiError> + Send + 'static,
) -> Result<(), ApiError> {
    let (t, s, j) = (ctx.tenant().to_string(), sp.key.clone(), job.to_string());
    st.store
        .write_with(move |tx| -> Result<_, ApiError> {
            let row = ss::get_job(tx, &t, &s, &j)?.ok_or_else(|| job_not_found(&j))?;
            let mut body = row.body;
            let due = f(tx, &mut body, row.due_ms)?;
            ss::update_job(tx, &t, &s, &j, &body, due)?;
            Ok(())
        })
        .await?;
    st.sync.wake();
    Ok(())
}

/// `POST .../jobs/{jobId}/start` — 204: schedule `Active`, quarantine lifted, first cycle due now.
pub async fn start_job(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, job)): GraphPath<(String, String)>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncWrite)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    modify_job(&st, &ctx, &sp, &job, |_, body, _| {
        Ok(Some(status::start(body, now_ms())))
    })
    .await?;
    Ok(no_content())
}

/// `POST .../jobs/{jobId}/pause` — 204: schedule and status `Paused`.
pub async fn pause_job(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, job)): GraphPath<(String, String)>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncWrite)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    modify_job(&st, &ctx, &sp, &job, |_, body, _| {
        status::pause(body);
        Ok(None)
    })
    .await?;
    Ok(no_content())
}

const RESET_SCOPES: &[&str] = &[
    "None",
    "ConnectorDataStore",
    "Escrows",
    "Watermark",
    "QuarantineState",
    "Full",
    "ForceDeletes",
];

/// `POST .../jobs/{jobId}/restart` `{criteria: {resetScope}}` — 204. `Full` forgets the job's
/// entries (users are re-matched through their B2B links); `Watermark` re-evaluates every user;
/// `Escrows` forgets failures; an empty scope means `Watermark, Escrows, QuarantineState`. The job
/// is started as by `start`.
pub async fn restart_job(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, job)): GraphPath<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncWrite)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        crate::error::parse_json_body(&body)?
    };
    let body = expect_object(body)?;
    check_properties(&body, &["criteria"], "synchronizationJob")?;
    let raw = match body.get("criteria") {
        None | Some(Value::Null) => String::new(),
        Some(Value::Object(c)) => match c.get("resetScope") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "criteria.resetScope must be a string.",
                ));
            }
        },
        Some(_) => return Err(ApiError::bad_request("criteria must be an object.")),
    };
    let mut scopes: Vec<String> = Vec::new();
    for p in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let canon = RESET_SCOPES
            .iter()
            .find(|s| s.eq_ignore_ascii_case(p))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Invalid resetScope '{p}'. Valid values: {}.",
                    RESET_SCOPES.join(", ")
                ))
            })?;
        scopes.push(canon.to_string());
    }
    if scopes.is_empty() {
        scopes = vec![
            "Watermark".into(),
            "Escrows".into(),
            "QuarantineState".into(),
        ];
    }
    let (t, j) = (ctx.tenant().to_string(), job.clone());
    modify_job(&st, &ctx, &sp, &job, move |tx, body, _| {
        let has = |s: &str| scopes.iter().any(|x| x == s);
        if has("Full") {
            ss::clear_entries(tx, &t, &j)?;
        }
        if has("Watermark") {
            ss::reset_watermark(tx, &t, &j)?;
        }
        if has("Escrows") {
            ss::clear_escrows(tx, &t, &j)?;
        }
        body["status"]["countSuccessiveCompleteFailures"] = json!(0);
        // Reference §6.7: switching from "sync all" back to assigned users and groups takes
        // effect with a restart.
        if let Value::Object(m) = body {
            m.remove(crate::sync::engine::SYNC_ALL_IN_EFFECT);
            // Every restart starts with a full cycle.
            m.remove(crate::sync::engine::WATERMARK);
        }
        Ok(Some(status::start(body, now_ms())))
    })
    .await?;
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// validateCredentials

fn credential_pairs(v: Option<&Value>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    if v.is_null() {
        return Ok(Vec::new());
    }
    let arr = v
        .as_array()
        .ok_or_else(|| ApiError::bad_request("credentials must be an array of {key, value}."))?;
    arr.iter()
        .map(|p| {
            let k = p.get("key").and_then(Value::as_str);
            let val = p.get("value");
            match (k, val) {
                (Some(k), Some(Value::String(s))) => Ok((k.to_string(), s.clone())),
                (Some(k), Some(Value::Null) | None) => Ok((k.to_string(), String::new())),
                _ => Err(ApiError::bad_request(
                    "Each credential must be an object {\"key\": string, \"value\": string}.",
                )),
            }
        })
        .collect()
}

/// The policy check of `validateCredentials`: 204, or 400 naming what is missing.
async fn validate_credentials(
    st: &AppState,
    ctx: &Ctx,
    sp: &Doc,
    body: Value,
    job_level: bool,
) -> Result<Response, ApiError> {
    let body = expect_object(body)?;
    let allowed: &[&str] = if job_level {
        &["useSavedCredentials", "credentials"]
    } else {
        &["useSavedCredentials", "templateId", "credentials"]
    };
    check_properties(&body, allowed, "synchronizationJob")?;
    if let Some(t) = body.get("templateId")
        && !t.is_null()
        && t.as_str() != Some(schema::TEMPLATE_ID)
    {
        return Err(ApiError::bad_request(format!(
            "The synchronization template '{}' does not exist for this service principal.",
            t.as_str().unwrap_or_default()
        )));
    }
    let saved = match body.get("useSavedCredentials") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::bad_request(
                "useSavedCredentials must be a boolean.",
            ));
        }
    };
    let given = credential_pairs(body.get("credentials"))?;
    let given = (!saved).then_some(given);
    let (t, s) = (ctx.tenant().to_string(), sp.key.clone());
    st.store
        .read_with(move |c| policy::validate_credentials(c, &t, &s, given))
        .await?;
    Ok(no_content())
}

/// `POST .../jobs/validateCredentials` — 204, or 400 `AzureDirectoryB2BManagementPolicyCheckFailure`.
pub async fn validate_credentials_collection(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncWrite)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    validate_credentials(&st, &ctx, &sp, body, false).await
}

/// `POST .../jobs/{jobId}/validateCredentials` — as the collection form, for an existing job.
pub async fn validate_credentials_job(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, job)): GraphPath<(String, String)>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncWrite)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    load_job(&st, &ctx, &sp, &job).await?;
    validate_credentials(&st, &ctx, &sp, body, true).await
}

// ---------------------------------------------------------------------------------------------
// Schema

/// `GET .../jobs/{jobId}/schema`.
pub async fn get_schema(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, job)): GraphPath<(String, String)>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncRead)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let j = load_job(&st, &ctx, &sp, &job).await?;
    let m = match j.schema {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let out = with_context(
        ctx.context(&format!(
            "{}/jobs('{}')/schema/$entity",
            sp_path(&sp.key),
            j.job_id
        )),
        m,
    );
    Ok(json_response(StatusCode::OK, &out))
}

/// `PUT .../jobs/{jobId}/schema` — 204; validated (see [`schema::validate`]).
pub async fn put_schema(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, job)): GraphPath<(String, String)>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncWrite)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let j = load_job(&st, &ctx, &sp, &job).await?;
    let mut body = body;
    if let Value::Object(m) = &mut body {
        m.retain(|k, _| !k.starts_with("@odata."));
    }
    let validated = schema::validate(&j.job_id, body)?;
    let (t, s) = (ctx.tenant().to_string(), sp.key.clone());
    let found = st
        .store
        .write(move |tx| ss::update_schema(tx, &t, &s, &j.job_id, &validated))
        .await?;
    if !found {
        return Err(job_not_found(&job));
    }
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Secrets

/// `PUT .../synchronization/secrets` `{"value": [{key, value}]}` — 204. Keys are merged into the
/// saved ones; a key set to `""` (or null) is removed.
pub async fn put_secrets(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncWrite)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let body = expect_object(body)?;
    check_properties(&body, &["value"], "synchronizationSecretKeyStringValuePair")?;
    let pairs = credential_pairs(body.get("value"))?;
    let mut canon = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        let key = SECRET_KEYS
            .iter()
            .find(|s| s.eq_ignore_ascii_case(&k))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Requested value '{k}' was not found in the synchronizationSecret enumeration."
                ))
            })?;
        canon.push((key.to_string(), v));
    }
    let (t, s) = (ctx.tenant().to_string(), sp.key.clone());
    st.store
        .write(move |tx| {
            for (k, v) in &canon {
                ss::put_secret(tx, &t, &s, k, v)?;
            }
            Ok(())
        })
        .await?;
    Ok(no_content())
}

/// `GET .../synchronization/secrets` — `{"value": [...]}`, credential values masked as `*`.
pub async fn get_secrets(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncRead)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let (t, s) = (ctx.tenant().to_string(), sp.key.clone());
    let pairs = st.store.read(move |c| ss::secrets(c, &t, &s)).await?;
    let value: Vec<Value> = pairs
        .into_iter()
        .map(|(k, v)| {
            let shown = if NON_SECRET_KEYS.contains(&k.as_str()) {
                v
            } else {
                "*".to_string()
            };
            json!({"key": k, "value": shown})
        })
        .collect();
    let body = json!({
        "@odata.context": ctx.context(&format!("{}/secrets", sp_path(&sp.key))),
        "value": value,
    });
    Ok(json_response(StatusCode::OK, &body))
}

// ---------------------------------------------------------------------------------------------
// provisionOnDemand

/// `POST .../jobs/{jobId}/provisionOnDemand` — 200 `stringKeyStringValuePair` whose `value` is the
/// JSON text of the provisioning steps of every subject, in order. Runs now, whatever the
/// schedule; 5 requests per 10 s per job, then 429 with `Retry-After`.
pub async fn provision_on_demand(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, job)): GraphPath<(String, String)>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::SyncWrite)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let j = load_job(&st, &ctx, &sp, &job).await?;
    let key = JobKey::new(ctx.tenant(), &sp.key, &j.job_id);
    st.sync
        .admit_on_demand(&key)
        .map_err(|retry_after| ApiError::Throttled { retry_after })?;
    let body = expect_object(body)?;
    check_properties(&body, &["parameters"], "synchronizationJob")?;
    let params = body
        .get("parameters")
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad_request("parameters must be a non-empty array."))?;
    let rule_id = schema::compile(&j.schema).rule_id;
    let mut subjects = Vec::new();
    for p in params {
        let r = p.get("ruleId").and_then(Value::as_str).unwrap_or("");
        if !r.eq_ignore_ascii_case(&rule_id) {
            return Err(ApiError::bad_request(format!(
                "The ruleId '{r}' does not exist in the job's schema (expected '{rule_id}')."
            )));
        }
        for s in p
            .get("subjects")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::bad_request("parameters[].subjects must be an array."))?
        {
            let ty = s
                .get("objectTypeName")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !ty.eq_ignore_ascii_case("User") {
                return Err(ApiError::bad_request(format!(
                    "objectTypeName '{ty}' is not supported; cross-tenant synchronization provisions users on demand."
                )));
            }
            let oid = s
                .get("objectId")
                .and_then(Value::as_str)
                .and_then(parse_guid)
                .ok_or_else(|| ApiError::bad_request("subjects[].objectId must be a GUID."))?;
            subjects.push(oid);
        }
    }
    if subjects.is_empty() {
        return Err(ApiError::bad_request("No subjects to provision."));
    }
    let results = crate::sync::provision_on_demand(&st, key, subjects).await?;
    let now = rfc3339(now_ms());
    let reports: Vec<(&'static str, Value, Value)> =
        results.iter().map(|r| report(r, &now)).collect();
    // `key` sums up the run as the documented example does; `value` is the subject's report (an
    // array of reports for several subjects: UNCONFIRMED, the documented examples have one).
    let result = if reports.iter().any(|r| r.0 == "Failure") {
        "Failure"
    } else if reports.iter().all(|r| r.0 == "Success") {
        "Success"
    } else {
        "Skipped"
    };
    let details = reports
        .iter()
        .find(|r| r.0 == result)
        .map(|r| r.1.clone())
        .unwrap_or_else(|| json!({}));
    let key = json!({"result": result, "details": details}).to_string();
    let mut values: Vec<Value> = reports.into_iter().map(|r| r.2).collect();
    let value = if values.len() == 1 {
        values.remove(0)
    } else {
        Value::Array(values)
    };
    let out = json!({
        "@odata.context": ctx.context("microsoft.graph.stringKeyStringValuePair"),
        "key": key,
        "value": value.to_string(),
    });
    Ok(json_response(StatusCode::OK, &out))
}

/// One subject's on-demand report, as the documented example shows it: its overall status
/// (`Success`, `Skipped` or `Failure`), the `details` of the answer's `key`
/// (`errorCode`/`errorMessage` unless it succeeded) and the report itself (`action`,
/// `provisioningSteps`, `statusInfo`, source and target identities and systems, …).
fn report(r: &OnDemandResult, ts: &str) -> (&'static str, Value, Value) {
    let steps = steps(r, ts);
    let last = steps.last().cloned().unwrap_or(Value::Null);
    let failed = steps.iter().find(|s| s["status"] == "Failure");
    let status = if failed.is_some() {
        "Failure"
    } else if steps.iter().any(|s| s["status"] == "Skipped") {
        "Skipped"
    } else {
        "Success"
    };
    let (error_code, error_message) = match (failed, &last["details"]) {
        (Some(f), _) => (
            f["details"]["ErrorCode"].as_str().map(str::to_string),
            f["description"].as_str().map(str::to_string),
        ),
        (None, d) if status == "Skipped" => (
            d["SkipReason"].as_str().map(str::to_string),
            last["description"].as_str().map(str::to_string),
        ),
        _ => (None, None),
    };
    let action = match r.outcome.as_ref().ok() {
        Some(Outcome::Created { .. }) if status == "Success" => "Create",
        Some(Outcome::Updated { .. } | Outcome::Restored { .. }) => "Update",
        Some(Outcome::Deleted { .. }) => "Delete",
        _ => "Other",
    };
    let target_id = match r.outcome.as_ref().ok() {
        Some(
            Outcome::Created { target_id }
            | Outcome::Updated { target_id, .. }
            | Outcome::Restored { target_id }
            | Outcome::Unchanged { target_id }
            | Outcome::Deleted { target_id },
        ) => Some(target_id.clone()),
        _ => r.matched.clone(),
    };
    let modified: Vec<Value> = r
        .values
        .iter()
        .map(|(k, v)| json!({"displayName": k, "oldValue": null, "newValue": as_text(v)}))
        .collect();
    let details = if status == "Success" {
        json!({})
    } else {
        json!({"errorCode": error_code, "errorMessage": error_message})
    };
    let value = json!({
        "action": action,
        "changeId": new_guid(),
        "startTime": ts,
        "endTime": ts,
        "modifiedProperties": modified,
        "provisioningSteps": steps,
        "reportableIdentifier": r.upn.clone().unwrap_or_else(|| r.object_id.clone()),
        "statusInfo": {
            "status": status,
            "errorCode": error_code,
            "reason": error_message,
            "additionalDetails": null,
            "errorCategory": if status == "Failure" { json!("NonServiceFailure") } else { Value::Null },
            "recommendedAction": null,
        },
        "sourceIdentity": {"id": r.object_id, "type": "User", "displayName": r.display_name, "details": null},
        "sourceSystem": {"id": null, "name": "Azure Active Directory", "details": null},
        "targetIdentity": {"id": target_id, "type": "User", "displayName": null, "details": null},
        "targetSystem": {"id": null, "name": "Azure Active Directory (target tenant)", "details": null},
    });
    (status, details, value)
}

fn yes(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn as_text(v: &Value) -> Value {
    match v {
        Value::String(s) => json!(s),
        Value::Bool(b) => json!(yes(*b)),
        Value::Null => Value::Null,
        other => json!(other.to_string()),
    }
}

fn step(
    name: &str,
    ty: &str,
    status: &str,
    description: String,
    ts: &str,
    details: Value,
) -> Value {
    json!({
        "name": name,
        "type": ty,
        "status": status,
        "description": description,
        "timestamp": ts,
        "details": details,
    })
}

/// The provisioning steps of one subject (names as Graph's examples, reference §6.9).
fn steps(r: &OnDemandResult, ts: &str) -> Vec<Value> {
    let who = r.upn.clone().unwrap_or_else(|| r.object_id.clone());
    let mut out = Vec::new();
    if !r.found {
        out.push(step(
            "EntryImport",
            "Import",
            "Failure",
            format!(
                "User '{}' was not found in Azure Active Directory.",
                r.object_id
            ),
            ts,
            json!({"objectId": r.object_id}),
        ));
        return out;
    }
    out.push(step(
        "EntryImport",
        "Import",
        "Success",
        format!("Retrieved User '{who}' from Azure Active Directory"),
        ts,
        json!({"objectId": r.object_id, "userPrincipalName": r.upn, "displayName": r.display_name}),
    ));
    let in_scope = r.assigned && r.internal && r.filter_passed;
    out.push(step(
        "EntrySynchronizationScoping",
        "Scoping",
        if in_scope { "Success" } else { "Skipped" },
        "Determine if User in scope by evaluating against each scoping filter".into(),
        ts,
        json!({
            "Active in the source system": "True",
            "Assigned to the application": yes(r.assigned),
            "User is an internal member of the source tenant": yes(r.internal),
            "Scoping filter evaluation passed": yes(r.filter_passed),
            "ScopeEvaluationResult": "{}",
        }),
    ));
    let target_name = "Azure Active Directory (target tenant)";
    match &r.outcome {
        Err((code, message)) => {
            out.push(step(
                "EntryExportAdd",
                "Export",
                "Failure",
                message.clone(),
                ts,
                json!({"ErrorCode": code, "ErrorMessage": message, "TargetTenantId": r.target}),
            ));
            return out;
        }
        Ok(Outcome::Skipped { reason, message })
            if *reason == "NotEffectivelyEntitled" && r.matched.is_none() =>
        {
            out.push(step(
                "EntrySynchronizationSkip",
                "Export",
                "Skipped",
                format!("User '{who}' was skipped: {message}"),
                ts,
                json!({"SkipReason": reason}),
            ));
            return out;
        }
        Ok(_) => {}
    }
    out.push(step(
        "EntryImport",
        "Matching",
        "Success",
        match &r.matched {
            Some(t) => format!("Retrieved user '{t}' from {target_name} by alternativeSecurityIds"),
            None => format!("No user matching '{who}' by alternativeSecurityIds in {target_name}"),
        },
        ts,
        json!({"matchingAttribute": "alternativeSecurityIds", "targetObjectId": r.matched}),
    ));
    let details = |values: &[(String, Value)]| {
        Value::Object(
            values
                .iter()
                .map(|(k, v)| (k.clone(), as_text(v)))
                .collect(),
        )
    };
    let last = match r.outcome.as_ref().ok() {
        Some(Outcome::Created { target_id }) => {
            let mut d = details(&r.values);
            d["objectId"] = json!(target_id);
            step(
                "EntryExportAdd",
                "Export",
                "Success",
                format!("User '{who}' was created in {target_name}"),
                ts,
                d,
            )
        }
        Some(Outcome::Updated { target_id, changed }) => {
            let mut d = details(changed);
            d["objectId"] = json!(target_id);
            step(
                "EntryExportUpdate",
                "Export",
                "Success",
                format!("User '{who}' was updated in {target_name}"),
                ts,
                d,
            )
        }
        Some(Outcome::Restored { target_id }) => step(
            "EntryExportUpdate",
            "Export",
            "Success",
            format!("User '{who}' was restored in {target_name}"),
            ts,
            json!({"objectId": target_id, "IsSoftDeleted": "False"}),
        ),
        Some(Outcome::Deleted { target_id }) => step(
            "EntryExportDelete",
            "Export",
            "Success",
            format!("User '{who}' was soft-deleted in {target_name} because it is out of scope"),
            ts,
            json!({"objectId": target_id, "IsSoftDeleted": "True"}),
        ),
        Some(Outcome::Unchanged { .. }) => step(
            "EntrySynchronizationSkip",
            "Export",
            "Skipped",
            format!(
                "The state of the user in both the source and target systems already match. No change to the User '{who}' currently needs to be made."
            ),
            ts,
            json!({"SkipReason": "RedundantExport"}),
        ),
        Some(Outcome::Skipped { reason, message }) => step(
            "EntrySynchronizationSkip",
            "Export",
            "Skipped",
            if message.is_empty() {
                format!("User '{who}' was skipped.")
            } else {
                message.clone()
            },
            ts,
            json!({"SkipReason": reason}),
        ),
        Some(Outcome::Escrowed { code, message }) => step(
            if r.matched.is_some() {
                "EntryExportUpdate"
            } else {
                "EntryExportAdd"
            },
            "Export",
            "Failure",
            message.clone(),
            ts,
            json!({"ErrorCode": code, "ErrorMessage": message}),
        ),
        None => return out,
    };
    out.push(last);
    out
}
