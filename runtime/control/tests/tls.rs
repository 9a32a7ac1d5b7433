//! HTTPS serving: a self-signed certificate made in the test, a client that trusts only it, a
//! plain-HTTP client that must fail, and the errors for bad PEM files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use linevisor_control::server::{Limits, ServerStats};
use linevisor_control::tls::{TlsError, TlsSetup};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::{TcpListener, TcpStream};

/// A fresh folder for one test's files.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("linevisor-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A self-signed certificate for `localhost` and 127.0.0.1, written as cert.pem and key.pem.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf, CertificateDer<'static>) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    (cert, key, ck.cert.der().clone())
}

/// The API's server over HTTPS with default limits, until `stop`.
async fn serve_tls(
    router: Router,
    listener: TcpListener,
    tls: &TlsSetup,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let stats = Arc::new(ServerStats::default());
    linevisor_control::server::serve(
        router,
        listener,
        Some(tls.clone()),
        Limits::default(),
        stats,
        stop,
    )
    .await;
}

fn router() -> Router {
    Router::new().route("/ping", get(|| async { "pong" }))
}

fn request() -> hyper::Request<Empty<Bytes>> {
    hyper::Request::get("/ping")
        .header("host", "localhost")
        .body(Empty::new())
        .unwrap()
}

/// GET /ping over TLS, trusting only `trusted`.
async fn get_https(addr: std::net::SocketAddr, trusted: CertificateDer<'static>) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let resp = send.send_request(request()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn serves_https_refuses_plain_http_and_stops() {
    let d = dir("serve");
    let (cert, key, der) = self_signed(&d);
    let setup = TlsSetup::load(&cert, &key, None).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve_tls(router(), listener, &setup, async {
            let _ = stopped.await;
        })
        .await
    });

    assert_eq!(get_https(addr, der).await, "pong");

    // A plain-HTTP request on the HTTPS port gets no HTTP response.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let plain = send.send_request(request()).await;
    assert!(plain.is_err(), "plain HTTP got an answer: {plain:?}");

    stop.send(()).unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_fails() {
    let d = dir("untrusted");
    let (cert, key, _) = self_signed(&d);
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let setup = TlsSetup::load(&cert, &key, None).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve_tls(router(), listener, &setup, async {
            let _ = stopped.await;
        })
        .await
    });
    let mut roots = rustls::RootCertStore::empty();
    roots.add(other.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await;
    let err = tls.expect_err("handshake with an untrusted certificate succeeded");
    assert!(err.to_string().contains("certificate"), "{err}");
    stop.send(()).unwrap();
    server.await.unwrap();
}

fn load_err(cert: &Path, key: &Path) -> TlsError {
    TlsSetup::load(cert, key, None).expect_err("bad files were accepted")
}

#[test]
fn bad_files_give_errors_that_name_the_file() {
    let d = dir("bad");
    let (cert, key, _) = self_signed(&d);
    let missing = d.join("missing.pem");
    let garbage = d.join("garbage.pem");
    std::fs::write(&garbage, "this is not PEM\n").unwrap();
    let truncated = d.join("truncated.pem");
    let text = std::fs::read_to_string(&cert).unwrap();
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let other_key = d.join("other-key.pem");
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(&other_key, other.signing_key.serialize_pem()).unwrap();

    let e = load_err(&missing, &key);
    assert!(
        matches!(
            e,
            TlsError::Read {
                what: "certificate",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("missing.pem"), "{e}");

    let e = load_err(&garbage, &key);
    assert!(matches!(e, TlsError::NoCertificate { .. }), "{e}");
    assert!(e.to_string().contains("garbage.pem"), "{e}");

    let e = load_err(&truncated, &key);
    assert!(
        matches!(
            e,
            TlsError::Pem {
                what: "certificate",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("truncated.pem"), "{e}");

    // The certificate file given as the key: it holds no private key.
    let e = load_err(&cert, &cert);
    assert!(matches!(e, TlsError::NoKey { .. }), "{e}");
    assert!(e.to_string().contains("cert.pem"), "{e}");

    let e = load_err(&cert, &other_key);
    assert!(matches!(e, TlsError::Mismatch { .. }), "{e}");
    assert!(e.to_string().contains("other-key.pem"), "{e}");
    assert!(e.to_string().contains("does not match"), "{e}");

    assert!(TlsSetup::load(&cert, &key, None).is_ok());
}

/// A JSON route, as the CLI client expects answers.
fn json_router() -> Router {
    Router::new().route(
        "/api/v1/line",
        get(|| async { axum::Json(serde_json::json!({"line": "tls"})) }),
    )
}

#[tokio::test]
async fn the_cli_client_speaks_https_trusting_only_its_ca() {
    use linevisor_control::client::{Client, ClientError};
    let d = dir("client");
    let (cert, key, _) = self_signed(&d);
    let setup = TlsSetup::load(&cert, &key, None).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve_tls(json_router(), listener, &setup, async {
            let _ = stopped.await;
        })
        .await
    });
    let api = format!("https://{addr}");
    let client = Client::new(&api, None).unwrap().with_ca(&cert).unwrap();
    assert_eq!(client.get("/api/v1/line").await.unwrap()["line"], "tls");

    // No CA: refused before connecting, with what to do.
    let err = Client::new(&api, None)
        .unwrap()
        .get("/api/v1/line")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Tls(m) if m.contains("--ca")),
        "{err}"
    );
    // Another CA: the handshake fails.
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let other_pem = d.join("other.pem");
    std::fs::write(&other_pem, other.cert.pem()).unwrap();
    let untrusting = Client::new(&api, None)
        .unwrap()
        .with_ca(&other_pem)
        .unwrap();
    let err = untrusting.get("/api/v1/line").await.unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err}");
    // A file without a certificate names the file.
    let err = Client::new(&api, None).unwrap().with_ca(&key).unwrap_err();
    assert!(err.to_string().contains("key.pem"), "{err}");

    stop.send(()).unwrap();
    server.await.unwrap();
}

