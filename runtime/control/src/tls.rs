//! HTTPS for the API: when `[control] tls_cert` and `tls_key` are set, the same router is served
//! over TLS (rustls, ring provider) instead of plain HTTP; with `tls_client_ca`, clients must
//! also present a certificate that CA signed (mutual TLS).
//!
//! [`TlsSetup::load`] reads and checks the PEM files up front, so that `linevisor run` refuses to
//! start (before a drive is touched) with an error naming the file and what is wrong with it.
//! [`TlsSetup::reload`] reads the same files again (SIGHUP: a renewed certificate) and swaps the
//! certificate in for new connections; the running ones and the drives are not touched.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

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
    /// The client CA file holds no usable certificate.
    #[error("TLS client CA {path}: {message}")]
    ClientCa {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// A checked certificate chain and key (and client CA), ready to serve; reloadable.
#[derive(Debug, Clone)]
pub struct TlsSetup {
    config: Arc<ServerConfig>,
    cert: PathBuf,
    key: PathBuf,
    current: Arc<ArcSwap<CertifiedKey>>,
    mutual: bool,
}

/// Hands every new connection the certificate loaded last.
#[derive(Debug)]
struct Current(Arc<ArcSwap<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The chain and key of `cert` and `key`, checked to belong together.
fn certified(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let chain = read_chain(cert)?;
    let private = read_key(key)?;
    CertifiedKey::from_der(chain, private, &provider()).map_err(|e| match e {
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
    })
}

impl TlsSetup {
    /// Reads the PEM certificate chain (leaf first) and the PEM private key (PKCS#8, PKCS#1 or
    /// SEC1), and checks that the key belongs to the certificate. With `client_ca`, clients
    /// must present a certificate signed by one of its CA certificates.
    pub fn load(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<Self, TlsError> {
        let current = Arc::new(ArcSwap::from_pointee(certified(cert, key)?));
        let rejected = |e: rustls::Error| TlsError::Rejected {
            cert: cert.display().to_string(),
            key: key.display().to_string(),
            message: e.to_string(),
        };
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(rejected)?;
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => builder.with_client_cert_verifier(client_verifier(ca)?),
        };
        let mut config = builder.with_cert_resolver(Arc::new(Current(Arc::clone(&current))));
        // The API is HTTP/1 (SSE included); say so in ALPN so clients do not try h2 first.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            cert: cert.to_owned(),
            key: key.to_owned(),
            current,
            mutual: client_ca.is_some(),
        })
    }

    /// Reads the certificate and key files again and serves the new pair to new connections.
    /// On any error the pair in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = certified(&self.cert, &self.key)?;
        self.current.store(Arc::new(fresh));
        Ok(())
    }

    /// The certificate file it was loaded from (for the startup line).
    pub fn cert_path(&self) -> &Path {
        &self.cert
    }

    /// True when clients must present a certificate.
    pub fn mutual(&self) -> bool {
        self.mutual
    }

    /// The rustls config of the server.
    pub(crate) fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }
}

fn client_verifier(
    ca: &Path,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let bad = |message: String| TlsError::ClientCa {
        path: ca.display().to_string(),
        message,
    };
    let mut roots = rustls::RootCertStore::empty();
    for c in read_chain(ca)? {
        roots
            .add(c)
            .map_err(|e| bad(format!("not a CA certificate: {e}")))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| bad(e.to_string()))
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
