//! The `line` role: one scenario in a process of its own. Starts the simulator process, builds
//! and checks the line's config, runs the line on a runtime of its own (threads `line`) and
//! measures it from another thread (`probe`), whose CPU is counted apart.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use linevisor_line::{LineOptions, RunningLine};

use crate::config;
use crate::measure;
use crate::procfs::{PROBE_THREAD, status_mib};
use crate::scenario::{Points, SCENARIO, Scenario};
use crate::sim::{BusPlan, SimChild, SimSpec};

const SHUTDOWN_BOUND: Duration = Duration::from_secs(5);

pub(crate) fn main() {
    let sc: Scenario = std::env::var(SCENARIO)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| panic!("{SCENARIO} missing or invalid"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    if sc.points == Points::Ten {
        std::fs::write(
            dir.path().join("bench-servo-10.toml"),
            config::ten_point_profile(),
        )
        .unwrap_or_else(|e| panic!("profile: {e}"));
    }
    let plan = config::plan(&sc);
    let sim = SimChild::spawn(&SimSpec {
        buses: plan.clone(),
        modbus_profile: config::modbus_profile(sc.points),
        profile_dir: (sc.points == Points::Ten).then(|| dir.path().display().to_string()),
    });
    let text = config::line_text(&sc, &plan, &sim.endpoints);
    let Some(valid) = config::check(&text, dir.path(), &sc) else {
        sc.emit("config_refused", 1.0, "count");
        std::process::exit(1);
    };
    emit_layout(&sc, &plan, &valid);
    sc.emit("rss_before_line_mib", status_mib("self", "VmRSS"), "MiB");
    // Points per sample of each drive, from its profile.
    let points: BTreeMap<String, usize> = valid
        .config
        .drive
        .iter()
        .map(|d| {
            let key = (d.profile.name.clone(), d.profile.version.clone());
            let n = valid
                .profiles
                .get(&key)
                .map_or(0, |lp| config::points_per_sample(&lp.profile));
            (d.id.clone(), n)
        })
        .collect();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("line")
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let started = Instant::now();
    let line = rt
        .block_on(RunningLine::start(&valid, LineOptions::default()))
        .unwrap_or_else(|e| panic!("line start: {e}"));
    let line = Arc::new(line);
    let probe = {
        let (line, sc) = (Arc::clone(&line), sc.clone());
        let sim_pid = sim.pid();
        std::thread::Builder::new()
            .name(PROBE_THREAD.into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .thread_name(PROBE_THREAD)
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| panic!("probe runtime: {e}"));
                rt.block_on(measure::run(&sc, &line, sim_pid, started, &points));
            })
            .unwrap_or_else(|e| panic!("probe thread: {e}"))
    };
    let _ = probe.join();
    // The safe stop of every drive, measured up to a bound (it is not what this bench is
    // about, and a large line takes long); past it the process ends anyway.
    let t = Instant::now();
    let stopped =
        rt.block_on(async { tokio::time::timeout(SHUTDOWN_BOUND, line.shutdown()).await });
    if matches!(stopped, Ok(Ok(()))) {
        sc.emit("shutdown_s", t.elapsed().as_secs_f64(), "s");
    } else {
        sc.emit(
            "shutdown_unfinished_after_s",
            t.elapsed().as_secs_f64(),
            "s",
        );
    }
    drop(sim);
    {
        let _in_runtime = rt.enter();
        drop(line);
    }
    rt.shutdown_timeout(Duration::from_secs(2));
}

fn emit_layout(sc: &Scenario, plan: &[BusPlan], valid: &linevisor_config::ValidLine) {
    let modbus: Vec<usize> = plan
        .iter()
        .filter_map(|b| match b {
            BusPlan::Modbus(n) => Some(*n),
            BusPlan::Canopen(_) => None,
        })
        .collect();
    let canopen: Vec<usize> = plan
        .iter()
        .filter_map(|b| match b {
            BusPlan::Canopen(n) => Some(*n),
            BusPlan::Modbus(_) => None,
        })
        .collect();
    sc.emit("modbus_tcp_connections", modbus.len() as f64, "count");
    let most = |v: &[usize]| v.iter().copied().max().unwrap_or(0) as f64;
    sc.emit("modbus_units_per_connection_max", most(&modbus), "count");
    sc.emit("canopen_segments", canopen.len() as f64, "count");
    sc.emit("canopen_nodes_per_segment_max", most(&canopen), "count");
    sc.emit(
        "canopen_nodes_per_segment_limit",
        config::can_nodes_per_segment(sc.cycle_ms) as f64,
        "count",
    );
    let can_load = valid
        .loads
        .iter()
        .filter_map(|l| l.percent)
        .fold(f64::NAN, f64::max);
    if !canopen.is_empty() {
        sc.emit("canopen_wire_load_max_percent", can_load, "%");
    }
}