/// A CA and a client certificate it signed (cert PEM, key PEM), for mutual TLS.
fn client_ca_and_cert(dir: &Path) -> (PathBuf, rcgen::Certificate, rcgen::KeyPair) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let ca_pem = dir.join("client-ca.pem");
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    let client_key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["scada".to_owned()]).unwrap();
    let client = params.signed_by(&client_key, &ca).unwrap();
    (ca_pem, client, client_key)
}

/// A TLS client trusting `trusted`, presenting `identity` when given.
fn client_config(
    trusted: CertificateDer<'static>,
    identity: Option<(&rcgen::Certificate, &rcgen::KeyPair)>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
            builder
                .with_client_auth_cert(vec![cert.der().clone()], key)
                .unwrap()
        }
    })
}

/// GET /ping with `config`: the status, or the error text.
async fn ping_with(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<u16, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let resp = send
        .send_request(request())
        .await
        .map_err(|e| e.to_string())?;
    Ok(resp.status().as_u16())
}

#[tokio::test]
async fn with_a_client_ca_only_clients_holding_its_certificate_are_served() {
    let d = dir("mutual");
    let (cert, key, der) = self_signed(&d);
    let (ca, client, client_key) = client_ca_and_cert(&d);
    let setup = TlsSetup::load(&cert, &key, Some(&ca)).unwrap();
    assert!(setup.mutual());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve_tls(router(), listener, &setup, async {
            let _ = stopped.await;
        })
        .await
    });
    let with = client_config(der.clone(), Some((&client, &client_key)));
    assert_eq!(ping_with(addr, with).await, Ok(200));
    // Without a certificate: TLS 1.3 reports the refusal on the first read.
    let without = client_config(der.clone(), None);
    assert!(ping_with(addr, without).await.is_err());
    // A certificate from another CA.
    let (_, stranger, stranger_key) = client_ca_and_cert(&dir("mutual-other"));
    let other = client_config(der, Some((&stranger, &stranger_key)));
    assert!(ping_with(addr, other).await.is_err());
    stop.send(()).unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn a_renewed_certificate_is_served_after_reload_and_a_bad_one_is_not_taken() {
    let d = dir("reload");
    let (cert, key, old) = self_signed(&d);
    let setup = TlsSetup::load(&cert, &key, None).unwrap();
    let reloader = setup.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve_tls(router(), listener, &setup, async {
            let _ = stopped.await;
        })
        .await
    });
    assert_eq!(
        ping_with(addr, client_config(old.clone(), None)).await,
        Ok(200)
    );
    // Renewed in place (same paths), as certbot or a plant PKI would.
    let (_, _, new) = self_signed(&d);
    reloader.reload().unwrap();
    assert_eq!(
        ping_with(addr, client_config(new.clone(), None)).await,
        Ok(200)
    );
    assert!(ping_with(addr, client_config(old, None)).await.is_err());
    // A broken key file: the reload fails by name and the certificate in use stays.
    std::fs::write(&key, "not a key").unwrap();
    let err = reloader.reload().unwrap_err().to_string();
    assert!(err.contains("key.pem"), "{err}");
    assert_eq!(ping_with(addr, client_config(new, None)).await, Ok(200));
    stop.send(()).unwrap();
    server.await.unwrap();
}
