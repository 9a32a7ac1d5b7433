//! Measuring one running line from the probe thread. After start-up (every drive ready, then
//! enabled at once, then 2 s to settle):
//! 1. the window (`LINEVISOR_BENCH_SECONDS`), with nothing subscribed to telemetry, as on a
//!    line nobody watches: every drive's cycle statistics, a set-velocity command every 100 ms
//!    to a rotating drive (acknowledged = read back), CPU of the line's threads, of the probe
//!    and of the simulator process, RSS;
//! 2. then up to 5 s following the telemetry of up to 64 drives spread over the line, for the
//!    jitter quantiles (completion − schedule of each sample). Kept apart so that the window's
//!    CPU is that of a line nobody follows (each follower costs the line a wake-up a sample).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use linevisor_drive::{DriveEvent, TelemetrySample};
use linevisor_line::{DriveEntry, RunningLine};

use crate::drives::{Delta, commands, enable_all, offsets, stats, wait_ready};
use crate::procfs::{CpuSample, load_average, quantile, status_mib};
use crate::scenario::{Kind, Scenario};

const JITTER_DRIVES: usize = 64;
const JITTER_WINDOW: Duration = Duration::from_secs(5);
const SETTLE: Duration = Duration::from_secs(2);
/// Items each of a drive's broadcasts holds (`DriveChannels::default`).
const BROADCAST_CAPACITY: usize = 256;

pub(crate) async fn run(
    sc: &Scenario,
    line: &RunningLine,
    sim_pid: u32,
    started: Instant,
    points: &BTreeMap<String, usize>,
) {
    let drives: Vec<DriveEntry> = line.drives().into_values().collect();
    sc.emit("rss_started_mib", status_mib("self", "VmRSS"), "MiB");
    let ready = wait_ready(&drives).await;
    sc.emit("drives_ready", ready as f64, "count");
    sc.emit("startup_s", started.elapsed().as_secs_f64(), "s");
    sc.emit("rss_ready_mib", status_mib("self", "VmRSS"), "MiB");
    let t = Instant::now();
    let targets = enable_all(&drives).await;
    let failed = drives.len() - targets.len();
    sc.emit("enable_failures", failed as f64, "count");
    sc.emit("enable_all_s", t.elapsed().as_secs_f64(), "s");
    tokio::time::sleep(SETTLE).await;
    sc.emit("rss_settled_mib", status_mib("self", "VmRSS"), "MiB");

    let window = Duration::from_secs(sc.seconds);
    let before = stats(&drives).await;
    let cpu0 = CpuSample::take(sim_pid);
    let acks = tokio::spawn(commands(targets, window));
    let rss = tokio::spawn(rss_max(window));
    let (acks, failures) = acks.await.unwrap_or_default();
    let rss_window_max = rss.await.unwrap_or(f64::NAN);
    let cpu1 = CpuSample::take(sim_pid);
    let after = stats(&drives).await;
    let rss_end = status_mib("self", "VmRSS");
    let delta = Delta::between(&drives, &before, &after, points);
    emit_resources(
        sc,
        drives.len(),
        &cpu0,
        &cpu1,
        rss_window_max,
        rss_end,
        sim_pid,
    );
    emit_cycles(sc, &delta, (cpu1.at - cpu0.at).as_secs_f64());
    emit_acks(sc, &acks, failures);

    let jitter_window = window.min(JITTER_WINDOW);
    let stride = drives.len().div_ceil(JITTER_DRIVES).max(1);
    let collectors: Vec<_> = drives
        .iter()
        .step_by(stride)
        .map(|d| tokio::spawn(offsets(d.channels.telemetry.subscribe(), jitter_window)))
        .collect();
    let sampled = collectors.len();
    let mut jitter = Vec::new();
    for c in collectors {
        jitter.extend(c.await.unwrap_or_default());
    }
    jitter.sort_by(f64::total_cmp);
    let cycle_ms = f64::from(sc.cycle_ms);
    sc.emit("jitter_window_s", jitter_window.as_secs_f64(), "s");
    sc.emit("jitter_drives_sampled", sampled as f64, "count");
    sc.emit("jitter_samples", jitter.len() as f64, "count");
    sc.emit("jitter_p50_ms", quantile(&jitter, 0.5), "ms");
    sc.emit("jitter_p99_ms", quantile(&jitter, 0.99), "ms");
    sc.emit(
        "jitter_p99_cycles",
        quantile(&jitter, 0.99) / cycle_ms,
        "cycles",
    );
    sc.emit("jitter_max_ms", quantile(&jitter, 1.0), "ms");
    // Each drive's two broadcasts allocate (and touch) all their slots when created.
    let slots = std::mem::size_of::<TelemetrySample>() + std::mem::size_of::<DriveEvent>();
    sc.emit(
        "drive_broadcast_rings_kib_per_drive",
        (slots * BROADCAST_CAPACITY) as f64 / 1024.0,
        "KiB",
    );
}

