//! Authentication as pipelines do it — certificates, federated OIDC tokens
//! (from a file, from GitHub's token request), managed identities — checked
//! once at configure, the Graph permissions checked by the plan, and tokens
//! renewed during a long apply. Every run's trace log is searched for
//! secrets, keys, assertions and tokens.

use std::time::{Duration, Instant};

use mto_e2e::{
    ALL_ROLES, Run, Sandbox, SandboxOptions, TENANT_A, TENANT_B, TENANT_C, TestCertificate,
    Workspace, assert_no_secrets, quickstart_seed, quickstart_variant, standard_seed, test_users,
};
use serde_json::{Value, json};

const TOKEN_ROUTE: &str = "POST /{tenant}/oauth2/v2.0/token";
const HCP_SUBJECT: &str = "organization:contoso:project:mesh:workspace:prod:run_phase:apply";
const GITHUB_SUBJECT: &str = "repo:contoso/mesh:ref:refs/heads/main";
const PFX_PASSWORD: &str = "pfx-password-91a7";

fn federated(issuer: &str, subject: &str) -> Value {
    json!([{"name": "pipeline", "issuer": format!("/_sandbox/oidc/{issuer}"),
            "subject": subject, "audiences": ["api://AzureADTokenExchange"]}])
}

/// A workspace whose Terraform writes a trace log (read it with [`trace`]).
fn traced() -> Workspace {
    let mut ws = Workspace::new();
    let log = ws.path().join("trace.log");
    ws.env("TF_LOG", "trace")
        .env("TF_LOG_PATH", log.to_str().unwrap());
    ws
}

fn trace(ws: &Workspace) -> String {
    std::fs::read_to_string(ws.path().join("trace.log")).expect("trace log")
}

fn file(ws: &Workspace, name: &str, body: &[u8]) -> String {
    let path = ws.path().join(name);
    std::fs::write(&path, body).expect("write file");
    path.display().to_string()
}

