//! Bus events: a cycle's sample (state, command steps, telemetry), communication lost or back,
//! and the reported state.

use linevisor_config::model::SafeState;
use tracing::{info, warn};

use super::event::{Action, CycleSample};
use super::machine::DriveCore;
use super::pending::{Phase, Work};
use crate::error::CommandError;
use crate::state::DriveState;
use crate::telemetry::{DriveEventKind, StartupKind, TelemetrySample};

impl DriveCore {
    pub(super) fn on_sample(&mut self, s: CycleSample, out: &mut Vec<Action>) {
        let codec = self.spec.codec.clone();
        let decoded = s.points.and_then(|sample| {
            let state = codec.decode_status(&sample).map_err(|e| e.to_string())?;
            Ok((sample, state))
        });
        let period = self.spec.period;
        let stats = &mut self.carry.stats;
        self.tracker
            .on_sample(stats, s.seq, s.n, s.scheduled_at, s.completed_at, period);
        if decoded.is_err() {
            stats.decode_errors += 1;
        }
        let stats = stats.clone();
        if self.link_up != Some(true) {
            self.comm_up(out);
        }
        let (sample, device) = match decoded {
            Ok(d) => d,
            Err(e) => {
                warn!(seq = s.seq, error = %e, "Cannot decode the drive's cyclic data.");
                self.trial_failed(|| format!("cycle {} undecodable: {e}", s.seq));
                return;
            }
        };
        let running = matches!(self.phase, Phase::Running);
        // Only samples after the start-up procedure count: a failed start-up still loses it.
        if running && let Some(t) = self.trial.as_mut() {
            t.good_sample();
        }
        let t = codec.telemetry(&sample);
        // The read behind this sample was sent at `completed_at - latency`.
        let observed_at = s
            .completed_at
            .checked_sub(s.latency)
            .unwrap_or(s.completed_at);
        // A statusword read sent after this sample's read has the newer state; on a tie (a
        // clock too coarse to order them) the statusword read, taken for a command, wins.
        if self.observed_at.is_none_or(|o| observed_at > o) {
            self.device = Some(device);
            self.fault_code = t.fault_code;
            self.observed_at = Some(observed_at);
            self.refresh_state(out);
        }
        if running {
            self.agenda.push_back(Work::StateStep { observed_at });
            self.agenda.push_back(Work::Release { observed_at });
        }
        let status_point = &codec.profile().status.point;
        let sample = TelemetrySample {
            drive: self.spec.id.clone(),
            generation: self.generation,
            seq: s.seq,
            state: self.state,
            status_raw: sample.get(status_point).map(|v| v.raw),
            position: t.position,
            velocity: t.velocity,
            current: t.current,
            torque: t.torque,
            fault_code: t.fault_code,
            latency: s.latency,
            scheduled_at: s.scheduled_at,
            completed_at: s.completed_at,
            stats,
        };
        self.agenda.push_back(Work::Publish(Box::new(sample)));
    }

    /// Communication is gone: pending commands fail with `CommLoss`; a supervised drive gets
    /// the reconnect procedure (with `on_comm_loss`) when it returns.
    pub(super) fn comm_down(&mut self, reason: String, out: &mut Vec<Action>) {
        if self.link_up == Some(false) {
            return;
        }
        warn!(%reason, "Communication with the drive lost.");
        self.trial_failed(|| format!("communication lost: {reason}"));
        self.link_up = Some(false);
        self.comm_reason.clone_from(&reason);
        out.push(Action::Emit(DriveEventKind::CommLost {
            reason: reason.clone(),
        }));
        let error = || CommandError::CommLoss {
            reason: reason.clone(),
        };
        if let Some(p) = self.state_cmd.take() {
            out.push(Action::Reply {
                id: p.cmd.id,
                result: Err(error()),
            });
        }
        if let Some(p) = self.motion_cmd.take() {
            out.push(Action::Reply {
                id: p.cmd.id,
                result: Err(error()),
            });
        }
        if matches!(self.phase, Phase::Running) {
            self.carry.comm_loss_pending = self.spec.safe.on_comm_loss != SafeState::Hold;
            self.phase = Phase::Startup {
                kind: StartupKind::Reconnect,
                retry_at: None,
                last_error: None,
            };
        }
        self.refresh_state(out);
    }

    /// Communication is back: a start-up procedure waiting to retry runs at once.
    pub(super) fn comm_up(&mut self, out: &mut Vec<Action>) {
        if self.link_up == Some(true) {
            return;
        }
        let was_down = self.link_up == Some(false);
        self.link_up = Some(true);
        if let Phase::Startup { retry_at, .. } = &mut self.phase {
            *retry_at = None;
        }
        if was_down {
            out.push(Action::Emit(DriveEventKind::CommRestored));
        }
        self.refresh_state(out);
    }

    /// Recomputes the reported state; a change is an event.
    pub(super) fn refresh_state(&mut self, out: &mut Vec<Action>) {
        let new = if self.link_up == Some(false) {
            DriveState::Offline
        } else if matches!(self.phase, Phase::Startup { .. }) {
            DriveState::Initializing
        } else {
            self.device
                .map_or(DriveState::Initializing, DriveState::from)
        };
        if new != self.state {
            info!(from = %self.state, to = %new, fault_code = ?self.fault_code, "Drive state changed.");
            out.push(Action::Emit(DriveEventKind::StateChanged {
                from: self.state,
                to: new,
                fault_code: self.fault_code,
            }));
            self.state = new;
        }
    }
}
