//! A CiA 402 device behind the `linevisor-sim-servo` point map, answering the core's reads and
//! writes and producing its cyclic samples: linevisor-cia402's simulated drive, no bus, no
//! actors, no runtime.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use linevisor_cia402::device::SimulatedDrive;
use linevisor_cia402::{Controlword, ModeOfOperation};
use linevisor_config::check_text;
use linevisor_config::model::{Limits, RestartPolicy, SafeState};
use linevisor_drive::CommandError;
use linevisor_drive::core::{
    Action, CarryOver, CycleSample, DriveCore, DriveOptions, DriveSpec, Event, SafeStates, Start,
    StartupJob, StartupOutcome,
};
use linevisor_profile::{PointValue, PointWrite, ProfileCodec, Sample};
use tokio::time::Instant;

pub(crate) const PERIOD: Duration = Duration::from_millis(10);
pub(crate) const TIMEOUT: Duration = Duration::from_millis(200);
pub(crate) const SERIAL: u32 = 1001;

pub(crate) static CODEC: LazyLock<Arc<ProfileCodec>> = LazyLock::new(|| {
    let checked = check_text("<test>", "[line]\nname = \"t\"\n", None);
    let line = checked.line.expect("the shipped profiles check clean");
    let profile = line
        .profiles
        .into_values()
        .map(|lp| lp.profile)
        .find(|p| p.profile.name == "linevisor-sim-servo")
        .expect("shipped profile");
    Arc::new(ProfileCodec::new(&profile).expect("codec"))
});

pub(crate) fn spec(safe: SafeState) -> Arc<DriveSpec> {
    Arc::new(DriveSpec {
        id: "d1".into(),
        line: "t".into(),
        bus: "b1".into(),
        codec: CODEC.clone(),
        period: PERIOD,
        restart: RestartPolicy::Adopt,
        safe: SafeStates::all(safe),
        limits: Limits {
            velocity_max: Some(3000.0),
            ..Limits::default()
        },
        parameters: Vec::new(),
        options: DriveOptions {
            command_timeout: TIMEOUT,
            startup_retry: Duration::from_millis(50),
            ..DriveOptions::default()
        },
        up_with_first_cycle: false,
    })
}

/// The device: its state machine, the values written to points it only stores, and whether
/// it answers.
#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub(crate) drive: SimulatedDrive,
    stored: BTreeMap<String, u32>,
    pub(crate) silent: bool,
    /// Acknowledges writes but ignores them (a drive that does not follow its controlword).
    pub(crate) deaf: bool,
    /// Reads answered so far (cyclic samples are not counted).
    pub(crate) reads: u32,
    /// Acyclic reads fail (timeouts), writes and cyclic samples still go through.
    pub(crate) unreadable: bool,
}

impl Device {
    pub(crate) fn new() -> Self {
        Self {
            drive: SimulatedDrive::default(),
            stored: BTreeMap::new(),
            silent: false,
            deaf: false,
            reads: 0,
            unreadable: false,
        }
    }

    fn lost() -> CommandError {
        CommandError::CommLoss {
            reason: "the device is silent".into(),
        }
    }

    pub(crate) fn apply(&mut self, writes: &[PointWrite]) -> Result<(), CommandError> {
        if self.silent {
            return Err(Self::lost());
        }
        if self.deaf {
            return Ok(());
        }
        for w in writes {
            match w.point.as_str() {
                "controlword" => {
                    self.drive.write_controlword(Controlword(w.raw as u16));
                }
                "modes_of_operation" => self.drive.set_mode(ModeOfOperation::from(w.raw as i8)),
                "target_velocity" => self.drive.set_target_velocity(w.value),
                "target_position" => self.drive.set_target_position(w.value),
                _ => {}
            }
            self.stored.insert(w.point.clone(), w.raw);
        }
        Ok(())
    }

    fn raw(&self, point: &str) -> u32 {
        let codec = &**CODEC;
        let encode = |v: f64| codec.point(point).map_or(0, |p| p.encode_saturating(v));
        match point {
            "statusword" => u32::from(self.drive.statusword().0),
            "modes_display" => self.drive.mode().code() as u8 as u32,
            "velocity_actual" => encode(self.drive.velocity()),
            "position_actual" => encode(self.drive.position()),
            "error_code" => u32::from(self.drive.error_code()),
            "serial_number" => SERIAL,
            "controlword" => u32::from(self.drive.controlword().0),
            other => self.stored.get(other).copied().unwrap_or(0),
        }
    }

