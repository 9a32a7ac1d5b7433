//! Building a drive child: [`DriveSetup`] checks the config against the profile once, and
//! gives the runtime the supervisor spec (factory, safe-stop step, shutdown) and the channels.
//! [`Shared`] is what every instance of the drive shares and what outlives them.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use linevisor_bus::BusHandle;
use linevisor_config::model::{
    DriveConfig, Limits, LineSection, Profile, RestartPolicy, SafeState,
};
use linevisor_profile::{CommandState, ProfileCodec};
use linevisor_supervisor::{ActorProcessingErr, Shutdown, WorkerSpec};
use tokio::time::Instant;
use tracing::{Instrument, Span, info_span};

use crate::link::Link;
use crate::stats::CycleStats;
use crate::telemetry::{DriveChannels, DriveEvent, DriveEventKind};
use crate::worker::{DriveArgs, DriveWorker};
use crate::{DriveError, safe};

/// Runtime knobs that are not in the config file.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// A command not confirmed by the readback within this time fails with `Timeout`.
    pub command_timeout: Duration,
    /// Bound of one safe-state sequence (quick stop, disable) run through acyclic reads.
    pub sequence_timeout: Duration,
    /// The supervisor's bound on the safe-stop step (must exceed `sequence_timeout`).
    pub safe_stop_timeout: Duration,
    /// The supervisor's shutdown timeout for the instance.
    pub shutdown: Duration,
    /// Delay before a failed start-up procedure is tried again (comm return retries at once).
    pub startup_retry: Duration,
    /// Delay before attaching again to a bus that ended the attachment or refused it.
    pub reattach: Duration,
    /// Bus events buffered between the bus and the forwarding task.
    pub sink_capacity: usize,
    /// Bound of the drive's handle queue.
    pub queue_capacity: usize,
}

impl Default for DriveOptions {
    fn default() -> Self {
        Self {
            command_timeout: Duration::from_secs(2),
            sequence_timeout: Duration::from_secs(3),
            safe_stop_timeout: Duration::from_secs(5),
            shutdown: Duration::from_secs(5),
            startup_retry: Duration::from_secs(1),
            reattach: Duration::from_secs(1),
            sink_capacity: 16,
            queue_capacity: 64,
        }
    }
}

/// Safe state per situation, with the line default applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SafeStates {
    pub(crate) on_stop: SafeState,
    pub(crate) on_crash: SafeState,
    pub(crate) on_comm_loss: SafeState,
}

/// What outlives an instance: the start-up record, the last command word, the statistics.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// A start-up procedure completed once (later starts are restarts).
    pub(crate) started: bool,
    /// Identity values read at the last start-up or reconnect.
    pub(crate) identity: Option<Vec<u32>>,
    /// The last command word or code written.
    pub(crate) last_command: CommandState,
    /// Comm was lost while the drive was under control; `on_comm_loss` is still to be applied.
    pub(crate) comm_loss_pending: bool,
    pub(crate) stats: CycleStats,
}

/// Everything every instance of one drive shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) id: Arc<str>,
    pub(crate) line: Arc<str>,
    pub(crate) bus: String,
    pub(crate) codec: Arc<ProfileCodec>,
    pub(crate) link: Link,
    pub(crate) period: Duration,
    pub(crate) restart: RestartPolicy,
    pub(crate) safe: SafeStates,
    pub(crate) limits: Limits,
    pub(crate) parameters: Vec<(String, f64)>,
    pub(crate) channels: DriveChannels,
    pub(crate) options: DriveOptions,
    memory: Mutex<Memory>,
}

impl Shared {
    /// The memory (a panic elsewhere leaves plain data: keep using it).
    pub(crate) fn memory(&self) -> MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes an event (nobody listening is fine).
    pub(crate) fn emit(&self, kind: DriveEventKind) {
        let _ = self.channels.events.send(DriveEvent {
            drive: self.id.clone(),
            at: Instant::now(),
            kind,
        });
    }

    /// The drive's tracing span.
    pub(crate) fn span(&self) -> Span {
        info_span!(
            "drive",
            line = %self.line,
            bus = %self.bus,
            drive = %self.id,
            unit = self.link.unit()
        )
    }
}

/// The future of the safe-stop step.
pub type SafeStopFuture = Pin<Box<dyn Future<Output = Result<(), ActorProcessingErr>> + Send>>;