/// How long the provider's configure took to sign in, from its log line.
/// The `ms` of each "signed in" line, as Terraform relogs the provider's
/// JSON line: `provider.terraform-provider-mto: signed in: ... ms=12 ...`.
fn sign_in_ms(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|l| l.contains("provider.terraform-provider-mto: signed in:"))
        .filter_map(|l| {
            let at = l.find(" ms=")? + 4;
            l[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .collect()
}

#[test]
fn the_quick_start_mesh_applies_with_a_certificate_a_federated_token_file_and_a_secret() {
    let cert = TestCertificate::generate("contoso-a");
    let mut seed = quickstart_seed();
    // A signs with a certificate, B exchanges an HCP Terraform-style token file, C keeps its
    // secret; A and B have no secret at all.
    let a = &mut seed["tenants"][0]["apps"][0];
    a.as_object_mut().unwrap().remove("clientSecret");
    a["keyCredentials"] = json!([cert.key_credential()]);
    let b = &mut seed["tenants"][1]["apps"][0];
    b.as_object_mut().unwrap().remove("clientSecret");
    b["federatedIdentityCredentials"] = federated("hcp", HCP_SUBJECT);
    let tenant = |i: usize, k: &str| seed["tenants"][i][k].as_str().unwrap().to_owned();
    let client = |i: usize| {
        seed["tenants"][i]["apps"][0]["clientId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (a_id, b_id, c_id) = (tenant(0, "id"), tenant(1, "id"), tenant(2, "id"));
    let (a_client, b_client, c_client) = (client(0), client(1), client(2));
    let c_secret = seed["tenants"][2]["apps"][0]["clientSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    let sb = Sandbox::start(SandboxOptions {
        seed,
        // Each certificate assertion must carry a new jti.
        extra_args: vec![
            "--sync-interval".into(),
            "2s".into(),
            "--reject-assertion-replay".into(),
        ],
        ..Default::default()
    });
    let mut ws = traced();
    ws.env("TF_VAR_sandbox_url", &sb.url);
    let pfx = file(&ws, "tenant-a.pfx", &cert.pkcs12(PFX_PASSWORD));
    let token = sb.oidc_token("hcp", json!({"subject": HCP_SUBJECT, "lifetime": "30m"}));
    let token_file = file(&ws, "tenant-b.jwt", token.as_bytes());
    let client_id_file = file(&ws, "tenant-b.client-id", b_client.as_bytes());
    ws.write_file(
        "main.tf",
        &quickstart_variant(&format!(
            r#"provider "mto" {{
  graph_endpoint = var.sandbox_url
  login_endpoint = var.sandbox_url

  tenant {{
    tenant_id                   = "{a_id}"
    client_id                   = "{a_client}"
    client_certificate_path     = "{pfx}"
    client_certificate_password = "{PFX_PASSWORD}"
  }}
  tenant {{
    tenant_id            = "{b_id}"
    use_oidc             = true
    client_id_file_path  = "{client_id_file}"
    oidc_token_file_path = "{token_file}"
  }}
  tenant {{
    tenant_id     = "{c_id}"
    client_id     = "{c_client}"
    client_secret = "{c_secret}"
  }}
}}
"#
        )),
    );
    let started = Instant::now();
    ws.apply().assert_success();
    eprintln!("mixed-credential apply: {:.1?}", started.elapsed());
    let sync = reqwest::blocking::Client::new()
        .post(format!("{}/_sandbox/sync/run", sb.url))
        .json(&json!({}))
        .send()
        .expect("sync run");
    assert!(sync.status().is_success());
    ws.run(&["apply", "-refresh-only", "-auto-approve"])
        .assert_success();
    ws.assert_plan_empty();
    assert_eq!(ws.outputs()["problems"]["value"], json!([]));
    let log = trace(&ws);
    let times = sign_in_ms(&log);
    eprintln!("configure sign-in of 3 tenants (ms): {times:?}");
    assert!(!times.is_empty(), "configure logs its sign-in");
    let key_line = cert.key_pem.lines().nth(2).unwrap();
    assert_no_secrets(&log, &[PFX_PASSWORD, &c_secret, key_line]);
}

/// Tenant A's app with a certificate, B's trusting the sandbox issuer `github`; three tenants,
/// one `mto_policy_templates` each.
struct ConfigureCase {
    sb: Sandbox,
    registered: TestCertificate,
}

impl ConfigureCase {
    fn new() -> ConfigureCase {
        let registered = TestCertificate::generate("tenant-a");
        let mut seed = standard_seed();
        seed["tenants"][0]["apps"][0]["keyCredentials"] = json!([registered.key_credential()]);
        seed["tenants"][1]["apps"][0]["federatedIdentityCredentials"] =
            federated("github", GITHUB_SUBJECT);
        let sb = Sandbox::start(SandboxOptions {
            seed,
            ..Default::default()
        });
        ConfigureCase { sb, registered }
    }

    /// Applies with A on the certificate in `a_pem` and B on the token in `b_token`.
    fn apply(&self, a_pem: &str, b_token: &str) -> (Workspace, Run) {
        let ws = Workspace::new();
        let a = file(&ws, "tenant-a.pem", a_pem.as_bytes());
        let b = file(&ws, "tenant-b.jwt", b_token.as_bytes());
        let mut body = format!(
            "provider \"mto\" {{\n  graph_endpoint = \"{url}\"\n  login_endpoint = \"{url}\"\n  \
             tenant {{\n    tenant_id               = \"{}\"\n    client_id               = \"{}\"\n    client_certificate_path = \"{a}\"\n  }}\n  \
             tenant {{\n    tenant_id            = \"{}\"\n    client_id            = \"{}\"\n    use_oidc             = true\n    oidc_token_file_path = \"{b}\"\n  }}\n  \
             tenant {{\n    tenant_id     = \"{}\"\n    client_id     = \"{}\"\n    client_secret = \"{}\"\n  }}\n}}\n",
            TENANT_A.id,
            TENANT_A.client_id,
            TENANT_B.id,
            TENANT_B.client_id,
            TENANT_C.id,
            TENANT_C.client_id,
            TENANT_C.secret,
            url = self.sb.url,
        );
        for (k, t) in [("a", &TENANT_A), ("b", &TENANT_B), ("c", &TENANT_C)] {
            body.push_str(&format!(
                "resource \"mto_policy_templates\" \"{k}\" {{\n  tenant_id                 = \"{}\"\n  user_sync_inbound_allowed = true\n}}\n",
                t.id
            ));
        }
        ws.write_config(&body);
        let r = ws.apply();
        (ws, r)
    }

    fn pem(&self, c: &TestCertificate) -> String {
        format!("{}{}", c.cert_pem, c.key_pem)
    }

    fn good_token(&self) -> String {
        self.sb
            .oidc_token("github", json!({"subject": GITHUB_SUBJECT}))
    }
}

#[test]
fn refused_credentials_fail_at_configure_on_their_tenant_block_and_nothing_is_applied() {
    let case = ConfigureCase::new();
    let good_pem = case.pem(&case.registered);
    let unregistered = TestCertificate::generate("not-registered");
    let sb = &case.sb;
    let cases = [
        (
            "a wrong certificate",
            case.pem(&unregistered),
            case.good_token(),
            TENANT_A.id,
            "AADSTS700027",
            "client_certificate_path",
        ),
        (
            "an assertion for another audience",
            good_pem.clone(),
            sb.oidc_token(
                "github",
                json!({"subject": GITHUB_SUBJECT, "audience": "api://SomethingElse"}),
            ),
            TENANT_B.id,
            "AADSTS700212",
            "oidc_token_file_path",
        ),
        (
            "an expired OIDC token",
            good_pem.clone(),
            sb.oidc_token(
                "github",
                json!({"subject": GITHUB_SUBJECT, "issuedAgo": "30m", "lifetime": "10m"}),
            ),
            TENANT_B.id,
            "AADSTS700024",
            "oidc_token_file_path",
        ),
        (
            "an untrusted issuer",
            good_pem.clone(),
            sb.oidc_token("untrusted", json!({"subject": GITHUB_SUBJECT})),
            TENANT_B.id,
            "AADSTS700211",
            "oidc_token_file_path",
        ),
    ];
    for (what, a_pem, b_token, tenant, code, line) in cases {
        let (ws, r) = case.apply(&a_pem, &b_token);
        let summary = format!("Cannot sign in to tenant {tenant}");
        r.assert_failure_mentions(&[&summary, code, &ws.provider_line(line)]);
        assert_eq!(
            r.output().matches("Cannot sign in").count(),
            1,
            "{what}: only the bad tenant fails:\n{}",
            r.output()
        );
        assert!(
            sb.graph_writes().is_empty(),
            "{what}: something was applied: {:?}",
            sb.graph_writes()
        );
        assert!(ws.state()["values"].is_null(), "{what}: state is empty");
    }
    // The same configuration with good credentials applies.
    case.apply(&good_pem, &case.good_token()).1.assert_success();
}

#[test]
fn an_app_missing_three_permissions_gets_all_three_named_in_one_plan() {
    let mut seed = standard_seed();
    seed["tenants"][0]["apps"][0]["roles"] = json!(["Policy.ReadWrite.CrossTenantAccess"]);
    let sb = Sandbox::start(SandboxOptions {
        seed,
        ..Default::default()
    });
    let ws = Workspace::new();
    ws.write_config(&format!(
        "{}\nresource \"mto_inbound_acceptance\" \"b\" {{\n  tenant_id        = \"{b}\"\n  source_tenant_id = \"{a}\"\n}}\n\
         resource \"mto_outbound_share\" \"a\" {{\n  tenant_id        = \"{a}\"\n  target_tenant_id = mto_inbound_acceptance.b.tenant_id\n  user_ids         = [\"{user}\"]\n}}\n",
        sb.provider_block(&[&TENANT_A, &TENANT_B]),
        a = TENANT_A.id,
        b = TENANT_B.id,
        user = test_users(&TENANT_A)[0].0,
    ));
    let r = ws.run(&["plan"]);
    r.assert_failure_mentions(&[
        "Missing Graph permissions",
        &format!(
            "mto_outbound_share needs Microsoft Graph application permissions in tenant {}",
            TENANT_A.id
        ),
        "Application.ReadWrite.All, Synchronization.ReadWrite.All, AppRoleAssignment.ReadWrite.All",
        "with mto_outbound_share.a",
    ]);
    assert_eq!(r.output().matches("Missing Graph permissions").count(), 1);
    assert!(sb.graph_writes().is_empty());
}

#[test]
fn a_github_style_token_request_works_from_environment_variables_alone() {
    let mut seed = standard_seed();
    let app = &mut seed["tenants"][0]["apps"][0];
    app.as_object_mut().unwrap().remove("clientSecret");
    app["federatedIdentityCredentials"] = federated("github", GITHUB_SUBJECT);
    let sb = Sandbox::start(SandboxOptions {
        seed,
        ..Default::default()
    });
    let (url, request_token) = sb.oidc_runner("github", json!({"subject": GITHUB_SUBJECT}));
    let mut ws = traced();
    ws.env("ARM_TENANT_ID", TENANT_A.id)
        .env("ARM_CLIENT_ID", TENANT_A.client_id)
        .env("ARM_USE_OIDC", "true")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &request_token);
    ws.write_config(&format!(
        "provider \"mto\" {{\n  graph_endpoint = \"{url}\"\n  login_endpoint = \"{url}\"\n}}\n\
         resource \"mto_policy_templates\" \"a\" {{\n  tenant_id                 = \"{}\"\n  user_sync_inbound_allowed = true\n}}\n",
        TENANT_A.id,
        url = sb.url
    ));
    ws.apply().assert_success();
    ws.assert_plan_empty();
    assert_no_secrets(&trace(&ws), &[&request_token]);
}

