//! AutoMTLS: the provider proves itself with a fresh certificate and accepts
//! exactly one client, the certificate Terraform passed in
//! `PLUGIN_CLIENT_CERT`.
//!
//! rustls' stock client verifier cannot do this: Terraform's certificate is
//! self-signed with CA:TRUE, which webpki rejects as an end-entity
//! certificate, and it is a P-521 key, which the *ring* provider cannot
//! verify (so Go would not even send it). We pin the exact DER instead, and
//! verify handshake signatures with aws-lc-rs, which supports P-521.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, Error, ServerConfig,
    SignatureScheme,
};

/// A server certificate and its key, made for one process.
pub struct ServerIdentity {
    /// The self-signed certificate, printed in the handshake line.
    pub cert: CertificateDer<'static>,
    /// Its private key.
    pub key: PrivateKeyDer<'static>,
}

/// Why AutoMTLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// Terraform's certificate is missing or unreadable.
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate: {0}")]
    ClientCert(String),
    /// Our own certificate could not be made.
    #[error("cannot create the server certificate: {0}")]
    Generate(String),
    /// rustls refused the configuration.
    #[error("cannot build the TLS configuration: {0}")]
    Config(String),
}

/// A self-signed P-256 certificate for `localhost`, valid from a minute ago
/// for 30 years like go-plugin's own, usable for server and client auth.
pub fn generate_identity() -> Result<ServerIdentity, TlsSetupError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName as Dn, DnType,
        ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    };
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .map_err(|e| TlsSetupError::Generate(e.to_string()))?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])
        .map_err(|e| TlsSetupError::Generate(e.to_string()))?;
    let mut dn = Dn::new();
    dn.push(DnType::CommonName, "localhost");
    dn.push(DnType::OrganizationName, "terraform-provider");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(1);
    params.not_after = now + time::Duration::days(365 * 30);
    let cert = params
        .self_signed(&key)
        .map_err(|e| TlsSetupError::Generate(e.to_string()))?;
    Ok(ServerIdentity {
        cert: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    })
}

/// Parses the PEM certificate Terraform put in `PLUGIN_CLIENT_CERT`.
pub fn parse_client_cert(pem: &str) -> Result<CertificateDer<'static>, TlsSetupError> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| TlsSetupError::ClientCert(e.to_string()))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The server TLS configuration: our identity, only the pinned client, h2.
pub fn server_config(
    identity: &ServerIdentity,
    pinned_client: CertificateDer<'static>,
) -> Result<ServerConfig, TlsSetupError> {
    let provider = provider();
    let verifier = PinnedClientCert {
        pinned: pinned_client,
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Config(e.to_string()))?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![identity.cert.clone()], identity.key.clone_key())
        .map_err(|e| TlsSetupError::Config(e.to_string()))?;
    // grpc-go (Terraform 1.12+) refuses a TLS server that does not negotiate h2.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Accepts one client certificate, byte for byte.
#[derive(Debug)]
struct PinnedClientCert {
    pinned: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        if end_entity.as_ref() == self.pinned.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_lists_p521_so_go_sends_its_certificate() {
        let id = generate_identity().unwrap();
        let v = PinnedClientCert {
            pinned: id.cert.clone(),
            algorithms: provider().signature_verification_algorithms,
        };
        assert!(
            v.supported_verify_schemes()
                .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
        );
        assert!(v.verify_client_cert(&id.cert, &[], UnixTime::now()).is_ok());
        let other = generate_identity().unwrap();
        assert!(
            v.verify_client_cert(&other.cert, &[], UnixTime::now())
                .is_err()
        );
    }
}
