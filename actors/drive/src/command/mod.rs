//! Commands: intake (limits, readiness, superseding), state sequences stepped on each cycle's
//! sample, and motion setpoints acknowledged by reading them back.
//!
//! - A state command (enable, disable, stop, quick stop, fault reset) runs its transition
//!   sequence ([`Sequence`]) one step per fresh sample and completes when the decoded state
//!   confirms it (`command_reached`).
//! - A motion command (velocity, position, homing) writes its setpoints, reads them back and
//!   compares them within the point's resolution. Position moves and homing in CiA 402 need the
//!   set-point edge released afterwards; they complete once the release is written on the next
//!   fresh sample.
//! - A newer command of the same kind supersedes a pending one (`Superseded`).

pub(crate) mod ack;
pub(crate) mod sequence;

use linevisor_profile::{MotionWrites, PointWrite, UniformState};
use linevisor_supervisor::RpcReplyPort;
use tokio::time::Instant;

pub(crate) use ack::Reply;
pub use sequence::{Next, Sequence};

use crate::msg::CommandKind;
use crate::worker::{DriveInstance, Phase};
use crate::{Command, CommandError, CommandResult, DriveState, limits};

/// A state command in progress.
#[derive(Debug)]
pub(crate) struct PendingState {
    pub(crate) reply: Reply,
    pub(crate) seq: Sequence,
}

/// A motion command whose set-point edge still has to be released.
#[derive(Debug)]
pub(crate) struct PendingMotion {
    pub(crate) reply: Reply,
    pub(crate) release: Vec<PointWrite>,
    pub(crate) readback: Vec<(String, f64)>,
    pub(crate) deadline: Instant,
    pub(crate) written_at: Instant,
}

impl DriveInstance {
    pub(crate) async fn on_command(&mut self, command: Command, port: RpcReplyPort<CommandResult>) {
        let reply = Reply::new(self.shared.clone(), command, port);
        self.accept(reply).await;
    }

    /// Checks and starts a command (also a deferred one, once the start-up procedure is done).
    pub(crate) async fn accept(&mut self, reply: Reply) {
        let command = reply.command();
        if let Err(e) = limits::check(&self.shared.limits, &command) {
            return reply.fail(e);
        }
        if self.startup_task.is_some() && self.link_up != Some(false) {
            self.deferred.push(reply);
            return;
        }
        if let Err(e) = self.gate() {
            return reply.fail(e);
        }
        match command.kind() {
            CommandKind::State(uniform) => {
                if let Some(old) = self.state_cmd.take() {
                    old.reply.fail(CommandError::Superseded);
                }
                let now = Instant::now();
                let timeout = self.shared.options.command_timeout;
                self.state_cmd = Some(PendingState {
                    reply,
                    seq: Sequence::new(uniform, now, timeout),
                });
                // First step at once from the last sample's state; confirmation waits for a
                // sample read after this acceptance.
                if let (Some(device), Some(last)) = (self.device, self.last.as_ref()) {
                    let observed = last
                        .completed_at
                        .checked_sub(last.latency)
                        .unwrap_or(last.completed_at);
                    self.step_state_command(device, observed).await;
                }
            }
            CommandKind::Motion => {
                if let Some(old) = self.motion_cmd.take() {
                    old.reply.fail(CommandError::Superseded);
                }
                self.start_motion(reply).await;
            }
        }
    }

    /// Commands need communication and a completed start-up.
    fn gate(&self) -> Result<(), CommandError> {
        if self.link_up == Some(false) {
            return Err(CommandError::CommLoss {
                reason: self.comm_reason.clone(),
            });
        }
        if let Phase::Startup { last_error, .. } = &self.phase {
            return Err(CommandError::NotReady {
                state: self.state,
                reason: last_error
                    .clone()
                    .unwrap_or_else(|| "start-up procedure not completed".into()),
            });
        }
        Ok(())
    }