#[test]
fn an_azure_devops_token_request_works_for_each_tenant_block() {
    const SUBJECT: &str = "sc://contoso/mesh/tenant-a";
    let mut seed = standard_seed();
    let app = &mut seed["tenants"][0]["apps"][0];
    app.as_object_mut().unwrap().remove("clientSecret");
    app["federatedIdentityCredentials"] = federated("ado", SUBJECT);
    let sb = Sandbox::start(SandboxOptions {
        seed,
        ..Default::default()
    });
    let (url, access_token) = sb.oidc_runner(
        "ado",
        json!({"subject": SUBJECT, "serviceConnectionId": "sc-tenant-a"}),
    );
    // What an Azure DevOps job has: SYSTEM_OIDCREQUESTURI and System.AccessToken.
    let url = url.split('?').next().unwrap().to_owned();
    let mut ws = traced();
    ws.env("SYSTEM_OIDCREQUESTURI", &url)
        .env("SYSTEM_ACCESSTOKEN", &access_token);
    ws.write_config(&format!(
        "provider \"mto\" {{\n  graph_endpoint = \"{u}\"\n  login_endpoint = \"{u}\"\n  tenant {{\n    tenant_id                          = \"{a}\"\n    client_id                          = \"{c}\"\n    use_oidc                           = true\n    ado_pipeline_service_connection_id = \"sc-tenant-a\"\n  }}\n}}\n\
         resource \"mto_policy_templates\" \"a\" {{\n  tenant_id = \"{a}\"\n}}\n",
        u = sb.url,
        a = TENANT_A.id,
        c = TENANT_A.client_id,
    ));
    // The app has no secret: only the Azure DevOps token gets it a token.
    ws.apply().assert_success();
    assert_no_secrets(&trace(&ws), &[&access_token]);
}

