//! The isolation benchmark of issue 5: 100 simulated drives at a 10 ms cycle, on four simulated
//! Modbus segments, run through the real bus and drive actors under the supervision tree.
//!
//! 1. Undisturbed for `SECONDS`: cycle jitter (completion − schedule, p50/p99), missed cycles,
//!    CPU and RSS of the process.
//! 2. The same with one drive's actor crashing every second: the other 99 drives' missed cycles
//!    and jitter, compared with run 1; the crashed drive's restart → first good sample (p50/p99).
//! 3. Command acknowledgement (set velocity → confirmed by readback), p50/p99, during run 1.
//!
//! 4. Lateness: cycles whose read started more than 1 ms (a tenth of the period) after their
//!    slot (sent late), apart from the missed ones (skipped, overdue by a whole period).
//!
//! Execution (issue 17), from the environment:
//! - `LINEVISOR_BENCH_EXECUTION=caller` runs the buses on the bench's own runtime (as before
//!   cycle threads); otherwise each bus has its cycle thread.
//! - `LINEVISOR_BENCH_REALTIME` is the body of a `[realtime]` section, e.g.
//!   `priority = 50\ncpus = [1]\nother_cpus = [0]` (written with real newlines or `;`).
//! - `LINEVISOR_BENCH_STRESS=N` runs `stress-ng --cpu N` (Debian package) in another process
//!   during both runs: the contention benchmark.
//!
//! Run: `cargo bench -p linevisor-line --bench line` (LINEVISOR_BENCH_SECONDS overrides 60 s).
#![allow(clippy::print_stdout)]

use std::alloc::System;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use linevisor_config::{ValidLine, check_text};
use linevisor_drive::{Command, DriveMsg, TelemetrySample, send_command, snapshot};
use linevisor_line::{Execution, LineOptions, RunningLine};
use linevisor_profile::Direction;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use tokio::sync::broadcast::error::RecvError;

// Every allocation of the process is counted: allocations per drive cycle bound what the cycle
// path allocates from above.
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const DRIVES: usize = 100;
const SEGMENTS: usize = 4;
const VICTIM: &str = "d042";

fn emit(metric: &str, value: f64, unit: &str) {
    println!(r#"{{"bench":"line","metric":"{metric}","value":{value:.3},"unit":"{unit}"}}"#);
}

fn config(realtime: &str) -> ValidLine {
    let mut s = String::from("[line]\nname = \"bench\"\ncycle_ms = 10\n");
    if !realtime.is_empty() {
        let _ = write!(s, "\n[realtime]\n{}\n", realtime.replace(';', "\n"));
    }
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
    let checked = check_text("bench.toml", &s, None);
    checked
        .line
        .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics))
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// utime + stime of this process in seconds, and its resident set in MiB.
fn cpu_and_rss() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|u| u.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss_kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    (ticks / 100.0, rss_kib / 1024.0)
}

