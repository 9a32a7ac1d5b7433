//! Modbus RTU rows: three simulated servos on an emulated RS-485 wire (`linevisor_sim::RtuWire`,
//! paced at 115 200 baud, faults from a fixed seed) and two on a clean wire of their own (the
//! neighbours). Each fault is switched on for a few seconds while both buses get commands.

mod rig;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use linevisor_bus::{BusSpec, FnOpener, LinkStream, Opener};
use linevisor_config::model::{ModbusRtuBus, Parity};
use linevisor_modbus::server::rtu::RtuServerConfig;
use linevisor_sim::{RtuWire, SimHandle, WireFaults};

pub(crate) use rig::{Drives, Fault, run, servos};

const BAUD: u32 = 115_200;
const SEED: u64 = 14;
const FAULTY: [u8; 3] = [1, 2, 3];
const NEIGHBOURS: [u8; 2] = [1, 2];
const ON_FOR: Duration = Duration::from_secs(3);
/// Noise a misframing slave reads as the header of a 263-byte write.
const LONG_HEADER: [u8; 7] = [0x01, 0x10, 0x00, 0x00, 0x00, 0x7F, 0xFE];

/// The config defaults: 100 ms response timeout, 1 retry, demoted after 3 timeouts, probed
/// every second.
fn spec(id: &str) -> BusSpec {
    BusSpec::Rtu(ModbusRtuBus {
        id: id.into(),
        port: format!("/dev/{id}"),
        baud: BAUD,
        parity: Parity::Even,
        data_bits: 8,
        stop_bits: 1,
        response_timeout_ms: 100,
        retries: 1,
        inter_frame_gap_us: None,
        echo_suppression: false,
        broadcast_turnaround_ms: 100,
        demote_after_timeouts: 3,
        probe_interval_ms: 1000,
    })
}

/// A new pair of ends of `wire` per open, `sim` serving the far one (misframing or not); no
/// port while `vanished`.
fn opener(
    wire: RtuWire,
    sim: SimHandle,
    misframing: bool,
    vanished: Arc<AtomicBool>,
) -> Box<dyn Opener> {
    Box::new(FnOpener::new("emulated rs-485", move || {
        let opened = if vanished.load(Ordering::SeqCst) {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such device",
            ))
        } else {
            let (master, slaves) = wire.ends();
            let sim = sim.clone();
            tokio::spawn(async move {
                if misframing {
                    sim.serve_rtu_misframing(slaves, BAUD).await
                } else {
                    sim.serve_rtu(slaves, RtuServerConfig::new(BAUD)).await
                }
            });
            Ok(Box::new(master) as LinkStream)
        };
        async move { opened }
    }))
}

/// The bus under test and its wire, and the neighbours on a clean wire.
struct Line {
    faulty: Drives,
    neighbour: Drives,
    wire: RtuWire,
    vanished: Arc<AtomicBool>,
}

async fn line(misframing: bool) -> Line {
    let wire = RtuWire::new(BAUD, SEED);
    let vanished = Arc::new(AtomicBool::new(false));
    let open = opener(wire.clone(), servos(&FAULTY), misframing, vanished.clone());
    let faulty = Drives::start(spec("rs485-a"), open, &FAULTY).await;
    let clean = RtuWire::new(BAUD, SEED);
    let open = opener(clean, servos(&NEIGHBOURS), false, Arc::default());
    let neighbour = Drives::start(spec("rs485-b"), open, &NEIGHBOURS).await;
    Line {
        faulty,
        neighbour,
        wire,
        vanished,
    }
}

/// A row whose fault is the wire's.
async fn wire_row(name: &'static str, faults: WireFaults) {
    let mut l = line(false).await;
    let wire = l.wire.clone();
    let fault = Fault {
        layer: "modbus_rtu",
        name,
        on_for: ON_FOR,
        set: Box::new(move |on| {
            wire.set_faults(if on {
                faults.clone()
            } else {
                WireFaults::default()
            });
        }),
    };
    run(fault, &mut l.faulty, &mut l.neighbour).await.finish();
}

#[tokio::test(start_paused = true)]
async fn rtu_drop() {
    wire_row("drop 30 % of frames", WireFaults::noise(0.0, 0.3)).await;
}

#[tokio::test(start_paused = true)]
async fn rtu_corrupt() {
    wire_row("corrupt 30 % of frames", WireFaults::noise(0.3, 0.0)).await;
}

#[tokio::test(start_paused = true)]
async fn rtu_delay() {
    let late = WireFaults {
        delay: Duration::from_millis(150),
        ..WireFaults::default()
    };
    wire_row("answers 150 ms late (timeout 100 ms)", late).await;
}

#[tokio::test(start_paused = true)]
async fn rtu_echo() {
    let echo = WireFaults {
        echo: true,
        ..WireFaults::default()
    };
    wire_row("echo of every request", echo).await;
}

#[tokio::test(start_paused = true)]
async fn rtu_garbage() {
    let noise = WireFaults {
        garbage: 0.5,
        ..WireFaults::default()
    };
    wire_row("noise bursts before 50 % of frames", noise).await;
}

#[tokio::test(start_paused = true)]
async fn rtu_misframing_slave() {
    let mut l = line(true).await;
    let wire = l.wire.clone();
    let fault = Fault {
        layer: "modbus_rtu",
        name: "slaves that misframe after noise",
        on_for: ON_FOR,
        set: Box::new(move |on| {
            if on {
                wire.set_faults(WireFaults::noise(0.05, 0.03));
                wire.burst_to_slaves(&LONG_HEADER);
            } else {
                wire.clear_faults();
            }
        }),
    };
    run(fault, &mut l.faulty, &mut l.neighbour).await.finish();
}

#[tokio::test(start_paused = true)]
async fn rtu_port_vanish() {
    let mut l = line(false).await;
    let (wire, vanished) = (l.wire.clone(), l.vanished.clone());
    let fault = Fault {
        layer: "modbus_rtu",
        name: "port vanishes (adapter unplugged)",
        on_for: ON_FOR,
        set: Box::new(move |on| {
            vanished.store(on, Ordering::SeqCst);
            if on {
                wire.cut();
            }
        }),
    };
    run(fault, &mut l.faulty, &mut l.neighbour).await.finish();
}
