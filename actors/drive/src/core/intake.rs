//! Commands: intake (limits, readiness, superseding), state commands stepped on each cycle's
//! sample, and deadlines.
//!
//! - A state command (enable, disable, stop, quick stop, fault reset) runs its transition
//!   sequence ([`Sequence`]) one step per fresh sample and completes when the decoded state
//!   confirms it (`command_reached`).
//! - A motion command (velocity, position, homing) writes its setpoints, reads them back and
//!   compares them (`motion.rs`).
//! - A newer command of the same kind supersedes a pending one (`Superseded`).

use linevisor_profile::PointWrite;
use tokio::time::Instant;

use super::event::{Action, CommandId};
use super::limits;
use super::machine::DriveCore;
use super::pending::{Accepted, Io, PendingState, Phase};
use super::sequence::{Next, Sequence};
use crate::command::CommandKind;
use crate::error::CommandError;
use crate::state::DriveState;

impl DriveCore {
    /// Checks and starts a command (also a deferred one, once the start-up procedure is done).
    pub(super) fn accept(&mut self, a: Accepted, now: Instant, out: &mut Vec<Action>) {
        if let Err(e) = limits::check(&self.spec.limits, &a.command) {
            return self.reply(&a, Err(e), now, out);
        }
        if self.startup_running && self.link_up != Some(false) {
            self.deferred.push(a);
            return;
        }
        if let Err(e) = self.readiness() {
            return self.reply(&a, Err(e), now, out);
        }
        match a.command.kind() {
            CommandKind::State(uniform) => {
                if let Some(old) = self.state_cmd.take() {
                    self.reply(&old.cmd, Err(CommandError::Superseded), now, out);
                }
                let timeout = self.spec.options.command_timeout;
                self.state_cmd = Some(PendingState {
                    cmd: a,
                    seq: Sequence::new(uniform, now, timeout),
                    fast_reads: self.fast_read_budget(),
                });
                // First step at once from the last sample's state; confirmation waits for a
                // sample read after this acceptance.
                if let (Some(_), Some(last)) = (self.device, self.last.as_ref()) {
                    let observed = last
                        .completed_at
                        .checked_sub(last.latency)
                        .unwrap_or(last.completed_at);
                    self.step_state_command(observed, now, out);
                }
            }
            CommandKind::Motion => {
                if let Some(old) = self.motion_cmd.take() {
                    self.reply(&old.cmd, Err(CommandError::Superseded), now, out);
                }
                self.start_motion(a, now, out);
            }
        }
    }

    /// Commands need communication and a completed start-up.
    fn readiness(&self) -> Result<(), CommandError> {
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

    /// Advances the pending state command with the last decoded state, observed at
    /// `observed_at`.
    pub(super) fn step_state_command(
        &mut self,
        observed_at: Instant,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let (Some(p), Some(device)) = (self.state_cmd.as_ref(), self.device) else {
            return;
        };
        let next = p.seq.on_status(
            &self.spec.codec,
            device,
            self.fault_code,
            observed_at,
            now,
            &self.carry.last_command,
        );
        match next {
            Ok(Next::Wait) => {}
            Ok(Next::Done(s)) => {
                if let Some(p) = self.state_cmd.take() {
                    self.reply(&p.cmd, Ok((DriveState::from(s), Vec::new())), now, out);
                }
            }
            Ok(Next::Write(writes)) => {
                let id = p.cmd.id;
                self.start_io(Io::State { id, writes }, out);
            }
            Err(e) => {
                if let Some(p) = self.state_cmd.take() {
                    self.reply(&p.cmd, Err(e), now, out);
                }
            }
        }
    }

    /// A state step's write completed (or failed).
    pub(super) fn state_written(
        &mut self,
        id: CommandId,
        writes: &[PointWrite],
        result: Result<(), CommandError>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if result.is_ok() {
            self.note_written(writes);
        }
        let Some(p) = self.state_cmd.as_mut().filter(|p| p.cmd.id == id) else {
            return;
        };
        match result {
            Ok(()) => {
                p.seq.wrote(now);
                self.read_state_now(id, now, out);
            }
            Err(e) => {
                if let Some(p) = self.state_cmd.take() {
                    self.reply(&p.cmd, Err(e), now, out);
                }
            }
        }
    }

    /// When the oldest command waiting for the start-up procedure is refused, if any.
    pub(super) fn deferred_until(&self) -> Option<Instant> {
        let wait = self.spec.options.startup_wait;
        self.deferred.iter().map(|a| a.at + wait).min()
    }

    /// Pending commands past their deadline fail with `Timeout`; commands that waited for the
    /// start-up procedure too long are refused, so none runs after its caller was answered.
    pub(super) fn check_deadlines(&mut self, now: Instant, out: &mut Vec<Action>) {
        let after = self.spec.options.command_timeout;
        let state = self.state;
        let wait = self.spec.options.startup_wait;
        let (expired, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.deferred)
            .into_iter()
            .partition(|a| now >= a.at + wait);
        self.deferred = waiting;
        for a in expired {
            let reason = format!("the drive is still starting (start-up not done within {wait:?})");
            self.reply(&a, Err(CommandError::NotReady { state, reason }), now, out);
        }
        if self.state_cmd.as_ref().is_some_and(|p| p.seq.expired(now))
            && let Some(p) = self.state_cmd.take()
        {
            self.reply(
                &p.cmd,
                Err(CommandError::Timeout { after, state }),
                now,
                out,
            );
        }
        if self
            .motion_cmd
            .as_ref()
            .is_some_and(|p| p.stage.expired(now))
            && let Some(p) = self.motion_cmd.take()
        {
            self.reply(
                &p.cmd,
                Err(CommandError::Timeout { after, state }),
                now,
                out,
            );
        }
    }
}
