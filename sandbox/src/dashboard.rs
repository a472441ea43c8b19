//! The read-only dashboard: a picture of the whole sandbox for people.
//!
//! `GET /` serves one page (HTML, CSS and a small script compiled into the
//! binary; nothing is fetched from elsewhere) that polls
//! `GET /_sandbox/dashboard` — the snapshot built here — every two seconds
//! and redraws: the organizations and their tenants with role and state;
//! a tenants × tenants grid of shares (configuration and outbound
//! redemption in the source, acceptance in the target, the job's state,
//! last cycle and counts); who People Search finds where (every internal
//! user × every tenant: internal, B2B member, B2B guest or missing); and the
//! recent requests with their status and injected faults.
//!
//! Like every `/_sandbox` route it answers loopback clients only. It shows
//! no secret, token or hash: of a configuration's synchronization secrets
//! it reads the target tenant (`CompanyId`) alone.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::AppState;
use crate::store::docs::{self, kind};
use crate::store::filter::SqlFilter;
use crate::store::{Conn, StoreError, mto, sync, tenants};

/// The page at `/`.
pub const PAGE: &str = include_str!("dashboard.html");

/// How many recent requests the snapshot lists.
pub const RECENT_REQUESTS: usize = 60;

/// Most objects of one kind a tenant's snapshot reads (a dashboard, not an
/// export: larger directories show their first ones).
const PER_KIND: usize = 2_000;

/// The dashboard's data: organizations, shares, People Search, requests.
pub async fn snapshot(st: &AppState) -> Result<Value, StoreError> {
    let mut out = st.store.read(directory_snapshot).await?;
    out["requests"] = json!(st.stats.recent(RECENT_REQUESTS));
    out["faults"] = json!(st.faults.spec());
    Ok(out)
}

fn list(conn: &Conn, tenant: &str, kind: &str) -> Result<Vec<Map<String, Value>>, StoreError> {
    let docs = docs::list(
        conn,
        tenant,
        kind,
        &SqlFilter::default(),
        None,
        PER_KIND,
        i64::MAX,
    )?;
    Ok(docs.into_iter().map(|d| d.body).collect())
}

fn flag(v: &Value) -> bool {
    v.as_bool() == Some(true)
}

fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn directory_snapshot(conn: &Conn) -> Result<Value, StoreError> {
    let all = tenants::list_tenants(conn)?;
    let mut tenant_rows = Vec::new();
    let mut users_by_tenant = BTreeMap::new();
    let mut partners = BTreeMap::new();
    let mut identity = BTreeMap::new();
    for t in &all {
        let membership = mto::org_of_tenant(conn, &t.id)?;
        let join = mto::get_join_request(conn, &t.id)?;
        tenant_rows.push(json!({
            "id": t.id,
            "name": t.display_name,
            "domain": t.initial_domain,
            "organization": membership.as_ref().map(|(org, _)| org.display_name.clone()),
            "role": membership.as_ref().map(|(_, m)| m.role.clone()),
            "state": membership.as_ref().map(|(_, m)| m.state.clone()),
            "joinState": join.and_then(|j| j.member_state),
        }));
        users_by_tenant.insert(t.id.clone(), list(conn, &t.id, kind::USER)?);
        for p in list(conn, &t.id, kind::PARTNER)? {
            partners.insert(
                (t.id.clone(), str_of(&p, "tenantId").to_ascii_lowercase()),
                p,
            );
        }
        for s in list(conn, &t.id, kind::IDENTITY_SYNC)? {
            identity.insert(
                (t.id.clone(), str_of(&s, "tenantId").to_ascii_lowercase()),
                s,
            );
        }
    }

    // Configurations by (source, target), from the target each one's
    // secrets name, with the job on them.
    let mut configurations: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    let jobs = sync::all_jobs(conn)?;
    for t in &all {
        for sp in list(conn, &t.id, kind::SERVICE_PRINCIPAL)? {
            let sp_id = str_of(&sp, "id");
            let Some(target) = sync::secrets(conn, &t.id, sp_id)?
                .into_iter()
                .find(|(k, _)| k == "CompanyId")
                .map(|(_, v)| v.to_ascii_lowercase())
            else {
                continue;
            };
            let job = jobs
                .iter()
                .find(|j| j.tenant_id == t.id && j.sp_id.eq_ignore_ascii_case(sp_id));
            configurations
                .entry((t.id.clone(), target))
                .or_default()
                .push(json!({
                    "name": str_of(&sp, "displayName"),
                    "job": job.map(|j| job_summary(&j.body)),
                }));
        }
    }

    let mut shares = Vec::new();
    for s in &all {
        for t in all.iter().filter(|t| t.id != s.id) {
            let out_partner = partners.get(&(s.id.clone(), t.id.clone()));
            let in_partner = partners.get(&(t.id.clone(), s.id.clone()));
            let in_sync = identity.get(&(t.id.clone(), s.id.clone()));
            let consent = |p: Option<&Map<String, Value>>, k: &str| {
                p.and_then(|p| p.get("automaticUserConsentSettings"))
                    .is_some_and(|c| flag(&c[k]))
            };
            shares.push(json!({
                "source": s.id,
                "target": t.id,
                "outboundRedeem": consent(out_partner, "outboundAllowed"),
                "inboundRedeem": consent(in_partner, "inboundAllowed"),
                "inboundSyncAllowed": in_sync
                    .is_some_and(|p| flag(&p.get("userSyncInbound").cloned().unwrap_or_default()["isSyncAllowed"])),
                "configurations": configurations.remove(&(s.id.clone(), t.id.clone())).unwrap_or_default(),
            }));
        }
    }

    let people = people_search(&all, &users_by_tenant);
    Ok(json!({"tenants": tenant_rows, "shares": shares, "people": people}))
}

