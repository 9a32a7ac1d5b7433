//! The state a [`DriveCore`](super::machine::DriveCore) keeps between events: commands in progress,
//! the outstanding read or write, the queued work and the instance's phase.

use linevisor_profile::PointWrite;
use tokio::time::Instant;

use super::event::CommandId;
use super::sequence::Sequence;
use crate::command::Command;
use crate::telemetry::{StartupKind, TelemetrySample};

/// A command as accepted: its id, and when it arrived.
#[derive(Debug, Clone, Copy)]
pub(super) struct Accepted {
    pub(super) id: CommandId,
    pub(super) command: Command,
    pub(super) at: Instant,
}

/// A state command in progress.
#[derive(Debug)]
pub(super) struct PendingState {
    pub(super) cmd: Accepted,
    pub(super) seq: Sequence,
    /// Acyclic statusword reads this command may still take (see `state_read.rs`).
    pub(super) fast_reads: u8,
}

/// A motion command in progress.
#[derive(Debug)]
pub(super) struct PendingMotion {
    pub(super) cmd: Accepted,
    pub(super) stage: MotionStage,
}

/// Where a motion command stands.
#[derive(Debug)]
pub(super) enum MotionStage {
    /// Its setpoints are being written and read back.
    Writing,
    /// Confirmed by the readback; the set-point edge waits for a fresh sample.
    AwaitRelease {
        release: Vec<PointWrite>,
        readback: Vec<(String, f64)>,
        deadline: Instant,
        written_at: Instant,
    },
    /// The release is being written.
    Releasing { readback: Vec<(String, f64)> },
}

impl MotionStage {
    pub(super) fn expired(&self, now: Instant) -> bool {
        matches!(self, MotionStage::AwaitRelease { deadline, .. } if now >= *deadline)
    }
}

/// A motion command's writes, carried through their write and readback.
#[derive(Debug)]
pub(super) struct Written {
    pub(super) id: CommandId,
    pub(super) writes: Vec<PointWrite>,
    pub(super) release: Vec<PointWrite>,
    /// Setpoints to read back, with the values written.
    pub(super) expected: Vec<(String, f64)>,
}

/// Where an instance stands.
#[derive(Debug, Clone)]
pub(super) enum Phase {
    /// The start-up procedure is due (before the next command), or failed and waits to retry.
    Startup {
        kind: StartupKind,
        retry_at: Option<Instant>,
        last_error: Option<String>,
    },
    Running,
}

/// Work queued behind an outstanding read or write, done in order.
#[derive(Debug)]
pub(super) enum Work {
    Accept(Accepted),
    StateStep { observed_at: Instant },
    Release { observed_at: Instant },
    Publish(Box<TelemetrySample>),
    Deadlines,
    Ready,
    Judge,
}

/// The outstanding read or write, and what its completion continues.
#[derive(Debug)]
pub(super) enum Io {
    State {
        id: CommandId,
        writes: Vec<PointWrite>,
    },
    /// A state command's statusword read right after its write, sent at `sent_at`.
    StateRead {
        id: CommandId,
        sent_at: Instant,
    },
    MotionWrite(Written),
    MotionRead(Written),
    Release {
        id: CommandId,
        writes: Vec<PointWrite>,
    },
}
