//! Motion commands: setpoints written, read back and compared within the point's resolution.
//! Position moves and homing in CiA 402 need the set-point edge released afterwards; they
//! complete once the release is written on the next fresh sample.

use linevisor_profile::{MotionWrites, PointWrite, Sample};
use tokio::time::Instant;

use super::ack;
use super::event::{Action, CommandId};
use super::machine::DriveCore;
use super::pending::{Accepted, Io, MotionStage, PendingMotion, Written};
use crate::command::Command;
use crate::error::CommandError;

impl DriveCore {
    pub(super) fn start_motion(&mut self, a: Accepted, now: Instant, out: &mut Vec<Action>) {
        let codec = self.spec.codec.clone();
        let memory = &self.carry.last_command;
        let built = match a.command {
            Command::SetVelocity(v) => codec.velocity_setpoint(v).map(|writes| MotionWrites {
                writes,
                release: Vec::new(),
            }),
            Command::MoveTo { position, velocity } => {
                codec.position_setpoint(position, velocity, memory)
            }
            Command::Home => codec.homing_start(memory),
            other => {
                let what = format!("{other:?} is not a motion command");
                return self.reply(&a, Err(CommandError::Unsupported { what }), now, out);
            }
        };
        let motion = match built {
            Ok(m) => m,
            Err(e) => return self.reply(&a, Err(CommandError::from_codec(e)), now, out),
        };
        self.motion_cmd = Some(PendingMotion {
            cmd: a,
            stage: MotionStage::Writing,
        });
        let expected = ack::expected(&codec, &motion.writes);
        let written = Written {
            id: a.id,
            writes: motion.writes,
            release: motion.release,
            expected,
        };
        self.start_io(Io::MotionWrite(written), out);
    }

    /// The command `id` if it is still the pending motion.
    fn motion(&self, id: CommandId) -> Option<&PendingMotion> {
        self.motion_cmd.as_ref().filter(|p| p.cmd.id == id)
    }

    fn fail_motion(&mut self, e: CommandError, now: Instant, out: &mut Vec<Action>) {
        if let Some(p) = self.motion_cmd.take() {
            self.reply(&p.cmd, Err(e), now, out);
        }
    }

    pub(super) fn motion_written(
        &mut self,
        w: Written,
        result: Result<(), CommandError>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if result.is_ok() {
            self.note_written(&w.writes);
        }
        if self.motion(w.id).is_none() {
            return;
        }
        match result {
            Ok(()) => self.start_io(Io::MotionRead(w), out),
            Err(e) => self.fail_motion(e, now, out),
        }
    }

    pub(super) fn motion_read(
        &mut self,
        w: Written,
        result: Result<Sample, CommandError>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self.motion(w.id).is_none() {
            return;
        }
        let readback =
            result.and_then(|sample| ack::compare(&self.spec.codec, &w.expected, &sample));
        let readback = match readback {
            Ok(r) => r,
            Err(e) => return self.fail_motion(e, now, out),
        };
        self.setpoints.extend(readback.iter().cloned());
        if w.release.is_empty() {
            if let Some(p) = self.motion_cmd.take() {
                self.reply(&p.cmd, Ok((self.state, readback)), now, out);
            }
            return;
        }
        if let Some(p) = self.motion_cmd.as_mut() {
            p.stage = MotionStage::AwaitRelease {
                release: w.release,
                readback,
                deadline: now + self.spec.options.command_timeout,
                written_at: now,
            };
        }
    }

    /// Releases a pending motion's set-point edge once a fresh sample shows the drive took it.
    pub(super) fn release(&mut self, observed_at: Instant, out: &mut Vec<Action>) {
        let Some(p) = self.motion_cmd.as_mut() else {
            return;
        };
        let MotionStage::AwaitRelease {
            written_at,
            release,
            readback,
            ..
        } = &mut p.stage
        else {
            return;
        };
        if observed_at < *written_at {
            return;
        }
        let writes = std::mem::take(release);
        let readback = std::mem::take(readback);
        p.stage = MotionStage::Releasing { readback };
        let id = p.cmd.id;
        self.start_io(Io::Release { id, writes }, out);
    }

    pub(super) fn released(
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
        if self.motion(id).is_none() {
            return;
        }
        let Some(p) = self.motion_cmd.take() else {
            return;
        };
        let result = match (result, p.stage) {
            (Ok(()), MotionStage::Releasing { readback }) => Ok((self.state, readback)),
            (Ok(()), _) => Ok((self.state, Vec::new())),
            (Err(e), _) => Err(e),
        };
        self.reply(&p.cmd, result, now, out);
    }
}
