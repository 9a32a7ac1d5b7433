//! The isolation proof of issue 6: 100 simulated drives at a 10 ms cycle on four simulated
//! Modbus segments, the control plane served on loopback, and one drive (the victim) disturbed
//! through the HTTP API while the other 99 are watched.
//!
//! Phases, each `LINEVISOR_BENCH_SECONDS` long (default 30 s), disturbances spread evenly:
//! 0. undisturbed reference;
//! 1. `POST /api/v1/drives/d042/restart` 100 times;
//! 2. `POST /api/v1/drives/d042/upgrade` 20 times, alternating sim servo 1.1 / 1.0;
//! 3. `POST /api/v1/config/apply` 20 times, the running config (`GET /api/v1/config`) with only
//!    the victim's `limits.velocity_max` changed;
//! 4. undisturbed again (the machine is shared: its load drifts between phases).
//!
//! Untouched drives, per phase: missed cycles, jitter (completion − schedule) p50/p99 and the
//! p99 ratio to phase 0, set-velocity acknowledgement on d007 every 100 ms, generation changes.
//! Victim: API call → first sample of its new generation; for apply, round trip and `took_ms`.
//!
//! Run: `cargo bench -p linevisor-control --bench isolation`.
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use linevisor_config::{ValidLine, check_text};
use linevisor_control::client::Client;
use linevisor_control::{ControlOptions, ControlPlane};
use linevisor_drive::{Command, Direction, send_command, snapshot};
use linevisor_line::{LineOptions, RunningLine};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

mod measure;

use measure::{collect, emit, ms, pct, untouched};

const DRIVES: usize = 100;
const SEGMENTS: usize = 4;
const VICTIM: &str = "d042";
const COMMANDER: &str = "d007";
const SERVO: &str = include_str!("../../../../configs/profiles/linevisor-sim-servo.toml");

/// The 100-drive line of the line bench, checked against `dir` (whose `profiles/` holds the
/// sim servo 1.1, the same register map under a new version).
fn config(dir: &Path) -> ValidLine {
    let profiles = dir.join("profiles");
    std::fs::create_dir_all(&profiles).expect("profiles folder");
    let v11 = SERVO.replace("version = \"1.0\"", "version = \"1.1\"");
    std::fs::write(profiles.join("sim-servo-1.1.toml"), v11).expect("profile 1.1");
    let mut s = String::from("[line]\nname = \"bench\"\ncycle_ms = 10\n");
    for b in 0..SEGMENTS {
        let _ = write!(
            s,
            "\n[[bus]]\nid = \"sim{b}\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n"
        );
    }
    for i in 0..DRIVES {
        let _ = write!(
            s,
            "\n[[drive]]\nid = \"d{i:03}\"\nbus = \"sim{}\"\naddress = {}\nprofile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\nrestart = \"adopt\"\nsafe_state = {{ on_crash = \"hold\" }}\n",
            i % SEGMENTS,
            i / SEGMENTS + 1
        );
    }
    std::fs::write(dir.join("line.toml"), &s).expect("line.toml");
    let checked = check_text("line.toml", &s, Some(dir));
    checked
        .line
        .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics))
}

/// The running config with only the victim's `limits.velocity_max` set to `v`.
fn with_victim_limit(text: &str, v: f64) -> String {
    let mut t: toml::Table = text.parse().expect("running config parses");
    let drives = t
        .get_mut("drive")
        .and_then(toml::Value::as_array_mut)
        .expect("[[drive]]");
    let victim = drives
        .iter_mut()
        .filter_map(toml::Value::as_table_mut)
        .find(|d| d.get("id").and_then(toml::Value::as_str) == Some(VICTIM))
        .expect("victim in the config");
    let limits = victim
        .entry("limits")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let Some(l) = limits.as_table_mut() {
        l.insert("velocity_max".into(), toml::Value::Float(v));
    }
    toml::to_string(&t).expect("config writes")
}

