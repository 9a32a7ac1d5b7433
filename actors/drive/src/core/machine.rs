//! The [`DriveCore`] itself: its state, [`DriveCore::step`], the queue of work behind an
//! outstanding read or write, and what the shell may ask of it. The handling of each kind of
//! event is in the sibling files (`intake.rs`, `motion.rs`, `cycle.rs`, `lifecycle.rs`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use linevisor_profile::{PointWrite, PowerState, Sample};
use tokio::time::Instant;
use tracing::{info, warn};

use super::carry::CarryOver;
use super::event::{Action, CommandId, Event, IoId, Start};
use super::pending::{Accepted, Io, PendingMotion, PendingState, Phase, Work};
use super::spec::DriveSpec;
use super::startup::startup_kind;
use super::trial::TrialState;
use crate::command::{Command, CommandAck};
use crate::error::CommandError;
use crate::state::DriveState;
use crate::stats::Tracker;
use crate::telemetry::{DriveEventKind, DriveSnapshot, TelemetrySample};

/// One drive instance's state machine.
#[derive(Debug)]
pub struct DriveCore {
    pub(super) spec: Arc<DriveSpec>,
    pub(super) carry: CarryOver,
    pub(super) generation: u64,
    pub(super) phase: Phase,
    pub(super) startup_running: bool,
    /// Commands that arrived while a start-up procedure runs; accepted when it is done.
    pub(super) deferred: Vec<Accepted>,
    /// `None` until the bus said something.
    pub(super) link_up: Option<bool>,
    pub(super) comm_reason: String,
    pub(super) state: DriveState,
    /// Last decoded device state.
    pub(super) device: Option<PowerState>,
    /// When the read behind `device` was sent: a cyclic sample read before a newer acyclic
    /// statusword read does not overwrite it.
    pub(super) observed_at: Option<Instant>,
    pub(super) fault_code: Option<u32>,
    /// Setpoints last written or adopted (point → value).
    pub(super) setpoints: BTreeMap<String, f64>,
    pub(super) tracker: Tracker,
    pub(super) last: Option<TelemetrySample>,
    pub(super) state_cmd: Option<PendingState>,
    pub(super) motion_cmd: Option<PendingMotion>,
    /// `None` once won (or for an ordinary start).
    pub(super) trial: Option<TrialState>,
    pub(super) agenda: VecDeque<Work>,
    pub(super) io: Option<(IoId, Io)>,
    pub(super) next_io: u64,
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
            observed_at: None,
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
            self.queue_check(Work::Deadlines);
        }
        // A completion continues the work already queued, which ends with these.
        if !completion {
            self.queue_check(Work::Ready);
            self.queue_check(Work::Judge);
        }
    }

    /// Queues a check, once: while a read or write is outstanding, events keep coming (only
    /// when the shell does not run the core as it should), and one check of each covers them.
    fn queue_check(&mut self, check: Work) {
        let queued = self
            .agenda
            .iter()
            .any(|w| std::mem::discriminant(w) == std::mem::discriminant(&check));
        if !(queued && self.io.is_some()) {
            self.agenda.push_back(check);
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

    pub(super) fn start_io(&mut self, io: Io, out: &mut Vec<Action>) {
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
            Io::StateRead { .. } => out.push(Action::Read {
                io: id,
                points: self.status_read_points(),
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
            Some(read @ (Io::MotionRead(_) | Io::StateRead { .. })) => {
                self.io = Some((io, read));
            }
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
            Some(Io::StateRead { id, sent_at }) => self.state_read(id, sent_at, result, now, out),
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

    pub(super) fn note_written(&mut self, writes: &[PointWrite]) {
        self.spec
            .codec
            .note_written(&mut self.carry.last_command, writes);
    }

    pub(super) fn reply(
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

    /// The carry-over as it stands (deposit it for the next instance).
    pub fn carry_over(&self) -> &CarryOver {
        &self.carry
    }

    /// True unless a new version's trial is still running.
    pub fn proven(&self) -> bool {
        self.trial.is_none()
    }

    /// When the core must look at the clock even if nothing arrives: a command waiting for
    /// the start-up procedure is then refused (the shell queues a tick for it).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deferred_until()
    }

    /// The reported state.
    pub fn state(&self) -> DriveState {
        self.state
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
