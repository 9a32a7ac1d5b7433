//! The plain serial benchmarks of issue 12, in real time.
//!
//! 1. Wire limit: the serial bus actor polls one simulated drive (linevisor-sim, both shipped
//!    families) as fast as the line allows, through a half-duplex line paced at the baud rate
//!    (every byte takes one 10-bit character time, requests and replies one after the other).
//!    Transactions per second against the wire limit of the same bytes: baud / 10 / (request +
//!    reply bytes per transaction, from the bus's own byte counters). Target ≥ 95 %. The same
//!    bus and simulator without pacing give the reference of their own capacity.
//! 2. Crash isolation: a line with 4 SCL steppers on a simulated serial segment (20 ms cycle)
//!    and 4 servos on a simulated Modbus segment (10 ms); one stepper's actor crashes
//!    (`DriveMsg::Crash`) every second, `CRASHES` times. The 7 others' missed cycles (target 0),
//!    against the same windows without a crash, and the crashed drive's restart → first sample.
//!
//! Run: `cargo bench -p linevisor-line --bench serial` (LINEVISOR_BENCH_SECONDS overrides the
//! 5 s measuring window of each wire-limit figure; 9600 baud figures take 4 windows).
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use linevisor_bus::serial::{SerialArgs, SerialBus, SerialHandle};
use linevisor_bus::{BusHandle, BusOptions, FnOpener, LinkStream};
use linevisor_config::model::{Parity, SerialBus as SerialBusConfig};
use linevisor_config::{ValidLine, check_text};
use linevisor_drive::{DriveEventKind, DriveMsg, DriveState, snapshot};
use linevisor_line::{LineOptions, RunningLine};
use linevisor_modbus::timing::sleep_until_precise;
use linevisor_profile::ProfileCodec;
use linevisor_sim::{SimDrive, SimDriveOptions, SimHandle};
use ractor::Actor;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

const CRASHES: usize = 10;
const SCL: &str = "applied-motion-scl-stepper";
const TMCL: &str = "trinamic-tmcl-axis";

