//! Phase 4 (issue 15): boot of the 8 nodes under `[canopen] pdo_mapping = "auto"` and
//! `"configure"`, interleaved (the order alternates each round), `rounds` of each, each round
//! on a line of its own:
//! - line start: fresh nodes (the simulator's CiA 402 default mapping, which is not the
//!   profile's) → every drive ready (`Ready`). Both policies must write every PDO here. The
//!   simulated segment makes a node when the master first addresses it, so the first SDO of
//!   each node is lost: an SDO timeout (200 ms) per node, counted in `sdo_timeouts`;
//! - power cycle of all 8 nodes at once (factory mapping again, new serial) → every drive's
//!   `UnitReplaced` and `Ready`: the cold boot without that artefact;
//! - bus restart (`restart_bus`): the same nodes, already mapped as the profile asks → every
//!   drive's `CommRestored` (the bus booted it) and `Ready` (its reconnect procedure done).
//!   `auto` should write no PDO here.
//!
//! Per boot also the bus's SDO transfers (its metrics count transfers, not which are writes)
//! and the PDOs re-mapped (SDO writes) or found already mapped, from linevisor-canopen's log.

use std::time::{Duration, Instant};

use linevisor_config::ValidLine;
use linevisor_config::model::PdoMappingPolicy;
use linevisor_drive::{DriveEvent, DriveEventKind, DriveState, snapshot};
use linevisor_line::{BusCtl, LineOptions, RunningLine};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::{DRIVES, emit, quantile, remaps};

const POLICIES: [(PdoMappingPolicy, &str); 2] = [
    (PdoMappingPolicy::Auto, "auto"),
    (PdoMappingPolicy::Configure, "configure"),
];

const GUARD: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Boots {
    ready_ms: Vec<f64>,
    restored_ms: Vec<f64>,
    sdo_transfers: Vec<f64>,
    sdo_timeouts: Vec<f64>,
    remapped: Vec<f64>,
    already_mapped: Vec<f64>,
}

#[derive(Debug, Default)]
struct Policy {
    start: Boots,
    power_cycle: Boots,
    restart: Boots,
}

fn with_policy(line: &ValidLine, policy: PdoMappingPolicy) -> ValidLine {
    let mut line = line.clone();
    for lp in line.profiles.values_mut() {
        if let Some(c) = lp.profile.canopen.as_mut() {
            c.pdo_mapping = policy;
        }
    }
    line
}

/// When the next event matching `pred` happened (as the drive stamped it).
async fn next(
    rx: &mut broadcast::Receiver<DriveEvent>,
    pred: fn(&DriveEventKind) -> bool,
) -> Instant {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(e) if pred(&e.kind) => return e.at.into_std(),
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => panic!("event channel closed"),
            }
        }
    };
    // Only a hang guard: a boot that never completes is a failure, not a figure.
    tokio::time::timeout(GUARD, wait)
        .await
        .unwrap_or_else(|_| panic!("no boot event within {GUARD:?}"))
}

fn ready(k: &DriveEventKind) -> bool {
    matches!(k, DriveEventKind::Ready { .. })
}

fn replaced(k: &DriveEventKind) -> bool {
    matches!(k, DriveEventKind::UnitReplaced { .. })
}

fn restored(k: &DriveEventKind) -> bool {
    matches!(k, DriveEventKind::CommRestored)
}

fn subscribe(running: &RunningLine) -> Vec<broadcast::Receiver<DriveEvent>> {
    (1..=DRIVES)
        .map(|i| {
            let id = format!("axis-{i}");
            let d = running.drive(&id).unwrap_or_else(|| panic!("{id}"));
            d.channels.events.subscribe()
        })
        .collect()
}

fn ms(t0: Instant, t: Instant) -> f64 {
    t.saturating_duration_since(t0).as_secs_f64() * 1e3
}

/// The bus's SDO counters (transfers, timeouts) now.
async fn sdo(running: &RunningLine) -> (u64, u64) {
    let bus = running.bus("sim-can").unwrap_or_else(|| panic!("sim-can"));
    let m = bus.handle.metrics().await.unwrap_or_else(|e| panic!("{e}"));
    let c = m
        .canopen
        .unwrap_or_else(|| panic!("a CANopen bus has CANopen metrics"));
    (c.sdo_transfers, c.sdo_timeouts)
}

/// The counters of one boot: SDO and PDO counts since `sdo_before` and `pdo_before`.
async fn record(
    running: &RunningLine,
    boots: &mut Boots,
    sdo_before: (u64, u64),
    pdo_before: (u64, u64),
) {
    let (transfers, timeouts) = sdo(running).await;
    let (remapped, already) = remaps::counts();
    boots.sdo_transfers.push((transfers - sdo_before.0) as f64);
    boots.sdo_timeouts.push((timeouts - sdo_before.1) as f64);
    boots.remapped.push((remapped - pdo_before.0) as f64);
    boots.already_mapped.push((already - pdo_before.1) as f64);
}

