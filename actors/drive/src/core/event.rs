//! The core's interface: the [`Event`]s the shell feeds it and the [`Action`]s it returns.

use std::time::Duration;

use linevisor_profile::{PointWrite, Sample};
use tokio::time::Instant;

use super::carry::Handover;
use super::startup::{StartupJob, StartupOutcome};
use super::trial::TrialRule;
use crate::command::{Command, CommandResult};
use crate::error::CommandError;
use crate::telemetry::{DriveEventKind, TelemetrySample};

/// The shell's number for a command, echoed in its [`Action::Reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(pub u64);

/// The core's number for a read or write, echoed in its completion event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IoId(pub u64);

/// One cycle's data, decoded into profile points by the shell's link.
#[derive(Debug, Clone)]
pub struct CycleSample {
    /// Cycle number on the bus schedule.
    pub seq: u64,
    /// Samples the forwarding task received so far (the gap to the last one counts overruns).
    pub n: u64,
    pub scheduled_at: Instant,
    pub completed_at: Instant,
    pub latency: Duration,
    /// The points, or why they could not be decoded.
    pub points: Result<Sample, String>,
}

/// What happens to a drive.
#[derive(Debug, Clone)]
pub enum Event {
    /// A caller's command; its outcome is one [`Action::Reply`] with the same id.
    Command {
        id: CommandId,
        command: Command,
    },
    Sample(CycleSample),
    CycleFailed {
        seq: u64,
        reason: String,
    },
    /// The bus reports the unit unreachable (or the attachment failed).
    CommLost {
        reason: String,
    },
    CommUp,
    /// An emergency message from the drive (CANopen EMCY).
    Emergency {
        code: u16,
        register: u8,
        class: &'static str,
    },
    /// A start-up procedure asked for by [`Action::StartStartup`] finished.
    StartupDone(Box<StartupOutcome>),
    /// A start-up procedure's outcome was lost: it is due again.
    StartupLost,
    WriteDone {
        io: IoId,
        result: Result<(), CommandError>,
    },
    ReadDone {
        io: IoId,
        result: Result<Sample, CommandError>,
    },
    /// Time passed: command deadlines, a start-up retry, the trial's deadline.
    Tick,
}

/// What the shell carries out, in order.
#[derive(Debug, Clone)]
pub enum Action {
    /// Write these points in order (stop at the first failure), then report [`Event::WriteDone`].
    Write {
        io: IoId,
        writes: Vec<PointWrite>,
    },
    /// Read these points acyclically, then report [`Event::ReadDone`].
    Read {
        io: IoId,
        points: Vec<String>,
    },
    /// Answer command `id`.
    Reply {
        id: CommandId,
        result: CommandResult,
    },
    Emit(DriveEventKind),
    /// Publish one cycle's telemetry.
    Publish(Box<TelemetrySample>),
    /// Run this start-up procedure (off the message loop); report [`Event::StartupDone`].
    StartStartup(StartupJob),
    /// The new version won its trial: the safe-stop step now uses this version.
    Promote,
    /// The new version lost its trial: end the instance (the supervisor rolls back).
    Fail(String),
}

/// How a new instance starts.
#[derive(Debug, Clone)]
pub struct Start {
    /// Instance generation (stamped on telemetry and snapshots).
    pub generation: u64,
    /// The previous version's hand-over on a planned replacement.
    pub handover: Option<Handover>,
    /// The trial of a new version's first start.
    pub trial: Option<TrialRule>,
}
