//! The API's own server under clients that misbehave, on real sockets (port 0): a connection
//! beyond the limit is answered 503 at once and the others are served; a client that sends headers
//! slowly (slowloris) is dropped; a stop returns within the grace period whatever the clients
//! do. Waits are event-driven; timeouts only guard hangs.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use linevisor_control::server::{Limits, ServerStats, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const GUARD: Duration = Duration::from_secs(30);

fn router() -> Router {
    Router::new()
        .route("/ping", get(|| async { "pong" }))
        .route("/hang", get(std::future::pending::<&'static str>))
}

struct Running {
    addr: std::net::SocketAddr,
    stats: Arc<ServerStats>,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

async fn start(limits: Limits) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stats = Arc::new(ServerStats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let st = Arc::clone(&stats);
    let done = tokio::spawn(serve(router(), listener, None, limits, st, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stats,
        stop,
        done,
    }
}

/// One request on `tcp`; the whole answer (the server closes after it).
async fn ask(tcp: &mut TcpStream, path: &str) -> String {
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    tokio::time::timeout(GUARD, tcp.read_to_string(&mut out))
        .await
        .expect("an answer")
        .expect("read");
    out
}

/// Reads until the server closes the connection; the bytes it sent.
async fn until_closed(tcp: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(GUARD, tcp.read_to_end(&mut out)).await;
    match read {
        Ok(Ok(_)) => out,
        // A reset is a close too.
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => out,
        other => panic!("the connection was not closed: {other:?}"),
    }
}

#[tokio::test]
async fn a_connection_beyond_the_limit_is_answered_503_and_the_others_are_served() {
    let s = start(Limits {
        max_connections: 8,
        header_timeout: GUARD,
        ..Limits::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(TcpStream::connect(s.addr).await.expect("connect"));
    }
    // The server takes connections in order: the 9th finds every slot held.
    while s.stats.accepted.load(Ordering::Relaxed) < 8 {
        tokio::task::yield_now().await;
    }
    let mut ninth = TcpStream::connect(s.addr).await.expect("connect");
    let refused = String::from_utf8(until_closed(&mut ninth).await).expect("text");
    assert!(
        refused.starts_with("HTTP/1.1 503")
            && refused.contains("too many API connections open (8)"),
        "{refused}"
    );
    assert_eq!(s.stats.refused_full.load(Ordering::Relaxed), 1);
    // A held connection is still served; once it closes, a new one is accepted.
    let answer = ask(&mut idle[0], "/ping").await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("pong"),
        "{answer}"
    );
    drop(idle.remove(0));
    loop {
        let mut c = TcpStream::connect(s.addr).await.expect("connect");
        if ask(&mut c, "/ping").await.ends_with("pong") {
            break;
        }
        // The freed slot is returned when the server notices the close: try again.
        tokio::task::yield_now().await;
    }
    s.stop.send(()).expect("stop");
    tokio::time::timeout(GUARD, s.done)
        .await
        .expect("stopped")
        .expect("join");
}

#[tokio::test]
async fn a_client_sending_its_headers_slowly_is_dropped() {
    let s = start(Limits {
        header_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let mut slow = TcpStream::connect(s.addr).await.expect("connect");
    slow.write_all(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .expect("write");
    let sent = until_closed(&mut slow).await;
    let text = String::from_utf8_lossy(&sent);
    assert!(
        sent.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    // Others are served meanwhile and after.
    let mut ok = TcpStream::connect(s.addr).await.expect("connect");
    assert!(ask(&mut ok, "/ping").await.ends_with("pong"));
    s.stop.send(()).expect("stop");
    tokio::time::timeout(GUARD, s.done)
        .await
        .expect("stopped")
        .expect("join");
}

#[tokio::test]
async fn a_stop_returns_within_the_grace_whatever_the_clients_do() {
    let s = start(Limits {
        grace: Duration::from_millis(200),
        header_timeout: GUARD,
        ..Limits::default()
    })
    .await;
    // One request that never completes, one idle connection, one half-sent request.
    let mut hanging = TcpStream::connect(s.addr).await.expect("connect");
    hanging
        .write_all(b"GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("write");
    let _idle = TcpStream::connect(s.addr).await.expect("connect");
    let mut half = TcpStream::connect(s.addr).await.expect("connect");
    half.write_all(b"POST /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nab")
        .await
        .expect("write");
    while s.stats.accepted.load(Ordering::Relaxed) < 3 {
        tokio::task::yield_now().await;
    }
    s.stop.send(()).expect("stop");
    tokio::time::timeout(GUARD, s.done)
        .await
        .expect("serve returned despite the clients")
        .expect("join");
    // Their connections are closed, and nothing listens any more.
    until_closed(&mut hanging).await;
    assert!(TcpStream::connect(s.addr).await.is_err(), "still listening");
}
