//! Every shipped serial profile passes the conformance scenario, unchanged, against
//! linevisor-sim's serial drive through the real serial bus actor under a real supervisor:
//! over an in-memory line (paused time) and over a pseudo-terminal paced at the baud rate
//! (real time, hang guards only).

mod common;

use std::io;
use std::sync::{Arc, Mutex};

use common::{SERIAL, UNIT, profile, shipped_of};
use linevisor_bus::serial::{SerialArgs, SerialBus, SerialHandle};
use linevisor_bus::{BusOptions, FnOpener, LinkStream, Opener};
use linevisor_config::model::{Parity, Protocol, SerialBus as SerialBusConfig};
use linevisor_drive::conformance::{self, Rig};
use linevisor_profile::PowerState;
use linevisor_sim::{ServeTask, SimDrive, SimDriveOptions, SimHandle};
use ractor::Actor;

/// The simulated serial drive as the scenario's device side.
#[derive(Clone)]
struct SerialRig {
    sim: SimHandle,
}

impl Rig for SerialRig {
    fn device_state(&self) -> Option<PowerState> {
        self.sim.with_drive(UNIT, |d| d.state()).ok()
    }

    fn device_value(&self, point: &str) -> Option<f64> {
        self.sim
            .with_drive(UNIT, |d| d.point_value(point))
            .ok()
            .flatten()
    }

    fn writes_received(&self) -> usize {
        self.sim.writes_received(UNIT).unwrap_or(0) as usize
    }

    fn inject_fault(&self, code: u16) {
        self.sim.inject_fault(UNIT, Some(code)).expect("inject");
    }

    fn go_silent(&self) {
        self.sim.go_silent(UNIT).expect("silent");
    }

    fn come_back(&self) {
        self.sim.come_back(UNIT).expect("back");
    }
}

fn bus_config(response_timeout_ms: u32) -> SerialBusConfig {
    SerialBusConfig {
        id: "serial-a".into(),
        port: "simulated".into(),
        baud: 115_200,
        parity: Parity::None,
        data_bits: 8,
        stop_bits: 1,
        response_timeout_ms,
        retries: 1,
        inter_request_gap_us: 0,
        echo_suppression: false,
        demote_after_timeouts: 3,
        probe_interval_ms: 500,
    }
}

/// How the bus reaches the simulator's line.
#[derive(Debug, Clone, Copy)]
enum Wire {
    /// In-memory, a fresh line per open (paused time).
    Memory,
    /// A pseudo-terminal paced at 115 200 baud (real time).
    Pty,
}

fn opener(sim: &SimHandle, wire: Wire) -> Box<dyn Opener> {
    let sim = sim.clone();
    // The serving tasks live as long as the test.
    let keep: Arc<Mutex<Vec<ServeTask>>> = Arc::default();
    Box::new(FnOpener::new("simulated serial line", move || {
        let opened: io::Result<LinkStream> = match wire {
            Wire::Memory => sim
                .serve_duplex_serial()
                .map(|(io, task)| {
                    keep.lock().unwrap().push(task);
                    Box::new(io) as LinkStream
                })
                .map_err(|e| io::Error::other(e.to_string())),
            Wire::Pty => sim
                .serve_pty_serial(115_200)
                .map_err(|e| io::Error::other(e.to_string()))
                .map(|endpoint| {
                    let far = endpoint.far_end.expect("the pty's other end");
                    keep.lock().unwrap().push(endpoint.task);
                    Box::new(far) as LinkStream
                }),
        };
        async move { opened }
    }))
}

async fn conform(name: &str, wire: Wire) {
    let profile = profile(name);
    let sim = SimHandle::new();
    let drive = SimDrive::new(
        &profile,
        SimDriveOptions {
            serial_number: SERIAL,
            ..SimDriveOptions::default()
        },
    )
    .expect("sim drive");
    sim.add_drive(UNIT, drive).expect("add");
    let timeout = match wire {
        Wire::Memory => 100,
        // Generous: a loaded CI machine must not turn into a false timeout.
        Wire::Pty => 1000,
    };
    let args = SerialArgs {
        config: bus_config(timeout),
        opener: opener(&sim, wire),
        options: BusOptions::default(),
    };
    let (actor, _) = Actor::spawn(None, SerialBus, args).await.expect("bus");
    let bus = SerialHandle::new("serial-a", actor);
    let config = conformance::drive_config(&profile, "axis-1", "serial-a", u32::from(UNIT));
    let harness = common::harness(profile, config, bus.clone().into()).await;
    match conformance::run(&SerialRig { sim }, harness).await {
        Ok(report) => {
            for step in report.steps {
                println!("{name} ({wire:?}): {step}");
            }
        }
        Err(f) => panic!("{name} ({wire:?}): {f}"),
    }
    bus.stop().await.expect("stop");
}

#[tokio::test(start_paused = true)]
async fn every_shipped_serial_profile_conforms_on_an_in_memory_line() {
    for name in shipped_of(Protocol::Serial) {
        conform(&name, Wire::Memory).await;
    }
}

#[tokio::test]
async fn every_shipped_serial_profile_conforms_over_a_pty() {
    for name in shipped_of(Protocol::Serial) {
        conform(&name, Wire::Pty).await;
    }
}
