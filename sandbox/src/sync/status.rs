//! The `synchronizationJob` document: creation, schedule changes (start, pause, restart) and the
//! status the engine writes after a cycle or a quarantine (reference §6.3, §6.5).
//!
//! Status codes: `Paused` when created (schedule `Disabled`) or paused; `NotRun` after `start`
//! until a cycle completes, then `Active`; `Quarantine` when a cycle finds the policies missing.

use std::time::Duration;

use serde_json::{Value, json};

use super::engine::JobKey;
use crate::store::sync as ss;
use crate::store::{Conn, StoreError};
use crate::util::{new_guid, rfc3339};

/// Graph's "never" for the steady-state times.
pub const NEVER: &str = "0001-01-01T00:00:00Z";
/// `quarantine.reason` of a policy failure.
pub const QUARANTINE_REASON: &str = "EncounteredQuarantineException";
/// Longest delay between two attempts of a quarantined job.
pub const MAX_QUARANTINE_DELAY: Duration = Duration::from_secs(24 * 3600);

/// ISO-8601 duration as Graph prints schedule intervals (`PT40M`, `PT1S`, `PT0.5S`, `P1D`).
pub fn iso8601(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "PT0S".into();
    }
    if !ms.is_multiple_of(1000) {
        let s = format!("{:.3}", d.as_secs_f64());
        let s = s.trim_end_matches('0').trim_end_matches('.');
        return format!("PT{s}S");
    }
    let mut secs = d.as_secs();
    let days = secs / 86400;
    secs %= 86400;
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::from("P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if h + m + s > 0 {
        out.push('T');
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if s > 0 {
            out.push_str(&format!("{s}S"));
        }
    }
    out
}

/// A new job: paused, schedule `Disabled`, no executions.
pub fn new_job(job_id: &str, template_id: &str, interval: Duration) -> Value {
    json!({
        "id": job_id,
        "templateId": template_id,
        "schedule": {"expiration": null, "interval": iso8601(interval), "state": "Disabled"},
        "status": {
            "code": "Paused",
            "countSuccessiveCompleteFailures": 0,
            "escrowsPruned": false,
            "lastExecution": null,
            "lastSuccessfulExecution": null,
            "lastSuccessfulExecutionWithExports": null,
            "quarantine": null,
            "steadyStateFirstAchievedTime": NEVER,
            "steadyStateLastAchievedTime": NEVER,
            "troubleshootingUrl": null,
            "progress": [],
            "synchronizedEntryCountByType": [],
        },
        "synchronizationJobSettings": [
            {"name": "AzureIngestionAttributeOptimization", "value": "False"},
            {"name": "LookaheadQueryEnabled", "value": "False"},
        ],
    })
}

fn has_completed(body: &Value) -> bool {
    matches!(
        body.pointer("/status/lastExecution/state")
            .and_then(Value::as_str),
        Some("Succeeded" | "EntryLevelErrors")
    ) || body
        .pointer("/status/lastSuccessfulExecution")
        .is_some_and(Value::is_object)
}

/// `start` (and `restart`): schedule `Active`, quarantine lifted, status `NotRun` until a cycle
/// completes (`Active` if one already did). Returns the due time of the next cycle: now.
pub fn start(body: &mut Value, now: i64) -> i64 {
    body[crate::sync::engine::STARTED_AT] = json!(now);
    body["schedule"]["state"] = json!("Active");
    let code = if has_completed(body) {
        "Active"
    } else {
        "NotRun"
    };
    body["status"]["code"] = json!(code);
    body["status"]["quarantine"] = Value::Null;
    now
}

/// `pause`: schedule and status `Paused`; no cycle is due.
pub fn pause(body: &mut Value) {
    body["schedule"]["state"] = json!("Paused");
    body["status"]["code"] = json!("Paused");
}

/// Keep `schedule.interval` in line with the sandbox's `--sync-interval`.
pub fn set_interval(body: &mut Value, interval: Duration) {
    body["schedule"]["interval"] = json!(iso8601(interval));
}

fn schedule_active(body: &Value) -> bool {
    body.pointer("/schedule/state").and_then(Value::as_str) == Some("Active")
}

/// What a completed cycle measured.
pub struct Execution {
    /// Start (ms).
    pub began: i64,
    /// End (ms).
    pub ended: i64,
    /// Internal members in scope.
    pub entitled: u64,
    /// Writes to the target.
    pub exported: u64,
    /// The group mapping is enabled (the status counts groups too).
    pub groups: bool,
    /// An error of the cycle that is not a quarantine (groups refused by the target).
    pub error: Option<Value>,
    /// The `SyncAll` secret was true: the wider scope stays in effect until a restart.
    pub sync_all: bool,
    /// Users read because they changed since the watermark (all of them in a full cycle).
    pub imported_deltas: u64,
    /// The job's new watermark ([`crate::sync::engine::WATERMARK`]), when users were evaluated.
    pub watermark: Option<Value>,
}