    pub(crate) fn sample<'a>(&self, points: impl IntoIterator<Item = &'a str>) -> Sample {
        let mut sample = Sample::default();
        for name in points {
            if let Ok(point) = CODEC.point(name) {
                sample.insert(name, PointValue::new(point, self.raw(name)));
            }
        }
        sample
    }

    pub(crate) fn read(&mut self, points: &[String]) -> Result<Sample, CommandError> {
        if self.silent || self.unreadable {
            return Err(Self::lost());
        }
        self.reads += 1;
        Ok(self.sample(points.iter().map(String::as_str)))
    }

    /// One cycle's sample, as the bus and the link would deliver it.
    pub(crate) fn cycle(&self, seq: u64, at: Instant) -> CycleSample {
        let poll = CODEC.profile().poll.as_ref().map(|p| p.points.clone());
        let poll = poll.unwrap_or_default();
        CycleSample {
            seq,
            n: seq,
            scheduled_at: at,
            completed_at: at + Duration::from_millis(1),
            latency: Duration::from_millis(1),
            points: Ok(self.sample(poll.iter().map(String::as_str))),
        }
    }

    /// What a start-up procedure that writes nothing reports.
    pub(crate) fn startup(&self, job: &StartupJob) -> StartupOutcome {
        let sample = self.sample(["statusword", "error_code"]);
        StartupOutcome {
            kind: job.kind,
            device: CODEC.decode_status(&sample).ok(),
            fault_code: CODEC.fault_code(&sample),
            memory: job.memory,
            setpoints: Vec::new(),
            result: if self.silent {
                Err("the device is silent".into())
            } else {
                Ok(vec![SERIAL])
            },
        }
    }
}

/// What the rig saw of the core's actions.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) replies: Vec<(u64, linevisor_drive::CommandResult, Instant)>,
    pub(crate) startups: Vec<StartupJob>,
    pub(crate) published: u64,
}

/// A core and its device, run the way the shell runs them: every read and write carried out
/// at once and fed back; start-up procedures answered at once.
#[derive(Debug)]
pub(crate) struct Rig {
    pub(crate) core: DriveCore,
    pub(crate) device: Device,
    pub(crate) now: Instant,
    pub(crate) seq: u64,
    pub(crate) seen: Seen,
    pub(crate) bus_up: bool,
}

impl Rig {
    pub(crate) fn new(safe: SafeState) -> Self {
        let now = Instant::now();
        let start = Start {
            generation: 1,
            handover: None,
            trial: None,
        };
        let core = DriveCore::new(spec(safe), CarryOver::default(), start, now);
        let mut rig = Self {
            core,
            device: Device::new(),
            now,
            seq: 0,
            seen: Seen::default(),
            bus_up: true,
        };
        rig.event(Event::Tick);
        rig
    }

    pub(crate) fn event(&mut self, event: Event) {
        let mut queue: std::collections::VecDeque<Action> = self.core.step(event, self.now).into();
        while let Some(action) = queue.pop_front() {
            let done = match action {
                Action::Write { io, writes } => Some(Event::WriteDone {
                    io,
                    result: self.device.apply(&writes),
                }),
                Action::Read { io, points } => Some(Event::ReadDone {
                    io,
                    result: self.device.read(&points),
                }),
                Action::Reply { id, result } => {
                    self.seen.replies.push((id.0, result, self.now));
                    None
                }
                Action::StartStartup(job) => {
                    let outcome = self.device.startup(&job);
                    self.seen.startups.push(job);
                    Some(Event::StartupDone(Box::new(outcome)))
                }
                Action::Publish(_) => {
                    self.seen.published += 1;
                    None
                }
                Action::Emit(_) | Action::Promote | Action::Fail(_) => None,
            };
            if let Some(done) = done {
                queue.extend(self.core.step(done, self.now));
            }
        }
    }

    /// One bus cycle: the device moves on, then its sample (if it answers and the bus is up).
    pub(crate) fn cycle(&mut self) {
        self.now += PERIOD;
        self.device.drive.step(PERIOD.as_secs_f64());
        if self.bus_up && !self.device.silent {
            self.seq += 1;
            let sample = self.device.cycle(self.seq, self.now);
            self.event(Event::Sample(sample));
        } else {
            self.event(Event::Tick);
        }
    }

    pub(crate) fn command(&mut self, id: u64, command: linevisor_drive::Command) {
        self.event(Event::Command {
            id: linevisor_drive::core::CommandId(id),
            command,
        });
    }

    pub(crate) fn reply(&self, id: u64) -> Option<&linevisor_drive::CommandResult> {
        self.seen
            .replies
            .iter()
            .find(|(i, _, _)| *i == id)
            .map(|(_, r, _)| r)
    }
}
