//! HTTPS for the API: when `[control] tls_cert` and `tls_key` are set, the same router is served
//! over TLS (rustls, ring provider) instead of plain HTTP.
//!
//! [`TlsSetup::load`] reads and checks both PEM files up front, so that `linevisor run` refuses to
//! start (before a drive is touched) with an error naming the file and what is wrong with it;
//! [`serve_tls`] then serves until `stop` completes.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

/// Open connections (an SSE stream, a slow client) get this long to finish after `stop`.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A client that connects and says nothing is dropped after this long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the API cannot be served over TLS. Each names the file and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file cannot be read.
    #[error("TLS {what} {path}: cannot read: {source}")]
    Read {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The certificate file holds no `CERTIFICATE` PEM block.
    #[error(
        "TLS certificate {path}: no certificate in PEM (expected a \"-----BEGIN CERTIFICATE-----\" block)"
    )]
    NoCertificate {
        /// The file.
        path: String,
    },
    /// The key file holds no private key PEM block.
    #[error(
        "TLS key {path}: no private key in PEM (expected \"-----BEGIN PRIVATE KEY-----\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\")"
    )]
    NoKey {
        /// The file.
        path: String,
    },
    /// A PEM block is malformed (missing end marker, bad base64...).
    #[error("TLS {what} {path}: bad PEM: {message}")]
    Pem {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: String,
        /// The decoder's message.
        message: String,
    },
    /// The key is not the certificate's.
    #[error("TLS key {key} does not match the certificate {cert} (its public key differs)")]
    Mismatch {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
    },
    /// rustls refused the pair for another reason (e.g. an unsupported key type).
    #[error("TLS certificate {cert} / key {key}: {message}")]
    Rejected {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
        /// rustls' reason.
        message: String,
    },
    /// The server failed while running.
    #[error("API server (HTTPS): {0}")]
    Serve(#[source] std::io::Error),
}

/// A checked certificate chain and key, ready to serve.
#[derive(Debug, Clone)]
pub struct TlsSetup {
    config: Arc<ServerConfig>,
    cert: PathBuf,
}

impl TlsSetup {
    /// Reads the PEM certificate chain (leaf first) and the PEM private key (PKCS#8, PKCS#1 or
    /// SEC1), and checks that the key belongs to the certificate.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let chain = read_chain(cert)?;
        let private = read_key(key)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let rejected = |e: rustls::Error| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                TlsError::Mismatch {
                    cert: cert.display().to_string(),
                    key: key.display().to_string(),
                }
            }
            other => TlsError::Rejected {
                cert: cert.display().to_string(),
                key: key.display().to_string(),
                message: other.to_string(),
            },
        };
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(rejected)?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(rejected)?;
        // The API is HTTP/1 (SSE included); say so in ALPN so clients do not try h2 first.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            cert: cert.to_owned(),
        })
    }

    /// The certificate file it was loaded from (for the startup line).
    pub fn cert_path(&self) -> &Path {
        &self.cert
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.display().to_string(),
        source,
    })
}

fn bad_pem(what: &'static str, path: &Path, e: &rustls_pki_types::pem::Error) -> TlsError {
    TlsError::Pem {
        what,
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read("certificate", path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_pem("certificate", path, &e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.display().to_string(),
        });
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read("key", path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.display().to_string(),
        },
        other => bad_pem("key", path, &other),
    })
}

/// Serves `router` over HTTPS on `listener` until `stop` completes; then open connections get
/// [`SHUTDOWN_GRACE`] to finish before they are closed.
pub async fn serve_tls(
    router: Router,
    listener: TcpListener,
    tls: &TlsSetup,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TlsError> {
    let handle: Handle<std::net::SocketAddr> = Handle::new();
    let on_stop = handle.clone();
    tokio::spawn(async move {
        stop.await;
        on_stop.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    let acceptor = RustlsAcceptor::new(RustlsConfig::from_config(tls.config.clone()))
        .handshake_timeout(HANDSHAKE_TIMEOUT);
    axum_server::Server::from_listener(listener)
        .acceptor(acceptor)
        .handle(handle)
        .serve(router.into_make_service())
        .await
        .map_err(TlsError::Serve)
}
