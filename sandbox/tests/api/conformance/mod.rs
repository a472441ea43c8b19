//! The conformance suite: one case per documented example request of every endpoint the sandbox
//! serves, written from the Microsoft Graph reference pages (`page`, relative to the
//! `api-reference/` folder of microsoftgraph/microsoft-graph-docs-contrib): the documented
//! status, and the answer's property names, JSON types and documented enum values.
//!
//! Cases are data ([`Case`]); each area module lists its cases in the order they run in one
//! sandbox (creations first, deletions last) and has one test that runs them all and reports
//! every deviation at once. URLs are written as the pages write them (spaces and quotes
//! unencoded); the runner encodes them as a client library would. `{name}` placeholders are
//! filled from the fixture (`{A}`, `{annie}`, …) and from earlier answers (`save`).
//!
//! `endpoint_table_in_docs_is_up_to_date` renders docs/sandbox.md's conformance table from the
//! case list (`UPDATE_DOCS=1` rewrites it), and checks that every served endpoint has a case.

mod apps;
mod batch;
mod directory;
mod mto;
mod policy;

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;

use crate::harness::*;

/// The JSON type of a property.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ty {
    Str,
    Bool,
    Int,
    Obj,
    Arr,
    Null,
    /// A string or null.
    StrOrNull,
    /// An object or null.
    ObjOrNull,
    /// A boolean or null.
    BoolOrNull,
    /// A GUID string.
    Guid,
    /// An RFC 3339 timestamp.
    Time,
    /// Present, any type.
    Any,
    /// Absent.
    Absent,
    /// A string ending with this text (an `@odata.context` fragment).
    Suffix(&'static str),
}

/// Who sends the request: the app of tenant A or B (see the fixture seed).
#[derive(Clone, Copy, Debug)]
pub enum Who {
    A,
    B,
    /// Tenant A's app that only has `User.Read.All`.
    ReaderA,
    /// No `Authorization` header.
    Nobody,
}

/// One documented example request and what the page says the answer is.
pub struct Case {
    /// The reference page, relative to `api-reference/` (`v1.0/api/user-list.md`).
    pub page: &'static str,
    /// Which example of the page (or what the case checks).
    pub example: &'static str,
    pub who: Who,
    pub method: &'static str,
    /// With the version prefix, as the page writes it (placeholders in braces).
    pub url: &'static str,
    /// Extra request headers.
    pub headers: &'static [(&'static str, &'static str)],
    /// JSON body ("" for none).
    pub body: &'static str,
    pub status: u16,
    /// JSON pointer → type; `*` as a segment means every element of an array.
    pub shape: &'static [(&'static str, Ty)],
    /// JSON pointer → the documented values (a flags enum is checked value by value).
    pub enums: &'static [(&'static str, &'static [&'static str])],
    /// Placeholders to remember from the answer: name → JSON pointer.
    pub save: &'static [(&'static str, &'static str)],
    /// Where the sandbox answers by a documented choice instead ("UNCONFIRMED choices" number).
    pub choice: Option<u32>,
}

/// The defaults, for `..BASE` in case literals.
pub const BASE: Case = Case {
    page: "",
    example: "",
    who: Who::A,
    method: "GET",
    url: "",
    headers: &[],
    body: "",
    status: 200,
    shape: &[],
    enums: &[],
    save: &[],
    choice: None,
};

/// Placeholders known before any case runs.
fn fixture_vars() -> HashMap<String, String> {
    let mut v = HashMap::new();
    for (k, t) in [("A", &A), ("B", &B), ("C", &C)] {
        v.insert(k.to_string(), t.id.to_string());
        v.insert(format!("domain{k}"), t.domain.to_string());
    }
    v.insert("annie".into(), annie_id());
    v.insert("groupA".into(), shared_group_id());
    v.insert("bob".into(), "bbbbbbbb-3333-4000-8000-000000000001".into());
    v.insert(
        "groupB".into(),
        mto_sandbox::util::seed_guid(B.id, "group", "shared with mto"),
    );
    v.insert("cts".into(), CTS_TEMPLATE.into());
    v
}