fn emit(metric: &str, value: f64, unit: &str) {
    println!(r#"{{"bench":"serial","metric":"{metric}","value":{value:.3},"unit":"{unit}"}}"#);
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn profile(name: &str) -> linevisor_config::model::Profile {
    let line = check_text("<bench>", "[line]\nname = \"b\"\n", None)
        .line
        .unwrap_or_else(|| panic!("the shipped profiles check clean"));
    line.profiles
        .into_values()
        .map(|lp| lp.profile)
        .find(|p| p.profile.name == name)
        .unwrap_or_else(|| panic!("no profile {name}"))
}

/// One direction of a half-duplex line: bytes leave `from` once the line has carried them,
/// one character time each, after whatever the line was carrying before.
async fn carry(
    mut from: ReadHalf<DuplexStream>,
    mut to: WriteHalf<DuplexStream>,
    char_time: Duration,
    line_free: Arc<Mutex<tokio::time::Instant>>,
) {
    let mut buf = [0u8; 512];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let done = {
            let mut free = line_free.lock().unwrap_or_else(|e| e.into_inner());
            let start = (*free).max(tokio::time::Instant::now());
            *free = start + char_time * n as u32;
            *free
        };
        sleep_until_precise(done).await;
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A line between the bus (returned end) and `device`, paced at `baud` (8N1).
fn paced_line(device: DuplexStream, baud: u32) -> DuplexStream {
    let (bus_end, line_end) = tokio::io::duplex(4096);
    let char_time = Duration::from_nanos(10 * 1_000_000_000 / u64::from(baud));
    let free = Arc::new(Mutex::new(tokio::time::Instant::now()));
    let (line_rx, line_tx) = tokio::io::split(line_end);
    let (dev_rx, dev_tx) = tokio::io::split(device);
    tokio::spawn(carry(line_rx, dev_tx, char_time, Arc::clone(&free)));
    tokio::spawn(carry(dev_rx, line_tx, char_time, free));
    bus_end
}

async fn wire_limit(name: &str, baud: u32, seconds: u64) {
    let p = profile(name);
    let sim = SimHandle::new();
    let drive = SimDrive::new(&p, SimDriveOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    sim.add_drive(1, drive).unwrap_or_else(|e| panic!("{e}"));
    let (device, serve) = sim.serve_duplex_serial().unwrap_or_else(|e| panic!("{e}"));
    // Baud 0: no pacing, the reference of what the bus and simulator do without a wire limit.
    let line = if baud == 0 {
        device
    } else {
        paced_line(device, baud)
    };
    let link = Mutex::new(Some(line));
    let opener = FnOpener::new("paced line", move || {
        let s = link.lock().unwrap_or_else(|e| e.into_inner()).take();
        async move {
            s.map(|s| Box::new(s) as LinkStream)
                .ok_or_else(|| std::io::Error::other("used"))
        }
    });
    let config = SerialBusConfig {
        id: "paced".into(),
        port: "paced".into(),
        baud: baud.max(115_200),
        parity: Parity::None,
        data_bits: 8,
        stop_bits: 1,
        response_timeout_ms: 1000,
        retries: 0,
        inter_request_gap_us: 0,
        echo_suppression: false,
        demote_after_timeouts: 3,
        probe_interval_ms: 1000,
    };
    let args = SerialArgs {
        config,
        opener: Box::new(opener),
        options: BusOptions::default(),
    };
    let (actor, _) = Actor::spawn(None, SerialBus, args)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bus: BusHandle = SerialHandle::new("paced", actor).into();
    let codec = Arc::new(ProfileCodec::new(&p).unwrap_or_else(|e| panic!("{e}")));
    let link = bus.drive_link(codec, 1).unwrap_or_else(|e| panic!("{e}"));
    let (sink, mut rx) = mpsc::channel(1024);
    // A 1 ms cycle is shorter than one exchange: the line is never idle.
    link.attach(sink, Duration::from_millis(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = bus.metrics().await.unwrap_or_else(|e| panic!("{e}"));
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let after = bus.metrics().await.unwrap_or_else(|e| panic!("{e}"));
    let elapsed = t0.elapsed().as_secs_f64();
    let tx = (after.counters.transactions - before.counters.transactions) as f64;
    let bytes = (after.bytes_sent - before.bytes_sent + after.bytes_received
        - before.bytes_received) as f64;
    let per_tx = bytes / tx;
    let family = if name == SCL { "scl" } else { "tmcl" };
    if baud == 0 {
        emit(&format!("{family}_unpaced_tx_per_s"), tx / elapsed, "tx/s");
        let _ = bus.stop().await;
        return;
    }
    let limit = f64::from(baud) / 10.0 / per_tx;
    emit(&format!("{family}_{baud}_tx_per_s"), tx / elapsed, "tx/s");
    emit(&format!("{family}_{baud}_bytes_per_tx"), per_tx, "bytes");
    emit(
        &format!("{family}_{baud}_wire_limit_tx_per_s"),
        limit,
        "tx/s",
    );
    emit(
        &format!("{family}_{baud}_percent_of_wire_limit"),
        100.0 * tx / elapsed / limit,
        "%",
    );
    let errors =
        after.counters.timeouts + after.counters.framing_errors + after.counters.crc_errors;
    emit(
        &format!("{family}_{baud}_link_errors"),
        errors as f64,
        "errors",
    );
    let _ = bus.stop().await;
    drop(serve);
}

fn line_config() -> ValidLine {
    let mut s = String::from(
        "[line]\nname = \"serial-bench\"\ncycle_ms = 10\n\n\
         [[bus]]\nid = \"sim-serial\"\ntype = \"simulated\"\nprotocol = \"serial\"\n\n\
         [[bus]]\nid = \"sim-modbus\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n",
    );
    for i in 1..=4 {
        let _ = write!(
            s,
            "\n[[drive]]\nid = \"stepper-{i}\"\nbus = \"sim-serial\"\naddress = {i}\ncycle_ms = 20\nprofile = {{ name = \"{SCL}\", version = \"1.0\" }}\nlimits = {{ velocity_max = 40.0 }}\n"
        );
        let _ = write!(
            s,
            "\n[[drive]]\nid = \"servo-{i}\"\nbus = \"sim-modbus\"\naddress = {i}\nprofile = {{ name = \"linevisor-sim-servo\", version = \"1.0\" }}\nlimits = {{ velocity_max = 3000.0 }}\n"
        );
    }
    check_text("serial-bench.toml", &s, None)
        .line
        .unwrap_or_else(|| panic!("bench config invalid"))
}

/// Missed cycles and cycles of `others` over a window of `f`.
async fn window(running: &RunningLine, others: &[String], f: impl AsyncFnOnce()) -> (u64, u64) {
    let mut before = Vec::new();
    for id in others {
        let d = running.drive(id).unwrap_or_else(|| panic!("{id}"));
        before.push(
            snapshot(&d.handle)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .stats,
        );
    }
    f().await;
    let (mut missed, mut cycles) = (0, 0);
    for (id, b) in others.iter().zip(before) {
        let d = running.drive(id).unwrap_or_else(|| panic!("{id}"));
        let a = snapshot(&d.handle)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .stats;
        missed += a.missed - b.missed;
        cycles += a.cycles - b.cycles;
    }
    (missed, cycles)
}

async fn crash_isolation() {
    let running = RunningLine::start(&line_config(), LineOptions::default())
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    let ids: Vec<String> = (1..=4)
        .flat_map(|i| [format!("stepper-{i}"), format!("servo-{i}")])
        .collect();
    for id in &ids {
        let d = running.drive(id).unwrap_or_else(|| panic!("{id}"));
        let mut events = d.channels.events.subscribe();
        let s = snapshot(&d.handle).await.unwrap_or_else(|e| panic!("{e}"));
        if matches!(s.state, DriveState::Initializing | DriveState::Offline) {
            loop {
                match events.recv().await {
                    Ok(e) if matches!(e.kind, DriveEventKind::Ready { .. }) => break,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => panic!("{id}: events closed"),
                }
            }
        }
    }
    let victim = running
        .drive("stepper-4")
        .unwrap_or_else(|| panic!("stepper-4"));
    let others: Vec<String> = ids.into_iter().filter(|i| i != "stepper-4").collect();
    let (mut base_missed, mut base_cycles) = (0, 0);
    for _ in 0..CRASHES {
        let (m, c) = window(&running, &others, async || {
            tokio::time::sleep(Duration::from_secs(1)).await;
        })
        .await;
        base_missed += m;
        base_cycles += c;
    }
    emit(
        "undisturbed_others_missed_cycles",
        base_missed as f64,
        "cycles",
    );
    emit(
        "undisturbed_others_cycles_observed",
        base_cycles as f64,
        "cycles",
    );
    let (mut missed, mut cycles) = (0, 0);
    let mut restart_ms = Vec::new();
    for _ in 0..CRASHES {
        let (m, c) = window(&running, &others, async || {
            let generation = snapshot(&victim.handle)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .generation;
            let mut telemetry = victim.channels.telemetry.subscribe();
            let t0 = Instant::now();
            let _ = victim.handle.cast(DriveMsg::Crash);
            loop {
                match telemetry.recv().await {
                    Ok(s) if s.generation > generation => break,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => panic!("telemetry closed"),
                }
            }
            restart_ms.push(t0.elapsed().as_secs_f64() * 1e3);
            tokio::time::sleep(Duration::from_secs(1).saturating_sub(t0.elapsed())).await;
        })
        .await;
        missed += m;
        cycles += c;
    }
    restart_ms.sort_by(f64::total_cmp);
    emit("crash_others_missed_cycles", missed as f64, "cycles");
    emit("crash_others_cycles_observed", cycles as f64, "cycles");
    emit(
        "crash_restart_to_first_sample_p50_ms",
        quantile(&restart_ms, 0.5),
        "ms",
    );
    emit(
        "crash_restart_to_first_sample_p99_ms",
        quantile(&restart_ms, 0.99),
        "ms",
    );
    let _ = running.shutdown().await;
}

fn main() {
    let seconds = std::env::var("LINEVISOR_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    // The default hook symbolises a backtrace per crash (hundreds of ms of a worker thread).
    linevisor_supervisor::install_panic_hook();
    rt.block_on(async {
        for baud in [0, 9600, 115_200] {
            for name in [TMCL, SCL] {
                // At 9600 baud a 5 s window holds ~300 exchanges: ±1 is ±0.3 %; take longer.
                let window = if baud == 9600 { seconds * 4 } else { seconds };
                wire_limit(name, baud, window).await;
            }
        }
        crash_isolation().await;
    });
}
