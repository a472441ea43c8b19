//! `--tls`: a CA and a server certificate (SAN `localhost`, `127.0.0.1`) generated with rcgen
//! and kept in the data directory so a restart reuses them, and a listener that terminates TLS.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// CA certificate file name inside the data directory.
pub const CA_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca.key";
const SERVER_CERT_FILE: &str = "server.pem";
const SERVER_KEY_FILE: &str = "server.key";

/// Errors preparing TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// File access.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Certificate generation.
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// rustls configuration.
    #[error("tls configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// PEM parsing.
    #[error("reading PEM: {0}")]
    Pem(#[from] rustls::pki_types::pem::Error),
}

/// The server side of TLS: acceptor plus the CA file clients should trust.
pub struct TlsSetup {
    /// Path of the CA certificate (PEM).
    pub ca_path: PathBuf,
    /// Acceptor for the server certificate.
    pub acceptor: TlsAcceptor,
}

/// Load the CA and server certificate from `dir`, generating them on first use.
pub fn load_or_create(dir: &Path) -> Result<TlsSetup, TlsError> {
    crate::store::create_private_dir(dir)?;
    let (ca, cert, key) = (
        dir.join(CA_FILE),
        dir.join(SERVER_CERT_FILE),
        dir.join(SERVER_KEY_FILE),
    );
    if !(ca.exists() && cert.exists() && key.exists()) {
        generate(dir)?;
    }
    let chain = vec![
        CertificateDer::from_pem_file(&cert)?,
        CertificateDer::from_pem_file(&ca)?,
    ];
    let key = PrivateKeyDer::from_pem_file(&key)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsSetup {
        ca_path: ca,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    std::fs::write(path, contents)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

fn generate(dir: &Path) -> Result<(), TlsError> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "mto-sandbox local CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let server_key = KeyPair::generate()?;
    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = params.signed_by(&server_key, &issuer)?;

    write_private(&dir.join(CA_KEY_FILE), &ca_key.serialize_pem())?;
    write_private(&dir.join(SERVER_KEY_FILE), &server_key.serialize_pem())?;
    std::fs::write(dir.join(SERVER_CERT_FILE), server_cert.pem())?;
    // The CA file last: its presence marks a complete set.
    std::fs::write(dir.join(CA_FILE), ca_cert.pem())?;
    Ok(())
}

/// The peer address of a connection (what `ConnectInfo<PeerAddr>` yields; `crate::serve` puts
/// it in every request).
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

/// A TCP listener that optionally terminates TLS. TLS handshakes run in their own tasks, so a
/// slow client cannot stall `accept` for the others.
pub struct SandboxListener {
    local: SocketAddr,
    kind: Kind,
}

enum Kind {
    Plain(TcpListener),
    Tls(mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>),
}

impl From<TcpListener> for SandboxListener {
    fn from(l: TcpListener) -> Self {
        SandboxListener::plain(l)
    }
}

impl SandboxListener {
    /// Plain http.
    pub fn plain(l: TcpListener) -> Self {
        let local = l
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        SandboxListener {
            local,
            kind: Kind::Plain(l),
        }
    }

    /// https with the given acceptor.
    pub fn tls(l: TcpListener, acceptor: TlsAcceptor) -> Self {
        let local = l
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (tcp, addr) = match l.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    return;
                }
                let (acceptor, conn_tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    {
                        Ok(Ok(tls)) => {
                            let _ = conn_tx.send((tls, addr)).await;
                        }
                        Ok(Err(e)) => tracing::debug!("tls handshake with {addr} failed: {e}"),
                        Err(_) => tracing::debug!("tls handshake with {addr} timed out"),
                    }
                });
            }
        });
        SandboxListener {
            local,
            kind: Kind::Tls(rx),
        }
    }
}

/// A plain or TLS connection.
pub enum SandboxIo {
    /// http
    Plain(TcpStream),
    /// https
    Tls(Box<TlsStream<TcpStream>>),
}

impl axum::serve::Listener for SandboxListener {
    type Io = SandboxIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match &mut self.kind {
            Kind::Plain(l) => {
                // axum's TcpListener impl retries transient accept errors.
                let (s, a) = axum::serve::Listener::accept(l).await;
                let _ = s.set_nodelay(true);
                (SandboxIo::Plain(s), a)
            }
            Kind::Tls(rx) => match rx.recv().await {
                Some((s, a)) => (SandboxIo::Tls(Box::new(s)), a),
                // The accept task only ends with the runtime; park forever like a listener
                // with no clients.
                None => std::future::pending().await,
            },
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

impl AsyncRead for SandboxIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            SandboxIo::Plain(s) => Pin::new(s).poll_read(cx, buf),
            SandboxIo::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for SandboxIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            SandboxIo::Plain(s) => Pin::new(s).poll_write(cx, buf),
            SandboxIo::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            SandboxIo::Plain(s) => Pin::new(s).poll_flush(cx),
            SandboxIo::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            SandboxIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            SandboxIo::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            SandboxIo::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            SandboxIo::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            SandboxIo::Plain(s) => s.is_write_vectored(),
            SandboxIo::Tls(s) => s.is_write_vectored(),
        }
    }
}
