//! The drive's core, sans I/O: one state machine per drive instance. The shell feeds it
//! [`Event`]s with the time they are handled at and carries out the [`Action`]s it returns; the
//! core never reads a clock, never awaits, owns no channel and no lock. It asks for at most one
//! read or write at a time ([`Action::Write`], [`Action::Read`]) and goes on with the rest of
//! its work when the shell reports it done ([`Event::WriteDone`], [`Event::ReadDone`]); events
//! that arrive meanwhile take effect at once and queue their own I/O behind it.
//!
//! Time is `tokio::time::Instant`: the bus stamps samples with it and telemetry carries it, and
//! the shell's `Instant::now()` then follows a paused test clock. The core only compares and
//! adds the instants it is given, so it runs outside any runtime.
//!
//! Files: `intake.rs` (commands: limits, readiness, supersede, deadlines), `sequence.rs` (state
//! commands, and [`DriveTo`] for the safe states), `motion.rs` (setpoints, readback, release),
//! `cycle.rs` (samples, failed cycles, comm lost/up, the reported state), `startup.rs` (the
//! start-up and safe-stop decisions), `ack.rs`, `limits.rs`, `trial.rs`,
//! `spec.rs` (the settings), `carry.rs` (the carry-over between instances).

mod ack;
mod carry;
mod cycle;
mod intake;
mod limits;
mod motion;
mod sequence;
mod spec;
mod startup;
mod trial;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use linevisor_profile::{PointWrite, Sample, UniformState};
use tokio::time::Instant;
use tracing::{info, warn};

pub use ack::{resolution, within};
pub use carry::{CarryOver, Handover};
pub use sequence::{DriveTo, Next, Poll, Sequence};
pub use spec::{DriveOptions, DriveSpec, SafeStates};
pub use startup::{
    StartupJob, StartupOutcome, StartupPlan, StopPlan, download_differing, mismatches,
    needs_quick_stop, observed_points, parameter_points, plan, readable_command_point,
    readable_setpoints, safe_command, standstill, startup_kind, stop_plan,
};
pub use trial::TrialRule;

use self::intake::{Accepted, PendingMotion, PendingState};
use self::trial::TrialState;
use crate::command::{Command, CommandAck, CommandResult};
use crate::error::CommandError;
use crate::state::DriveState;
use crate::stats::Tracker;
use crate::telemetry::{DriveEventKind, DriveSnapshot, StartupKind, TelemetrySample};

/// The shell's number for a command, echoed in its [`Action::Reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(pub u64);

/// The core's number for a read or write, echoed in its completion event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IoId(pub u64);

/// One cycle's data, decoded into profile points by the shell's link.
#[derive(Debug, Clone)]
pub struct CycleSample {
    /// Cycle number on the bus schedule.
    pub seq: u64,
    /// Samples the forwarding task received so far (the gap to the last one counts overruns).
    pub n: u64,
    pub scheduled_at: Instant,
    pub completed_at: Instant,
    pub latency: Duration,
    /// The points, or why they could not be decoded.
    pub points: Result<Sample, String>,
}

/// What happens to a drive.
#[derive(Debug, Clone)]
pub enum Event {
    /// A caller's command; its outcome is one [`Action::Reply`] with the same id.
    Command {
        id: CommandId,
        command: Command,
    },
    Sample(CycleSample),
    CycleFailed {
        seq: u64,
        reason: String,
    },
    /// The bus reports the unit unreachable (or the attachment failed).
    CommLost {
        reason: String,
    },
    CommUp,
    /// An emergency message from the drive (CANopen EMCY).
    Emergency {
        code: u16,
        register: u8,
        class: &'static str,
    },
    /// A start-up procedure asked for by [`Action::StartStartup`] finished.
    StartupDone(Box<StartupOutcome>),
    /// A start-up procedure's outcome was lost: it is due again.
    StartupLost,
    WriteDone {
        io: IoId,
        result: Result<(), CommandError>,
    },
    ReadDone {
        io: IoId,
        result: Result<Sample, CommandError>,
    },
    /// Time passed: command deadlines, a start-up retry, the trial's deadline.
    Tick,
}

