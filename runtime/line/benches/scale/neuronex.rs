//! NeuronEX's published scenarios (emqx/neuronex-docs en_US/performance/modbustcp.md, NeuronEX
//! 3.2.1 on a 4-core Xeon 8269CY, Modbus TCP simulator, Float tags at contiguous addresses),
//! rebuilt at the same points/s with linevisor's shape of line: many drives of a few points
//! each rather than a few drivers of 10 000 tags. Each Modbus drive polls 10 points.
//!
//! | ours | points/s | NeuronEX, 1 s collection | NeuronEX, 100 ms collection |
//! |---|---|---|---|
//! | 100 drives × 10 points @ 100 ms | 10 k | 1 driver × 10 groups × 1000: 199 MB, 3 % CPU | 1 × 1 × 1000: 128 MB, 2 % |
//! | 100 drives × 10 points @ 10 ms | 100 k | 10 drivers × 10 × 1000: 497 MB, 30 % | 10 × 1 × 1000: 189 MB, 21 % |
//! | 1000 drives × 10 points @ 100 ms | 100 k | the same | the same |
//!
//! Writes: NeuronEX answered 100 API writes while collecting 100 k points/s in 85 / 523 / 778 ms
//! (min / avg / max); ours are set-velocity commands every 100 ms, acknowledged by read-back.

use crate::scenario::{Kind, Points, Scenario};

struct Case {
    name: &'static str,
    drives: usize,
    cycle_ms: u32,
    /// NeuronEX's RSS (MB) at these points/s, collecting every 1 s and every 100 ms.
    rss_1s_mb: f64,
    rss_100ms_mb: f64,
    /// Issue 17's goal for our RSS.
    goal_mb: f64,
}

const CASES: [Case; 3] = [
    Case {
        name: "neuronex_10k",
        drives: 100,
        cycle_ms: 100,
        rss_1s_mb: 199.0,
        rss_100ms_mb: 128.0,
        goal_mb: 20.0,
    },
    Case {
        name: "neuronex_100k",
        drives: 100,
        cycle_ms: 10,
        rss_1s_mb: 497.0,
        rss_100ms_mb: 189.0,
        goal_mb: 50.0,
    },
    Case {
        name: "neuronex_100k_wide",
        drives: 1000,
        cycle_ms: 100,
        rss_1s_mb: 497.0,
        rss_100ms_mb: 189.0,
        goal_mb: 50.0,
    },
];

/// Write latency NeuronEX published under 100 k points/s: min, avg, max (ms).
const WRITES_MS: (f64, f64, f64) = (85.0, 523.0, 778.0);
/// Issue 17's goal for our write p99, in cycles.
const WRITE_GOAL_CYCLES: f64 = 2.0;
const MB_PER_MIB: f64 = 1.048_576;

pub(crate) fn run_all(seconds: u64) {
    for c in &CASES {
        let sc = Scenario {
            name: c.name.into(),
            kind: Kind::ModbusTcp,
            drives: c.drives,
            cycle_ms: c.cycle_ms,
            seconds,
            points: Points::Ten,
        };
        let f = crate::run(&sc);
        let get = |m: &str| f.get(m).copied().unwrap_or(f64::NAN);
        let rss_mb = get("rss_window_max_mib") * MB_PER_MIB;
        sc.emit("rss_mb", rss_mb, "MB");
        sc.emit("neuronex_rss_mb_1s_collection", c.rss_1s_mb, "MB");
        sc.emit("neuronex_rss_mb_100ms_collection", c.rss_100ms_mb, "MB");
        sc.emit("rss_ratio_to_neuronex_1s", rss_mb / c.rss_1s_mb, "ratio");
        sc.emit("rss_goal_mb", c.goal_mb, "MB");
        sc.emit(
            "rss_goal_met",
            f64::from(u8::from(rss_mb <= c.goal_mb)),
            "bool",
        );
        if c.name != "neuronex_10k" {
            sc.emit("neuronex_write_min_ms", WRITES_MS.0, "ms");
            sc.emit("neuronex_write_avg_ms", WRITES_MS.1, "ms");
            sc.emit("neuronex_write_max_ms", WRITES_MS.2, "ms");
        }
        let p99 = get("command_ack_p99_cycles");
        sc.emit(
            "write_p99_goal_met",
            f64::from(u8::from(p99 <= WRITE_GOAL_CYCLES)),
            "bool",
        );
    }
}
