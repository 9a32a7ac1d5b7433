//! The HTTP client of the CLI subcommands (`linevisor status`, `drive`, `restart`, `events`,
//! `plan`, `apply`, ...): HTTP/1.1 over one TCP connection per call, JSON in and out, the API's
//! error message on failure. HTTPS when the address says `https://`, trusting only the CA
//! certificate given with [`Client::with_ca`] (a gateway's certificate is rarely public).

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// Why a call to the API failed; each renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The address is not `host:port`, `http://host:port` or `https://host:port`.
    #[error("API address {0:?} is not host:port, http://host:port or https://host:port")]
    Address(String),
    /// HTTPS without a CA certificate to trust, or one that cannot be read.
    #[error("{0}")]
    Tls(String),
    /// No connection.
    #[error("cannot reach the API at {addr}: {source}")]
    Connect {
        /// host:port.
        addr: String,
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("API at {addr}: {source}")]
    Http {
        /// host:port.
        addr: String,
        source: hyper::Error,
    },
    /// The request could not be built (bad header value, e.g. the token).
    #[error("cannot build the request: {0}")]
    Request(String),
    /// The API answered with an error.
    #[error("{status}: {message}")]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// The API's `message` (or the body).
        message: String,
    },
    /// The answer is not JSON.
    #[error("API answered with something that is not JSON: {0}")]
    Json(String),
}

/// A client of one linevisor instance.
#[derive(Debug, Clone)]
pub struct Client {
    addr: String,
    token: Option<String>,
    https: bool,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

/// The stream under HTTP: TCP, or TLS over TCP.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Io for T {}

impl Client {
    /// `api` is `host:port` or `http://host:port`; `token` goes in `Authorization: Bearer`.
    pub fn new(api: &str, token: Option<String>) -> Result<Self, ClientError> {
        let https = api.starts_with("https://");
        let addr = api
            .strip_prefix("https://")
            .or_else(|| api.strip_prefix("http://"))
            .unwrap_or(api)
            .trim_end_matches('/')
            .to_owned();
        if addr.is_empty() || addr.contains('/') || !addr.contains(':') {
            return Err(ClientError::Address(api.to_owned()));
        }
        Ok(Self {
            addr,
            token,
            https,
            tls: None,
        })
    }

    /// Trust the CA certificate(s) in PEM file `ca` for an `https://` address (and only those).
    pub fn with_ca(mut self, ca: &std::path::Path) -> Result<Self, ClientError> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject as _;
        let fail = |m: String| ClientError::Tls(format!("CA certificate {}: {m}", ca.display()));
        let bytes = std::fs::read(ca).map_err(|e| fail(e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&bytes) {
            let cert = cert.map_err(|e| fail(e.to_string()))?;
            roots.add(cert).map_err(|e| fail(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(fail("no certificate in the file".into()));
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        self.tls = Some(std::sync::Arc::new(config));
        Ok(self)
    }

    async fn connect(&self) -> Result<Box<dyn Io>, ClientError> {
        let tcp = TcpStream::connect(&self.addr)
            .await
            .map_err(|source| ClientError::Connect {
                addr: self.addr.clone(),
                source,
            })?;
        if !self.https {
            return Ok(Box::new(tcp));
        }
        let Some(config) = &self.tls else {
            return Err(ClientError::Tls(format!(
                "https://{} needs the CA certificate to trust (--ca FILE or LINEVISOR_CA)",
                self.addr
            )));
        };
        let host = self
            .addr
            .rsplit_once(':')
            .map_or(self.addr.as_str(), |(h, _)| h)
            .trim_start_matches('[')
            .trim_end_matches(']');
        let name = rustls_pki_types::ServerName::try_from(host.to_owned())
            .map_err(|e| ClientError::Tls(format!("server name {host:?}: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(config.clone())
            .connect(name, tcp)
            .await
            .map_err(|source| ClientError::Connect {
                addr: format!("https://{}", self.addr),
                source,
            })?;
        Ok(Box::new(tls))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Bytes)>,
    ) -> Result<Response<Incoming>, ClientError> {
        let stream = self.connect().await?;
        let http = |source| ClientError::Http {
            addr: self.addr.clone(),
            source,
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http)?;
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.addr)
            .header(ACCEPT, "application/json, text/event-stream");
        if let Some(t) = &self.token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match body {
            Some((content_type, bytes)) => {
                req = req.header(CONTENT_TYPE, content_type);
                Full::new(bytes)
            }
            None => Full::new(Bytes::new()),
        };
        let req = req
            .body(body)
            .map_err(|e| ClientError::Request(e.to_string()))?;
        let resp = sender.send_request(req).await.map_err(http)?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let bytes = resp.into_body().collect().await.map_err(http)?.to_bytes();
        let message = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_owned());
        Err(ClientError::Api { status, message })
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Bytes)>,
    ) -> Result<Value, ClientError> {
        let resp = self.send(method, path, body).await?;
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|source| ClientError::Http {
                addr: self.addr.clone(),
                source,
            })?
            .to_bytes();
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Json(e.to_string()))
    }

    /// `GET path`, JSON answer.
    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.json(Method::GET, path, None).await
    }

    /// `GET path`, text answer (e.g. the running config as TOML).
    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let resp = self.send(Method::GET, path, None).await?;
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|source| ClientError::Http {
                addr: self.addr.clone(),
                source,
            })?
            .to_bytes();
        String::from_utf8(bytes.to_vec()).map_err(|e| ClientError::Json(e.to_string()))
    }

    /// `POST path` with an optional JSON body, JSON answer.
    pub async fn post(&self, path: &str, body: Option<&Value>) -> Result<Value, ClientError> {
        let body = body.map(|v| ("application/json", Bytes::from(v.to_string())));
        self.json(Method::POST, path, body).await
    }

    /// `POST path` with a config (TOML) body, JSON answer.
    pub async fn post_toml(&self, path: &str, text: String) -> Result<Value, ClientError> {
        let body = Some(("application/toml", Bytes::from(text)));
        self.json(Method::POST, path, body).await
    }

    /// `DELETE path`, JSON answer.
    pub async fn delete(&self, path: &str) -> Result<Value, ClientError> {
        self.json(Method::DELETE, path, None).await
    }

    /// Follows `GET /api/v1/events`, calling `on_event` with each event's JSON text until it
    /// returns `false` or the server ends the stream.
    pub async fn follow(&self, mut on_event: impl FnMut(&str) -> bool) -> Result<(), ClientError> {
        let mut body = self
            .send(Method::GET, "/api/v1/events", None)
            .await?
            .into_body();
        let mut buf = String::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|source| ClientError::Http {
                addr: self.addr.clone(),
                source,
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            buf.push_str(&String::from_utf8_lossy(&data));
            while let Some(end) = buf.find("\n\n") {
                let event: String = buf.drain(..end + 2).collect();
                for line in event.lines() {
                    if let Some(d) = line.strip_prefix("data:")
                        && !on_event(d.trim_start())
                    {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }
}