/// What the shell carries out, in order.
#[derive(Debug, Clone)]
pub enum Action {
    /// Write these points in order (stop at the first failure), then report [`Event::WriteDone`].
    Write {
        io: IoId,
        writes: Vec<PointWrite>,
    },
    /// Read these points acyclically, then report [`Event::ReadDone`].
    Read {
        io: IoId,
        points: Vec<String>,
    },
    /// Answer command `id`.
    Reply {
        id: CommandId,
        result: CommandResult,
    },
    Emit(DriveEventKind),
    /// Publish one cycle's telemetry.
    Publish(Box<TelemetrySample>),
    /// Run this start-up procedure (off the message loop); report [`Event::StartupDone`].
    StartStartup(StartupJob),
    /// The new version won its trial: the safe-stop step now uses this version.
    Promote,
    /// The new version lost its trial: end the instance (the supervisor rolls back).
    Fail(String),
}

/// How a new instance starts.
#[derive(Debug, Clone)]
pub struct Start {
    /// Instance generation (stamped on telemetry and snapshots).
    pub generation: u64,
    /// The previous version's hand-over on a planned replacement.
    pub handover: Option<Handover>,
    /// The trial of a new version's first start.
    pub trial: Option<TrialRule>,
}

/// Where an instance stands.
#[derive(Debug, Clone)]
enum Phase {
    /// The start-up procedure is due (before the next command), or failed and waits to retry.
    Startup {
        kind: StartupKind,
        retry_at: Option<Instant>,
        last_error: Option<String>,
    },
    Running,
}

/// Work queued behind an outstanding read or write, done in order.
#[derive(Debug)]
enum Work {
    Accept(Accepted),
    StateStep { observed_at: Instant },
    Release { observed_at: Instant },
    Publish(Box<TelemetrySample>),
    Deadlines,
    Ready,
    Judge,
}

/// The outstanding read or write, and what its completion continues.
#[derive(Debug)]
enum Io {
    State {
        id: CommandId,
        writes: Vec<PointWrite>,
    },
    MotionWrite(motion::Written),
    MotionRead(motion::Written),
    Release {
        id: CommandId,
        writes: Vec<PointWrite>,
    },
}

/// One drive instance's state machine.
#[derive(Debug)]
pub struct DriveCore {
    spec: Arc<DriveSpec>,
    carry: CarryOver,
    generation: u64,
    phase: Phase,
    startup_running: bool,
    /// Commands that arrived while a start-up procedure runs; accepted when it is done.
    deferred: Vec<Accepted>,
    /// `None` until the bus said something.
    link_up: Option<bool>,
    comm_reason: String,
    state: DriveState,
    /// Last decoded device state.
    device: Option<UniformState>,
    fault_code: Option<u32>,
    /// Setpoints last written or adopted (point → value).
    setpoints: BTreeMap<String, f64>,
    tracker: Tracker,
    last: Option<TelemetrySample>,
    state_cmd: Option<PendingState>,
    motion_cmd: Option<PendingMotion>,
    /// `None` once won (or for an ordinary start).
    trial: Option<TrialState>,
    agenda: VecDeque<Work>,
    io: Option<(IoId, Io)>,
    next_io: u64,
}

impl DriveCore {
    /// A new instance of `spec`, continuing `carry` (the previous instance's carry-over).
    pub fn new(spec: Arc<DriveSpec>, mut carry: CarryOver, start: Start, now: Instant) -> Self {
        if let Some(h) = &start.handover {
            carry.take_handover(h);
        }
        let planned = std::mem::take(&mut carry.planned_restart);
        let replacing = start.handover.is_some() || start.trial.is_some();
        let kind = startup_kind(replacing, planned, carry.started, spec.restart);
        info!(generation = start.generation, ?kind, "Drive actor started.");
        Self {
            spec,
            carry,
            generation: start.generation,
            phase: Phase::Startup {
                kind,
                retry_at: None,
                last_error: None,
            },
            startup_running: false,
            deferred: Vec::new(),
            link_up: None,
            comm_reason: String::new(),
            state: DriveState::Initializing,
            device: None,
            fault_code: None,
            setpoints: BTreeMap::new(),
            tracker: Tracker::default(),
            last: None,
            state_cmd: None,
            motion_cmd: None,
            trial: start.trial.map(|rule| TrialState::start(rule, now)),
            agenda: VecDeque::new(),
            io: None,
            next_io: 0,
        }
    }

    /// Handles `event` at `now`; returns what to do, in order.
    pub fn step(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        self.handle(event, now, &mut out);
        self.run(now, &mut out);
        out
    }