fn fill(s: &str, vars: &HashMap<String, String>) -> String {
    let mut out = s.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// Encode what a client library encodes in a URL written as the docs write it.
fn encode(url: &str) -> String {
    url.replace(' ', "%20")
        .replace('"', "%22")
        .replace('#', "%23")
}

fn values_at<'a>(v: &'a Value, pointer: &str) -> Vec<Option<&'a Value>> {
    let mut cur: Vec<Option<&Value>> = vec![Some(v)];
    for seg in pointer.split('/').skip(1) {
        let mut next = Vec::new();
        for c in cur {
            match (c, seg) {
                (Some(Value::Array(a)), "*") => next.extend(a.iter().map(Some)),
                (Some(Value::Array(a)), i) => {
                    next.push(i.parse::<usize>().ok().and_then(|i| a.get(i)))
                }
                (Some(Value::Object(o)), k) => next.push(o.get(&k.replace("~1", "/"))),
                _ => next.push(None),
            }
        }
        cur = next;
    }
    cur
}

fn type_ok(v: Option<&Value>, ty: Ty) -> bool {
    let is_time = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
    };
    match (ty, v) {
        (Ty::Absent, None) => true,
        (_, None) | (Ty::Absent, Some(_)) => false,
        (Ty::Any, Some(_)) => true,
        (Ty::Str, Some(v)) => v.is_string(),
        (Ty::Bool, Some(v)) => v.is_boolean(),
        (Ty::Int, Some(v)) => v.is_i64() || v.is_u64(),
        (Ty::Obj, Some(v)) => v.is_object(),
        (Ty::Arr, Some(v)) => v.is_array(),
        (Ty::Null, Some(v)) => v.is_null(),
        (Ty::StrOrNull, Some(v)) => v.is_string() || v.is_null(),
        (Ty::ObjOrNull, Some(v)) => v.is_object() || v.is_null(),
        (Ty::BoolOrNull, Some(v)) => v.is_boolean() || v.is_null(),
        (Ty::Guid, Some(v)) => v.as_str().and_then(mto_sandbox::util::parse_guid).is_some(),
        (Ty::Time, Some(v)) => v.as_str().is_some_and(is_time),
        (Ty::Suffix(end), Some(v)) => v.as_str().is_some_and(|s| s.ends_with(end)),
    }
}

