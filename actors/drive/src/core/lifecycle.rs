//! The instance's life around its commands: the start-up procedure (when it is due, what its
//! outcome changes) and a new version's trial.

use tokio::time::Instant;
use tracing::{info, warn};

use super::event::Action;
use super::machine::DriveCore;
use super::pending::{Phase, Work};
use super::startup::{StartupJob, StartupOutcome};
use crate::telemetry::DriveEventKind;

impl DriveCore {
    /// Starts a due start-up procedure (unless one runs, comm is known down, the bus has not
    /// brought the device up yet, or a retry is not yet due).
    pub(super) fn ensure_ready(&mut self, now: Instant, out: &mut Vec<Action>) {
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

    pub(super) fn on_startup_done(
        &mut self,
        done: StartupOutcome,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
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
    pub(super) fn trial_failed(&mut self, reason: impl FnOnce() -> String) {
        if let Some(t) = self.trial.as_mut() {
            t.fail(reason);
        }
    }

    /// Ends a won trial; a lost one ends the instance.
    pub(super) fn judge_trial(&mut self, now: Instant, out: &mut Vec<Action>) {
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
}
