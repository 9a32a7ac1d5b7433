//! Spanning register gaps on an RTU line (issue 15). Three simulated drives whose status
//! registers are 1, 3, 5 and 8–10 (`tests/data/holed-servo.toml`) share a 19200-baud line
//! paced at the baud rate, 150 ms cycle each, polled without spanning (`span_gaps = 0`: four
//! reads a cycle) and with `span_gaps = 2` (one 10-register read). Per setting:
//! - transactions per drive cycle, measured (bus transactions / samples);
//! - the wire utilisation the bus measures, and the bus load `linevisor check` computes for
//!   the same line (its load model, one drive's figure × 3: the model is a sum over drives and
//!   a line over 100 % is refused before its load is kept);
//! - samples, missed cycles and timeouts per drive and second (nominal: 6.67 samples, no
//!   timeout; a timeout on this real-time line is the machine's scheduling, not the device's);
//! - the mean transaction time (request sent to response received).
//!
//! Run: `cargo bench -p linevisor-bus --bench span_gaps` (`LINEVISOR_BENCH_SECONDS` sets each
//! measuring window; default 10).
#![allow(clippy::print_stdout)]

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use linevisor_bus::{
    BusHandle, BusMetrics, BusSpec, FnOpener, LinkStream, ModbusArgs, ModbusBus, ModbusHandle,
};
use linevisor_config::model::{ModbusRtuBus, Parity, Profile};
use linevisor_modbus::server::rtu::RtuServerConfig;
use linevisor_profile::ProfileCodec;
use linevisor_sim::{SimDrive, SimDriveOptions, SimHandle};
use ractor::Actor;
use tokio::sync::mpsc;

const BAUD: u32 = 19_200;
const CYCLE_MS: u32 = 150;
const DRIVES: [u8; 3] = [1, 2, 3];
const HOLED: &str = include_str!("../tests/data/holed-servo.toml");

