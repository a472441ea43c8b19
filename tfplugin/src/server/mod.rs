//! Launching and serving: go-plugin's handshake, AutoMTLS, the gRPC services,
//! signals and shutdown.

mod convert;
mod service;
pub mod tls;

use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;

pub use service::{ProviderService, check_provider};

use crate::proto::plugin as gp;
use crate::proto::tfplugin6::provider_server::ProviderServer;
use crate::resource::Provider;

/// Terraform's magic cookie: go-plugin servers refuse to run without it.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// The value Terraform sets [`MAGIC_COOKIE_KEY`] to.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// gRPC messages carry whole states; Terraform's own limit is 256 MiB.
const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// What [`main`] needs to know about the provider beyond its traits.
pub struct ServeOptions {
    /// The provider's source address, e.g. `registry.terraform.io/acme/widget`,
    /// printed in debug mode for `TF_REATTACH_PROVIDERS`.
    pub address: &'static str,
    /// The provider's version, for `--version`.
    pub version: &'static str,
}

/// Runs a provider process: what `main` of a provider binary calls.
///
/// Without arguments it expects to be launched by Terraform. With `--debug`
/// it serves in the foreground without TLS and prints a
/// `TF_REATTACH_PROVIDERS` value, for debuggers and test harnesses.
pub fn main<P: Provider>(provider: P, opts: ServeOptions) -> ExitCode {
    install_panic_hook();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let debug = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => false,
        ["--debug"] => true,
        ["--version"] => {
            println!("{} {}", opts.address, opts.version);
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!(
                "usage: {} [--debug | --version]",
                std::env::args().next().unwrap_or_default()
            );
            return ExitCode::from(2);
        }
    };
    if !debug && std::env::var(MAGIC_COOKIE_KEY).as_deref() != Ok(MAGIC_COOKIE_VALUE) {
        eprintln!(
            "This program is a Terraform provider plugin: Terraform starts it when a configuration needs it.\n\
             It is not meant to be run by hand. To debug it, run it with --debug and follow the instructions it prints."
        );
        return ExitCode::from(1);
    }
    crate::logging::init(provider.type_name());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(async move {
        match run(provider, &opts, debug).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        }
    });
    // Blocking tasks may still hold the runtime; do not wait for them: the
    // host counts the time to exit.
    runtime.shutdown_background();
    code
}

fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Terraform recognises a crashed plugin by a stderr line starting
        // with "panic: " (Go's format).
        eprintln!("panic: {info}");
        default(info);
    }));
}

/// The protocol majors Terraform offers; we speak 6 only.
fn negotiate_protocol() -> Result<u32, String> {
    let offered = std::env::var("PLUGIN_PROTOCOL_VERSIONS").unwrap_or_default();
    if offered.split(',').any(|v| v.trim() == "6") {
        Ok(6)
    } else {
        Err(format!(
            "This provider speaks plugin protocol 6 (Terraform 1.0 or later, OpenTofu); the host offered {offered:?}."
        ))
    }
}

async fn bind_in_range() -> Result<TcpListener, String> {
    let min: u16 = std::env::var("PLUGIN_MIN_PORT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let max: u16 = std::env::var("PLUGIN_MAX_PORT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if min == 0 || max < min {
        return TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen: {e}"));
    }
    // Start at a pseudo-random port so parallel provider processes do not
    // all race for the first one.
    let span = u32::from(max - min) + 1;
    let start = (std::process::id()
        ^ (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)))
        % span;
    for i in 0..span {
        let port = min + ((start + i) % span) as u16;
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)).await {
            return Ok(l);
        }
    }
    Err(format!("no free port between {min} and {max}"))
}

async fn run<P: Provider>(provider: P, opts: &ServeOptions, debug: bool) -> Result<(), String> {
    // Terraform handles Ctrl-C itself and calls StopProvider; the whole
    // process group gets the SIGINT too, which must not kill us mid-apply.
    // Installed first, before anyone can know we are listening.
    #[cfg(unix)]
    let _sigint = if debug {
        None
    } else {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok()
    };
    let stop = CancellationToken::new();
    let shutdown = CancellationToken::new();
    let service = ProviderService::new(provider, stop.clone()).map_err(|errors| {
        format!(
            "the provider's schema is invalid:\n  {}",
            errors.join("\n  ")
        )
    })?;

    let listener = if debug {
        TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen: {e}"))?
    } else {
        bind_in_range().await?
    };
    let addr = listener.local_addr().map_err(|e| e.to_string())?;

    let client_cert = std::env::var("PLUGIN_CLIENT_CERT")
        .ok()
        .filter(|c| !c.trim().is_empty());
    let (acceptor, server_cert) = match (&client_cert, debug) {
        (Some(pem), false) => {
            let pinned = tls::parse_client_cert(pem).map_err(|e| e.to_string())?;
            let identity = tls::generate_identity().map_err(|e| e.to_string())?;
            let config = tls::server_config(&identity, pinned).map_err(|e| e.to_string())?;
            let encoded =
                base64::engine::general_purpose::STANDARD_NO_PAD.encode(identity.cert.as_ref());
            (
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
                encoded,
            )
        }
        _ => (None, String::new()),
    };

    if debug {
        print_reattach(opts.address, addr);
    } else {
        let version = negotiate_protocol()?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "1|{version}|tcp|{addr}|grpc|{server_cert}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }

    if debug {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            shutdown.cancel();
        });
    }
    #[cfg(unix)]
    {
        let shutdown = shutdown.clone();
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::spawn(async move {
                term.recv().await;
                shutdown.cancel();
            });
        }
    }

    let server = serve_on(listener, acceptor, service, shutdown.clone());
    let server = tokio::spawn(server);
    shutdown.cancelled().await;
    stop.cancel();
    // The host kills the process 2 s after Shutdown, but every millisecond
    // here is paid 3-4 times per Terraform command: give the connection a
    // moment to close, then go.
    let _ = tokio::time::timeout(Duration::from_millis(50), server).await;
    Ok(())
}

