//! The scale benchmark of issue 17: how far one gateway scales. Simulated drives at 10, 100,
//! 500, 1 000 and 2 000, on Modbus TCP connections, on CANopen segments, or half and half, at a
//! 10 ms and a 100 ms cycle, through the real bus and drive actors under the supervision tree.
//! Per scenario: the line's CPU per drive and cycle, CPU % of one core, RSS, missed cycles,
//! jitter p99 (completion − schedule), command acknowledgement p99 and points/s. Per kind and
//! cycle: the knee, the largest line keeping every cycle. Then NeuronEX's published scenarios
//! (10 k and 100 k points/s) with RSS and write latency, beside its figures.
//!
//! Each scenario runs in a fresh process (its RSS is that line's alone) and its simulated
//! drives in another (the line's CPU and RSS exclude them; theirs are reported apart), reached
//! as hardware would be: Modbus TCP over loopback, CANopen through emulated slcan adapters on
//! pseudo-terminals. The benchmark's own measuring runs on a thread counted apart too.
//!
//! Default matrix: every kind at both cycles, sizes in ascending order; once a size misses
//! more than 10 % of its cycles the larger ones of that kind and cycle are skipped (about
//! 12 minutes on the 2-vCPU machine, NeuronEX's scenarios included).
//!
//! Run: `cargo bench -p linevisor-line --bench scale`. Environment:
//! `LINEVISOR_BENCH_SIZES` (default `10,100,500,1000,2000`), `LINEVISOR_BENCH_KINDS`
//! (`modbus_tcp,canopen,mixed`), `LINEVISOR_BENCH_CYCLES` (`10,100`), `LINEVISOR_BENCH_SECONDS`
//! (window per scenario, default 10), `LINEVISOR_BENCH_NEURONEX=0` skips NeuronEX's scenarios,
//! `LINEVISOR_BENCH_PLOT=<file.svg>` draws the curves, `LINEVISOR_BENCH_LINE_EXTRA` is TOML
//! appended to every line config (e.g. a `[realtime]` section).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod config;
mod drives;
mod line;
mod measure;
mod neuronex;
mod plot;
mod procfs;
mod scenario;
mod sim;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use scenario::{Kind, Points, ROLE, SCENARIO, Scenario, emit_plain};

/// A line missing more than this share of its cycles has collapsed: larger lines of the same
/// kind and cycle are not run (they would only collapse further, slowly).
const COLLAPSED_PERCENT: f64 = 10.0;
/// The knee keeps missed cycles at or below this share, and jitter p99 under one cycle.
const KNEE_MISSED_PERCENT: f64 = 0.01;

/// A scenario's figures by metric name.
pub(crate) type Figures = BTreeMap<String, f64>;

/// A scenario run, with its figures (none if it was skipped).
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) sc: Scenario,
    pub(crate) figures: Option<Figures>,
}

impl Outcome {
    pub(crate) fn get(&self, metric: &str) -> Option<f64> {
        self.figures.as_ref()?.get(metric).copied()
    }

    /// Every drive ready, missed cycles within the knee's share, jitter p99 under one cycle.
    fn keeps_cycles(&self) -> bool {
        let ready = self.get("drives_ready") == Some(self.sc.drives as f64);
        let missed = self
            .get("missed_cycles_percent")
            .is_some_and(|p| p <= KNEE_MISSED_PERCENT);
        let jitter = self
            .get("jitter_p99_ms")
            .is_some_and(|j| j < f64::from(self.sc.cycle_ms));
        ready && missed && jitter
    }

    fn collapsed(&self) -> bool {
        self.get("missed_cycles_percent")
            .is_none_or(|p| p > COLLAPSED_PERCENT)
    }
}

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("sim") => sim::main(),
        Ok("line") => line::main(),
        _ => orchestrate(),
    }
}

fn list(var: &str, default: &[u64]) -> Vec<u64> {
    let mut v: Vec<u64> = std::env::var(var)
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec());
    v.sort_unstable();
    v.dedup();
    v
}

/// Runs one scenario in its own process; its JSON lines are passed on and collected.
pub(crate) fn run(sc: &Scenario) -> Figures {
    eprintln!(
        "scale: {} {} drives {} ms ...",
        sc.kind.name(),
        sc.drives,
        sc.cycle_ms
    );
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current exe: {e}"));
    let json = serde_json::to_string(sc).unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(exe)
        .env(ROLE, "line")
        .env(SCENARIO, json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("scenario process: {e}"));
    let mut figures = Figures::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                eprintln!("{line}");
                continue;
            };
            println!("{line}");
            if let (Some(m), Some(x)) = (v["metric"].as_str(), v["value"].as_f64()) {
                figures.insert(m.to_owned(), x);
            }
        }
    }
    match child.wait() {
        Ok(s) if s.success() => {}
        status => sc.emit("scenario_failed", 1.0, &format!("{status:?}")),
    }
    figures
}

fn orchestrate() {
    let begun = Instant::now();
    let sizes = list("LINEVISOR_BENCH_SIZES", &[10, 100, 500, 1000, 2000]);
    let cycles = list("LINEVISOR_BENCH_CYCLES", &[10, 100]);
    let kinds: Vec<Kind> = std::env::var("LINEVISOR_BENCH_KINDS")
        .ok()
        .map(|s| s.split(',').filter_map(Kind::parse).collect())
        .unwrap_or_else(|| Kind::ALL.to_vec());
    let seconds = std::env::var("LINEVISOR_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let mut outcomes = Vec::new();
    for &kind in &kinds {
        for &cycle in &cycles {
            let mut collapsed = false;
            let first = outcomes.len();
            for &drives in &sizes {
                let sc = Scenario {
                    name: "scale".into(),
                    kind,
                    drives: drives as usize,
                    cycle_ms: cycle as u32,
                    seconds,
                    points: Points::Stock,
                };
                let figures = if collapsed {
                    sc.emit("skipped_after_collapse", 1.0, "count");
                    None
                } else {
                    Some(run(&sc))
                };
                let o = Outcome { sc, figures };
                collapsed = collapsed || o.collapsed();
                outcomes.push(o);
            }
            knee(kind, cycle, &outcomes[first..]);
        }
    }
    if std::env::var("LINEVISOR_BENCH_NEURONEX").as_deref() != Ok("0") {
        neuronex::run_all(seconds);
    }
    if let Ok(path) = std::env::var("LINEVISOR_BENCH_PLOT") {
        match std::fs::write(&path, plot::svg(&outcomes)) {
            Ok(()) => eprintln!("scale: plot written to {path}"),
            Err(e) => eprintln!("scale: plot {path}: {e}"),
        }
    }
    emit_plain(
        "total_minutes",
        begun.elapsed().as_secs_f64() / 60.0,
        "min",
        "",
    );
}

/// The largest size that keeps every cycle, every smaller one run keeping them too.
fn knee(kind: Kind, cycle: u64, outcomes: &[Outcome]) {
    let mut knee = 0;
    let mut first_failing = None;
    for o in outcomes.iter().filter(|o| o.figures.is_some()) {
        if o.keeps_cycles() {
            knee = o.sc.drives;
        } else {
            first_failing = Some(o.sc.drives);
            break;
        }
    }
    let failing = first_failing.map_or("null".to_owned(), |n| n.to_string());
    emit_plain(
        "knee_drives",
        knee as f64,
        "drives",
        &format!(
            r#","kind":"{}","cycle_ms":{cycle},"first_failing_drives":{failing},"criterion":"missed <= {KNEE_MISSED_PERCENT} % and jitter p99 < 1 cycle""#,
            kind.name()
        ),
    );
}
