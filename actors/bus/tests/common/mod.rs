//! Test doubles: a register-map server with fault injection, stream wrappers, openers and
//! event helpers.
#![allow(dead_code, unreachable_pub)]

pub mod faults;
pub mod serial_device;

use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use faults::{Corrupting, TestService};
use linevisor_bus::{
    Attach, BusEvent, BusOptions, BusSpec, FnOpener, LinkStream, ModbusArgs, ModbusBus,
    ModbusHandle, ReadBlock, Sample,
};
use linevisor_config::model::{ModbusRtuBus, ModbusTcpBus, Parity};
use linevisor_modbus::Retry;
use linevisor_modbus::server::rtu::{RtuServerConfig, serve};
use linevisor_modbus::server::{RegisterMap, UnitMemory};
use ractor::Actor;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Units with 200 registers per table: holding i = 100·unit + i, input i = 10 000 + 100·unit + i;
/// and 200 bits per table: coil i set when i + unit is even, discrete input i when i is a
/// multiple of 3.
pub fn register_map(units: &[u8]) -> Arc<RegisterMap> {
    let map = RegisterMap::new();
    for &u in units {
        let mut m = UnitMemory::new(200);
        for (i, r) in m.holding_registers.iter_mut().enumerate() {
            *r = holding(u, i as u16);
        }
        for (i, r) in m.input_registers.iter_mut().enumerate() {
            *r = input(u, i as u16);
        }
        for (i, b) in m.coils.iter_mut().enumerate() {
            *b = coil(u, i as u16) == 1;
        }
        for (i, b) in m.discrete_inputs.iter_mut().enumerate() {
            *b = discrete_input(i as u16) == 1;
        }
        map.insert_unit(u, m);
    }
    Arc::new(map)
}

pub fn holding(unit: u8, i: u16) -> u16 {
    100 * u16::from(unit) + i
}

pub fn input(unit: u8, i: u16) -> u16 {
    10_000 + 100 * u16::from(unit) + i
}

pub fn coil(unit: u8, i: u16) -> u16 {
    u16::from((i + u16::from(unit)).is_multiple_of(2))
}

pub fn discrete_input(i: u16) -> u16 {
    u16::from(i.is_multiple_of(3))
}

/// The words `block` of `unit` holds in [`register_map`].
pub fn expected(unit: u8, block: &ReadBlock) -> Vec<u16> {
    (block.address..block.address + block.count)
        .map(|i| match block.table {
            linevisor_bus::RegisterTable::Holding => holding(unit, i),
            linevisor_bus::RegisterTable::Input => input(unit, i),
            linevisor_bus::RegisterTable::Coil => coil(unit, i),
            linevisor_bus::RegisterTable::DiscreteInput => discrete_input(i),
        })
        .collect()
}

pub fn rtu_spec(baud: u32) -> ModbusRtuBus {
    ModbusRtuBus {
        id: "line1".into(),
        port: "/dev/null".into(),
        baud,
        parity: Parity::Even,
        data_bits: 8,
        stop_bits: 1,
        response_timeout_ms: 100,
        retries: 0,
        inter_frame_gap_us: None,
        echo_suppression: false,
        broadcast_turnaround_ms: 20,
        demote_after_timeouts: 3,
        probe_interval_ms: 1000,
    }
}

pub fn tcp_spec(address: String) -> ModbusTcpBus {
    ModbusTcpBus {
        id: "cell2".into(),
        address,
        connect_timeout_ms: 2000,
        response_timeout_ms: 2000,
        retries: 0,
        max_in_flight: 1,
        demote_after_timeouts: 3,
        probe_interval_ms: 1000,
    }
}

/// Reopen backoff without jitter, from `initial_ms` doubling; staggered polls.
pub fn options(initial_ms: u64) -> BusOptions {
    BusOptions {
        queue_capacity: 16,
        reopen_backoff: Retry::new(Duration::from_millis(initial_ms), Duration::from_secs(10))
            .with_jitter(0.0, || 0.0),
        stagger: true,
    }
}

/// As [`options`], with every unit's first poll due at once (for tests of the order in which
/// polls due together go out).
pub fn unstaggered(initial_ms: u64) -> BusOptions {
    BusOptions {
        stagger: false,
        ..options(initial_ms)
    }
}

