//! The CANopen benchmarks of issue 7, in real time on a simulated CANopen segment (virtual CAN
//! bus, one simulated CiA 402 node per drive) run through the real CANopen bus actor and drive
//! actors under the supervision tree. Eight drives, SYNC every 10 ms, all enabled at 300 rpm.
//!
//! 1. SYNC period jitter: |period − 10 ms| of the SYNCs, as stamped by the bus when it sent
//!    them (each sample's `scheduled_at`), p50/p99 over `SECONDS`; reference: a bare tokio
//!    10 ms interval measured at the same time in the same runtime.
//! 2. Restart of one drive actor (`DriveMsg::Crash`) while 7 others run, `CRASHES` times: the
//!    others' missed cycles (target 0) and the crashed drive's restart → first sample.
//! 3. A node's power cycle (unit swap: boot-up with a new serial number) → drive ready again
//!    (re-booted, PDOs re-mapped, re-parameterised) → operation enabled after an enable
//!    command, p50/p99 over `CYCLES` power cycles.
//! 4. Boot of the 8 nodes under `pdo_mapping = "auto"` vs `"configure"` (`boot.rs`), at a line
//!    start and at a bus restart; the reference is the other policy in the same run.
//!
//! Run: `cargo bench -p linevisor-line --bench canopen` (LINEVISOR_BENCH_SECONDS overrides the
//! 20 s of phase 1; LINEVISOR_BENCH_TRIALS the 10 boots of each policy in phase 4).
#![allow(clippy::print_stdout)]

mod boot;
mod remaps;

use linevisor_drive::PowerState;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use linevisor_config::{ValidLine, check_text};
use linevisor_drive::{
    Command, DriveEvent, DriveEventKind, DriveMsg, DriveState, send_command, snapshot,
};
use linevisor_line::{BusCtl, LineOptions, RunningLine};
use linevisor_profile::Direction;
use tokio::sync::broadcast::{self, error::RecvError};

const DRIVES: u8 = 8;
const PERIOD: Duration = Duration::from_millis(10);
const CRASHES: usize = 10;
const CYCLES: usize = 20;
const BOOTS: usize = 10;

