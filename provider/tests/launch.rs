//! The provider binary as Terraform launches it: magic cookie, protocol
//! negotiation, the handshake line, AutoMTLS with a Terraform-like client
//! certificate, SIGINT immunity and a prompt exit on Shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use tfplugin::proto::plugin::Empty;
use tfplugin::proto::tfplugin6::get_provider_schema;
use tfplugin::testing::{
    ClientIdentity, GrpcControllerClient, ProviderClient, connect, terraform_like_identity,
};

const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-mto");
const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

struct Launched {
    child: Child,
    fields: Vec<String>,
    started: Instant,
    handshake_after: Duration,
}

impl Drop for Launched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn launch(identity: Option<&ClientIdentity>, extra_env: &[(&str, &str)]) -> Launched {
    let mut cmd = Command::new(BIN);
    cmd.env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env_remove("PLUGIN_CLIENT_CERT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(id) = identity {
        cmd.env("PLUGIN_CLIENT_CERT", &id.cert_pem);
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("start provider");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("handshake line");
    let handshake_after = started.elapsed();
    let fields = line.trim_end().split('|').map(str::to_owned).collect();
    Launched {
        child,
        fields,
        started,
        handshake_after,
    }
}

fn server_cert(l: &Launched) -> rustls::pki_types::CertificateDer<'static> {
    let der = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(&l.fields[5])
        .expect("unpadded base64 DER");
    rustls::pki_types::CertificateDer::from(der)
}

#[test]
fn run_by_hand_explains_itself_and_exits_1() {
    let out = Command::new(BIN)
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Terraform provider plugin"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_host_without_protocol_6_is_refused() {
    let out = Command::new(BIN)
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("protocol 6"));
}

#[test]
fn handshake_line_has_go_plugin_shape_and_respects_the_port_range() {
    let id = terraform_like_identity();
    let l = launch(
        Some(&id),
        &[("PLUGIN_MIN_PORT", "20000"), ("PLUGIN_MAX_PORT", "20100")],
    );
    assert_eq!(l.fields.len(), 6, "{:?}", l.fields);
    assert_eq!(&l.fields[..3], ["1", "6", "tcp"]);
    assert_eq!(l.fields[4], "grpc");
    let port: u16 = l.fields[3]
        .strip_prefix("127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    assert!((20000..=20100).contains(&port), "{port}");
    assert!(
        !l.fields[5].contains('='),
        "certificate must be unpadded base64"
    );
    assert!(l.fields[5].len() > 50);
    server_cert(&l);
}

#[test]
fn without_a_client_certificate_it_serves_plaintext() {
    let l = launch(None, &[]);
    assert_eq!(l.fields[5], "");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let addr = l.fields[3].parse().unwrap();
        let mut c = ProviderClient::new(connect(addr, None, None).await.unwrap());
        c.get_provider_schema(get_provider_schema::Request {})
            .await
            .unwrap();
    });
}

#[test]
fn terraform_like_client_is_served_and_shutdown_exits_within_a_second() {
    let id = terraform_like_identity();
    let mut l = launch(Some(&id), &[]);
    assert!(
        l.handshake_after < Duration::from_secs(5),
        "{:?}",
        l.handshake_after
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addr = l.fields[3].parse().unwrap();
    let cert = server_cert(&l);
    let shutdown_at = rt.block_on(async {
        let channel = connect(addr, Some(cert), Some(&id)).await.unwrap();
        let schema = ProviderClient::new(channel.clone())
            .get_provider_schema(get_provider_schema::Request {})
            .await
            .unwrap()
            .into_inner();
        assert!(schema.functions.contains_key("pairs"));
        assert!(schema.server_capabilities.unwrap().plan_destroy);
        let at = Instant::now();
        GrpcControllerClient::new(channel)
            .shutdown(Empty {})
            .await
            .unwrap();
        at
    });
    loop {
        if let Some(status) = l.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            shutdown_at.elapsed() < Duration::from_secs(1),
            "still running 1 s after Shutdown"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = l.started;
}

#[cfg(unix)]
#[test]
fn sigint_does_not_stop_the_provider() {
    let id = terraform_like_identity();
    let l = launch(Some(&id), &[]);
    let pid = l.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(200));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let channel = connect(
            l.fields[3].parse().unwrap(),
            Some(server_cert(&l)),
            Some(&id),
        )
        .await
        .unwrap();
        ProviderClient::new(channel)
            .get_provider_schema(get_provider_schema::Request {})
            .await
            .unwrap();
    });
}