/// Spawns a bus actor.
pub async fn spawn(
    spec: BusSpec,
    opener: Box<dyn linevisor_bus::Opener>,
    options: BusOptions,
) -> (ModbusHandle, JoinHandle<()>) {
    let id = spec.id().to_owned();
    let args = ModbusArgs {
        spec,
        opener,
        options,
    };
    let (actor, join) = Actor::spawn(None, ModbusBus, args)
        .await
        .expect("spawn bus");
    (ModbusHandle::new(id, actor), join)
}

/// Opens a fresh in-memory RTU line per attempt, served by `service` at `baud`; the server
/// tasks are kept so a test can pull the plug.
#[derive(Clone, Default)]
pub struct DuplexLine {
    pub servers: Arc<Mutex<Vec<JoinHandle<io::Result<()>>>>>,
    /// Attempts to fail before the next success.
    pub fail_next: Arc<Mutex<u32>>,
    /// Time of every open attempt.
    pub attempts: Arc<Mutex<Vec<tokio::time::Instant>>>,
}

impl DuplexLine {
    pub fn opener(
        &self,
        service: Arc<TestService>,
        baud: u32,
        corrupt: Option<Arc<std::sync::atomic::AtomicU32>>,
    ) -> Box<dyn linevisor_bus::Opener> {
        let this = self.clone();
        Box::new(FnOpener::new("duplex", move || {
            let this = this.clone();
            let service = Arc::clone(&service);
            let corrupt = corrupt.clone();
            async move {
                this.attempts
                    .lock()
                    .unwrap()
                    .push(tokio::time::Instant::now());
                {
                    let mut fail = this.fail_next.lock().unwrap();
                    if *fail > 0 {
                        *fail -= 1;
                        return Err(io::Error::new(io::ErrorKind::NotFound, "no such port"));
                    }
                }
                let (client, server) = tokio::io::duplex(4096);
                let counter = corrupt.unwrap_or_default();
                let io = Corrupting::new(server, counter);
                let task = tokio::spawn(serve(io, service, RtuServerConfig::new(baud)));
                this.servers.lock().unwrap().push(task);
                Ok(Box::new(client) as LinkStream)
            }
        }))
    }

    /// Pulls the plug: the current server and its end of the line go away.
    pub fn unplug(&self) {
        for t in self.servers.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

/// An opener that hands out one prepared stream, then fails.
pub fn once<S: linevisor_bus::LinkIo>(stream: S) -> Box<dyn linevisor_bus::Opener> {
    let slot = Arc::new(Mutex::new(Some(Box::new(stream) as LinkStream)));
    Box::new(FnOpener::new("prepared stream", move || {
        let s = slot.lock().unwrap().take();
        async move { s.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "already used")) }
    }))
}

/// Attaches `unit` with `blocks` at `period_ms`, events to `sink`.
pub async fn attach(
    bus: &ModbusHandle,
    unit: u8,
    blocks: Vec<ReadBlock>,
    period_ms: u64,
    sink: &mpsc::Sender<BusEvent>,
) {
    let a = Attach {
        unit,
        blocks,
        period: Duration::from_millis(period_ms),
        sink: sink.clone(),
    };
    bus.attach(a).await.expect("attach");
}

/// Next event, or a panic naming what was awaited after `within` (a hang guard).
pub async fn next(rx: &mut mpsc::Receiver<BusEvent>, within: Duration, what: &str) -> BusEvent {
    match tokio::time::timeout(within, rx.recv()).await {
        Ok(Some(e)) => e,
        Ok(None) => panic!("sink closed while waiting for {what}"),
        Err(_) => panic!("no event within {within:?} while waiting for {what}"),
    }
}

/// Events up to and including the first one `pick` accepts.
pub async fn until<T>(
    rx: &mut mpsc::Receiver<BusEvent>,
    within: Duration,
    what: &str,
    mut pick: impl FnMut(&BusEvent) -> Option<T>,
) -> (Vec<BusEvent>, T) {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let e = next(rx, left, what).await;
        let hit = pick(&e);
        seen.push(e);
        if let Some(t) = hit {
            return (seen, t);
        }
    }
}

/// The next sample from `unit`.
pub async fn sample_of(rx: &mut mpsc::Receiver<BusEvent>, unit: u8, within: Duration) -> Sample {
    until(rx, within, "a sample", |e| match e {
        BusEvent::Sample(s) if s.unit == unit => Some(s.clone()),
        _ => None,
    })
    .await
    .1
}

/// Awaits `f` with a hang guard.
pub async fn within<T>(d: Duration, what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(d, f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {d:?}"))
}