fn print_reattach(address: &str, addr: SocketAddr) {
    let value = serde_json::json!({
        address: {
            "Protocol": "grpc",
            "ProtocolVersion": 6,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": {"Network": "tcp", "String": addr.to_string()},
        }
    });
    println!(
        "Provider serving in debug mode (no TLS). In another shell, point Terraform at it with:\n"
    );
    println!("    export TF_REATTACH_PROVIDERS='{value}'\n");
    println!("Stop it with Ctrl-C.");
    let _ = std::io::stdout().flush();
}

/// Serves the provider on an already-bound listener until `shutdown` fires.
/// With an acceptor, every connection must complete the mutual TLS
/// handshake first. Public for the SDK's own tests and for harnesses.
pub async fn serve_on<P: Provider>(
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    service: ProviderService<P>,
    shutdown: CancellationToken,
) {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;

    let incoming = incoming(listener, acceptor, shutdown.clone());
    let provider = ProviderServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let controller = gp::grpc_controller_server::GrpcControllerServer::new(Controller {
        shutdown: shutdown.clone(),
    });
    let stdio = gp::grpc_stdio_server::GrpcStdioServer::new(Stdio {
        shutdown: shutdown.clone(),
    });
    let result = tonic::transport::Server::builder()
        .add_service(provider)
        .add_service(controller)
        .add_service(stdio)
        .add_service(health_service)
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "gRPC server stopped");
    }
}

/// Accepts connections, sets TCP_NODELAY (without it every RPC waits ~40 ms
/// for a delayed ACK), and runs TLS handshakes off the accept loop.
fn incoming(
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    shutdown: CancellationToken,
) -> impl futures::Stream<Item = Result<Conn, std::io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Conn, std::io::Error>>(16);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                a = listener.accept() => a,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            match &acceptor {
                None => {
                    if tx.send(Ok(Conn::Plain(tcp))).await.is_err() {
                        break;
                    }
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
                            .await
                        {
                            Ok(Ok(tls)) => {
                                let _ = tx.send(Ok(Conn::Tls(Box::new(tls)))).await;
                            }
                            Ok(Err(e)) => {
                                tracing::warn!(%peer, error = %e, "TLS handshake refused")
                            }
                            Err(_) => tracing::warn!(%peer, "TLS handshake timed out"),
                        }
                    });
                }
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// A served connection, with or without TLS.
pub enum Conn {
    /// Debug mode: no TLS.
    Plain(TcpStream),
    /// AutoMTLS.
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// go-plugin's controller: Shutdown ends the process.
struct Controller {
    shutdown: CancellationToken,
}

#[tonic::async_trait]
impl gp::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(
        &self,
        _: tonic::Request<gp::Empty>,
    ) -> Result<tonic::Response<gp::Empty>, tonic::Status> {
        // Answer first, then stop: the host ignores the reply but waits for it.
        let token = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            token.cancel();
        });
        Ok(tonic::Response::new(gp::Empty {}))
    }
}

/// go-plugin's stdio forwarding. We never write to stdout after the
/// handshake, so the stream carries nothing and ends at shutdown.
struct Stdio {
    shutdown: CancellationToken,
}

type StdioStream =
    Pin<Box<dyn futures::Stream<Item = Result<gp::StdioData, tonic::Status>> + Send>>;

#[tonic::async_trait]
impl gp::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = StdioStream;

    async fn stream_stdio(
        &self,
        _: tonic::Request<()>,
    ) -> Result<tonic::Response<Self::StreamStdioStream>, tonic::Status> {
        let done = self.shutdown.clone().cancelled_owned();
        let stream = futures::stream::once(done).filter_map(|_| async { None });
        Ok(tonic::Response::new(Box::pin(stream)))
    }
}
