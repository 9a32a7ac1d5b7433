//! Building a drive child: [`DriveSetup`] checks the config against the profile once, and
//! gives the runtime the supervisor spec (factory, safe-stop step, shutdown) and the channels.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use linevisor_bus::{BusHandle, LinkOptions};
use linevisor_config::model::{DriveConfig, LineSection, Profile};
use linevisor_profile::ProfileCodec;
use linevisor_supervisor::{
    ActorProcessingErr, Probation, Replacement, Shutdown, StopCause, WorkerSpec,
};
use tracing::Instrument;

use super::lineage::{DriveVersion, Lineage, Trial};
use super::safe;
use super::worker::{DriveArgs, DriveWorker};
use crate::core::{DriveOptions, DriveSpec, TrialRule};
use crate::error::DriveError;
use crate::link::Link;
use crate::stats::CycleStats;
use crate::telemetry::DriveChannels;

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
    version: Arc<DriveVersion>,
    lineage: Arc<Lineage>,
    /// `profile@version`: the supervisor's version label of this setup.
    label: Arc<str>,
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
        let link_options = LinkOptions {
            response_timeout: config
                .response_timeout_ms
                .map(|ms| Duration::from_millis(u64::from(ms))),
        };
        let link = Link::new(drive, codec.clone(), bus, config.address, link_options)?;
        let mut spec = DriveSpec::new(line, config, codec, options);
        spec.bus = bus_id;
        spec.up_with_first_cycle = link.up_with_first_cycle();
        let version = Arc::new(DriveVersion {
            spec: Arc::new(spec),
            link,
            channels,
        });
        Ok(Self {
            lineage: Arc::new(Lineage::new(version.clone())),
            version,
            label: format!("{}@{}", profile.profile.name, profile.profile.version).into(),
        })
    }

    /// Makes this setup the next version of `previous` (an upgrade or a config change of the
    /// same drive): it joins the lineage, so the registered safe-stop step follows whichever
    /// version has proven itself and the carry-over continues.
    pub fn succeed(mut self, previous: &DriveSetup) -> Self {
        self.lineage = previous.lineage.clone();
        self
    }

    /// This setup as a new version of the running drive, for `SupervisorRef::replace`. Its
    /// first start continues the lineage's carry-over (start-up record, identity, last command,
    /// statistics) with the hand-over, adopts without writing, and must win `trial` (good
    /// samples with its own profile, after its start-up) before probation counts; until then
    /// the safe-stop step keeps the proven version's profile. Later restarts of the promoted
    /// version are ordinary restarts (no trial). Without a trial (a rollback of a change) the
    /// new version is taken as proven at once.
    pub fn replacement(&self, trial: Option<TrialRule>) -> Replacement<DriveWorker> {
        let (version, lineage) = (self.version.clone(), self.lineage.clone());
        let first = Arc::new(AtomicBool::new(true));
        Replacement::new(&self.label, move |handover| {
            let first_start = first.swap(false, Ordering::AcqRel);
            let trial = trial.filter(|_| first_start).map(|rule| Trial { rule });
            if trial.is_none() {
                lineage.promote(version.clone());
            }
            let args = DriveArgs { handover, trial };
            Ok((DriveWorker::new(version.clone(), lineage.clone()), args))
        })
        .probation(Probation {
            cycles: 1,
            duration: Duration::ZERO,
        })
    }

    /// `profile@version` of this setup.
    pub fn version(&self) -> &str {
        &self.label
    }

    /// Drive id (the child id).
    pub fn id(&self) -> &str {
        &self.version.spec.id
    }

    /// The drive's broadcasts.
    pub fn channels(&self) -> &DriveChannels {
        &self.version.channels
    }

    /// Cycle statistics so far (kept across restarts).
    pub fn stats(&self) -> CycleStats {
        self.lineage.carry_over().stats
    }

    /// The worker spec: the factory (a new [`DriveWorker`] of this version on every start;
    /// a planned replacement's hand-over makes the new instance adopt), the safe-stop step,
    /// the shutdown timeout and the queue bound. Permanent; change it with `.restart(..)`.
    pub fn spec(&self) -> WorkerSpec<DriveWorker> {
        let (version, lineage) = (self.version.clone(), self.lineage.clone());
        let o = &self.version.spec.options;
        WorkerSpec::new(self.id(), move |handover| {
            lineage.promote(version.clone());
            let args = DriveArgs {
                handover,
                trial: None,
            };
            Ok((DriveWorker::new(version.clone(), lineage.clone()), args))
        })
        .version(&self.label)
        .capacity(o.queue_capacity)
        .shutdown(Shutdown::Timeout(o.shutdown))
        .safe_stop(o.safe_stop_timeout, self.safe_stop_step())
    }

    /// The safe-stop step to register with the supervisor: applies `safe_state.on_stop` of the
    /// proven version through the bus (acyclic reads and writes), independent of any
    /// instance. Hold writes nothing; so does a planned restart of a drive whose restart policy
    /// is `adopt` (the next instance takes the running drive over bumplessly).
    pub fn safe_stop_step(&self) -> impl Fn(StopCause) -> SafeStopFuture + Send + Sync + 'static {
        let lineage = self.lineage.clone();
        move |cause| {
            let version = lineage.proven();
            let span = version.span();
            Box::pin(safe::stop_step(version, lineage.clone(), cause).instrument(span))
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
