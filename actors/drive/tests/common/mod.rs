//! A drive on a simulated Modbus bus under a real supervisor: linevisor-sim behind a recording
//! service, a real `ModbusBus` over in-memory duplex streams (RTU or TCP framing), the drive
//! child started by `DriveSetup::spec`.
#![allow(dead_code, unreachable_pub, unused_imports)]

pub mod sim;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use linevisor_bus::ModbusHandle;
use linevisor_config::check_text;
use linevisor_config::model::{DriveConfig, LineSection, Profile, Protocol, SafeState};
use linevisor_drive::conformance::{self, Harness, Rig};
use linevisor_drive::{
    DriveChannels, DriveEvent, DriveEventKind, DriveMsg, DriveOptions, DriveSetup, TelemetrySample,
};
use linevisor_profile::PowerState;
use linevisor_sim::{SimDrive, SimDriveOptions, SimHandle};
use linevisor_supervisor::{
    Backoff, ChildHandle, EventBus, Intensity, Strategy, SupervisorRef, SupervisorSpec,
};
pub use sim::{Received, Recorder, Transport, bus_args, spawn_bus};
use tokio::sync::broadcast;
use tokio::time::Instant;

pub const UNIT: u8 = 3;
pub const SERIAL: u32 = 1001;
pub const BAUD: u32 = 115_200;

/// Every shipped profile of `protocol`, by name: discovered from `configs/profiles/` (compiled
/// into linevisor-config), never listed by hand. Fails if there is none, so a suite that loops
/// over them cannot pass vacuously.
pub fn shipped_of(protocol: Protocol) -> Vec<String> {
    let names: Vec<String> = shipped_all()
        .into_iter()
        .filter(|(_, p)| *p == protocol)
        .map(|(name, _)| name)
        .collect();
    assert!(!names.is_empty(), "no shipped {} profile", protocol.name());
    names
}

/// Every shipped profile: name and protocol, by name.
pub fn shipped_all() -> Vec<(String, Protocol)> {
    let checked = check_text("<test>", "[line]\nname = \"t\"\n", None);
    let line = checked.line.expect("the shipped profiles check clean");
    let mut all: Vec<(String, Protocol)> = line
        .profiles
        .into_values()
        .map(|lp| (lp.profile.profile.name, lp.profile.profile.protocol))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.dedup_by(|a, b| a.0 == b.0);
    all
}

/// Every shipped Modbus profile.
pub fn modbus_profiles() -> Vec<String> {
    shipped_of(Protocol::Modbus)
}

/// Every shipped profile, checked by linevisor-config.
pub fn profile(name: &str) -> Profile {
    let checked = check_text("<test>", "[line]\nname = \"t\"\n", None);
    let line = checked.line.expect("the shipped profiles check clean");
    line.profiles
        .into_values()
        .map(|lp| lp.profile)
        .find(|p| p.profile.name == name)
        .expect("shipped profile")
}

pub fn line() -> LineSection {
    LineSection {
        name: "test-line".into(),
        cycle_ms: 10,
        safe_state: SafeState::QuickStop,
        api_listen: "127.0.0.1:7010".into(),
        profile_dirs: Vec::new(),
        load_warn_percent: 70,
    }
}

/// The conformance scenario's drive: `profile` at `config` on `bus`, started under a
/// one_for_one supervisor, its events and telemetry subscribed before it starts.
pub async fn harness(
    profile: Profile,
    config: DriveConfig,
    bus: linevisor_bus::BusHandle,
) -> Harness {
    let channels = DriveChannels::default();
    let events = channels.events.subscribe();
    let telemetry = channels.telemetry.subscribe();
    let setup = DriveSetup::new(
        &line(),
        &config,
        &profile,
        bus,
        channels,
        DriveOptions::default(),
    )
    .expect("drive setup");
    let spec = setup.spec();
    let handle = spec.handle();
    let supervisor = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(Intensity::new(10, Duration::from_secs(1)))
        .backoff(Backoff::NONE)
        .child(spec)
        .start("drives", EventBus::default())
        .await
        .expect("start supervisor");
    Harness {
        handle,
        events,
        telemetry,
        supervisor,
        profile,
        config,
    }
}

/// A drive on a simulated bus, under a one_for_one supervisor.
pub struct Bench {
    pub sim: SimHandle,
    pub rec: Recorder,
    pub bus: ModbusHandle,
    pub supervisor: SupervisorRef,
    pub sup_events: EventBus,
    pub handle: ChildHandle<DriveMsg>,
    pub setup: DriveSetup,
    pub events: broadcast::Receiver<DriveEvent>,
    pub telemetry: broadcast::Receiver<TelemetrySample>,
    pub profile: Profile,
    pub config: DriveConfig,
}

pub struct BenchOptions {
    pub transport: Transport,
    /// The unit is silent from the start.
    pub silent: bool,
    pub options: DriveOptions,
    pub configure: Box<dyn FnOnce(&mut DriveConfig)>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            transport: Transport::Rtu,
            silent: false,
            options: DriveOptions::default(),
            configure: Box::new(|_| {}),
        }
    }
}

