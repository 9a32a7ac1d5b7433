//! CPU and memory from /proc: of this process's threads by name, and of another process.

use std::time::Instant;

/// The thread that runs the benchmark's own measuring (telemetry collectors, commands,
/// snapshots); its CPU is not the line's.
pub(crate) const PROBE_THREAD: &str = "probe";

/// CPU consumed so far, in seconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuSample {
    pub(crate) at: Instant,
    /// Every live thread of this process but the probe (scheduler run time, ns precision).
    pub(crate) line_s: f64,
    /// The probe thread.
    pub(crate) probe_s: f64,
    /// The simulator process (utime + stime, 10 ms ticks).
    pub(crate) sim_s: f64,
    /// Every CPU of the machine, busy (all but idle and iowait), in CPU-seconds.
    pub(crate) machine_busy_s: f64,
}

impl CpuSample {
    pub(crate) fn take(sim_pid: u32) -> Self {
        let (mut line_s, mut probe_s) = (0.0, 0.0);
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for t in tasks.flatten() {
                let path = t.path();
                let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
                let ns: f64 = std::fs::read_to_string(path.join("schedstat"))
                    .ok()
                    .and_then(|s| s.split_whitespace().next()?.parse().ok())
                    .unwrap_or(0.0);
                if comm.trim_end() == PROBE_THREAD {
                    probe_s += ns / 1e9;
                } else {
                    line_s += ns / 1e9;
                }
            }
        }
        Self {
            at: Instant::now(),
            line_s,
            probe_s,
            sim_s: ticks_s(&format!("/proc/{sim_pid}/stat")),
            machine_busy_s: machine_busy_s(),
        }
    }
}

/// CPU-seconds the whole machine was busy (first line of /proc/stat, 10 ms ticks).
fn machine_busy_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    (ticks.iter().sum::<f64>() - idle) / 100.0
}

/// The 1-minute load average.
pub(crate) fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// utime + stime of a process in seconds.
fn ticks_s(stat_path: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (field(11) + field(12)) / 100.0
}

/// A `/proc/<pid>/status` figure in MiB (`VmRSS`, `VmHWM`); `pid` "self" for this process.
pub(crate) fn status_mib(pid: &str, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// The `q` quantile of sorted values.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}