/// Run the cases of one area in order in one sandbox; fail with every deviation found.
pub async fn run(sb: &Sandbox, cases: &[Case]) {
    let mut vars = fixture_vars();
    let mut tokens: HashMap<&'static str, String> = HashMap::new();
    for (k, t) in [("A", &A), ("B", &B), ("ReaderA", &READER_A)] {
        tokens.insert(k, sb.token(t).await);
    }
    let mut failures = Vec::new();
    for (n, c) in cases.iter().enumerate() {
        let url = encode(&fill(c.url, &vars));
        let who = match c.who {
            Who::A => Some("A"),
            Who::B => Some("B"),
            Who::ReaderA => Some("ReaderA"),
            Who::Nobody => None,
        };
        let mut req = Request::builder()
            .method(c.method)
            .uri(&url)
            .header("host", "sandbox.test");
        if let Some(who) = who {
            req = req.header("authorization", format!("Bearer {}", tokens[who]));
        }
        for (k, v) in c.headers {
            req = req.header(*k, *v);
        }
        let body = if c.body.is_empty() {
            Body::empty()
        } else {
            req = req.header("content-type", "application/json");
            Body::from(fill(c.body, &vars))
        };
        let r = sb.send(req.body(body).unwrap()).await;
        let label = format!("#{n} {} {} ({}: {})", c.method, c.url, c.page, c.example);
        if r.status != c.status {
            failures.push(format!(
                "{label}: status {} instead of {}; body {}",
                r.status, c.status, r.text
            ));
            continue;
        }
        for (pointer, ty) in c.shape {
            for (i, v) in values_at(&r.json, pointer).into_iter().enumerate() {
                if !type_ok(v, *ty) {
                    failures.push(format!("{label}: {pointer}[{i}] is {v:?}, expected {ty:?}"));
                }
            }
        }
        for (pointer, allowed) in c.enums {
            for v in values_at(&r.json, pointer).into_iter().flatten() {
                let ok = match v {
                    Value::Null => true,
                    Value::String(s) => s
                        .split(',')
                        .map(str::trim)
                        .all(|part| allowed.contains(&part)),
                    _ => false,
                };
                if !ok {
                    failures.push(format!(
                        "{label}: {pointer} = {v} is not one of {allowed:?}"
                    ));
                }
            }
        }
        for (name, pointer) in c.save {
            // A string is remembered as is, anything else as its JSON text.
            match r.json.pointer(pointer) {
                Some(v) => {
                    let text = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    vars.insert(name.to_string(), text);
                }
                None => failures.push(format!(
                    "{label}: nothing at {pointer} to save as {{{name}}}"
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} deviation(s) from the documented answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every area's cases, for the endpoint table.
fn all_cases() -> Vec<(&'static str, &'static [Case])> {
    vec![
        ("Multi-tenant organization", mto::CASES),
        ("Cross-tenant access policy", policy::CASES),
        ("Directory", directory::CASES),
        ("Applications and synchronization", apps::CASES),
        ("Batch", batch::CASES),
    ]
}

/// Every Graph endpoint the sandbox serves (routes/mod.rs `graph_routes`), relative to the
/// version.
const SERVED: &[(&str, &str)] = &[
    ("GET", "/organization"),
    ("GET", "/organization/{id}"),
    ("GET", "/tenantRelationships/multiTenantOrganization"),
    ("PUT", "/tenantRelationships/multiTenantOrganization"),
    ("PATCH", "/tenantRelationships/multiTenantOrganization"),
    (
        "GET",
        "/tenantRelationships/multiTenantOrganization/tenants",
    ),
    (
        "POST",
        "/tenantRelationships/multiTenantOrganization/tenants",
    ),
    (
        "GET",
        "/tenantRelationships/multiTenantOrganization/tenants/{tenantId}",
    ),
    (
        "PATCH",
        "/tenantRelationships/multiTenantOrganization/tenants/{tenantId}",
    ),
    (
        "DELETE",
        "/tenantRelationships/multiTenantOrganization/tenants/{tenantId}",
    ),
    (
        "GET",
        "/tenantRelationships/multiTenantOrganization/joinRequest",
    ),
    (
        "PATCH",
        "/tenantRelationships/multiTenantOrganization/joinRequest",
    ),
    ("GET", "/policies/crossTenantAccessPolicy"),
    ("PATCH", "/policies/crossTenantAccessPolicy"),
    ("GET", "/policies/crossTenantAccessPolicy/default"),
    ("PATCH", "/policies/crossTenantAccessPolicy/default"),
    (
        "POST",
        "/policies/crossTenantAccessPolicy/default/resetToSystemDefault",
    ),
    ("GET", "/policies/crossTenantAccessPolicy/templates"),
    (
        "GET",
        "/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization",
    ),
    (
        "PATCH",
        "/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization",
    ),
    (
        "POST",
        "/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization/resetToDefaultSettings",
    ),
    (
        "GET",
        "/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration",
    ),
    (
        "PATCH",
        "/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration",
    ),
    (
        "POST",
        "/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration/resetToDefaultSettings",
    ),
    ("GET", "/policies/crossTenantAccessPolicy/partners"),
    ("POST", "/policies/crossTenantAccessPolicy/partners"),
    (
        "GET",
        "/policies/crossTenantAccessPolicy/partners/{tenantId}",
    ),
    (
        "PATCH",
        "/policies/crossTenantAccessPolicy/partners/{tenantId}",
    ),
    (
        "DELETE",
        "/policies/crossTenantAccessPolicy/partners/{tenantId}",
    ),
    (
        "GET",
        "/policies/crossTenantAccessPolicy/partners/{tenantId}/identitySynchronization",
    ),
    (
        "PUT",
        "/policies/crossTenantAccessPolicy/partners/{tenantId}/identitySynchronization",
    ),
    (
        "PATCH",
        "/policies/crossTenantAccessPolicy/partners/{tenantId}/identitySynchronization",
    ),
    (
        "DELETE",
        "/policies/crossTenantAccessPolicy/partners/{tenantId}/identitySynchronization",
    ),
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/$count"),
    ("GET", "/users/{id}"),
    ("PATCH", "/users/{id}"),
    ("DELETE", "/users/{id}"),
    ("GET", "/directory/deletedItems/microsoft.graph.user"),
    ("GET", "/directory/deletedItems/microsoft.graph.user/$count"),
    ("GET", "/directory/deletedItems/{id}"),
    ("GET", "/groups"),
    ("GET", "/groups/$count"),
    ("POST", "/groups"),
    ("GET", "/groups/{id}"),
    ("PATCH", "/groups/{id}"),
    ("DELETE", "/groups/{id}"),
    ("GET", "/groups/{id}/members"),
    ("POST", "/groups/{id}/members/$ref"),
    ("DELETE", "/groups/{id}/members/{memberId}/$ref"),
    ("POST", "/applicationTemplates/{id}/instantiate"),
    ("GET", "/applications"),
    ("GET", "/applications/$count"),
    ("GET", "/applications/{id}"),
    ("PATCH", "/applications/{id}"),
    ("DELETE", "/applications/{id}"),
    ("GET", "/servicePrincipals"),
    ("GET", "/servicePrincipals/$count"),
    ("GET", "/servicePrincipals/{id}"),
    ("PATCH", "/servicePrincipals/{id}"),
    ("DELETE", "/servicePrincipals/{id}"),
    ("GET", "/servicePrincipals/{id}/appRoleAssignedTo"),
    ("POST", "/servicePrincipals/{id}/appRoleAssignedTo"),
    (
        "GET",
        "/servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}",
    ),
    (
        "DELETE",
        "/servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}",
    ),
    ("GET", "/servicePrincipals/{id}/synchronization/templates"),
    ("GET", "/servicePrincipals/{id}/synchronization/jobs"),
    ("POST", "/servicePrincipals/{id}/synchronization/jobs"),
    (
        "POST",
        "/servicePrincipals/{id}/synchronization/jobs/validateCredentials",
    ),
    (
        "GET",
        "/servicePrincipals/{id}/synchronization/jobs/{jobId}",
    ),
    (
        "DELETE",
        "/servicePrincipals/{id}/synchronization/jobs/{jobId}",
    ),
    (
        "POST",
        "/servicePrincipals/{id}/synchronization/jobs/{jobId}/start",
    ),
    (
        "POST",
        "/servicePrincipals/{id}/synchronization/jobs/{jobId}/pause",
    ),
    (
        "POST",
        "/servicePrincipals/{id}/synchronization/jobs/{jobId}/restart",
    ),
    (
        "POST",
        "/servicePrincipals/{id}/synchronization/jobs/{jobId}/validateCredentials",
    ),
    (
        "POST",
        "/servicePrincipals/{id}/synchronization/jobs/{jobId}/provisionOnDemand",
    ),
    (
        "GET",
        "/servicePrincipals/{id}/synchronization/jobs/{jobId}/schema",
    ),
    (
        "PUT",
        "/servicePrincipals/{id}/synchronization/jobs/{jobId}/schema",
    ),
    ("GET", "/servicePrincipals/{id}/synchronization/secrets"),
    ("PUT", "/servicePrincipals/{id}/synchronization/secrets"),
    ("POST", "/$batch"),
];

/// The served endpoint a case's URL belongs to: segments match literally (ignoring case) or
/// against a `{parameter}`; the most literal match wins.
fn endpoint_of(c: &Case) -> Option<(&'static str, &'static str)> {
    let path = c.url.split('?').next().unwrap_or("");
    let rel = path
        .strip_prefix("/v1.0")
        .or_else(|| path.strip_prefix("/beta"))
        .unwrap_or(path);
    let segs: Vec<&str> = rel.split('/').skip(1).collect();
    SERVED
        .iter()
        .filter(|(m, _)| *m == c.method)
        .filter_map(|&(m, t)| {
            let tsegs: Vec<&str> = t.split('/').skip(1).collect();
            if tsegs.len() != segs.len() {
                return None;
            }
            let mut literal = 0;
            for (ts, s) in tsegs.iter().zip(&segs) {
                if ts.starts_with('{') {
                    continue;
                }
                if !ts.eq_ignore_ascii_case(s) {
                    return None;
                }
                literal += 1;
            }
            Some((literal, (m, t)))
        })
        .max_by_key(|(l, _)| *l)
        .map(|(_, e)| e)
}

/// The table of docs/sandbox.md, one row per served endpoint.
fn render_table() -> String {
    let mut rows: BTreeMap<usize, (Vec<&str>, usize, Vec<u32>)> = BTreeMap::new();
    for (_, cases) in all_cases() {
        for c in cases {
            let Some(e) = endpoint_of(c) else { continue };
            let i = SERVED.iter().position(|s| *s == e).unwrap();
            let row = rows.entry(i).or_default();
            if !row.0.contains(&c.page) {
                row.0.push(c.page);
            }
            row.1 += 1;
            if let Some(n) = c.choice
                && !row.2.contains(&n)
            {
                row.2.push(n);
            }
        }
    }
    let mut out = String::from(
        "| method | endpoint | reference page(s) | cases | conformance |\n|---|---|---|---|---|\n",
    );
    for (i, (method, template)) in SERVED.iter().enumerate() {
        let (pages, n, choices) = rows.get(&i).cloned().unwrap_or_default();
        let status = match (n, choices.is_empty()) {
            (0, _) => "no case".to_string(),
            (_, true) => "as documented".to_string(),
            (_, false) => format!(
                "as documented, with choice {}",
                choices
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let pages: Vec<String> = pages.iter().map(|p| format!("`{p}`")).collect();
        out.push_str(&format!(
            "| {method} | `{template}` | {} | {n} | {status} |\n",
            pages.join(", ")
        ));
    }
    let total: usize = all_cases().iter().map(|(_, c)| c.len()).sum();
    let mut pages: Vec<&str> = all_cases()
        .iter()
        .flat_map(|(_, c)| c.iter().map(|c| c.page))
        .collect();
    pages.sort();
    pages.dedup();
    out.push_str(&format!(
        "\n{total} cases from {} reference pages, {} endpoints.\n",
        pages.len(),
        SERVED.len()
    ));
    out
}

const BEGIN: &str =
    "<!-- conformance table: generated by sandbox/tests/api/conformance/mod.rs -->\n";
const END: &str = "<!-- end of conformance table -->\n";

#[test]
fn endpoint_table_in_docs_is_up_to_date() {
    let mut unmatched = Vec::new();
    for (_, cases) in all_cases() {
        for c in cases {
            // A method a path does not have is checked (405, or 401 first) but is no endpoint.
            let not_served = c.status == 405 || (c.status == 401 && matches!(c.who, Who::Nobody));
            if endpoint_of(c).is_none() && !not_served {
                unmatched.push(format!("{} {}", c.method, c.url));
            }
            assert!(!c.page.is_empty(), "every case names its page: {}", c.url);
        }
    }
    assert!(
        unmatched.is_empty(),
        "cases of no served endpoint: {unmatched:?}"
    );
    let table = render_table();
    let missing: Vec<&str> = table
        .lines()
        .filter(|l| l.ends_with("| no case |"))
        .collect();
    assert!(
        missing.is_empty(),
        "served endpoints without a case: {missing:#?}"
    );

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/sandbox.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/sandbox.md lacks the conformance table markers");
    };
    let want = format!("{}{BEGIN}{table}{}", &doc[..b], &doc[e..]);
    if want != doc {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, want).unwrap();
        } else {
            panic!(
                "docs/sandbox.md's conformance table is out of date (run `UPDATE_DOCS=1 cargo test -p mto-sandbox --test api conformance`)"
            );
        }
    }
}