/// What the disturbance of one phase measured on the victim.
#[derive(Default)]
struct Victim {
    first_sample_ms: Vec<f64>,
    api_ms: Vec<f64>,
    took_ms: Vec<f64>,
    failures: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Disturbance {
    None,
    Restart,
    Upgrade,
    Apply,
}

/// One disturbance `i` of the victim: the API call, timed to the first sample of its next
/// generation.
async fn disturb(
    line: &RunningLine,
    client: &Client,
    kind: Disturbance,
    i: usize,
    out: &mut Victim,
) {
    let Some(victim) = line.drive(VICTIM) else {
        out.failures.push("victim gone".into());
        return;
    };
    let generation = snapshot(&victim.handle).await.map_or(0, |s| s.generation);
    let mut rx = victim.channels.telemetry.subscribe();
    // Prepared before the clock starts: the GET is not part of the change.
    let body = match kind {
        Disturbance::Apply => {
            let running = client
                .get_text("/api/v1/config")
                .await
                .expect("running config");
            Some(with_victim_limit(
                &running,
                if i.is_multiple_of(2) { 900.0 } else { 800.0 },
            ))
        }
        _ => None,
    };
    let t = Instant::now();
    let first = async {
        loop {
            match rx.recv().await {
                Ok(s) if s.generation > generation => return Some(t.elapsed()),
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return None,
            }
        }
    };
    let call = async {
        let r = match kind {
            Disturbance::Restart => {
                let path = format!("/api/v1/drives/{VICTIM}/restart");
                client.post(&path, None).await
            }
            Disturbance::Upgrade => {
                let version = if i.is_multiple_of(2) { "1.1" } else { "1.0" };
                let up = json!({"profile": "linevisor-sim-servo", "version": version});
                let path = format!("/api/v1/drives/{VICTIM}/upgrade");
                client.post(&path, Some(&up)).await
            }
            Disturbance::Apply => {
                let text = body.clone().unwrap_or_default();
                client.post_toml("/api/v1/config/apply", text).await
            }
            Disturbance::None => Ok(Value::Null),
        };
        (r, t.elapsed())
    };
    let ((result, api), first) =
        tokio::join!(call, tokio::time::timeout(Duration::from_secs(10), first));
    match result {
        Ok(v) => {
            out.api_ms.push(ms(api));
            if let Some(took) = v.get("took_ms").and_then(Value::as_f64) {
                out.took_ms.push(took);
            }
        }
        Err(e) => out.failures.push(format!("call {i}: {e}")),
    }
    match first {
        Ok(Some(d)) => out.first_sample_ms.push(ms(d)),
        _ => out
            .failures
            .push(format!("call {i}: no sample of a new generation in 10 s")),
    }
}

/// Set velocity on the commander every 100 ms for `window`: acknowledgement latencies (ms)
/// and the number refused or failed.
async fn command_loop(line: Arc<RunningLine>, window: Duration) -> (Vec<f64>, usize) {
    let handle = line.drive(COMMANDER).expect("commander").handle;
    let (mut lat, mut failed) = (Vec::new(), 0);
    let end = Instant::now() + window;
    let mut v = 100.0;
    while Instant::now() < end {
        let t = Instant::now();
        match send_command(&handle, Command::SetVelocity(v)).await {
            Ok(_) => lat.push(ms(t.elapsed())),
            Err(_) => failed += 1,
        }
        v = if v > 1000.0 { 100.0 } else { v + 10.0 };
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (lat, failed)
}

/// One phase: `count` disturbances of kind `kind` spread over `window`, untouched drives
/// watched throughout. Returns the untouched drives' jitter p99 for the ratio.
async fn phase(
    name: &str,
    line: &Arc<RunningLine>,
    addr: SocketAddr,
    window: Duration,
    kind: Disturbance,
    count: usize,
    reference_p99: Option<f64>,
) -> f64 {
    let (missed0, gens0) = untouched(line).await;
    let acks = tokio::spawn(command_loop(line.clone(), window));
    let disturber = {
        let line = line.clone();
        tokio::spawn(async move {
            let client = Client::new(&addr.to_string(), None).expect("client");
            let mut out = Victim::default();
            let start = Instant::now();
            for i in 0..count {
                tokio::time::sleep_until(start + window.mul_f64(i as f64 / count as f64)).await;
                disturb(&line, &client, kind, i, &mut out).await;
            }
            out
        })
    };
    let mut jitter = collect(line, window).await;
    let mut victim = disturber.await.unwrap_or_default();
    let (mut acks, ack_failed) = acks.await.unwrap_or_default();
    let (missed1, gens1) = untouched(line).await;
    let changed: Vec<&str> = gens0
        .iter()
        .zip(&gens1)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.as_str())
        .collect();

    let p99 = pct(&mut jitter, 0.99);
    emit(
        &format!("{name}_untouched_samples"),
        jitter.len() as f64,
        "count",
    );
    emit(
        &format!("{name}_untouched_missed_cycles"),
        missed1.saturating_sub(missed0) as f64,
        "count",
    );
    emit(
        &format!("{name}_untouched_jitter_p50_ms"),
        pct(&mut jitter, 0.50),
        "ms",
    );
    emit(&format!("{name}_untouched_jitter_p99_ms"), p99, "ms");
    if let Some(r) = reference_p99 {
        emit(
            &format!("{name}_untouched_jitter_p99_ratio"),
            p99 / r,
            "ratio",
        );
    }
    emit(
        &format!("{name}_untouched_generation_changes"),
        changed.len() as f64,
        "count",
    );
    if !changed.is_empty() {
        eprintln!("{name}: untouched drives restarted: {changed:?}");
    }
    emit(
        &format!("{name}_command_ack_count"),
        acks.len() as f64,
        "count",
    );
    emit(
        &format!("{name}_command_ack_failed"),
        ack_failed as f64,
        "count",
    );
    emit(
        &format!("{name}_command_ack_p50_ms"),
        pct(&mut acks, 0.50),
        "ms",
    );
    emit(
        &format!("{name}_command_ack_p99_ms"),
        pct(&mut acks, 0.99),
        "ms",
    );
    if kind != Disturbance::None {
        emit(
            &format!("{name}_victim_calls_ok"),
            victim.api_ms.len() as f64,
            "count",
        );
        emit(
            &format!("{name}_victim_failures"),
            victim.failures.len() as f64,
            "count",
        );
        for f in &victim.failures {
            eprintln!("{name}: {f}");
        }
        let first = &mut victim.first_sample_ms;
        emit(
            &format!("{name}_victim_first_sample_p50_ms"),
            pct(first, 0.50),
            "ms",
        );
        emit(
            &format!("{name}_victim_first_sample_p99_ms"),
            pct(first, 0.99),
            "ms",
        );
        let api = &mut victim.api_ms;
        emit(
            &format!("{name}_victim_api_round_trip_p50_ms"),
            pct(api, 0.50),
            "ms",
        );
        emit(
            &format!("{name}_victim_api_round_trip_p99_ms"),
            pct(api, 0.99),
            "ms",
        );
        if !victim.took_ms.is_empty() {
            let took = &mut victim.took_ms;
            emit(
                &format!("{name}_victim_server_took_p50_ms"),
                pct(took, 0.50),
                "ms",
            );
            emit(
                &format!("{name}_victim_server_took_p99_ms"),
                pct(took, 0.99),
                "ms",
            );
        }
    }
    p99
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds: u64 = std::env::var("LINEVISOR_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let window = Duration::from_secs(seconds);
    linevisor_supervisor::install_panic_hook();
    let dir = tempfile::tempdir().expect("temp dir");
    let line = Arc::new(
        RunningLine::start(&config(dir.path()), LineOptions::default())
            .await
            .expect("line starts"),
    );
    let plane = Arc::new(ControlPlane::new(
        line.clone(),
        ControlOptions {
            config_file: Some(dir.path().join("line.toml")),
            ..ControlOptions::default()
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = {
        let plane = plane.clone();
        tokio::spawn(async move {
            plane
                .serve(
                    listener,
                    None,
                    linevisor_control::server::Limits::default(),
                    async {
                        let _ = stopped.await;
                    },
                )
                .await
        })
    };
    // Let every drive finish its start-up procedure.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let commander = line.drive(COMMANDER).expect("commander").handle;
    send_command(&commander, Command::Enable(Direction::Forward))
        .await
        .expect("enable");

    emit("drives", DRIVES as f64, "count");
    emit("seconds_per_phase", seconds as f64, "s");
    let p = |name, kind, count, r| phase(name, &line, addr, window, kind, count, r);
    let reference = p("p0_undisturbed", Disturbance::None, 0, None).await;
    p("p1_restart", Disturbance::Restart, 100, Some(reference)).await;
    p("p2_upgrade", Disturbance::Upgrade, 20, Some(reference)).await;
    p("p3_apply", Disturbance::Apply, 20, Some(reference)).await;
    // Undisturbed again: tells a disturbance's effect from drift in the machine's load.
    p(
        "p4_undisturbed_again",
        Disturbance::None,
        0,
        Some(reference),
    )
    .await;

    let _ = stop.send(());
    let _ = server.await;
    let _ = line.shutdown().await;
}