    fn handle(&mut self, event: Event, now: Instant, out: &mut Vec<Action>) {
        let bus_event = matches!(
            event,
            Event::Sample(_)
                | Event::CycleFailed { .. }
                | Event::CommLost { .. }
                | Event::CommUp
                | Event::Emergency { .. }
        );
        let completion = matches!(event, Event::WriteDone { .. } | Event::ReadDone { .. });
        match event {
            Event::Command { id, command } => {
                self.agenda.push_back(Work::Ready);
                self.agenda.push_back(Work::Accept(Accepted {
                    id,
                    command,
                    at: now,
                }));
            }
            Event::Sample(s) => self.on_sample(s, out),
            Event::CycleFailed { seq, reason } => {
                self.tracker.on_failed(&mut self.carry.stats, seq);
                self.trial_failed(|| format!("cycle {seq} failed: {reason}"));
            }
            Event::CommLost { reason } => self.comm_down(reason, out),
            Event::CommUp => self.comm_up(out),
            Event::Emergency {
                code,
                register,
                class,
            } => {
                warn!(
                    code = format_args!("{code:#06x}"),
                    register, class, "EMCY from the drive."
                );
                out.push(Action::Emit(DriveEventKind::Emergency {
                    code,
                    register,
                    class,
                }));
            }
            Event::StartupDone(done) => self.on_startup_done(*done, now, out),
            // The procedure's outcome was lost (queue full): it runs again.
            Event::StartupLost => self.startup_running = false,
            Event::WriteDone { io, result } => self.on_write_done(io, result, now, out),
            Event::ReadDone { io, result } => self.on_read_done(io, result, now, out),
            Event::Tick => self.agenda.push_back(Work::Deadlines),
        }
        if bus_event {
            self.agenda.push_back(Work::Deadlines);
        }
        // A completion continues the work already queued, which ends with these.
        if !completion {
            self.agenda.push_back(Work::Ready);
            self.agenda.push_back(Work::Judge);
        }
    }

    /// Does queued work until it needs a read or write (or none is left).
    fn run(&mut self, now: Instant, out: &mut Vec<Action>) {
        while self.io.is_none() {
            let Some(work) = self.agenda.pop_front() else {
                return;
            };
            match work {
                Work::Accept(a) => self.accept(a, now, out),
                Work::StateStep { observed_at } => self.step_state_command(observed_at, now, out),
                Work::Release { observed_at } => self.release(observed_at, out),
                Work::Publish(mut sample) => {
                    sample.state = self.state;
                    self.last = Some((*sample).clone());
                    out.push(Action::Publish(sample));
                }
                Work::Deadlines => self.check_deadlines(now, out),
                Work::Ready => self.ensure_ready(now, out),
                Work::Judge => self.judge_trial(now, out),
            }
        }
    }

    fn start_io(&mut self, io: Io, out: &mut Vec<Action>) {
        let id = IoId(self.next_io);
        self.next_io += 1;
        match &io {
            Io::State { writes, .. } | Io::Release { writes, .. } => out.push(Action::Write {
                io: id,
                writes: writes.clone(),
            }),
            Io::MotionWrite(w) => out.push(Action::Write {
                io: id,
                writes: w.writes.clone(),
            }),
            Io::MotionRead(w) => out.push(Action::Read {
                io: id,
                points: w.expected.iter().map(|(p, _)| p.clone()).collect(),
            }),
        }
        self.io = Some((id, io));
    }

    fn on_write_done(
        &mut self,
        io: IoId,
        result: Result<(), CommandError>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        match self.take_io(io) {
            Some(Io::State { id, writes }) => self.state_written(id, &writes, result, now, out),
            Some(Io::MotionWrite(w)) => self.motion_written(w, result, now, out),
            Some(Io::Release { id, writes }) => self.released(id, &writes, result, now, out),
            // A read is not answered by a write: the read stays outstanding.
            Some(read @ Io::MotionRead(_)) => self.io = Some((io, read)),
            None => {}
        }
    }

    fn on_read_done(
        &mut self,
        io: IoId,
        result: Result<Sample, CommandError>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        match self.take_io(io) {
            Some(Io::MotionRead(w)) => self.motion_read(w, result, now, out),
            Some(write) => self.io = Some((io, write)),
            None => {}
        }
    }

    /// The outstanding I/O if `io` is its id (a stale or unknown completion is ignored).
    fn take_io(&mut self, io: IoId) -> Option<Io> {
        if self.io.as_ref().is_some_and(|(id, _)| *id == io) {
            self.io.take().map(|(_, io)| io)
        } else {
            None
        }
    }

    fn note_written(&mut self, writes: &[PointWrite]) {
        self.spec
            .codec
            .note_written(&mut self.carry.last_command, writes);
    }

    fn reply(
        &self,
        a: &Accepted,
        result: Result<(DriveState, Vec<(String, f64)>), CommandError>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let result = result.map(|(state, readback)| CommandAck {
            command: a.command,
            state,
            readback,
            took: now.saturating_duration_since(a.at),
        });
        out.push(Action::Reply { id: a.id, result });
    }