    /// Advances the pending state command with a state observed at `observed_at`.
    pub(crate) async fn step_state_command(&mut self, state: UniformState, observed_at: Instant) {
        let Some(p) = self.state_cmd.as_ref() else {
            return;
        };
        let next = p.seq.on_status(
            &self.shared.codec,
            state,
            self.fault_code,
            observed_at,
            Instant::now(),
            &self.memory,
        );
        match next {
            Ok(Next::Wait) => {}
            Ok(Next::Done(s)) => {
                if let Some(p) = self.state_cmd.take() {
                    p.reply.ok(DriveState::from(s), Vec::new());
                }
            }
            Ok(Next::Write(writes)) => match self.shared.link.write(&writes).await {
                Ok(()) => {
                    self.note_written(&writes);
                    if let Some(p) = self.state_cmd.as_mut() {
                        p.seq.wrote(Instant::now());
                    }
                }
                Err(e) => {
                    if let Some(p) = self.state_cmd.take() {
                        p.reply.fail(e.into());
                    }
                }
            },
            Err(e) => {
                if let Some(p) = self.state_cmd.take() {
                    p.reply.fail(e);
                }
            }
        }
    }

    async fn start_motion(&mut self, reply: Reply) {
        let codec = self.shared.codec.clone();
        let built = match reply.command() {
            Command::SetVelocity(v) => codec.velocity_setpoint(v).map(|writes| MotionWrites {
                writes,
                release: Vec::new(),
            }),
            Command::MoveTo { position, velocity } => {
                codec.position_setpoint(position, velocity, &self.memory)
            }
            Command::Home => codec.homing_start(&self.memory),
            other => {
                let what = format!("{other:?} is not a motion command");
                return reply.fail(CommandError::Unsupported { what });
            }
        };
        let motion = match built {
            Ok(m) => m,
            Err(e) => return reply.fail(CommandError::from_codec(e)),
        };
        if let Err(e) = self.shared.link.write(&motion.writes).await {
            return reply.fail(e.into());
        }
        self.note_written(&motion.writes);
        let readback = match self.read_back(&motion.writes).await {
            Ok(r) => r,
            Err(e) => return reply.fail(e),
        };
        self.setpoints.extend(readback.iter().cloned());
        if motion.release.is_empty() {
            return reply.ok(self.state, readback);
        }
        let now = Instant::now();
        self.motion_cmd = Some(PendingMotion {
            reply,
            release: motion.release,
            readback,
            deadline: now + self.shared.options.command_timeout,
            written_at: now,
        });
    }

    /// Reads back every setpoint in `writes` (not the command point: its edges are transient)
    /// and compares each with the last value written to it.
    async fn read_back(&self, writes: &[PointWrite]) -> Result<Vec<(String, f64)>, CommandError> {
        let codec = &self.shared.codec;
        let command_point = &codec.profile().command.point;
        let mut expected: Vec<(&str, f64)> = Vec::new();
        for w in writes.iter().filter(|w| &w.point != command_point) {
            expected.retain(|(p, _)| *p != w.point);
            expected.push((&w.point, w.value));
        }
        let points: Vec<&str> = expected.iter().map(|(p, _)| *p).collect();
        let sample = self.shared.link.read(&points).await?;
        let mut out = Vec::with_capacity(expected.len());
        for (point, value) in expected {
            let got = sample
                .require(point)
                .map_err(CommandError::from_codec)?
                .value;
            let resolution = ack::resolution(codec, point, value);
            if !ack::within(value, got, resolution) {
                return Err(CommandError::ReadbackMismatch {
                    point: point.to_owned(),
                    expected: value,
                    got,
                    resolution,
                });
            }
            out.push((point.to_owned(), got));
        }
        Ok(out)
    }

    /// Releases a pending motion's set-point edge once a fresh sample shows the drive took it.
    pub(crate) async fn step_motion(&mut self, observed_at: Instant) {
        if self
            .motion_cmd
            .as_ref()
            .is_none_or(|p| observed_at < p.written_at)
        {
            return;
        }
        let Some(p) = self.motion_cmd.take() else {
            return;
        };
        match self.shared.link.write(&p.release).await {
            Ok(()) => {
                self.note_written(&p.release);
                p.reply.ok(self.state, p.readback);
            }
            Err(e) => p.reply.fail(e.into()),
        }
    }
}
