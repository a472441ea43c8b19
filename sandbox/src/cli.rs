//! Command line: `mto-sandbox serve ...`. Parses arguments, prepares the store, seed and
//! listener, prints the ready line and runs [`crate::serve`] until SIGINT/SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, FaultSpec, parse_duration, parse_sync_interval};
use crate::store::Store;
use crate::tls::SandboxListener;
use crate::{AppState, seed};

/// mto-sandbox: a persistent multi-tenant Microsoft Graph emulator.
#[derive(Debug, Parser)]
#[command(name = "mto-sandbox", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the Graph emulator.
    Serve(ServeArgs),
}

/// `serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (IP:PORT; port 0 picks a free port). Loopback only unless
    /// --allow-remote.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Seed file (JSON) with tenants, apps, users and groups; applied idempotently.
    #[arg(long)]
    pub seed: Option<PathBuf>,
    /// Directory for sandbox.db (and the TLS files with --tls).
    #[arg(
        long,
        conflicts_with = "in_memory",
        required_unless_present = "in_memory"
    )]
    pub data: Option<PathBuf>,
    /// Keep everything in memory; nothing survives the process.
    #[arg(long)]
    pub in_memory: bool,
    /// Delay before an MTO join, removal or role change is processed (2s, 500ms, PT1M, ...).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub join_delay: Duration,
    /// Cross-tenant synchronization cycle interval of started jobs (PT40M, 1s, ...; at least
    /// 100ms).
    #[arg(long, default_value = "PT40M", value_parser = parse_sync_interval)]
    pub sync_interval: Duration,
    /// Fault injection: throttle=P,unavailable=P,lag=DUR,latency=DUR,seed=N.
    #[arg(long, value_parser = FaultSpec::parse)]
    pub faults: Option<FaultSpec>,
    /// Serve https with a generated CA and server certificate.
    #[arg(long)]
    pub tls: bool,
    /// Allow binding a non-loopback address.
    #[arg(long)]
    pub allow_remote: bool,
    /// The URL clients reach the sandbox at, for the absolute URLs in answers (`@odata.nextLink`,
    /// `@odata.context`); default: the listening URL.
    #[arg(long, value_parser = parse_base_url)]
    pub base_url: Option<String>,
    /// Lifetime of issued access tokens (3599s, 20s, PT1H, ...).
    #[arg(long, default_value = "3599s", value_parser = parse_duration)]
    pub token_lifetime: Duration,
    /// Refuse a certificate client assertion whose jti was already used (Entra accepts reuse).
    #[arg(long)]
    pub reject_assertion_replay: bool,
}

/// `--base-url`: an http(s) origin, optionally with a path, without query or fragment.
fn parse_base_url(s: &str) -> Result<String, String> {
    let t = s.trim().trim_end_matches('/');
    let rest = t
        .strip_prefix("http://")
        .or_else(|| t.strip_prefix("https://"))
        .ok_or_else(|| format!("'{s}' is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(['?', '#', '@', ' ']) {
        return Err(format!(
            "'{s}' must be scheme://host[:port][/path], without credentials, query or fragment"
        ));
    }
    Ok(t.to_string())
}

/// Entry point of the binary: parse, run, map errors (bad arguments included) to exit code 1.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            let text = e.render().to_string();
            let text = text.trim().strip_prefix("error: ").unwrap_or(text.trim());
            return fail(text);
        }
    };
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let result = match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => fail(&msg),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("mto-sandbox: error: {msg}");
    ExitCode::from(1)
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("MTO_SANDBOX_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    if !args.addr.ip().is_loopback() && !args.allow_remote {
        return Err(format!(
            "refusing to listen on non-loopback address {} (pass --allow-remote to allow it)",
            args.addr
        ));
    }
    let seed = match &args.seed {
        Some(p) => Some(seed::load(p).map_err(|e| e.to_string())?),
        None => None,
    };
    // Held until the process exits: a second sandbox on the same directory would corrupt the
    // synchronization engine's bookkeeping (two writers' cycles, two job workers).
    let _lock = match &args.data {
        Some(dir) => Some(crate::store::lock_data_dir(dir).map_err(|e| e.to_string())?),
        None => None,
    };
    let data = args.data.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(data.as_deref()))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot open the database: {e}"))?;
    if let Some(seed) = seed {
        let s = store.clone();
        let report = tokio::task::spawn_blocking(move || seed::apply(&s, &seed))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("seeding failed: {e}"))?;
        tracing::info!(
            "seed applied: {} tenants, {} users, {} groups added",
            report.tenants,
            report.users,
            report.groups
        );
    }
    let tcp = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let local = tcp.local_addr().map_err(|e| e.to_string())?;
    let scheme = if args.tls { "https" } else { "http" };
    let config = Config {
        join_delay: args.join_delay,
        sync_interval: args.sync_interval,
        base_url: args
            .base_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{local}")),
        token_lifetime: args.token_lifetime,
        reject_assertion_replay: args.reject_assertion_replay,
        ..Config::default()
    };
    let state =
        AppState::new(store, config, args.faults.unwrap_or_default()).map_err(|e| e.to_string())?;
    let (listener, ca) = if args.tls {
        let dir = match &args.data {
            Some(d) => d.clone(),
            None => std::env::temp_dir().join(format!("mto-sandbox-{}", std::process::id())),
        };
        let setup = tokio::task::spawn_blocking(move || crate::tls::load_or_create(&dir))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        (
            SandboxListener::tls(tcp, setup.acceptor),
            Some(setup.ca_path),
        )
    } else {
        (SandboxListener::plain(tcp), None)
    };

    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "mto-sandbox listening on {scheme}://{local}");
        if let Some(ca) = &ca {
            let _ = writeln!(out, "mto-sandbox ca-certificate {}", ca.display());
        }
        let _ = out.flush();
    }
    crate::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown signal received");
}
