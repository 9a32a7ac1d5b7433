//! What a drive publishes: one [`TelemetrySample`] per cycle and [`DriveEvent`]s, on two tokio
//! broadcasts created outside the actor ([`DriveChannels`]) so subscribers survive restarts.

use std::sync::Arc;
use std::time::Duration;

use linevisor_config::model::SafeState;
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::command::Command;
use crate::error::CommandError;
use crate::state::DriveState;
use crate::stats::CycleStats;

/// One cycle of one drive.
#[derive(Debug, Clone)]
pub struct TelemetrySample {
    pub drive: Arc<str>,
    /// Instance generation that published it (grows with each restart).
    pub generation: u64,
    /// Cycle number on the bus schedule (restarts at each attachment).
    pub seq: u64,
    pub state: DriveState,
    /// Raw value of the `[status] point` (statusword, run status).
    pub status_raw: Option<u32>,
    /// `[telemetry] position`, engineering units.
    pub position: Option<f64>,
    /// `[telemetry] velocity`.
    pub velocity: Option<f64>,
    /// `[telemetry] current`.
    pub current: Option<f64>,
    /// `[telemetry] torque`.
    pub torque: Option<f64>,
    /// `[fault] code` with `code_mask` applied.
    pub fault_code: Option<u32>,
    /// Exchange latency (first request sent to last response received).
    pub latency: Duration,
    /// When the cycle was due.
    pub scheduled_at: Instant,
    /// When its last response arrived.
    pub completed_at: Instant,
    /// The drive's cycle statistics including this cycle.
    pub stats: CycleStats,
}

/// Why a start-up procedure ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartupKind {
    /// First start of this drive in this process: parameters downloaded.
    First,
    /// Restart with `restart = "reinit"`: parameters downloaded, drive left disabled.
    Reinit,
    /// Restart with `restart = "adopt"` (or a planned replacement): state read, no writes
    /// unless `on_crash` asks for quick stop or disable.
    Adopt,
    /// A planned restart or a replacement by a new version (upgrade, config change) of a drive
    /// whose policy is `adopt`: state read, nothing written (bumpless); parameters compared.
    Planned,
    /// Communication came back: identity and parameters checked, `on_comm_loss` applied.
    Reconnect,
}

/// Where a safe state was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Situation {
    /// Planned stop of the drive or the line (`on_stop`, by the supervisor's safe-stop step).
    Stop,
    /// The actor crashed and was restarted (`on_crash`, by the new instance).
    Crash,
    /// Communication was lost (`on_comm_loss`, applied when it returns).
    CommLoss,
}

/// Why parameters were downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReparamReason {
    /// First start or `reinit`.
    Start,
    /// The unit's identity changed.
    UnitReplaced,
    /// The drive's parameters differed from the config.
    ParametersDiffered,
}

/// A parameter whose value in the drive differs from the config.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub parameter: String,
    pub expected: f64,
    /// Value in the drive.
    pub got: f64,
}

/// Something that happened to a drive.
#[derive(Debug, Clone)]
pub struct DriveEvent {
    pub drive: Arc<str>,
    pub at: Instant,
    pub kind: DriveEventKind,
}

/// The kinds of [`DriveEvent`].
#[derive(Debug, Clone)]
pub enum DriveEventKind {
    /// The uniform state changed.
    StateChanged {
        from: DriveState,
        to: DriveState,
        /// Fault code at the change, if any.
        fault_code: Option<u32>,
    },
    /// A command got its outcome.
    CommandCompleted {
        command: Command,
        /// `Ok` once confirmed, else the reason.
        outcome: Result<(), CommandError>,
    },
    /// Communication with the drive was lost.
    CommLost {
        /// What the bus reported.
        reason: String,
    },
    /// Communication is back (the reconnect procedure follows).
    CommRestored,
    /// A start-up procedure completed; the drive takes commands.
    Ready {
        /// Which procedure.
        startup: StartupKind,
    },
    /// A start-up procedure failed; it is retried (on comm return, or after a delay).
    StartupFailed {
        /// Which procedure.
        startup: StartupKind,
        reason: String,
    },
    /// Parameters were downloaded and verified by reading back.
    Reparameterised {
        reason: ReparamReason,
        /// What was written (name, value).
        parameters: Vec<(String, f64)>,
    },
    /// The drive sent an emergency message (CANopen EMCY). Its code is also the drive's fault
    /// code while it is in fault; code 0 is the drive's error reset.
    Emergency {
        code: u16,
        /// Error register (0x1001).
        register: u8,
        /// The code's class ("current", "temperature", ...).
        class: &'static str,
    },
    /// The unit's identity points changed: a different physical unit.
    UnitReplaced {
        /// Raw identity values before, in the profile's `identity` order.
        old: Vec<u32>,
        /// Raw identity values now.
        new: Vec<u32>,
    },
    /// Parameters differ from the config while the drive is in operation enabled: they are not
    /// written under motion; the next start-up or reconnect checks again.
    ParametersDiffer {
        /// Which differ.
        mismatches: Vec<Mismatch>,
    },
    /// A safe state was applied.
    SafeStateApplied {
        situation: Situation,
        safe_state: SafeState,
        /// The drive's state afterwards.
        state: DriveState,
    },
    /// A safe state could not be applied.
    SafeStateFailed {
        situation: Situation,
        safe_state: SafeState,
        reason: String,
    },
}

/// The two broadcasts of one drive. Create them once (outside the actor) and pass them to
/// [`crate::DriveSetup`]; subscribers keep receiving across restarts of the actor.
#[derive(Debug, Clone)]
pub struct DriveChannels {
    /// One sample per cycle.
    pub telemetry: broadcast::Sender<TelemetrySample>,
    /// State changes, command outcomes, comm loss, start-up events.
    pub events: broadcast::Sender<DriveEvent>,
}

impl DriveChannels {
    /// Broadcasts holding `capacity` items each for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        Self {
            telemetry: broadcast::channel(capacity.max(1)).0,
            events: broadcast::channel(capacity.max(1)).0,
        }
    }
}

impl Default for DriveChannels {
    /// 256 items each.
    fn default() -> Self {
        Self::new(256)
    }
}

/// A drive's state for the control plane.
#[derive(Debug, Clone)]
pub struct DriveSnapshot {
    pub drive: Arc<str>,
    pub generation: u64,
    pub state: DriveState,
    /// Communication known up (`None`: nothing heard yet).
    pub link_up: Option<bool>,
    /// The last sample published.
    pub last: Option<TelemetrySample>,
    /// Cycle statistics (kept across restarts).
    pub stats: CycleStats,
    /// Commands waiting for their confirmation.
    pub pending: Vec<Command>,
    /// Setpoints last written or adopted (point, engineering value).
    pub setpoints: Vec<(String, f64)>,
}