/// A job as the grid shows it: state, quarantine, last cycle, counts.
fn job_summary(body: &Value) -> Value {
    let status = &body["status"];
    let last = &status["lastExecution"];
    let state = match status["code"].as_str() {
        Some("Quarantine") => "quarantined",
        Some("Paused") => "paused",
        Some("NotRun") | Some("NotConfigured") => "not run",
        _ if body["schedule"]["state"] == "Active" => "active",
        _ => "paused",
    };
    json!({
        "state": state,
        "quarantine": status["quarantine"]["error"]["message"]
            .as_str()
            .or_else(|| status["quarantine"]["reason"].as_str()),
        "lastCycle": last["timeEnded"],
        "lastResult": last["state"],
        "entitled": last["countEntitled"],
        "exported": last["countExported"],
    })
}

/// Every internal user of every tenant × every tenant: how that tenant's
/// People Search finds them. B2B users are matched to their home user by
/// the UPN cross-tenant synchronization gives them
/// (`<home UPN with @ as _>#EXT#@<domain>`).
fn people_search(
    all: &[tenants::Tenant],
    users: &BTreeMap<String, Vec<Map<String, Value>>>,
) -> Vec<Value> {
    let is_external = |u: &Map<String, Value>| {
        str_of(u, "userPrincipalName")
            .to_ascii_uppercase()
            .contains("#EXT#")
            || str_of(u, "userType").eq_ignore_ascii_case("Guest")
    };
    let mut out = Vec::new();
    for home in all {
        for person in users
            .get(&home.id)
            .into_iter()
            .flatten()
            .filter(|u| !is_external(u))
        {
            let upn = str_of(person, "userPrincipalName");
            let prefix = format!("{}#EXT#", upn.replace('@', "_")).to_ascii_lowercase();
            let mut seen = Map::new();
            for t in all {
                let how = if t.id == home.id {
                    "internal"
                } else {
                    users
                        .get(&t.id)
                        .into_iter()
                        .flatten()
                        .find(|u| {
                            str_of(u, "userPrincipalName")
                                .to_ascii_lowercase()
                                .starts_with(&prefix)
                        })
                        .map_or("missing", |u| {
                            if str_of(u, "userType").eq_ignore_ascii_case("Member") {
                                "b2b_member"
                            } else {
                                "b2b_guest"
                            }
                        })
                };
                seen.insert(t.id.clone(), json!(how));
            }
            out.push(json!({
                "name": str_of(person, "displayName"),
                "home": home.id,
                "seenIn": seen,
            }));
        }
    }
    out
}
