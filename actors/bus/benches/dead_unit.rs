//! The cost of one dead unit among four on an RTU line (issue 4), on a line paced at the baud
//! rate. Every unit polls one block of 10 holding registers as often as the line allows (1 ms
//! period: the line is saturated), so the interval between a live unit's samples is the bus
//! cycle. Figures, in ms per bus cycle:
//! - the cycle with three live units (reference), and with four;
//! - with three live units and a dead fourth, before its demotion (each cycle pays one
//!   response timeout) and after it (the dead unit costs one timeout per probe period).
//!
//! Run: `cargo bench -p linevisor-bus --bench dead_unit`
#![allow(clippy::print_stdout)]

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use linevisor_bus::{
    Attach, BusEvent, BusSpec, FnOpener, LinkStream, ModbusArgs, ModbusBus, ModbusHandle,
    ReadBlock, RegisterTable,
};
use linevisor_config::model::{ModbusRtuBus, Parity};
use linevisor_modbus::server::rtu::{RtuServerConfig, serve};
use linevisor_modbus::server::{RegisterMap, UnitMemory};
use ractor::Actor;
use tokio::sync::mpsc;
use tokio::time::Instant;

const BAUD: u32 = 19_200;
const TIMEOUT_MS: u32 = 50;
const PROBE_MS: u32 = 1000;

fn emit(metric: &str, value: f64, unit: &str) {
    println!(r#"{{"bench":"dead_unit","metric":"{metric}","value":{value:.3},"unit":"{unit}"}}"#);
}

fn spec() -> ModbusRtuBus {
    ModbusRtuBus {
        id: "rs485-bench".into(),
        port: "paced".into(),
        baud: BAUD,
        parity: Parity::Even,
        data_bits: 8,
        stop_bits: 1,
        response_timeout_ms: TIMEOUT_MS,
        retries: 0,
        inter_frame_gap_us: None,
        echo_suppression: false,
        broadcast_turnaround_ms: 20,
        demote_after_timeouts: 3,
        probe_interval_ms: PROBE_MS,
    }
}

/// A bus on a paced line whose server answers `alive` units.
async fn bus_with(alive: &[u8]) -> ModbusHandle {
    let map = RegisterMap::new();
    for &u in alive {
        map.insert_unit(u, UnitMemory::new(100));
    }
    let map = Arc::new(map);
    let used = Arc::new(Mutex::new(false));
    let opener = FnOpener::new("paced line", move || {
        let map = Arc::clone(&map);
        let first = !std::mem::replace(&mut *used.lock().unwrap(), true);
        async move {
            if !first {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "one line per bench",
                ));
            }
            let (client, server) = linevisor_modbus::paced::paced_line(BAUD)?;
            tokio::spawn(serve(server, map, RtuServerConfig::new(BAUD)));
            Ok(Box::new(client) as LinkStream)
        }
    });
    let args = ModbusArgs::new(BusSpec::Rtu(spec()), Box::new(opener));
    let (actor, _join) = Actor::spawn(None, ModbusBus, args).await.unwrap();
    ModbusHandle::new("rs485-bench", actor)
}

async fn attach_all(bus: &ModbusHandle, units: &[u8]) -> mpsc::Receiver<BusEvent> {
    let (tx, rx) = mpsc::channel(4096);
    for &unit in units {
        let a = Attach {
            unit,
            blocks: vec![ReadBlock {
                table: RegisterTable::Holding,
                address: 0,
                count: 10,
            }],
            period: Duration::from_millis(1),
            sink: tx.clone(),
        };
        bus.attach(a).await.unwrap();
    }
    rx
}

/// Completion times of unit 1's samples within `window`, and the time of the demotion if any.
async fn watch(
    rx: &mut mpsc::Receiver<BusEvent>,
    window: Duration,
) -> (Vec<Instant>, Option<Instant>) {
    let end = Instant::now() + window;
    let (mut times, mut demoted) = (Vec::new(), None);
    while let Ok(Some(ev)) = tokio::time::timeout_at(end, rx.recv()).await {
        match ev {
            BusEvent::Sample(s) if s.unit == 1 => times.push(s.completed_at),
            BusEvent::Demoted { .. } => demoted = Some(Instant::now()),
            _ => {}
        }
    }
    (times, demoted)
}

fn mean_interval_ms(times: &[Instant]) -> f64 {
    if times.len() < 2 {
        return f64::NAN;
    }
    let span = times[times.len() - 1] - times[0];
    span.as_secs_f64() * 1e3 / (times.len() - 1) as f64
}

async fn healthy_cycle(units: &[u8]) -> f64 {
    let bus = bus_with(units).await;
    let mut rx = attach_all(&bus, units).await;
    let _ = watch(&mut rx, Duration::from_millis(500)).await; // settle
    let (times, _) = watch(&mut rx, Duration::from_secs(4)).await;
    let _ = bus.stop().await;
    mean_interval_ms(&times)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let three = healthy_cycle(&[1, 2, 3]).await;
    let four = healthy_cycle(&[1, 2, 3, 4]).await;

    // Unit 4 is attached but never answers.
    let bus = bus_with(&[1, 2, 3]).await;
    let mut rx = attach_all(&bus, &[1, 2, 3, 4]).await;
    let (before, demoted) = watch(&mut rx, Duration::from_millis(600)).await;
    let Some(demoted_at) = demoted else {
        eprintln!("error: the dead unit was not demoted within 600 ms");
        std::process::exit(1);
    };
    let before: Vec<Instant> = before.into_iter().filter(|t| *t <= demoted_at).collect();
    let (after, _) = watch(&mut rx, Duration::from_secs(10)).await;
    let _ = bus.stop().await;
    let (before_ms, after_ms) = (mean_interval_ms(&before), mean_interval_ms(&after));

    emit("cycle_3_live_ms", three, "ms");
    emit("cycle_4_live_ms", four, "ms");
    emit("cycle_3_live_1_dead_before_demotion_ms", before_ms, "ms");
    emit("cycle_3_live_1_dead_after_demotion_ms", after_ms, "ms");
    emit(
        "dead_unit_added_ms_per_cycle_before_demotion",
        before_ms - three,
        "ms",
    );
    emit(
        "dead_unit_added_ms_per_cycle_after_demotion",
        after_ms - three,
        "ms",
    );
    // The documented bound after demotion: one probe per probe period (request frame, response
    // timeout, t3.5), spread over the cycles in that period.
    let char_ms = 11.0 * 1e3 / f64::from(BAUD);
    let t35_ms = if BAUD > 19_200 { 1.75 } else { 3.5 * char_ms };
    let probe_ms = 8.0 * char_ms + f64::from(TIMEOUT_MS) + t35_ms;
    let bound = probe_ms * three / f64::from(PROBE_MS);
    emit("dead_unit_bound_after_demotion_ms_per_cycle", bound, "ms");
}