fn execution(e: &Execution, escrowed: i64, state: &str, error: Value) -> Value {
    json!({
        "activityIdentifier": new_guid(),
        "countEntitled": e.entitled,
        "countEntitledForProvisioning": e.entitled,
        "countEscrowed": escrowed,
        "countEscrowedRaw": escrowed,
        "countExported": e.exported,
        "countExports": e.exported,
        "countImported": e.entitled,
        "countImportedDeltas": e.imported_deltas,
        "countImportedReferenceDeltas": 0,
        "error": error,
        "state": state,
        "timeBegan": rfc3339(e.began),
        "timeEnded": rfc3339(e.ended),
    })
}

/// Record a completed cycle. Returns the new job JSON (None if the job was deleted meanwhile).
pub fn complete(
    tx: &Conn,
    key: &JobKey,
    e: Execution,
    interval: Duration,
) -> Result<Option<Value>, StoreError> {
    let Some(job) = ss::get_job(tx, &key.tenant_id, &key.service_principal_id, &key.job_id)? else {
        return Ok(None);
    };
    let overtaken = started_after(&job.body, e.began);
    let mut body = job.body;
    let counts = ss::entry_counts(tx, &key.tenant_id, &key.job_id)?;
    let group_counts = ss::group_entry_counts(tx, &key.tenant_id, &key.job_id)?;
    let escrowed = counts.get(ss::state::ESCROW).copied().unwrap_or(0)
        + group_counts.get(ss::state::ESCROW).copied().unwrap_or(0);
    let synced = counts.get(ss::state::SYNCED).copied().unwrap_or(0);
    let groups_synced = group_counts.get(ss::state::SYNCED).copied().unwrap_or(0);
    let state = if escrowed > 0 {
        "EntryLevelErrors"
    } else {
        "Succeeded"
    };
    let exec = execution(&e, escrowed, state, e.error.clone().unwrap_or(Value::Null));
    let st = &mut body["status"];
    st["lastExecution"] = exec.clone();
    if escrowed == 0 {
        st["lastSuccessfulExecution"] = exec.clone();
    }
    if e.exported > 0 {
        st["lastSuccessfulExecutionWithExports"] = exec;
    }
    st["countSuccessiveCompleteFailures"] = json!(0);
    if e.exported == 0 && escrowed == 0 {
        let t = rfc3339(e.ended);
        if st["steadyStateFirstAchievedTime"]
            .as_str()
            .is_none_or(|s| s == NEVER)
        {
            st["steadyStateFirstAchievedTime"] = json!(t);
        }
        st["steadyStateLastAchievedTime"] = json!(t);
    }
    st["synchronizedEntryCountByType"] = if e.groups {
        json!([{"key": "User", "value": synced}, {"key": "Group", "value": groups_synced}])
    } else {
        json!([{"key": "User", "value": synced}])
    };
    st["quarantine"] = Value::Null;
    if e.sync_all && !overtaken {
        body[crate::sync::engine::SYNC_ALL_IN_EFFECT] = json!(true);
    }
    if let Some(w) = e.watermark.as_ref().filter(|_| !overtaken) {
        body[crate::sync::engine::WATERMARK] = w.clone();
    }
    let active = schedule_active(&body);
    if active {
        body["status"]["code"] = json!("Active");
    }
    let due = if overtaken {
        job.due_ms
    } else {
        active.then(|| e.ended + interval.as_millis() as i64)
    };
    ss::update_job(
        tx,
        &key.tenant_id,
        &key.service_principal_id,
        &key.job_id,
        &body,
        due,
    )?;
    Ok(Some(body))
}

/// Whether the job was started or restarted after a cycle that began at `began`.
fn started_after(body: &Value, began: i64) -> bool {
    body.get(crate::sync::engine::STARTED_AT)
        .and_then(Value::as_i64)
        .is_some_and(|at| at > began)
}

/// The delay before a quarantined job's next attempt: the interval, doubled with every
/// successive failure, at most a day (Graph: "gradually reduced to once per day").
pub fn quarantine_delay(interval: Duration, failures: u64) -> Duration {
    let factor = 1u64 << failures.saturating_sub(1).min(16);
    interval
        .checked_mul(factor as u32)
        .unwrap_or(MAX_QUARANTINE_DELAY)
        .min(MAX_QUARANTINE_DELAY)
}

