//! Control-plane rows: clients that misbehave against `linevisor run`'s API over a running demo
//! line (real sockets on port 0, real time). Every drive is a neighbour here: none may miss a
//! cycle while the API is attacked.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use linevisor_config::{DEMO_LINE, DEMO_LINE_NAME, check_text};
use linevisor_control::server::Limits;
use linevisor_control::{ControlOptions, ControlPlane};
use linevisor_line::{LineOptions, RunningLine};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::report::{Row, soak};

const GUARD: Duration = Duration::from_secs(60);

struct Fixture {
    line: Arc<RunningLine>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Fixture {
    /// The demo line, ready, under an API served with `limits`.
    async fn start(limits: Limits) -> Self {
        let valid = check_text(DEMO_LINE_NAME, DEMO_LINE, None)
            .line
            .expect("demo line");
        let line = Arc::new(
            RunningLine::start(&valid, LineOptions::default())
                .await
                .expect("start"),
        );
        let control = Arc::new(ControlPlane::new(line.clone(), ControlOptions::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            control
                .serve(listener, None, limits, async {
                    let _ = stopped.await;
                })
                .await;
        });
        let f = Self {
            line,
            addr,
            stop: Some(stop),
            server: Some(server),
        };
        // Every drive past start-up.
        let deadline = Instant::now() + GUARD;
        loop {
            let snap = f.snapshot().await;
            if snap.values().all(|(state, _, _)| state != "initializing") {
                break;
            }
            assert!(Instant::now() < deadline, "drives never ready: {snap:?}");
        }
        f
    }

    /// Each drive's state, cycles and missed cycles, from its next sample.
    async fn snapshot(&self) -> BTreeMap<String, (String, u64, u64)> {
        let mut out = BTreeMap::new();
        for (id, d) in self.line.drives() {
            let mut rx = d.channels.telemetry.subscribe();
            let s = loop {
                match tokio::time::timeout(GUARD, rx.recv()).await {
                    Ok(Ok(s)) => break s,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
                    other => panic!("{id}: no sample: {other:?}"),
                }
            };
            out.insert(
                id,
                (s.state.name().to_owned(), s.stats.cycles, s.stats.missed),
            );
        }
        out
    }

    async fn finish(mut self, row: &mut Row, before: &BTreeMap<String, (String, u64, u64)>) {
        let after = self.snapshot().await;
        for (id, (_, c, m)) in &after {
            let (_, c0, m0) = &before[id];
            row.neighbour_cycles += c - c0;
            row.neighbour_missed += m - m0;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(GUARD, server)
                .await
                .expect("the API stops within its grace")
                .expect("join");
        }
        self.line.shutdown().await.expect("clean stop");
    }
}

/// One HTTP/1.1 request on a new connection: status and body, or the I/O error.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut tcp = TcpStream::connect(addr).await?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).await?;
    // A server that refuses early may close before reading the whole body.
    let _ = tcp.write_all(body).await;
    let mut out = Vec::new();
    tokio::time::timeout(GUARD, tcp.read_to_end(&mut out))
        .await
        .map_err(|_| std::io::Error::other("no answer"))??;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((status, body))
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// A drive command; answered = any HTTP answer with a JSON reason or ok.
async fn command(addr: SocketAddr, row: &mut Row) {
    row.commands += 1;
    let path = "/api/v1/drives/infeed-conveyor/commands";
    if let Ok((status, body)) = request(addr, "POST", path, &[JSON], br#"{"command":"stop"}"#).await
        && (status == 200 || body.contains("\"message\""))
    {
        row.answered += 1;
    }
}

fn rounds() -> u32 {
    soak().map_or(1, |d| (d.as_secs() / 5).max(1) as u32)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris() {
    let f = Fixture::start(Limits {
        header_timeout: Duration::from_secs(1),
        ..Limits::default()
    })
    .await;
    let before = f.snapshot().await;
    let mut row = Row {
        layer: "control",
        fault: "slowloris (100 clients sending headers byte by byte)",
        ..Row::default()
    };
    for _ in 0..rounds() {
        row.rounds += 1;
        let mut slow = Vec::new();
        for _ in 0..100 {
            let mut c = TcpStream::connect(f.addr).await.expect("connect");
            c.write_all(b"POST /api/v1/drives/infeed-conveyor/commands HTTP/1.1\r\nX-")
                .await
                .expect("write");
            slow.push(c);
        }
        let start = Instant::now();
        for _ in 0..10 {
            command(f.addr, &mut row).await;
        }
        // Recovery: until the server has dropped every slow client (their slots are back).
        for c in &mut slow {
            let mut buf = [0u8; 256];
            loop {
                match tokio::time::timeout(GUARD, c.read(&mut buf)).await {
                    Ok(Ok(0) | Err(_)) => break,
                    Ok(Ok(_)) => {}
                    Err(_) => panic!("a slow client was never dropped"),
                }
            }
        }
        row.recovery = Some(start.elapsed());
    }
    f.finish(&mut row, &before).await;
    row.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_idle_connections() {
    let f = Fixture::start(Limits::default()).await;
    let before = f.snapshot().await;
    let mut row = Row {
        layer: "control",
        fault: "2000 idle connections",
        ..Row::default()
    };
    for _ in 0..rounds() {
        row.rounds += 1;
        let mut idle = Vec::new();
        for _ in 0..2000 {
            idle.push(
                TcpStream::connect(f.addr)
                    .await
                    .expect("connect (raise ulimit -n?)"),
            );
        }
        // Every command gets an answer: ok, or 503 with the reason while the slots are held.
        for _ in 0..10 {
            command(f.addr, &mut row).await;
        }
        drop(idle);
        let end = Instant::now();
        loop {
            let path = "/api/v1/line";
            if let Ok((200, _)) = request(f.addr, "GET", path, &[], b"").await {
                break;
            }
            assert!(end.elapsed() < GUARD, "the API never came back");
            tokio::task::yield_now().await;
        }
        row.recovery = Some(end.elapsed());
    }
    f.finish(&mut row, &before).await;
    row.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_deeply_nested_bodies() {
    let f = Fixture::start(Limits::default()).await;
    let before = f.snapshot().await;
    let mut row = Row {
        layer: "control",
        fault: "huge and deeply nested bodies",
        ..Row::default()
    };
    let toml = ("Content-Type", "application/toml");
    let nested_json = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let nested_toml = format!("a = {}{}\n", "[".repeat(400_000), "]".repeat(400_000));
    // Method, path, content type, body, the status that must answer it.
    type Case<'a> = (&'a str, &'a str, (&'a str, &'a str), Vec<u8>, u16);
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/v1/drives/infeed-conveyor/commands",
            JSON,
            vec![b' '; 10 << 20],
            413,
        ),
        (
            "POST",
            "/api/v1/config/plan",
            toml,
            vec![b'#'; 2 << 20],
            413,
        ),
        (
            "POST",
            "/api/v1/drives/infeed-conveyor/commands",
            JSON,
            nested_json.into_bytes(),
            400,
        ),
        (
            "POST",
            "/api/v1/config/plan",
            toml,
            nested_toml.into_bytes(),
            422,
        ),
    ];
    for _ in 0..rounds() {
        row.rounds += 1;
        for (method, path, ct, body, want) in &cases {
            row.commands += 1;
            let (status, answer) = request(f.addr, method, path, &[*ct], body)
                .await
                .unwrap_or_else(|e| panic!("{path}: no answer: {e}"));
            assert_eq!(status, *want, "{path}: {answer}");
            assert!(answer.contains("\"message\""), "{answer}");
            row.answered += 1;
        }
    }
    f.finish(&mut row, &before).await;
    row.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_requests() {
    let f = Fixture::start(Limits::default()).await;
    let before = f.snapshot().await;
    let mut row = Row {
        layer: "control",
        fault: "CSRF and DNS rebinding attempts",
        ..Row::default()
    };
    let path = "/api/v1/drives/infeed-conveyor/commands";
    let enable = br#"{"command":"enable"}"#;
    for _ in 0..rounds() {
        row.rounds += 1;
        let attempts: [&[(&str, &str)]; 4] = [
            &[
                ("Content-Type", "text/plain"),
                ("Origin", "http://evil.example"),
            ],
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &[JSON, ("Origin", "http://evil.example")],
            &[JSON, ("Sec-Fetch-Site", "cross-site")],
        ];
        for h in attempts {
            row.commands += 1;
            let (status, body) = request(f.addr, "POST", path, h, enable)
                .await
                .expect("answer");
            assert!(status == 403 || status == 415, "{h:?}: {status} {body}");
            row.answered += 1;
        }
        // Rebinding: the right address, a foreign name.
        let mut tcp = TcpStream::connect(f.addr).await.expect("connect");
        tcp.write_all(
            b"GET /api/v1/line HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        )
        .await
        .expect("write");
        let mut out = String::new();
        tcp.read_to_string(&mut out).await.expect("read");
        assert!(out.starts_with("HTTP/1.1 403"), "{out}");
    }
    let snap = f.snapshot().await;
    assert_ne!(
        snap["infeed-conveyor"].0, "operation_enabled",
        "a cross-site request moved it"
    );
    f.finish(&mut row, &before).await;
    row.finish();
}
