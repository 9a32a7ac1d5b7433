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
use linevisor_supervisor::{
    ActorProcessingErr, Probation, Replacement, Shutdown, StopCause, WorkerSpec,
};
use tokio::time::Instant;
use tracing::{Instrument, Span, info_span};

use crate::link::Link;
use crate::stats::CycleStats;
use crate::telemetry::{DriveChannels, DriveEvent, DriveEventKind};
use crate::trial::TrialRule;
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
    /// The last stop was a planned restart that left the drive running for the next instance.
    pub(crate) planned_restart: bool,
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
    /// The version whose instance runs now, shared by every version of this drive: the one
    /// safe-stop step registered with the supervisor uses the running version's profile.
    current: Arc<Mutex<Arc<Shared>>>,
    /// `profile@version`: the supervisor's version label of this setup.
    version: Arc<str>,
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
        let shared = Arc::new(Shared {
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
        });
        Ok(Self {
            current: Arc::new(Mutex::new(shared.clone())),
            shared,
            version: format!("{}@{}", profile.profile.name, profile.profile.version).into(),
        })
    }

    /// Makes this setup the next version of `previous` (an upgrade or a config change of the
    /// same drive): it shares the running-version slot, so the registered safe-stop step follows
    /// whichever version has proven itself.
    pub fn succeed(mut self, previous: &DriveSetup) -> Self {
        self.current = previous.current.clone();
        self
    }

    /// This setup as a new version of the running drive, for `SupervisorRef::replace`. Its
    /// first start takes the running version's memory (start-up record, identity, last command,
    /// statistics) at hand-over time, adopts without writing, and must win `trial` (good
    /// samples with its own profile, after its start-up) before probation counts; until then
    /// the safe-stop step keeps the proven version's profile. Later restarts of the promoted
    /// version are ordinary restarts (no trial). Without a trial (a rollback of a change) the
    /// new version is taken as proven at once.
    pub fn replacement(&self, trial: Option<TrialRule>) -> Replacement<DriveWorker> {
        let (shared, current) = (self.shared.clone(), self.current.clone());
        let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
        Replacement::new(&self.version, move |handover| {
            let first_start = first.swap(false, std::sync::atomic::Ordering::AcqRel);
            if first_start {
                let proven = lock(&current).clone();
                take_over(&shared, &proven);
            }
            let trial = trial.filter(|_| first_start).map(|rule| Trial {
                rule,
                slot: current.clone(),
            });
            if trial.is_none() {
                *lock(&current) = shared.clone();
            }
            let args = DriveArgs { handover, trial };
            Ok((DriveWorker::new(shared.clone()), args))
        })
        .probation(Probation {
            cycles: 1,
            duration: Duration::ZERO,
        })
    }

    /// `profile@version` of this setup.
    pub fn version(&self) -> &str {
        &self.version
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
        let (shared, current) = (self.shared.clone(), self.current.clone());
        let o = &self.shared.options;
        WorkerSpec::new(self.id(), move |handover| {
            *lock(&current) = shared.clone();
            let args = DriveArgs {
                handover,
                trial: None,
            };
            Ok((DriveWorker::new(shared.clone()), args))
        })
        .version(&self.version)
        .capacity(o.queue_capacity)
        .shutdown(Shutdown::Timeout(o.shutdown))
        .safe_stop(o.safe_stop_timeout, self.safe_stop_step())
    }

    /// The safe-stop step to register with the supervisor: applies `safe_state.on_stop` of the
    /// running version through the bus (acyclic reads and writes), independent of any
    /// instance. Hold writes nothing; so does a planned restart of a drive whose restart policy
    /// is `adopt` (the next instance takes the running drive over bumplessly).
    pub fn safe_stop_step(&self) -> impl Fn(StopCause) -> SafeStopFuture + Send + Sync + 'static {
        let current = self.current.clone();
        move |cause| {
            let shared = lock(&current).clone();
            let span = shared.span();
            Box::pin(safe::stop_step(shared, cause).instrument(span))
        }
    }
}

/// The new version's memory continues the running one's.
fn take_over(new: &Shared, old: &Shared) {
    if std::ptr::eq(new, old) {
        return;
    }
    let old = old.memory();
    let mut new = new.memory();
    new.started = old.started;
    new.identity.clone_from(&old.identity);
    new.last_command = old.last_command;
    new.comm_loss_pending = old.comm_loss_pending;
    new.stats = old.stats.clone();
}

/// A new version's trial, and the slot it takes over once won.
#[derive(Debug)]
pub struct Trial {
    pub(crate) rule: TrialRule,
    pub(crate) slot: Arc<Mutex<Arc<Shared>>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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