#[test]
fn a_managed_identity_signs_in_through_the_imds_endpoint() {
    const IDENTITY: &str = "a0000000-0000-4000-8000-00000000aaaa";
    let mut seed = standard_seed();
    seed["tenants"][0]["apps"]
        .as_array_mut()
        .unwrap()
        .push(json!({"clientId": IDENTITY, "roles": ALL_ROLES, "managedIdentity": "userAssigned"}));
    let sb = Sandbox::start(SandboxOptions {
        seed,
        ..Default::default()
    });
    let ws = traced();
    ws.write_config(&format!(
        "provider \"mto\" {{\n  graph_endpoint = \"{url}\"\n  login_endpoint = \"{url}\"\n  tenant {{\n    tenant_id    = \"{a}\"\n    client_id    = \"{IDENTITY}\"\n    use_msi      = true\n    msi_endpoint = \"{url}/metadata/identity/oauth2/token\"\n  }}\n  \
         tenant {{\n    tenant_id    = \"{b}\"\n    client_id    = \"{IDENTITY}\"\n    use_msi      = true\n    msi_endpoint = \"{url}/metadata/identity/oauth2/token\"\n  }}\n}}\n\
         resource \"mto_policy_templates\" \"a\" {{\n  tenant_id = \"{a}\"\n}}\n",
        url = sb.url,
        a = TENANT_A.id,
        b = TENANT_B.id,
    ));
    // The identity lives in tenant A; a token for it is no token for tenant B.
    ws.apply().assert_failure_mentions(&[
        &format!("Cannot sign in to tenant {}", TENANT_B.id),
        &format!("got a token for tenant {}", TENANT_A.id),
    ]);
    ws.write_config(&format!(
        "provider \"mto\" {{\n  graph_endpoint = \"{url}\"\n  login_endpoint = \"{url}\"\n  tenant {{\n    tenant_id    = \"{a}\"\n    client_id    = \"{IDENTITY}\"\n    use_msi      = true\n    msi_endpoint = \"{url}/metadata/identity/oauth2/token\"\n  }}\n}}\n\
         resource \"mto_policy_templates\" \"a\" {{\n  tenant_id = \"{a}\"\n}}\n",
        url = sb.url,
        a = TENANT_A.id,
    ));
    ws.apply().assert_success();
    assert!(sb.count("GET /metadata/identity/oauth2/token") >= 2);
    assert_no_secrets(&trace(&ws), &[]);
}