impl Bench {
    pub async fn start(profile_name: &str, o: BenchOptions) -> Bench {
        let profile = profile(profile_name);
        let sim = SimHandle::new();
        let drive = SimDrive::new(
            &profile,
            SimDriveOptions {
                serial_number: SERIAL,
                ..SimDriveOptions::default()
            },
        )
        .expect("sim drive");
        sim.add_drive(UNIT, drive).expect("add drive");
        if o.silent {
            sim.go_silent(UNIT).expect("silent");
        }
        let rec = Recorder::default();
        let bus = spawn_bus(&sim, &rec, o.transport).await;
        let mut config = conformance::drive_config(&profile, "axis-1", bus.bus(), u32::from(UNIT));
        (o.configure)(&mut config);
        let channels = DriveChannels::default();
        let events = channels.events.subscribe();
        let telemetry = channels.telemetry.subscribe();
        let setup = DriveSetup::new(
            &line(),
            &config,
            &profile,
            bus.clone().into(),
            channels,
            o.options,
        )
        .expect("drive setup");
        let spec = setup.spec();
        let handle = spec.handle();
        let sup_events = EventBus::default();
        let supervisor = SupervisorSpec::new(Strategy::OneForOne)
            .intensity(Intensity::new(10, Duration::from_secs(1)))
            .backoff(Backoff::NONE)
            .child(spec)
            .start("drives", sup_events.clone())
            .await
            .expect("start supervisor");
        Bench {
            sim,
            rec,
            bus,
            supervisor,
            sup_events,
            handle,
            setup,
            events,
            telemetry,
            profile,
            config,
        }
    }

    pub fn rig(&self) -> SimRig {
        SimRig {
            sim: self.sim.clone(),
            rec: self.rec.clone(),
        }
    }

    pub fn harness(self) -> (SimRig, Harness) {
        let rig = self.rig();
        let h = Harness {
            handle: self.handle,
            events: self.events,
            telemetry: self.telemetry,
            supervisor: self.supervisor,
            profile: self.profile,
            config: self.config,
        };
        (rig, h)
    }

    /// The device's state.
    pub fn device(&self) -> PowerState {
        self.sim.with_drive(UNIT, |d| d.state()).expect("sim drive")
    }

    pub fn device_value(&self, point: &str) -> Option<f64> {
        self.sim
            .with_drive(UNIT, |d| d.point_value(point))
            .expect("sim drive")
    }

    /// The next event `pick` accepts (hang-guarded).
    pub async fn event<T>(
        &mut self,
        what: &'static str,
        pick: impl FnMut(&DriveEventKind) -> Option<T>,
    ) -> T {
        conformance::wait_event(&mut self.events, what, pick)
            .await
            .unwrap_or_else(|f| panic!("{f}"))
    }

    pub async fn ready(&mut self) {
        self.event("ready", |k| {
            matches!(k, DriveEventKind::Ready { .. }).then_some(())
        })
        .await;
    }
}

/// The simulator as the conformance scenario's device side.
#[derive(Clone)]
pub struct SimRig {
    pub sim: SimHandle,
    pub rec: Recorder,
}

impl Rig for SimRig {
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
        self.rec.writes().len()
    }

    fn inject_fault(&self, code: u16) {
        self.sim
            .inject_fault(UNIT, Some(code))
            .expect("inject fault");
    }

    fn go_silent(&self) {
        self.sim.go_silent(UNIT).expect("go silent");
    }

    fn come_back(&self) {
        self.sim.come_back(UNIT).expect("come back");
    }
}

/// What the simulated device is doing at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeviceInstant {
    pub at: Instant,
    pub state: PowerState,
    pub command_raw: Option<u32>,
    pub target_velocity: f64,
    pub velocity: f64,
}

/// Samples the device every `every` (virtual time) until aborted.
pub fn device_timeline(
    sim: &SimHandle,
    command_point: &str,
    every: Duration,
) -> (Arc<Mutex<Vec<DeviceInstant>>>, tokio::task::JoinHandle<()>) {
    let out = Arc::new(Mutex::new(Vec::new()));
    let (sim, point, o) = (sim.clone(), command_point.to_owned(), out.clone());
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let at = Instant::now();
            let d = sim
                .with_drive(UNIT, |d| DeviceInstant {
                    at,
                    state: d.state(),
                    command_raw: d.point_raw(&point),
                    target_velocity: d.target_velocity(),
                    velocity: d.velocity(),
                })
                .expect("sim drive");
            o.lock().unwrap().push(d);
        }
    });
    (out, task)
}

/// Collects every telemetry sample until aborted.
pub fn collect_telemetry(
    rx: &broadcast::Receiver<TelemetrySample>,
) -> (
    Arc<Mutex<Vec<TelemetrySample>>>,
    tokio::task::JoinHandle<()>,
) {
    let out = Arc::new(Mutex::new(Vec::new()));
    let (mut rx, o) = (rx.resubscribe(), out.clone());
    let task = tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(s) => o.lock().unwrap().push(s),
                Err(broadcast::error::RecvError::Lagged(n)) => panic!("telemetry lagged by {n}"),
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    (out, task)
}

/// Enables the drive and runs it at `v`, waiting until the telemetry shows the speed.
pub async fn run_at(b: &Bench, v: f64) {
    use linevisor_drive::{Command, Direction, send_command};
    send_command(&b.handle, Command::Enable(Direction::Forward))
        .await
        .expect("enable");
    send_command(&b.handle, Command::SetVelocity(v))
        .await
        .expect("velocity");
    conformance::wait_sample(&b.telemetry, "at speed", |s| {
        s.velocity.is_some_and(|x| (x - v).abs() < 0.05)
    })
    .await
    .unwrap_or_else(|f| panic!("{f}"));
}

/// Lets `d` of virtual time pass.
pub async fn pass(d: Duration) {
    tokio::time::sleep(d).await;
}
