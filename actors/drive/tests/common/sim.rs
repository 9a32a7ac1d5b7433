//! The simulator behind a recording service, and a real Modbus bus actor in front of it.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use linevisor_bus::{BusSpec, FnOpener, LinkStream, ModbusArgs, ModbusBus, ModbusHandle};
use linevisor_config::model::{ModbusRtuBus, ModbusTcpBus, Parity};
use linevisor_modbus::server::rtu::{RtuServerConfig, serve};
use linevisor_modbus::server::tcp::serve_connection;
use linevisor_modbus::{ExceptionCode, Request, Response, Service};
use linevisor_sim::{SimHandle, SimService};
use ractor::Actor;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::BAUD;

/// One request the simulator got: when, to which unit, and whether it was answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub unit: u8,
    pub request: Request,
    pub answered: bool,
}

/// The simulator's timeline of received requests.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    pub log: Arc<Mutex<Vec<Received>>>,
    pub notify: Arc<Notify>,
}

impl Recorder {
    pub fn all(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    /// Answered writes (carried out by the device).
    pub fn writes(&self) -> Vec<Received> {
        self.all()
            .into_iter()
            .filter(|r| r.answered && r.request.is_write())
            .collect()
    }

    /// Answered writes since `t`.
    pub fn writes_since(&self, t: Instant) -> Vec<Received> {
        self.writes().into_iter().filter(|r| r.at >= t).collect()
    }

    /// Waits (event-driven, hang-guarded in virtual time) until `pred` holds for some request.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Received) -> bool) -> Received {
        let wait = async {
            loop {
                let notified = self.notify.notified();
                if let Some(r) = self.all().into_iter().find(&pred) {
                    return r;
                }
                notified.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("the simulator never received {what}"))
    }
}

/// The simulator's service, recording every request.
struct Recording {
    inner: SimService,
    rec: Recorder,
}

impl Service for Recording {
    async fn call(&self, unit: u8, request: Request) -> Option<Result<Response, ExceptionCode>> {
        let answer = self.inner.call(unit, request.clone()).await;
        self.rec.log.lock().unwrap().push(Received {
            at: Instant::now(),
            unit,
            request,
            answered: answer.is_some(),
        });
        self.rec.notify.notify_waiters();
        answer
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Rtu,
    Tcp,
}

/// Spawns a bus actor (see [`bus_args`]) behind a new handle.
pub async fn spawn_bus(sim: &SimHandle, rec: &Recorder, transport: Transport) -> ModbusHandle {
    let args = bus_args(sim, rec, transport);
    let id = args.spec.id().to_owned();
    let (actor, _join) = Actor::spawn(None, ModbusBus, args)
        .await
        .expect("spawn bus");
    ModbusHandle::new(id, actor)
}

/// A bus actor's args: its opener serves `sim` over a fresh in-memory stream per open
/// (response timeout 20 ms, no retries, demoted after 3 timeouts, probed every 200 ms).
pub fn bus_args(sim: &SimHandle, rec: &Recorder, transport: Transport) -> ModbusArgs {
    let (sim, rec) = (sim.clone(), rec.clone());
    let opener = FnOpener::new("sim", move || {
        let (sim, rec) = (sim.clone(), rec.clone());
        async move {
            let (client, server) = tokio::io::duplex(4096);
            match transport {
                Transport::Rtu => {
                    let svc = Arc::new(Recording {
                        inner: SimService::rtu(sim),
                        rec,
                    });
                    tokio::spawn(serve(server, svc, RtuServerConfig::new(BAUD)));
                }
                Transport::Tcp => {
                    let svc = Arc::new(Recording {
                        inner: SimService::tcp(sim),
                        rec,
                    });
                    tokio::spawn(serve_connection(server, svc));
                }
            }
            Ok::<_, io::Error>(Box::new(client) as LinkStream)
        }
    });
    let spec = match transport {
        Transport::Rtu => BusSpec::Rtu(ModbusRtuBus {
            id: "sim-rtu".into(),
            port: "/dev/null".into(),
            baud: BAUD,
            parity: Parity::Even,
            data_bits: 8,
            stop_bits: 1,
            response_timeout_ms: 20,
            retries: 0,
            inter_frame_gap_us: None,
            echo_suppression: false,
            broadcast_turnaround_ms: 20,
            demote_after_timeouts: 3,
            probe_interval_ms: 200,
        }),
        Transport::Tcp => BusSpec::Tcp(ModbusTcpBus {
            id: "sim-tcp".into(),
            address: "sim:502".into(),
            connect_timeout_ms: 100,
            response_timeout_ms: 20,
            retries: 0,
            max_in_flight: 1,
            demote_after_timeouts: 3,
            probe_interval_ms: 200,
        }),
    };
    ModbusArgs::new(spec, Box::new(opener))
}