fn emit(metric: &str, value: f64, unit: &str) {
    println!(r#"{{"bench":"canopen","metric":"{metric}","value":{value:.3},"unit":"{unit}"}}"#);
}

fn config() -> ValidLine {
    let mut s = String::from(
        "[line]\nname = \"can-bench\"\ncycle_ms = 10\n\n[[bus]]\nid = \"sim-can\"\ntype = \"simulated\"\nprotocol = \"canopen\"\n",
    );
    for i in 1..=DRIVES {
        let _ = write!(
            s,
            "\n[[drive]]\nid = \"axis-{i}\"\nbus = \"sim-can\"\naddress = {i}\nprofile = {{ name = \"generic-cia402-canopen\", version = \"1.0\" }}\nlimits = {{ velocity_max = 3000.0 }}\n"
        );
    }
    check_text("can-bench.toml", &s, None)
        .line
        .unwrap_or_else(|| panic!("bench config invalid"))
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn deviations_us(stamps: &[Instant]) -> Vec<f64> {
    let mut d: Vec<f64> = stamps
        .windows(2)
        .map(|w| ((w[1] - w[0]).as_secs_f64() - PERIOD.as_secs_f64()).abs() * 1e6)
        .collect();
    d.sort_by(f64::total_cmp);
    d
}

async fn wait_event(
    rx: &mut broadcast::Receiver<DriveEvent>,
    pred: impl Fn(&DriveEventKind) -> bool,
) {
    loop {
        match rx.recv().await {
            Ok(e) if pred(&e.kind) => return,
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => panic!("event channel closed"),
        }
    }
}

async fn enable(running: &RunningLine, id: &str) {
    let d = running.drive(id).unwrap_or_else(|| panic!("{id}"));
    send_command(&d.handle, Command::Enable(Direction::Forward))
        .await
        .unwrap_or_else(|e| panic!("{id} enable: {e}"));
    send_command(&d.handle, Command::SetVelocity(300.0))
        .await
        .unwrap_or_else(|e| panic!("{id} velocity: {e}"));
}

async fn sync_jitter(running: &RunningLine, seconds: u64) {
    let d = running.drive("axis-1").unwrap_or_else(|| panic!("axis-1"));
    let mut telemetry = d.channels.telemetry.subscribe();
    let reference = tokio::spawn(async move {
        let mut interval = tokio::time::interval(PERIOD);
        let mut stamps = Vec::new();
        let end = Instant::now() + Duration::from_secs(seconds);
        while Instant::now() < end {
            interval.tick().await;
            stamps.push(Instant::now());
        }
        stamps
    });
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut runs: Vec<Vec<Instant>> = vec![Vec::new()];
    let mut last_seq = None;
    while Instant::now() < end {
        match telemetry.recv().await {
            Ok(s) => {
                // Only consecutive SYNCs give a period; a gap starts a new run.
                if last_seq.is_some_and(|l: u64| s.seq != l + 1) {
                    runs.push(Vec::new());
                }
                last_seq = Some(s.seq);
                if let Some(run) = runs.last_mut() {
                    run.push(s.scheduled_at.into_std());
                }
            }
            Err(RecvError::Lagged(_)) => runs.push(Vec::new()),
            Err(RecvError::Closed) => break,
        }
    }
    let mut sync: Vec<f64> = runs.iter().flat_map(|r| deviations_us(r)).collect();
    sync.sort_by(f64::total_cmp);
    let reference = deviations_us(&reference.await.unwrap_or_default());
    let (p50, p99) = (quantile(&sync, 0.5), quantile(&sync, 0.99));
    let (r50, r99) = (quantile(&reference, 0.5), quantile(&reference, 0.99));
    emit("sync_periods_measured", sync.len() as f64, "periods");
    emit("sync_jitter_p50_us", p50, "us");
    emit("sync_jitter_p99_us", p99, "us");
    emit("reference_interval_jitter_p50_us", r50, "us");
    emit("reference_interval_jitter_p99_us", r99, "us");
    emit("sync_over_reference_p99_ratio", p99 / r99, "ratio");
}

async fn crash_isolation(running: &RunningLine) {
    let victim = running.drive("axis-8").unwrap_or_else(|| panic!("axis-8"));
    let others: Vec<_> = (1..DRIVES)
        .filter_map(|i| running.drive(&format!("axis-{i}")))
        .collect();
    // Reference: the same windows without a crash.
    let (mut base_missed, mut base_cycles) = (0, 0);
    for _ in 0..CRASHES {
        let mut before = Vec::new();
        for o in &others {
            before.push(
                snapshot(&o.handle)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .stats,
            );
        }
        tokio::time::sleep(Duration::from_millis(520)).await;
        for (o, b) in others.iter().zip(&before) {
            let a = snapshot(&o.handle)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .stats;
            base_missed += a.missed - b.missed;
            base_cycles += a.cycles - b.cycles;
        }
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
    let mut restart_ms = Vec::new();
    let mut missed = 0;
    let mut cycles = 0;
    for _ in 0..CRASHES {
        let mut before = Vec::new();
        for o in &others {
            before.push(
                snapshot(&o.handle)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .stats,
            );
        }
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
        tokio::time::sleep(Duration::from_millis(500)).await;
        for (o, b) in others.iter().zip(&before) {
            let a = snapshot(&o.handle)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .stats;
            missed += a.missed - b.missed;
            cycles += a.cycles - b.cycles;
        }
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
}

async fn power_cycles(running: &RunningLine) {
    let id = "axis-8";
    let d = running.drive(id).unwrap_or_else(|| panic!("{id}"));
    let bus = running.bus("sim-can").unwrap_or_else(|| panic!("sim-can"));
    let (mut ready_ms, mut enabled_ms) = (Vec::new(), Vec::new());
    for _ in 0..CYCLES {
        let mut events = d.channels.events.subscribe();
        let t0 = Instant::now();
        let _ = bus.child.cast(BusCtl::PowerCycleNode(8));
        wait_event(&mut events, |k| {
            matches!(k, DriveEventKind::UnitReplaced { .. })
        })
        .await;
        wait_event(&mut events, |k| matches!(k, DriveEventKind::Ready { .. })).await;
        ready_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        send_command(&d.handle, Command::Enable(Direction::Forward))
            .await
            .unwrap_or_else(|e| panic!("enable after power cycle: {e}"));
        let s = snapshot(&d.handle).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.state, DriveState::Power(PowerState::OperationEnabled));
        enabled_ms.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    ready_ms.sort_by(f64::total_cmp);
    enabled_ms.sort_by(f64::total_cmp);
    emit(
        "power_cycle_to_ready_p50_ms",
        quantile(&ready_ms, 0.5),
        "ms",
    );
    emit(
        "power_cycle_to_ready_p99_ms",
        quantile(&ready_ms, 0.99),
        "ms",
    );
    emit(
        "power_cycle_to_operation_enabled_p50_ms",
        quantile(&enabled_ms, 0.5),
        "ms",
    );
    emit(
        "power_cycle_to_operation_enabled_p99_ms",
        quantile(&enabled_ms, 0.99),
        "ms",
    );
}

fn main() {
    let seconds = std::env::var("LINEVISOR_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let boots = std::env::var("LINEVISOR_BENCH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(BOOTS);
    remaps::install();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    // The default hook symbolises a backtrace per crash (hundreds of ms of a worker thread).
    linevisor_supervisor::install_panic_hook();
    rt.block_on(async {
        let line = config();
        let running = RunningLine::start(&line, LineOptions::default())
            .await
            .unwrap_or_else(|e| panic!("start: {e}"));
        for i in 1..=DRIVES {
            let id = format!("axis-{i}");
            let d = running.drive(&id).unwrap_or_else(|| panic!("{id}"));
            let mut events = d.channels.events.subscribe();
            let s = snapshot(&d.handle).await.unwrap_or_else(|e| panic!("{e}"));
            if matches!(s.state, DriveState::Initializing | DriveState::Offline) {
                wait_event(&mut events, |k| matches!(k, DriveEventKind::Ready { .. })).await;
            }
            enable(&running, &id).await;
        }
        sync_jitter(&running, seconds).await;
        if let Some(b) = running.bus("sim-can")
            && let Ok(m) = b.handle.metrics().await
            && let Some(c) = m.canopen
        {
            emit(
                "bus_metrics_sync_jitter_p99_us",
                c.sync_jitter_p99_us as f64,
                "us",
            );
            emit("bus_metrics_frames_per_s", c.frames_per_s, "frames/s");
        }
        crash_isolation(&running).await;
        power_cycles(&running).await;
        let _ = running.shutdown().await;
        boot::policies(&config(), boots).await;
    });
}
