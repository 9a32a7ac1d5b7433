//! Acknowledgement: the one outcome of each command, and readback comparison within a point's
//! resolution.

use std::sync::Arc;

use linevisor_config::model::DataType;
use linevisor_profile::ProfileCodec;
use linevisor_supervisor::RpcReplyPort;
use tokio::time::Instant;
use tracing::debug;

use crate::setup::Shared;
use crate::telemetry::DriveEventKind;
use crate::{Command, CommandAck, CommandError, CommandResult, DriveState};

/// The caller's reply port for one command. Answered exactly once: by [`Reply::ok`],
/// [`Reply::fail`], or, if the instance ends first (crash, stop), by its drop with `Aborted`.
/// Every outcome is also a `CommandCompleted` event.
#[derive(Debug)]
pub(crate) struct Reply {
    shared: Arc<Shared>,
    command: Command,
    port: Option<RpcReplyPort<CommandResult>>,
    accepted: Instant,
}

impl Reply {
    pub(crate) fn new(
        shared: Arc<Shared>,
        command: Command,
        port: RpcReplyPort<CommandResult>,
    ) -> Self {
        Self {
            shared,
            command,
            port: Some(port),
            accepted: Instant::now(),
        }
    }

    pub(crate) fn command(&self) -> Command {
        self.command
    }

    /// Confirmed in `state`, with the setpoints read back.
    pub(crate) fn ok(mut self, state: DriveState, readback: Vec<(String, f64)>) {
        let ack = CommandAck {
            command: self.command,
            state,
            readback,
            took: self.accepted.elapsed(),
        };
        self.finish(Ok(ack));
    }

    /// Not done, for `error`.
    pub(crate) fn fail(mut self, error: CommandError) {
        self.finish(Err(error));
    }

    fn finish(&mut self, result: CommandResult) {
        let Some(port) = self.port.take() else {
            return;
        };
        debug!(command = ?self.command, outcome = ?result.as_ref().map(|a| a.took), "Command outcome.");
        self.shared.emit(DriveEventKind::CommandCompleted {
            command: self.command,
            outcome: result.as_ref().map(|_| ()).map_err(Clone::clone),
        });
        // The caller may have given up waiting; the outcome is in the event either way.
        let _ = port.send(result);
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if self.port.is_some() {
            self.finish(Err(CommandError::Aborted {
                reason: "the drive actor instance ended (crash or stop)".into(),
            }));
        }
    }
}

/// The smallest step a point can represent, in engineering units: |scale| for integer points,
/// one part in 2^23 of the value for `f32` points.
pub(crate) fn resolution(codec: &ProfileCodec, point: &str, value: f64) -> f64 {
    match codec.profile().points.get(point) {
        Some(p) if p.data_type == DataType::F32 => {
            (value.abs() * f64::from(f32::EPSILON)).max(f64::from(f32::MIN_POSITIVE))
        }
        Some(p) => p.scale.abs(),
        None => 0.0,
    }
}

/// True if `got` equals `expected` within `resolution` (plus float noise).
pub(crate) fn within(expected: f64, got: f64, resolution: f64) -> bool {
    let noise = 1e-9 * expected.abs().max(1.0);
    (expected - got).abs() <= resolution + noise
}

#[cfg(test)]
mod tests {
    use super::within;

    #[test]
    fn within_tolerates_one_count_only() {
        assert!(within(12.34, 12.34, 0.01));
        assert!(within(12.34, 12.35, 0.01));
        assert!(!within(12.34, 12.36, 0.01));
        assert!(within(0.0, 0.0, 0.0));
        assert!(!within(1.0, 2.0, 0.5));
    }
}
