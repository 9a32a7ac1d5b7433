//! One bus event at a time: a cycle's sample (decode, state, command steps, telemetry), a failed
//! cycle, and communication lost or back.

use linevisor_bus::{BusEvent, CycleFault, Sample};
use linevisor_config::model::SafeState;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::telemetry::{DriveEventKind, StartupKind, TelemetrySample};
use crate::worker::{DriveInstance, Phase};
use crate::{CommandError, DriveState};

impl DriveInstance {
    pub(crate) async fn on_bus(&mut self, n: u64, event: BusEvent) {
        match event {
            BusEvent::Sample(s) => self.on_sample(s, n).await,
            BusEvent::CycleFailed { seq, error, .. } => {
                self.tracker
                    .on_failed(&mut self.shared.memory().stats, seq);
                match &error {
                    CycleFault::Device(e) => warn!(seq, error = %e, "The drive refused its cyclic read."),
                    CycleFault::Bus(e) => debug!(seq, error = %e, "Cycle failed."),
                }
                self.trial_failed(|| format!("cycle {seq} failed: {error}"));
            }
            BusEvent::CommLost { error, .. } => self.comm_down(error.to_string()),
            BusEvent::Demoted {
                timeouts,
                probe_every,
                ..
            } => self.comm_down(format!(
                "the unit stopped answering ({timeouts} timeouts in a row); probed every {probe_every:?}"
            )),
            BusEvent::CommRestored { .. } | BusEvent::Restored { .. } => self.comm_up(),
            BusEvent::Emergency {
                code,
                register,
                class,
                ..
            } => {
                warn!(code = format_args!("{code:#06x}"), register, class, "EMCY from the drive.");
                self.shared.emit(DriveEventKind::Emergency {
                    code,
                    register,
                    class,
                });
            }
        }
        self.check_deadlines();
    }

    async fn on_sample(&mut self, s: Sample, n: u64) {
        let codec = self.shared.codec.clone();
        let decoded = self
            .shared
            .link
            .decode(&s.blocks)
            .map_err(|e| e.to_string())
            .and_then(|sample| {
                let state = codec.decode_status(&sample).map_err(|e| e.to_string())?;
                Ok((sample, state))
            });
        let stats = {
            let mut m = self.shared.memory();
            let period = self.shared.period;
            self.tracker.on_sample(
                &mut m.stats,
                s.seq,
                n,
                s.scheduled_at,
                s.completed_at,
                period,
            );
            if decoded.is_err() {
                m.stats.decode_errors += 1;
            }
            m.stats.clone()
        };
        if self.link_up != Some(true) {
            self.comm_up();
        }
        let (sample, device) = match decoded {
            Ok(d) => d,
            Err(e) => {
                warn!(seq = s.seq, error = %e, "Cannot decode the drive's cyclic data.");
                self.trial_failed(|| format!("cycle {} undecodable: {e}", s.seq));
                return;
            }
        };
        // Only samples after the start-up procedure count: a failed start-up still loses it.
        if matches!(self.phase, Phase::Running)
            && let Some((t, _)) = self.trial.as_mut()
        {
            t.good_sample();
        }
        let t = codec.telemetry(&sample);
        self.device = Some(device);
        self.fault_code = t.fault_code;
        self.refresh_state();
        // The read behind this sample was sent at `completed_at - latency`.
        let observed_at = s
            .completed_at
            .checked_sub(s.latency)
            .unwrap_or(s.completed_at);
        if matches!(self.phase, Phase::Running) {
            self.step_state_command(device, observed_at).await;
            self.step_motion(observed_at).await;
        }
        let status_point = &codec.profile().status.point;
        let sample = TelemetrySample {
            drive: self.shared.id.clone(),
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
        let _ = self.shared.channels.telemetry.send(sample.clone());
        self.last = Some(sample);
    }

    /// Communication is gone: pending commands fail with `CommLoss`; a supervised drive gets
    /// the reconnect procedure (with `on_comm_loss`) when it returns.
    pub(crate) fn comm_down(&mut self, reason: String) {
        if self.link_up == Some(false) {
            return;
        }
        warn!(%reason, "Communication with the drive lost.");
        self.trial_failed(|| format!("communication lost: {reason}"));
        self.link_up = Some(false);
        self.comm_reason.clone_from(&reason);
        self.shared.emit(DriveEventKind::CommLost {
            reason: reason.clone(),
        });
        let error = || CommandError::CommLoss {
            reason: reason.clone(),
        };
        if let Some(p) = self.state_cmd.take() {
            p.reply.fail(error());
        }
        if let Some(p) = self.motion_cmd.take() {
            p.reply.fail(error());
        }
        if matches!(self.phase, Phase::Running) {
            self.shared.memory().comm_loss_pending =
                self.shared.safe.on_comm_loss != SafeState::Hold;
            self.phase = Phase::Startup {
                kind: StartupKind::Reconnect,
                retry_at: None,
                last_error: None,
            };
        }
        self.refresh_state();
    }

    /// Communication is back: a start-up procedure waiting to retry runs at once.
    pub(crate) fn comm_up(&mut self) {
        if self.link_up == Some(true) {
            return;
        }
        let was_down = self.link_up == Some(false);
        self.link_up = Some(true);
        if let Phase::Startup { retry_at, .. } = &mut self.phase {
            *retry_at = None;
        }
        if was_down {
            self.shared.emit(DriveEventKind::CommRestored);
        }
        self.refresh_state();
    }

    /// Pending commands past their deadline fail with `Timeout`.
    fn check_deadlines(&mut self) {
        let now = Instant::now();
        let after = self.shared.options.command_timeout;
        let state: DriveState = self.state;
        if self.state_cmd.as_ref().is_some_and(|p| p.seq.expired(now))
            && let Some(p) = self.state_cmd.take()
        {
            p.reply.fail(CommandError::Timeout { after, state });
        }
        if self.motion_cmd.as_ref().is_some_and(|p| now >= p.deadline)
            && let Some(p) = self.motion_cmd.take()
        {
            p.reply.fail(CommandError::Timeout { after, state });
        }
    }
}