/// Put (or keep) a job in quarantine after a failed cycle. Returns the new job JSON (None if the
/// job was deleted meanwhile).
pub fn quarantine(
    tx: &Conn,
    key: &JobKey,
    code: &str,
    message: &str,
    now: i64,
    interval: Duration,
) -> Result<Option<Value>, StoreError> {
    let Some(job) = ss::get_job(tx, &key.tenant_id, &key.service_principal_id, &key.job_id)? else {
        return Ok(None);
    };
    let overtaken = started_after(&job.body, now);
    let mut body = job.body;
    let failures = body
        .pointer("/status/countSuccessiveCompleteFailures")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        + 1;
    let next = now + quarantine_delay(interval, failures).as_millis() as i64;
    let prior = body
        .pointer("/status/quarantine")
        .cloned()
        .unwrap_or(Value::Null);
    let series_began = prior
        .get("seriesBegan")
        .cloned()
        .unwrap_or_else(|| json!(rfc3339(now)));
    let series_count = prior
        .get("seriesCount")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        + 1;
    let error = json!({"code": code, "message": message, "tenantActionable": true});
    let exec = execution(
        &Execution {
            began: now,
            ended: now,
            entitled: 0,
            exported: 0,
            groups: false,
            error: None,
            sync_all: false,
            imported_deltas: 0,
            watermark: None,
        },
        0,
        "Failed",
        error.clone(),
    );
    let st = &mut body["status"];
    st["code"] = json!("Quarantine");
    st["quarantine"] = json!({
        "currentBegan": rfc3339(now),
        "nextAttempt": rfc3339(next),
        "reason": QUARANTINE_REASON,
        "seriesBegan": series_began,
        "seriesCount": series_count,
        "error": error,
    });
    st["lastExecution"] = exec;
    st["countSuccessiveCompleteFailures"] = json!(failures);
    let due = if overtaken {
        job.due_ms
    } else {
        schedule_active(&body).then_some(next)
    };
    ss::update_job(
        tx,
        &key.tenant_id,
        &key.service_principal_id,
        &key.job_id,
        &body,
        due,
    )?;
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_formats_like_graph() {
        assert_eq!(iso8601(Duration::from_secs(2400)), "PT40M");
        assert_eq!(iso8601(Duration::from_secs(1)), "PT1S");
        assert_eq!(iso8601(Duration::from_millis(500)), "PT0.5S");
        assert_eq!(iso8601(Duration::from_secs(5400)), "PT1H30M");
        assert_eq!(iso8601(Duration::from_secs(86400)), "P1D");
    }

    #[test]
    fn quarantine_attempts_back_off_to_a_day() {
        let i = Duration::from_secs(2400);
        assert_eq!(quarantine_delay(i, 1), i);
        assert_eq!(quarantine_delay(i, 2), i * 2);
        assert_eq!(quarantine_delay(i, 30), MAX_QUARANTINE_DELAY);
    }

    /// A job started at `started` whose cycle began at `began` ends at 5,000 ms, with a
    /// watermark: returns the job and its next due time.
    fn complete_cycle(started: i64, began: i64) -> (Value, Option<i64>) {
        let store = crate::store::Store::open(None).unwrap();
        let key = JobKey::new("t", "sp", "job");
        let interval = Duration::from_secs(3600);
        let mut body = new_job("job", "Azure2Azure", interval);
        let due = start(&mut body, started);
        store
            .write_blocking(|tx| -> Result<(), StoreError> {
                let row = ss::JobRow {
                    tenant_id: "t".into(),
                    sp_id: "sp".into(),
                    job_id: "job".into(),
                    body,
                    schema: json!({}),
                    due_ms: Some(due),
                };
                ss::insert_job(tx, &row, 0)
            })
            .unwrap();
        let e = Execution {
            began,
            ended: 5_000,
            entitled: 1,
            exported: 1,
            groups: false,
            error: None,
            sync_all: true,
            imported_deltas: 1,
            watermark: Some(json!({"mark": 7})),
        };
        let body = store
            .write_blocking(|tx| complete(tx, &key, e, interval))
            .unwrap()
            .unwrap();
        let row = store
            .read_blocking(|c| ss::get_job(c, "t", "sp", "job"))
            .unwrap()
            .unwrap();
        (body, row.due_ms)
    }

    #[test]
    fn a_cycle_ends_with_the_next_one_due_an_interval_later_and_its_watermark_kept() {
        let (body, due) = complete_cycle(1_000, 2_000);
        assert_eq!(due, Some(5_000 + 3_600_000));
        assert_eq!(body[crate::sync::engine::WATERMARK], json!({"mark": 7}));
        assert_eq!(body[crate::sync::engine::SYNC_ALL_IN_EFFECT], true);
    }

    #[test]
    fn a_restart_during_a_cycle_keeps_the_next_cycle_due_at_once_and_from_scratch() {
        // Started at 3,000 while the cycle that began at 2,000 ran.
        let (body, due) = complete_cycle(3_000, 2_000);
        assert_eq!(due, Some(3_000), "the restart's cycle is still due");
        assert!(body.get(crate::sync::engine::WATERMARK).is_none(), "{body}");
        assert!(body.get(crate::sync::engine::SYNC_ALL_IN_EFFECT).is_none());
        // The overtaken cycle's results are still recorded.
        assert_eq!(body["status"]["lastExecution"]["countExported"], 1);
    }

    #[test]
    fn start_is_not_run_until_a_cycle_completed() {
        let mut j = new_job("x", "Azure2Azure", Duration::from_secs(2400));
        start(&mut j, 0);
        assert_eq!(j["status"]["code"], "NotRun");
        assert_eq!(j["schedule"]["state"], "Active");
        j["status"]["lastExecution"] = json!({"state": "Succeeded"});
        pause(&mut j);
        assert_eq!(j["status"]["code"], "Paused");
        start(&mut j, 0);
        assert_eq!(j["status"]["code"], "Active");
    }
}