/// Starts the line and waits for every drive to be ready.
async fn line_start(line: &ValidLine, boots: &mut Boots) -> RunningLine {
    let before = remaps::counts();
    let t0 = Instant::now();
    let running = RunningLine::start(line, LineOptions::default())
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    let mut subs = subscribe(&running);
    let mut last = t0;
    for (i, rx) in subs.iter_mut().enumerate() {
        let id = format!("axis-{}", i + 1);
        let d = running.drive(&id).unwrap_or_else(|| panic!("{id}"));
        let s = snapshot(&d.handle).await.unwrap_or_else(|e| panic!("{e}"));
        // Ready before the subscription: counted as ready now (at most a few ms late).
        let at = if matches!(s.state, DriveState::Initializing | DriveState::Offline) {
            next(rx, ready).await
        } else {
            Instant::now()
        };
        last = last.max(at);
    }
    boots.ready_ms.push(ms(t0, last));
    // A new bus: its counters started with this boot.
    record(&running, boots, (0, 0), before).await;
    running
}

/// Power-cycles every node at once (factory mapping again, new serial) and waits for every
/// drive to be ready with its replaced unit.
async fn power_cycle(running: &RunningLine, boots: &mut Boots) {
    let bus = running.bus("sim-can").unwrap_or_else(|| panic!("sim-can"));
    let mut subs = subscribe(running);
    let (sdo_before, pdo_before) = (sdo(running).await, remaps::counts());
    let t0 = Instant::now();
    for node in 1..=DRIVES {
        let _ = bus.child.cast(BusCtl::PowerCycleNode(node));
    }
    let mut last = t0;
    for rx in &mut subs {
        next(rx, replaced).await;
        last = last.max(next(rx, ready).await);
    }
    boots.ready_ms.push(ms(t0, last));
    record(running, boots, sdo_before, pdo_before).await;
}

/// Restarts the bus (its nodes keep their mapping) and waits for every drive to be ready.
async fn bus_restart(running: &RunningLine, boots: &mut Boots) {
    let mut subs = subscribe(running);
    let before = remaps::counts();
    let t0 = Instant::now();
    running
        .restart_bus("sim-can")
        .await
        .unwrap_or_else(|e| panic!("restart: {e}"));
    let (mut restored_at, mut ready_at) = (t0, t0);
    for rx in &mut subs {
        restored_at = restored_at.max(next(rx, restored).await);
        ready_at = ready_at.max(next(rx, ready).await);
    }
    boots.restored_ms.push(ms(t0, restored_at));
    boots.ready_ms.push(ms(t0, ready_at));
    // A new bus actor: its counters started with this boot.
    record(running, boots, (0, 0), before).await;
}

/// One boot of each kind, on a line of its own.
async fn round(line: &ValidLine, p: &mut Policy) {
    let running = line_start(line, &mut p.start).await;
    power_cycle(&running, &mut p.power_cycle).await;
    bus_restart(&running, &mut p.restart).await;
    let _ = running.shutdown().await;
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    quantile(&s, 0.5)
}

fn report(what: &str, policy: &str, b: &Boots) {
    let mut ready = b.ready_ms.clone();
    ready.sort_by(f64::total_cmp);
    let m = |f: &str| format!("boot8_{what}_{policy}_{f}");
    emit(&m("p50_ms"), quantile(&ready, 0.5), "ms");
    emit(&m("p99_ms"), quantile(&ready, 0.99), "ms");
    if !b.restored_ms.is_empty() {
        emit(&m("comm_restored_p50_ms"), median(&b.restored_ms), "ms");
    }
    emit(&m("sdo_transfers"), median(&b.sdo_transfers), "transfers");
    emit(&m("sdo_timeouts"), median(&b.sdo_timeouts), "transfers");
    emit(&m("pdos_remapped"), median(&b.remapped), "pdos");
    emit(&m("pdos_already_mapped"), median(&b.already_mapped), "pdos");
}

pub(crate) async fn policies(base: &ValidLine, rounds: usize) {
    let lines: Vec<ValidLine> = POLICIES
        .iter()
        .map(|(p, _)| with_policy(base, *p))
        .collect();
    let mut results: Vec<Policy> = POLICIES.iter().map(|_| Policy::default()).collect();
    for r in 0..rounds {
        // Alternate which policy goes first, so neither always follows the other.
        let order: [usize; 2] = if r % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            round(&lines[i], &mut results[i]).await;
        }
    }
    emit("boot8_rounds", rounds as f64, "boots");
    for ((_, name), p) in POLICIES.iter().zip(&results) {
        report("line_start", name, &p.start);
        report("power_cycle", name, &p.power_cycle);
        report("bus_restart", name, &p.restart);
    }
    let p50 = |b: &Boots| median(&b.ready_ms);
    let (auto, configure) = (&results[0], &results[1]);
    emit(
        "boot8_line_start_auto_over_configure_p50_ratio",
        p50(&auto.start) / p50(&configure.start),
        "ratio",
    );
    emit(
        "boot8_power_cycle_auto_over_configure_p50_ratio",
        p50(&auto.power_cycle) / p50(&configure.power_cycle),
        "ratio",
    );
    emit(
        "boot8_bus_restart_auto_over_configure_p50_ratio",
        p50(&auto.restart) / p50(&configure.restart),
        "ratio",
    );
}
