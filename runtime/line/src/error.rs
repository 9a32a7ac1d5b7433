//! Why a line could not be started.

use thiserror::Error;

/// Errors of the line runtime layer.
#[derive(Debug, Error)]
pub enum LineError {
    /// The config names a bus kind this runtime cannot run yet.
    #[error("bus \"{bus}\": {kind} buses cannot be run yet ({why})")]
    UnsupportedBus {
        /// Bus id.
        bus: String,
        /// Its `type`.
        kind: String,
        /// What is missing.
        why: &'static str,
    },
    /// A drive's profile could not be turned into a codec or simulated drive.
    #[error("drive \"{drive}\": {reason}")]
    Drive {
        /// Drive id.
        drive: String,
        /// What went wrong.
        reason: String,
    },
    /// The supervision tree did not start.
    #[error("the supervision tree did not start: {0}")]
    Supervisor(#[from] linevisor_supervisor::SupervisorError),
}