#[test]
fn tokens_living_20_seconds_are_renewed_during_a_long_apply() {
    let cert = TestCertificate::generate("tenant-a");
    let mut seed = standard_seed();
    seed["tenants"][0]["apps"][0]["keyCredentials"] = json!([cert.key_credential()]);
    let sb = Sandbox::start(SandboxOptions {
        seed,
        extra_args: vec!["--token-lifetime".into(), "20s".into()],
        // The join request waits this long for the join: the apply takes about a minute.
        join_delay: Some("50s"),
        ..Default::default()
    });
    let ws = Workspace::new();
    let pem = file(
        &ws,
        "tenant-a.pem",
        format!("{}{}", cert.cert_pem, cert.key_pem).as_bytes(),
    );
    ws.write_config(&format!(
        "provider \"mto\" {{\n  graph_endpoint = \"{url}\"\n  login_endpoint = \"{url}\"\n  \
         tenant {{\n    tenant_id               = \"{a}\"\n    client_id               = \"{ac}\"\n    client_certificate_path = \"{pem}\"\n  }}\n  \
         tenant {{\n    tenant_id     = \"{b}\"\n    client_id     = \"{bc}\"\n    client_secret = \"{bs}\"\n  }}\n}}\n\
         resource \"mto_organization\" \"this\" {{\n  tenant_id    = \"{a}\"\n  display_name = \"Contoso group\"\n}}\n\
         resource \"mto_member_tenant\" \"b\" {{\n  tenant_id        = mto_organization.this.tenant_id\n  member_tenant_id = \"{b}\"\n  display_name     = \"Tenant B\"\n}}\n\
         resource \"mto_join_request\" \"b\" {{\n  tenant_id       = mto_member_tenant.b.member_tenant_id\n  owner_tenant_id = mto_member_tenant.b.tenant_id\n}}\n",
        url = sb.url,
        a = TENANT_A.id,
        ac = TENANT_A.client_id,
        b = TENANT_B.id,
        bc = TENANT_B.client_id,
        bs = TENANT_B.secret,
    ));
    let started = Instant::now();
    ws.apply().assert_success();
    let took = started.elapsed();
    let tokens = sb.count(TOKEN_ROUTE);
    eprintln!("apply with 20 s tokens: {took:.1?}, {tokens} token requests");
    assert!(took >= Duration::from_secs(50), "{took:?}");
    // One sign-in per tenant at each configure (plan, apply), then renewals.
    assert!(tokens >= 6, "{tokens} token requests");
    ws.assert_plan_empty();
}