/// One drive, ready to be put under a supervisor.
///
/// ```text
/// let setup = DriveSetup::new(&line, &drive_config, &profile, bus_handle, channels,
///                             DriveOptions::default())?;
/// let spec = setup.spec();              // factory + safe-stop step + shutdown
/// let handle = spec.handle();           // stable across restarts
/// drives.add_child(drive_subtree([spec.build()]).into_child(setup.id())).await?;
/// ```
#[derive(Debug, Clone)]
pub struct DriveSetup {
    shared: Arc<Shared>,
}

impl DriveSetup {
    /// Checks `config` against `profile` (codec, address, parameters and the acceleration
    /// limit) and prepares the drive. `line` gives the default cycle and safe state; `bus` is
    /// the stable handle of the drive's bus (rebound by the bus's supervisor on a restart, which
    /// re-attaches the drive).
    pub fn new(
        line: &LineSection,
        config: &DriveConfig,
        profile: &Profile,
        bus: BusHandle,
        channels: DriveChannels,
        options: DriveOptions,
    ) -> Result<Self, DriveError> {
        let drive = config.id.as_str();
        let codec = ProfileCodec::new(profile).map_err(|source| DriveError::Codec {
            drive: drive.to_owned(),
            profile: profile.profile.name.clone(),
            source,
        })?;
        let codec = Arc::new(codec);
        check_parameters(&codec, config)?;
        let bus_id = bus.bus().to_owned();
        let link = Link::new(drive, codec.clone(), bus, config.address)?;
        let default = line.safe_state;
        let s = &config.safe_state;
        let cycle_ms = config.cycle_ms.unwrap_or(line.cycle_ms).max(1);
        Ok(Self {
            shared: Arc::new(Shared {
                id: drive.into(),
                line: line.name.as_str().into(),
                bus: bus_id,
                codec,
                link,
                period: Duration::from_millis(u64::from(cycle_ms)),
                restart: config.restart,
                safe: SafeStates {
                    on_stop: s.on_stop.unwrap_or(default),
                    on_crash: s.on_crash.unwrap_or(default),
                    on_comm_loss: s.on_comm_loss.unwrap_or(default),
                },
                limits: config.limits.clone(),
                parameters: config.parameters.clone().into_iter().collect(),
                channels,
                options,
                memory: Mutex::default(),
            }),
        })
    }

    /// Drive id (the child id).
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// The drive's broadcasts.
    pub fn channels(&self) -> &DriveChannels {
        &self.shared.channels
    }

    /// Cycle statistics so far (kept across restarts).
    pub fn stats(&self) -> CycleStats {
        self.shared.memory().stats.clone()
    }

    /// The worker spec: the factory (a new [`DriveWorker`] sharing this setup on every start;
    /// a planned replacement's hand-over makes the new instance adopt), the safe-stop step,
    /// the shutdown timeout and the queue bound. Permanent; change it with `.restart(..)`.
    pub fn spec(&self) -> WorkerSpec<DriveWorker> {
        let shared = self.shared.clone();
        let o = &self.shared.options;
        WorkerSpec::new(self.id(), move |handover| {
            Ok((DriveWorker::new(shared.clone()), DriveArgs { handover }))
        })
        .capacity(o.queue_capacity)
        .shutdown(Shutdown::Timeout(o.shutdown))
        .safe_stop(o.safe_stop_timeout, self.safe_stop_step())
    }

    /// The safe-stop step to register with the supervisor: applies `safe_state.on_stop` through
    /// the bus (acyclic reads and writes), independent of any instance. Hold writes nothing.
    pub fn safe_stop_step(&self) -> impl Fn() -> SafeStopFuture + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || {
            let shared = shared.clone();
            let span = shared.span();
            Box::pin(safe::stop_step(shared).instrument(span))
        }
    }
}

/// Parameters must encode, and those in the acceleration unit must respect `acceleration_max`.
fn check_parameters(codec: &ProfileCodec, config: &DriveConfig) -> Result<(), DriveError> {
    let profile = codec.profile();
    for (name, &value) in &config.parameters {
        codec
            .parameter_write(name, value)
            .map_err(|source| DriveError::Parameter {
                drive: config.id.clone(),
                name: name.clone(),
                source,
            })?;
        let unit = profile
            .parameters
            .get(name)
            .map(|d| d.unit.clone())
            .unwrap_or_default();
        if let Some(limit) = config.limits.acceleration_max
            && unit == profile.units.acceleration
            && value.abs() > limit
        {
            return Err(DriveError::AccelerationLimit {
                drive: config.id.clone(),
                name: name.clone(),
                value,
                unit,
                limit,
            });
        }
    }
    Ok(())
}
