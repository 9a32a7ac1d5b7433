//! TLS to `mqtts://` brokers: the broker's certificate checked against `ca_file` (system roots
//! are not read: a gateway trusts the plant's CA, nothing else), and the client's own
//! certificate when `client_cert` and `client_key` are given. rustls with the ring provider, as
//! the API server uses.

use std::path::Path;
use std::sync::Arc;

use linevisor_config::model::{SparkplugSection, resolve};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::NorthboundError;

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, NorthboundError> {
    std::fs::read(path).map_err(|e| NorthboundError::Config {
        key,
        reason: format!("{}: {e}", path.display()),
    })
}

fn certs(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, NorthboundError> {
    let pem = read(key, path)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| NorthboundError::Config {
            key,
            reason: format!("{}: {e}", path.display()),
        })?;
    if certs.is_empty() {
        return Err(NorthboundError::Config {
            key,
            reason: format!("{}: no PEM certificate in it", path.display()),
        });
    }
    Ok(certs)
}

/// The client config of the section's `mqtts://` brokers.
pub(crate) fn client_config(
    s: &SparkplugSection,
    base: Option<&Path>,
) -> Result<Arc<rustls::ClientConfig>, NorthboundError> {
    let ca = s
        .ca_file
        .as_deref()
        .ok_or_else(|| NorthboundError::Config {
            key: "ca_file",
            reason: "mqtts:// needs ca_file (the CA the broker's certificate is checked against)"
                .into(),
        })?;
    let mut roots = RootCertStore::empty();
    for c in certs("ca_file", &resolve(base, ca))? {
        roots.add(c).map_err(|e| NorthboundError::Config {
            key: "ca_file",
            reason: e.to_string(),
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NorthboundError::Unsupported {
            what: e.to_string(),
        })?
        .with_root_certificates(roots);
    let config = match (&s.client_cert, &s.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certs("client_cert", &resolve(base, cert))?;
            let path = resolve(base, key);
            let pem = read("client_key", &path)?;
            let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| NorthboundError::Config {
                key: "client_key",
                reason: format!("{}: {e}", path.display()),
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| NorthboundError::Config {
                    key: "client_key",
                    reason: e.to_string(),
                })?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}
