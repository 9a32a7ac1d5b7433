//! What the Modbus rows share: simulated servos behind the bus under test, a neighbour bus of
//! servos on a clean link of its own, commands sent while the fault is on, and the figures of
//! the row. Paused time: every link is in memory and every figure is the same on every run.

use std::time::Duration;

use linevisor_bus::{
    Attach, BusEvent, BusOptions, BusSpec, Counters, ModbusArgs, ModbusBus, ModbusHandle, Opener,
    ReadBlock, Write,
};
use linevisor_config::model::Profile;
use linevisor_modbus::Retry;
use linevisor_sim::{SimDrive, SimDriveOptions, SimHandle};
use ractor::Actor;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::report::{Row, soak};

/// Cycle period of every drive.
pub(crate) const PERIOD: Duration = Duration::from_millis(100);
/// Hang guard for anything awaited (virtual time).
pub(crate) const GUARD: Duration = Duration::from_secs(60);

fn servo() -> Profile {
    let checked = linevisor_config::check_text(
        linevisor_config::DEMO_LINE_NAME,
        linevisor_config::DEMO_LINE,
        None,
    );
    let line = checked.line.expect("the demo line is valid");
    line.profiles[&("linevisor-sim-servo".to_owned(), "1.0".to_owned())]
        .profile
        .clone()
}

/// Simulated servos at `units`.
pub(crate) fn servos(units: &[u8]) -> SimHandle {
    let profile = servo();
    let sim = SimHandle::new();
    for &unit in units {
        let options = SimDriveOptions {
            serial_number: 7000 + u32::from(unit),
            ..SimDriveOptions::default()
        };
        let drive = SimDrive::new(&profile, options).expect("sim drive");
        sim.add_drive(unit, drive).expect("add");
    }
    sim
}

/// The servo's status block (statusword to error code), its cyclic read.
fn status_block() -> ReadBlock {
    ReadBlock::holding(10, 8)
}

/// A command: controlword "shutdown" (a servo in switch on disabled becomes ready).
fn command() -> Write {
    Write::Multiple {
        address: 0,
        values: vec![6],
    }
}

/// Reopen backoff 100 ms doubling to 2 s, without jitter.
fn options() -> BusOptions {
    BusOptions {
        queue_capacity: 64,
        reopen_backoff: Retry::new(Duration::from_millis(100), Duration::from_secs(2))
            .with_jitter(0.0, || 0.0),
        stagger: true,
    }
}

/// Drives (attached units) on one bus, and their events.
pub(crate) struct Drives {
    pub(crate) bus: ModbusHandle,
    units: Vec<u8>,
    events: mpsc::Receiver<BusEvent>,
}

impl Drives {
    /// Starts a bus and attaches `units` to it.
    pub(crate) async fn start(spec: BusSpec, opener: Box<dyn Opener>, units: &[u8]) -> Self {
        let id = spec.id().to_owned();
        let args = ModbusArgs {
            spec,
            opener,
            options: options(),
        };
        let (actor, _join) = Actor::spawn(None, ModbusBus, args).await.expect("bus");
        let bus = ModbusHandle::new(id, actor);
        let (sink, events) = mpsc::channel(8192);
        for &unit in units {
            let attach = Attach {
                unit,
                blocks: vec![status_block()],
                period: PERIOD,
                sink: sink.clone(),
            };
            bus.attach(attach).await.expect("attach");
        }
        Self {
            bus,
            units: units.to_vec(),
            events,
        }
    }

    /// Waits until every unit has delivered a cycle completed at or after `since`.
    async fn sampled_since(&mut self, since: Instant) -> Instant {
        let mut waiting = self.units.clone();
        let guard = tokio::time::sleep(GUARD);
        tokio::pin!(guard);
        loop {
            tokio::select! {
                e = self.events.recv() => match e {
                    Some(BusEvent::Sample(s)) if s.completed_at >= since => {
                        waiting.retain(|&u| u != s.unit);
                        if waiting.is_empty() {
                            return s.completed_at;
                        }
                    }
                    Some(_) => {}
                    None => panic!("{}: events closed", self.bus.bus()),
                },
                () = &mut guard => panic!("{}: units {waiting:?} silent for {GUARD:?}", self.bus.bus()),
            }
        }
    }