fn emit(metric: &str, value: f64, unit: &str) {
    println!(r#"{{"bench":"span_gaps","metric":"{metric}","value":{value:.3},"unit":"{unit}"}}"#);
}

fn profile_text(span_gaps: u32) -> String {
    HOLED.replace("span_gaps = 0", &format!("span_gaps = {span_gaps}"))
}

/// What `linevisor check` computes for three such drives on a 19200-baud line.
fn load_model_percent(span_gaps: u32) -> f64 {
    let dir = std::env::temp_dir().join(format!(
        "linevisor-span-bench-{}-{span_gaps}",
        std::process::id()
    ));
    let profiles = dir.join("profiles");
    std::fs::create_dir_all(&profiles).expect("temp dir");
    std::fs::write(profiles.join("holed.toml"), profile_text(span_gaps)).expect("profile");
    let line = format!(
        r#"[line]
name = "span-bench"
cycle_ms = {CYCLE_MS}
profile_dirs = ["profiles"]

[[bus]]
id = "rs485"
type = "modbus_rtu"
port = "/dev/ttyUSB0"
baud = {BAUD}

[[drive]]
id = "d1"
bus = "rs485"
address = 1
profile = {{ name = "holed-servo", version = "1.0" }}
"#
    );
    let checked = linevisor_config::check_text("span-bench.toml", &line, Some(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    let valid = checked.line.expect("the one-drive line is valid");
    let one = valid.loads[0].percent.expect("an RTU bus has a wire load");
    one * DRIVES.len() as f64
}

fn spec() -> ModbusRtuBus {
    ModbusRtuBus {
        id: "rs485-bench".into(),
        port: "paced".into(),
        baud: BAUD,
        parity: Parity::Even,
        data_bits: 8,
        stop_bits: 1,
        response_timeout_ms: 100,
        retries: 0,
        inter_frame_gap_us: None,
        echo_suppression: false,
        broadcast_turnaround_ms: 20,
        demote_after_timeouts: 3,
        probe_interval_ms: 1000,
    }
}

/// A bus on a paced line to a simulator hosting the three drives.
async fn bus_on_sim(profile: &Profile) -> ModbusHandle {
    let sim = SimHandle::new();
    for unit in DRIVES {
        let drive = SimDrive::new(profile, SimDriveOptions::default()).expect("sim drive");
        sim.add_drive(unit, drive).expect("add");
    }
    let used = Arc::new(Mutex::new(false));
    let opener = FnOpener::new("paced line", move || {
        let sim = sim.clone();
        let first = !std::mem::replace(&mut *used.lock().expect("lock"), true);
        async move {
            if !first {
                return Err(io::Error::new(io::ErrorKind::NotFound, "one line per run"));
            }
            let (client, server) = linevisor_modbus::paced::paced_line(BAUD)?;
            tokio::spawn(async move { sim.serve_rtu(server, RtuServerConfig::new(BAUD)).await });
            Ok(Box::new(client) as LinkStream)
        }
    });
    let args = ModbusArgs::new(BusSpec::Rtu(spec()), Box::new(opener));
    let (actor, _join) = Actor::spawn(None, ModbusBus, args).await.expect("bus");
    ModbusHandle::new("rs485-bench", actor)
}

struct Figures {
    reads_per_cycle: f64,
    utilisation: f64,
    samples_per_s: f64,
    missed_per_s: f64,
    timeouts_per_s: f64,
    latency_ms: f64,
}

async fn measure(span_gaps: u32, window: Duration) -> Figures {
    let profile: Profile = toml::from_str(&profile_text(span_gaps)).expect("profile");
    let bus = bus_on_sim(&profile).await;
    let handle = BusHandle::from(bus.clone());
    let codec = Arc::new(ProfileCodec::new(&profile).expect("codec"));
    let (tx, mut rx) = mpsc::channel(4096);
    for unit in DRIVES {
        let link = handle
            .drive_link(codec.clone(), u32::from(unit))
            .expect("link");
        link.attach(tx.clone(), Duration::from_millis(u64::from(CYCLE_MS)))
            .await
            .expect("attach");
    }
    // Samples are counted by the bus; the drives' sinks only need emptying.
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    tokio::time::sleep(Duration::from_secs(1)).await; // settle
    let m0 = bus.metrics().await.expect("metrics");
    tokio::time::sleep(window).await;
    let m1 = bus.metrics().await.expect("metrics");
    let _ = bus.stop().await;
    drain.abort();
    figures(&m0, &m1, window)
}

fn figures(m0: &BusMetrics, m1: &BusMetrics, window: Duration) -> Figures {
    let d = |f: fn(&BusMetrics) -> u64| (f(m1) - f(m0)) as f64;
    // Every cycle that ran: delivered or failed (a failed one stops at its failed read).
    let cycles = d(|m| m.counters.samples) + d(|m| m.counters.cycle_failures);
    let samples = d(|m| m.counters.samples);
    let drives_s = DRIVES.len() as f64 * window.as_secs_f64();
    // Wire time measured over the window: bytes both ways and two t3.5 a transaction.
    let char_s = 11.0 / f64::from(BAUD);
    let t35_s = 3.5 * char_s;
    let bytes = d(|m| m.bytes_sent) + d(|m| m.bytes_received);
    let txs = d(|m| m.counters.transactions);
    let wire_s = bytes * char_s + txs * 2.0 * t35_s;
    Figures {
        reads_per_cycle: txs / cycles.max(1.0),
        utilisation: wire_s * 100.0 / window.as_secs_f64(),
        samples_per_s: samples / drives_s,
        missed_per_s: d(|m| m.counters.missed_cycles) / drives_s,
        timeouts_per_s: d(|m| m.counters.timeouts) / drives_s,
        latency_ms: d(|m| m.latency.sum_us) / d(|m| m.latency.count).max(1.0) / 1e3,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds = std::env::var("LINEVISOR_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let window = Duration::from_secs(seconds);
    for span_gaps in [0, 2] {
        let f = measure(span_gaps, window).await;
        let tag = format!("span_gaps_{span_gaps}");
        emit(
            &format!("{tag}_reads_per_cycle"),
            f.reads_per_cycle,
            "reads",
        );
        emit(&format!("{tag}_wire_measured_percent"), f.utilisation, "%");
        emit(
            &format!("{tag}_load_model_percent"),
            load_model_percent(span_gaps),
            "%",
        );
        emit(
            &format!("{tag}_samples_per_drive_s"),
            f.samples_per_s,
            "1/s",
        );
        emit(&format!("{tag}_missed_per_drive_s"), f.missed_per_s, "1/s");
        emit(
            &format!("{tag}_timeouts_per_drive_s"),
            f.timeouts_per_s,
            "1/s",
        );
        emit(&format!("{tag}_mean_transaction_ms"), f.latency_ms, "ms");
    }
}
