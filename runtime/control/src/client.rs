//! The HTTP client of the CLI subcommands (`linevisor status`, `drive`, `restart`, `events`):
//! HTTP/1.1 over one TCP connection per call, JSON in and out, the API's error message on
//! failure. Plain HTTP only, like the server for now.

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
    /// The address is not `host:port` or `http://host:port`.
    #[error("API address {0:?} is not host:port or http://host:port")]
    Address(String),
    /// No connection.
    #[error("cannot reach the API at {addr}: {source}")]
    Connect {
        /// host:port.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("API at {addr}: {source}")]
    Http {
        /// host:port.
        addr: String,
        /// Why.
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
}

impl Client {
    /// `api` is `host:port` or `http://host:port`; `token` goes in `Authorization: Bearer`.
    pub fn new(api: &str, token: Option<String>) -> Result<Self, ClientError> {
        let addr = api
            .strip_prefix("http://")
            .unwrap_or(api)
            .trim_end_matches('/')
            .to_owned();
        if addr.is_empty() || addr.contains('/') || !addr.contains(':') {
            return Err(ClientError::Address(api.to_owned()));
        }
        Ok(Self { addr, token })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Bytes)>,
    ) -> Result<Response<Incoming>, ClientError> {
        let stream =
            TcpStream::connect(&self.addr)
                .await
                .map_err(|source| ClientError::Connect {
                    addr: self.addr.clone(),
                    source,
                })?;
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