/// Completion offsets (ms) of every drive but `skip`, collected for `window`.
async fn collect(line: &RunningLine, window: Duration, skip: Option<&str>) -> Vec<(f64, f64)> {
    let mut tasks = Vec::new();
    for d in line
        .drives()
        .values()
        .filter(|d| Some(d.id.as_str()) != skip)
    {
        let mut rx = d.channels.telemetry.subscribe();
        tasks.push(tokio::spawn(async move {
            let end = tokio::time::Instant::now() + window;
            let mut offsets = Vec::new();
            loop {
                match tokio::time::timeout_at(end, rx.recv()).await {
                    Ok(Ok(s)) => {
                        let o = offset_ms(&s);
                        offsets.push((o, lateness_ms(o, &s)));
                    }
                    Ok(Err(RecvError::Lagged(_))) => {}
                    Ok(Err(RecvError::Closed)) | Err(_) => return offsets,
                }
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all
}

fn offset_ms(s: &TelemetrySample) -> f64 {
    (s.completed_at - s.scheduled_at).as_secs_f64() * 1e3
}

/// How late the cycle's first read went out after its slot (ms).
fn lateness_ms(offset_ms: f64, s: &TelemetrySample) -> f64 {
    offset_ms - s.latency.as_secs_f64() * 1e3
}

async fn missed(line: &RunningLine, skip: Option<&str>) -> u64 {
    let mut n = 0;
    for d in line
        .drives()
        .values()
        .filter(|d| Some(d.id.as_str()) != skip)
    {
        n += snapshot(&d.handle)
            .await
            .map(|s| s.stats.missed)
            .unwrap_or(u64::MAX / 1024);
    }
    n
}

fn main() {
    let realtime = std::env::var("LINEVISOR_BENCH_REALTIME").unwrap_or_default();
    let line = config(&realtime);
    // As `linevisor run` does: everything but the cycle threads on `other_cpus`.
    let others = &line.config.realtime.other_cpus;
    if !others.is_empty() {
        linevisor_line::exec::pin_current_thread("bench", others).expect("other_cpus");
    }
    let stress = std::env::var("LINEVISOR_BENCH_STRESS")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
        .map(|n| {
            std::process::Command::new("stress-ng")
                .args(["--cpu", &n.to_string(), "--quiet"])
                .spawn()
                .expect("stress-ng (Debian package stress-ng)")
        });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(line, &realtime));
    if let Some(mut child) = stress {
        let _ = child.kill();
        let _ = child.wait();
    }
}

async fn run(config: ValidLine, realtime: &str) {
    let seconds: u64 = std::env::var("LINEVISOR_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let window = Duration::from_secs(seconds);
    linevisor_supervisor::install_panic_hook();
    let caller = std::env::var("LINEVISOR_BENCH_EXECUTION").is_ok_and(|e| e == "caller");
    let options = LineOptions {
        execution: if caller {
            Execution::CallerRuntime
        } else {
            Execution::FromConfig
        },
        ..LineOptions::default()
    };
    let line = RunningLine::start(&config, options)
        .await
        .expect("line starts");
    let threads = line.cycle_threads().len();
    // Let every drive finish its start-up procedure.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let commander = line.drive("d007").unwrap().handle.clone();
    send_command(&commander, Command::Enable(Direction::Forward))
        .await
        .expect("enable");

    // Run 1: undisturbed, with a command every 100 ms on one drive.
    let missed_before = missed(&line, Some(VICTIM)).await;
    let (cpu0, _) = cpu_and_rss();
    let allocs0 = GLOBAL.stats().allocations + GLOBAL.stats().reallocations;
    let wall = Instant::now();
    let acks = tokio::spawn(async move {
        let mut lat = Vec::new();
        let end = Instant::now() + window;
        let mut v = 100.0;
        while Instant::now() < end {
            let t = Instant::now();
            if send_command(&commander, Command::SetVelocity(v))
                .await
                .is_ok()
            {
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
            v = if v > 1000.0 { 100.0 } else { v + 10.0 };
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        lat
    });
    let calm = collect(&line, window, Some(VICTIM)).await;
    let allocs = GLOBAL.stats().allocations + GLOBAL.stats().reallocations - allocs0;
    let (cpu1, rss) = cpu_and_rss();
    let mut acks = acks.await.unwrap_or_default();
    let missed_calm = missed(&line, Some(VICTIM)).await - missed_before;
    let cpu_pct = (cpu1 - cpu0) / wall.elapsed().as_secs_f64() * 100.0;

    // Run 2: the victim's actor crashes every second.
    let victim = line.drive(VICTIM).unwrap().clone();
    let crasher = tokio::spawn(async move {
        let mut restart_ms = Vec::new();
        let end = Instant::now() + window;
        while Instant::now() < end {
            let generation = snapshot(&victim.handle)
                .await
                .map(|s| s.generation)
                .unwrap_or(0);
            let mut rx = victim.channels.telemetry.subscribe();
            let t = Instant::now();
            let _ = victim.handle.cast(DriveMsg::Crash);
            loop {
                match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                    Ok(Ok(s)) if s.generation > generation => {
                        restart_ms.push(t.elapsed().as_secs_f64() * 1e3);
                        break;
                    }
                    Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) => {}
                    _ => break,
                }
            }
            tokio::time::sleep(Duration::from_secs(1).saturating_sub(t.elapsed())).await;
        }
        restart_ms
    });
    let missed_before = missed(&line, Some(VICTIM)).await;
    let storm = collect(&line, window, Some(VICTIM)).await;
    let mut restarts = crasher.await.unwrap_or_default();
    let missed_storm = missed(&line, Some(VICTIM)).await - missed_before;
    let _ = line.shutdown().await;

    let split = |v: Vec<(f64, f64)>| -> (Vec<f64>, Vec<f64>) { v.into_iter().unzip() };
    let (mut calm, mut calm_late) = split(calm);
    let (mut storm, mut storm_late) = split(storm);
    let late = |v: &[f64]| v.iter().filter(|&&l| l > 1.0).count() as f64;
    println!(
        r#"{{"bench":"line","metric":"setup","execution":"{}","cycle_threads":{threads},"realtime":"{}","stress_cpus":{}}}"#,
        if caller { "caller" } else { "cycle_threads" },
        realtime.replace('\n', ";").replace('"', "'"),
        std::env::var("LINEVISOR_BENCH_STRESS").unwrap_or_else(|_| "0".into()),
    );
    emit("undisturbed_late_cycles", late(&calm_late), "count");
    emit(
        "undisturbed_lateness_p99_ms",
        pct(&mut calm_late, 0.99),
        "ms",
    );
    emit("crash_run_sibling_late_cycles", late(&storm_late), "count");
    emit(
        "crash_run_sibling_lateness_p99_ms",
        pct(&mut storm_late, 0.99),
        "ms",
    );
    emit(
        "undisturbed_allocations_per_drive_cycle",
        allocs as f64 / calm.len().max(1) as f64,
        "allocations",
    );
    emit("drives", DRIVES as f64, "count");
    emit("seconds_per_run", seconds as f64, "s");
    emit("undisturbed_samples", calm.len() as f64, "count");
    emit("undisturbed_jitter_p50_ms", pct(&mut calm, 0.50), "ms");
    emit("undisturbed_jitter_p99_ms", pct(&mut calm, 0.99), "ms");
    emit("undisturbed_missed_cycles", missed_calm as f64, "count");
    emit("process_cpu_percent_of_one_core", cpu_pct, "%");
    emit("process_rss_mib", rss, "MiB");
    emit("crash_run_sibling_samples", storm.len() as f64, "count");
    emit(
        "crash_run_sibling_jitter_p50_ms",
        pct(&mut storm, 0.50),
        "ms",
    );
    emit(
        "crash_run_sibling_jitter_p99_ms",
        pct(&mut storm, 0.99),
        "ms",
    );
    emit(
        "crash_run_sibling_missed_cycles",
        missed_storm as f64,
        "count",
    );
    emit(
        "crash_run_sibling_jitter_p99_ratio",
        pct(&mut storm, 0.99) / pct(&mut calm, 0.99),
        "ratio",
    );
    emit("crashes", restarts.len() as f64, "count");
    emit(
        "restart_to_first_sample_p50_ms",
        pct(&mut restarts, 0.50),
        "ms",
    );
    emit(
        "restart_to_first_sample_p99_ms",
        pct(&mut restarts, 0.99),
        "ms",
    );
    emit("command_ack_count", acks.len() as f64, "count");
    emit("command_ack_p50_ms", pct(&mut acks, 0.50), "ms");
    emit("command_ack_p99_ms", pct(&mut acks, 0.99), "ms");
    emit(
        "command_ack_p99_cycles",
        pct(&mut acks, 0.99) / 10.0,
        "cycles",
    );
}
