//! The statusword read right after a state command's controlword write: the next step of the
//! CiA 402 sequence is taken from it, so enable, disable, quick stop and fault reset complete
//! in a few transaction times instead of a few poll cycles. The read goes ahead of the cyclic
//! polls (like a setpoint's readback). Each command has a budget of such reads; when it is
//! spent, or a read fails, the sequence goes on with the cyclic samples as before.

use linevisor_core::profile::CommandEncoding;
use linevisor_profile::{PowerState, Sample};
use tokio::time::Instant;
use tracing::debug;

use super::event::{Action, CommandId};
use super::machine::DriveCore;
use super::pending::Io;
use crate::error::CommandError;

/// Statusword reads per state command: an enable from switch-on-disabled is three writes, each
/// followed by a read, plus one more read for a device that takes a moment to change state.
const FAST_READS: u8 = 4;

impl DriveCore {
    /// The budget of a new state command: only drives with a CiA 402 controlword, whose
    /// transitions take one write and one statusword change each.
    pub(super) fn fast_read_budget(&self) -> u8 {
        let encoding = self.spec.codec.profile().command.encoding;
        if encoding == CommandEncoding::Cia402 {
            FAST_READS
        } else {
            0
        }
    }

    /// The points a statusword read asks for: the status points only, so that it is one
    /// transaction on a Modbus line (the fault code, read with the cyclic samples, often lies
    /// elsewhere in the map).
    pub(super) fn status_read_points(&self) -> Vec<String> {
        let codec = &self.spec.codec;
        codec.status_points().into_iter().map(Into::into).collect()
    }

    /// After the write of command `id` completed at `now`: read the statusword at once, if the
    /// command still has reads left.
    pub(super) fn read_state_now(&mut self, id: CommandId, now: Instant, out: &mut Vec<Action>) {
        let Some(p) = self.state_cmd.as_mut().filter(|p| p.cmd.id == id) else {
            return;
        };
        if p.fast_reads == 0 {
            return;
        }
        p.fast_reads -= 1;
        self.start_io(Io::StateRead { id, sent_at: now }, out);
    }

    /// The statusword read of command `id`, sent at `sent_at`, answered at `now`.
    pub(super) fn state_read(
        &mut self,
        id: CommandId,
        sent_at: Instant,
        result: Result<Sample, CommandError>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let codec = self.spec.codec.clone();
        let decoded = result
            .map_err(|e| e.to_string())
            .and_then(|sample| codec.decode_status(&sample).map_err(|e| e.to_string()));
        let state = match decoded {
            Ok(d) => d,
            Err(e) => {
                // The cyclic samples carry the sequence on; a link fault shows there too.
                debug!(error = %e, "Statusword read after a state write failed.");
                return;
            }
        };
        if self.observed_at.is_none_or(|o| sent_at >= o) {
            // The fault code stays as last sampled; out of fault, there is none.
            if !matches!(state, PowerState::Fault | PowerState::FaultReactionActive) {
                self.fault_code = None;
            }
            self.device = Some(state);
            self.observed_at = Some(sent_at);
            self.refresh_state(out);
        }
        let before = self.io.is_some();
        self.step_state_command(sent_at, now, out);
        // Still waiting for the device (no write started, command not done): read again.
        if !before && self.io.is_none() {
            self.read_state_now(id, now, out);
        }
    }
}