    /// The bus's counters; zero if it does not answer (then counted as a crash).
    async fn counters(&self) -> Counters {
        self.bus
            .metrics()
            .await
            .map(|m| m.counters)
            .unwrap_or_default()
    }

    /// Sends one command to each unit, one after the other; returns (sent, answered, ok).
    async fn command_each(&self) -> (u32, u32, u32) {
        let (mut sent, mut answered, mut ok) = (0, 0, 0);
        for &unit in &self.units {
            sent += 1;
            // Ok, a device's refusal or a bus error with its reason: all answers. Only the
            // guard running out is a silent loss.
            if let Ok(r) = tokio::time::timeout(GUARD, self.bus.write(unit, command())).await {
                answered += 1;
                ok += u32::from(matches!(r, Ok(Ok(()))));
            }
        }
        (sent, answered, ok)
    }
}

/// A fault under test: `set(true)` injects it, `set(false)` ends it.
pub(crate) struct Fault<'a> {
    pub(crate) layer: &'static str,
    pub(crate) name: &'static str,
    /// How long it stays on in each round.
    pub(crate) on_for: Duration,
    pub(crate) set: Box<dyn FnMut(bool) + 'a>,
}

/// Runs one row: warm up, then rounds of fault on (commands to both buses meanwhile), fault
/// off, wait until every unit of the faulty bus answers again; then the figures.
pub(crate) async fn run(mut fault: Fault<'_>, faulty: &mut Drives, neighbour: &mut Drives) -> Row {
    let start = Instant::now();
    faulty.sampled_since(start).await;
    neighbour.sampled_since(start).await;
    let (same0, other0) = (faulty.counters().await, neighbour.counters().await);
    let mut row = Row {
        layer: fault.layer,
        fault: fault.name,
        ..Row::default()
    };
    let soak_until = soak().map(|d| Instant::now() + d);
    loop {
        row.rounds += 1;
        let before = faulty.counters().await;
        (fault.set)(true);
        let end = Instant::now() + fault.on_for;
        while Instant::now() < end {
            for drives in [&*faulty, &*neighbour] {
                let (sent, answered, ok) = drives.command_each().await;
                row.commands += sent;
                row.answered += answered;
                if std::ptr::eq(drives, &*neighbour) {
                    assert_eq!(ok, sent, "{}: a neighbour's command failed", fault.name);
                }
            }
            tokio::time::sleep(fault.on_for / 4).await;
        }
        (fault.set)(false);
        let off = Instant::now();
        let back = faulty.sampled_since(off).await;
        let after = faulty.counters().await;
        if after.missed_cycles + after.cycle_failures > before.missed_cycles + before.cycle_failures
        {
            let took = back.saturating_duration_since(off);
            row.recovery = Some(row.recovery.map_or(took, |r| r.max(took)));
        }
        if soak_until.is_none_or(|until| Instant::now() >= until) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // One more clean second for the neighbours.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for drives in [&*faulty, &*neighbour] {
        row.crashes += u32::from(drives.bus.metrics().await.is_err());
    }
    let (same, other) = (faulty.counters().await, neighbour.counters().await);
    row.same_bus_cycles = same.samples - same0.samples;
    row.same_bus_missed =
        (same.missed_cycles + same.cycle_failures) - (same0.missed_cycles + same0.cycle_failures);
    row.neighbour_cycles = other.samples - other0.samples;
    row.neighbour_missed = (other.missed_cycles + other.cycle_failures)
        - (other0.missed_cycles + other0.cycle_failures);
    row
}
