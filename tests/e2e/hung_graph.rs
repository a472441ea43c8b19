//! A Graph that accepts connections and never answers: an operation ends
//! within its `timeouts` (plus a few seconds), and a hung read is abandoned
//! and sent again on a new connection instead of holding the refresh.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mto_e2e::{Sandbox, TENANT_A, Workspace};

/// A loopback proxy whose first `hang` connections are read and never
/// answered; later ones are forwarded to `upstream` (or hung too without one).
struct HungProxy {
    url: String,
    accepted: Arc<AtomicUsize>,
}

fn hung_proxy(hang: usize, upstream: Option<SocketAddr>) -> HungProxy {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(client) = conn else { continue };
            let n = count.fetch_add(1, Ordering::SeqCst);
            match upstream.filter(|_| n >= hang) {
                None => {
                    // Swallow the request and keep the socket until the client gives up.
                    std::thread::spawn(move || {
                        let mut client = client;
                        let mut buf = [0u8; 4096];
                        while client.read(&mut buf).is_ok_and(|n| n > 0) {}
                    });
                }
                Some(up) => forward(client, up),
            }
        }
    });
    HungProxy { url, accepted }
}

fn forward(client: TcpStream, upstream: SocketAddr) {
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.flush();
            let _ = to.shutdown(std::net::Shutdown::Write);
        });
    };
    pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
    pipe(server, client);
}

fn provider_block(graph: &str, login: &str) -> String {
    format!(
        "provider \"mto\" {{\n  graph_endpoint = \"{graph}\"\n  login_endpoint = \"{login}\"\n  tenant {{\n    tenant_id     = \"{}\"\n    client_id     = \"{}\"\n    client_secret = \"{}\"\n  }}\n}}\n",
        TENANT_A.id, TENANT_A.client_id, TENANT_A.secret
    )
}

/// An organization in tenant A, reached through these endpoints.
fn write_organization(ws: &Workspace, graph: &str, login: &str, timeouts: &str) {
    ws.write_config(&format!(
        "{}resource \"mto_organization\" \"this\" {{\n  tenant_id    = \"{}\"\n  display_name = \"Contoso group\"\n{timeouts}}}\n",
        provider_block(graph, login),
        TENANT_A.id
    ));
}

#[test]
fn a_create_against_a_graph_that_never_answers_fails_within_its_timeout() {
    // Graph accepts and never answers. (The login endpoint answers: the
    // provider signs in when it is configured, before any operation, and a
    // hung login fails there, within its own bound.)
    let sb = Sandbox::standard();
    let proxy = hung_proxy(usize::MAX, None);
    let ws = Workspace::new();
    write_organization(
        &ws,
        &proxy.url,
        &sb.url,
        "  timeouts { create = \"20s\" }\n",
    );
    let started = Instant::now();
    let r = ws.apply();
    let took = started.elapsed();
    r.assert_failure_mentions(&["no answer from Graph"]);
    assert!(
        took < Duration::from_secs(25),
        "create = \"20s\" took {took:?}:\n{}",
        r.output()
    );
    assert!(proxy.accepted.load(Ordering::SeqCst) >= 1);
    eprintln!("hung create failed after {took:?}");
}

#[test]
fn a_refresh_abandons_a_hung_read_and_sends_it_again() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    let upstream: SocketAddr = sb.url.trim_start_matches("http://").parse().unwrap();
    write_organization(&ws, &sb.url, &sb.url, "");
    ws.apply().assert_success();
    // Now the first Graph connection of the refresh hangs; the next ones reach the sandbox.
    let proxy = hung_proxy(1, Some(upstream));
    write_organization(&ws, &proxy.url, &sb.url, "");
    let started = Instant::now();
    let r = ws.plan_exit_code();
    let took = started.elapsed();
    assert_eq!(r.code, 0, "the refresh did not converge:\n{}", r.output());
    assert!(
        proxy.accepted.load(Ordering::SeqCst) >= 2,
        "the hung read was never sent again"
    );
    // Abandoned after the 30 s read budget, not reqwest's old 120 s.
    assert!(
        took < Duration::from_secs(30 + 10),
        "the refresh took {took:?}"
    );
    eprintln!("refresh with a hung read finished after {took:?}");
}