fn emit_resources(
    sc: &Scenario,
    drives: usize,
    cpu0: &CpuSample,
    cpu1: &CpuSample,
    rss_window_max: f64,
    rss_end: f64,
    sim_pid: u32,
) {
    let wall = (cpu1.at - cpu0.at).as_secs_f64();
    let nominal = drives as f64 * wall * 1e3 / f64::from(sc.cycle_ms);
    let line_cpu = cpu1.line_s - cpu0.line_s;
    let percent = |s: f64| s / wall * 100.0;
    sc.emit("window_s", wall, "s");
    sc.emit("cycles_nominal", nominal, "count");
    sc.emit(
        "cpu_us_per_drive_cycle",
        line_cpu * 1e6 / nominal.max(1.0),
        "us",
    );
    sc.emit("cpu_percent_of_one_core", percent(line_cpu), "%");
    let probe = cpu1.probe_s - cpu0.probe_s;
    sc.emit("probe_cpu_percent_of_one_core", percent(probe), "%");
    let sim = cpu1.sim_s - cpu0.sim_s;
    sc.emit("sim_cpu_percent_of_one_core", percent(sim), "%");
    // What the rest of the machine (other builders) took from the same vCPUs.
    let machine = cpu1.machine_busy_s - cpu0.machine_busy_s;
    let others = (machine - line_cpu - probe - sim).max(0.0);
    sc.emit("machine_busy_percent_of_one_core", percent(machine), "%");
    sc.emit(
        "other_processes_cpu_percent_of_one_core",
        percent(others),
        "%",
    );
    sc.emit("load_average_1m", load_average(), "load");
    // By the line's own CPU alone, how many such drives one core would carry (derived).
    let per_cycle_us = line_cpu * 1e6 / nominal.max(1.0);
    sc.emit(
        "drives_per_core_by_line_cpu",
        f64::from(sc.cycle_ms) * 1e3 / per_cycle_us,
        "drives",
    );
    sc.emit("rss_mib", rss_end, "MiB");
    sc.emit("rss_window_max_mib", rss_window_max, "MiB");
    sc.emit("rss_peak_mib", status_mib("self", "VmHWM"), "MiB");
    sc.emit(
        "sim_rss_mib",
        status_mib(&sim_pid.to_string(), "VmRSS"),
        "MiB",
    );
}

fn emit_cycles(sc: &Scenario, delta: &Delta, wall: f64) {
    let expected = delta.cycles + delta.missed;
    sc.emit("samples", delta.cycles as f64, "count");
    sc.emit("missed_cycles", delta.missed as f64, "count");
    sc.emit(
        "missed_cycles_percent",
        delta.missed as f64 * 100.0 / (expected.max(1) as f64),
        "%",
    );
    sc.emit("late_cycles", delta.late as f64, "count");
    sc.emit("failed_cycles", delta.failed as f64, "count");
    sc.emit("overruns", delta.overruns as f64, "count");
    sc.emit("points_per_s", delta.points as f64 / wall, "points/s");
    sc.emit(
        "points_per_drive_sample",
        delta.points as f64 / (delta.cycles.max(1) as f64),
        "points",
    );
    let bound = delta
        .completion
        .quantile_bound_us(0.99)
        .map_or(f64::INFINITY, |us| us as f64 / 1e3);
    sc.emit("completion_p99_bucket_bound_ms", bound, "ms");
}

fn emit_acks(sc: &Scenario, acks: &[(bool, f64)], failures: u64) {
    let sorted = |modbus: Option<bool>| {
        let mut v: Vec<f64> = acks
            .iter()
            .filter(|a| modbus.is_none_or(|m| a.0 == m))
            .map(|a| a.1)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    if sc.kind == Kind::Mixed {
        for (modbus, name) in [(true, "modbus_tcp"), (false, "canopen")] {
            let v = sorted(Some(modbus));
            sc.emit(
                &format!("command_ack_p50_ms_{name}"),
                quantile(&v, 0.5),
                "ms",
            );
            sc.emit(
                &format!("command_ack_p99_ms_{name}"),
                quantile(&v, 0.99),
                "ms",
            );
        }
    }
    let acks = sorted(None);
    let cycle_ms = f64::from(sc.cycle_ms);
    let mean = acks.iter().sum::<f64>() / acks.len().max(1) as f64;
    sc.emit("command_acks", acks.len() as f64, "count");
    sc.emit("command_failures", failures as f64, "count");
    sc.emit("command_ack_min_ms", quantile(&acks, 0.0), "ms");
    sc.emit("command_ack_mean_ms", mean, "ms");
    sc.emit("command_ack_p50_ms", quantile(&acks, 0.5), "ms");
    sc.emit("command_ack_p99_ms", quantile(&acks, 0.99), "ms");
    sc.emit("command_ack_max_ms", quantile(&acks, 1.0), "ms");
    sc.emit(
        "command_ack_p50_cycles",
        quantile(&acks, 0.5) / cycle_ms,
        "cycles",
    );
    sc.emit(
        "command_ack_p99_cycles",
        quantile(&acks, 0.99) / cycle_ms,
        "cycles",
    );
}

/// The largest resident set seen, sampled every second over `window`.
async fn rss_max(window: Duration) -> f64 {
    let end = Instant::now() + window;
    let mut max = status_mib("self", "VmRSS");
    while Instant::now() + Duration::from_secs(1) < end {
        tokio::time::sleep(Duration::from_secs(1)).await;
        max = max.max(status_mib("self", "VmRSS"));
    }
    max
}