    /// Starts a due start-up procedure (unless one runs, comm is known down, the bus has not
    /// brought the device up yet, or a retry is not yet due).
    fn ensure_ready(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Phase::Startup { kind, retry_at, .. } = &self.phase else {
            return;
        };
        let booting = self.link_up.is_none() && self.spec.up_with_first_cycle;
        if self.startup_running
            || self.link_up == Some(false)
            || booting
            || retry_at.is_some_and(|t| now < t)
        {
            return;
        }
        self.startup_running = true;
        out.push(Action::StartStartup(StartupJob {
            kind: *kind,
            device: self.device,
            fault_code: self.fault_code,
            memory: self.carry.last_command,
            identity: self.carry.identity.clone(),
            comm_loss_pending: self.carry.comm_loss_pending,
        }));
    }

    fn on_startup_done(&mut self, done: StartupOutcome, now: Instant, out: &mut Vec<Action>) {
        self.startup_running = false;
        self.device = done.device.or(self.device);
        self.fault_code = done.fault_code;
        self.carry.last_command = done.memory;
        self.setpoints.extend(done.setpoints);
        let kind = done.kind;
        match done.result {
            Ok(identity) => {
                self.carry.identity = Some(identity);
                self.carry.comm_loss_pending = false;
                self.carry.started = true;
                self.phase = Phase::Running;
                self.refresh_state(out);
                info!(?kind, state = %self.state, "Drive ready.");
                out.push(Action::Emit(DriveEventKind::Ready { startup: kind }));
            }
            Err(reason) => {
                warn!(?kind, error = %reason, "Start-up procedure failed; will retry.");
                self.trial_failed(|| format!("start-up ({kind:?}) failed: {reason}"));
                out.push(Action::Emit(DriveEventKind::StartupFailed {
                    startup: kind,
                    reason: reason.clone(),
                }));
                let retry_at = now + self.spec.options.startup_retry;
                if let Phase::Startup { kind, .. } = self.phase {
                    self.phase = Phase::Startup {
                        kind,
                        retry_at: Some(retry_at),
                        last_error: Some(reason),
                    };
                }
                self.refresh_state(out);
            }
        }
        for a in std::mem::take(&mut self.deferred) {
            self.agenda.push_back(Work::Accept(a));
        }
    }

    /// Notes a failure against a running trial.
    fn trial_failed(&mut self, reason: impl FnOnce() -> String) {
        if let Some(t) = self.trial.as_mut() {
            t.fail(reason);
        }
    }

    /// Ends a won trial; a lost one ends the instance.
    fn judge_trial(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(trial) = self.trial.as_mut() else {
            return;
        };
        if let Some(reason) = trial.verdict(now) {
            let reason = format!("new version failed its first cycles: {reason}");
            warn!(%reason, "Upgrade trial lost.");
            out.push(Action::Fail(reason));
        } else if trial.proven() {
            self.trial = None;
            info!("Upgrade trial won.");
            out.push(Action::Promote);
        }
    }

    /// The carry-over as it stands (deposit it for the next instance).
    pub fn carry_over(&self) -> &CarryOver {
        &self.carry
    }

    /// True unless a new version's trial is still running.
    pub fn proven(&self) -> bool {
        self.trial.is_none()
    }

    /// The reported state.
    pub fn state(&self) -> DriveState {
        self.state
    }

    /// True while the core waits for a read or write it asked for.
    pub fn waiting_for_io(&self) -> bool {
        self.io.is_some()
    }

    /// Commands not answered yet: deferred, then the pending state and motion command.
    pub fn pending(&self) -> Vec<(CommandId, Command)> {
        let mut pending: Vec<(CommandId, Command)> =
            self.deferred.iter().map(|a| (a.id, a.command)).collect();
        pending.extend(self.state_cmd.as_ref().map(|p| (p.cmd.id, p.cmd.command)));
        pending.extend(self.motion_cmd.as_ref().map(|p| (p.cmd.id, p.cmd.command)));
        pending
    }

    /// The snapshot for the control plane.
    pub fn snapshot(&self) -> DriveSnapshot {
        DriveSnapshot {
            drive: self.spec.id.clone(),
            generation: self.generation,
            state: self.state,
            link_up: self.link_up,
            last: self.last.clone(),
            stats: self.carry.stats.clone(),
            pending: self.pending().into_iter().map(|(_, c)| c).collect(),
            setpoints: self.setpoints.clone().into_iter().collect(),
        }
    }
}
