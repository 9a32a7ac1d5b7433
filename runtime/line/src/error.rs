//! Why a line could not be started or changed.

use thiserror::Error;

/// Errors of the line runtime layer.
#[derive(Debug, Error)]
pub enum LineError {
    /// The config names a bus kind this runtime cannot run yet.
    #[error("bus \"{bus}\": {kind} buses cannot be run yet ({why})")]
    UnsupportedBus {
        bus: String,
        /// Its `type`.
        kind: String,
        /// What is missing.
        why: &'static str,
    },
    /// A drive's profile could not be turned into a codec or simulated drive.
    #[error("drive \"{drive}\": {reason}")]
    Drive {
        drive: String,
        /// What went wrong.
        reason: String,
    },
    /// No drive with this id runs.
    #[error("no drive \"{0}\" on this line")]
    UnknownDrive(String),
    /// No bus with this id runs.
    #[error("no bus \"{0}\" on this line")]
    UnknownBus(String),
    /// An added or restarted drive did not show good samples in time.
    #[error("drive \"{drive}\" failed its trial: {reason}")]
    Trial {
        drive: String,
        /// Samples seen, and the drive's state.
        reason: String,
    },
    /// A cycle thread could not get its real-time settings (or could not start).
    #[error(transparent)]
    Realtime(#[from] crate::exec::RealtimeError),
    /// The supervision tree refused or failed (a start, a replacement rolled back, ...).
    #[error(transparent)]
    Supervisor(#[from] linevisor_supervisor::SupervisorError),
}

/// Why a change (apply, upgrade, add, remove) did not happen.
#[derive(Debug, Error)]
pub enum ChangeError {
    /// Another change is running.
    #[error("another change is in progress; try again when it is done")]
    Busy,
    /// Another change ran since this one was derived from the running config.
    #[error("the running config changed while this change was prepared; try again")]
    Stale,
    /// The new config changes something a running line cannot take.
    #[error("refused: {}", .0.join("; "))]
    Refused(Vec<String>),
    /// A step failed; every step done before it was undone.
    #[error("{step} failed: {reason}; {}", rollback_summary(.rollback_errors))]
    Failed {
        /// The step, e.g. `add drive "press-2"`.
        step: String,
        reason: String,
        /// Rollback steps that failed themselves (empty: the old tree runs again).
        rollback_errors: Vec<String>,
    },
}

fn rollback_summary(errors: &[String]) -> String {
    if errors.is_empty() {
        "rolled back: the line runs as before".to_owned()
    } else {
        format!("rollback INCOMPLETE: {}", errors.join("; "))
    }
}
