//! Starting, watching and stopping a whole line. What runs (buses, drives, the config they
//! came from) can change while the line runs (see `change/`), so it is read through accessors
//! that return a consistent copy.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use linevisor_bus::BusHandle;
use linevisor_config::ValidLine;
use linevisor_config::model::{BusConfig, DriveConfig};
use linevisor_drive::{DriveChannels, DriveMsg, DriveOptions, DriveSetup, TrialRule};
use linevisor_sim::SimHandle;
use linevisor_supervisor::{ChildHandle, EventBus, SupervisorError, SupervisorRef};
use tokio::sync::{MutexGuard, broadcast, watch};
use tracing::{info, warn};

use crate::build;
use crate::bus::BusCtl;
use crate::exec::{Execution, Executor};
use crate::tree::{LineTree, LineTreeSpec};
use crate::{ChangeError, LineError};

/// How long a shutdown waits for a running change to roll back: one step in progress (a new
/// version's trial, a drive's safe stop) plus the undoing of those done.
pub const CHANGE_GRACE: Duration = Duration::from_secs(15);

/// Why a change is refused once the line is stopping.
pub(crate) const STOPPING: &str = "the line is stopping";

/// The one-change-at-a-time lock, held (see [`RunningLine::try_change`]).
#[derive(Debug)]
pub struct ChangeGuard<'a> {
    _held: MutexGuard<'a, ()>,
}

/// One running drive: its stable handle and its broadcasts.
#[derive(Debug, Clone)]
pub struct DriveEntry {
    pub id: String,
    pub bus: String,
    /// Commands and snapshots; stable across restarts and upgrades.
    pub handle: ChildHandle<DriveMsg>,
    /// Telemetry and events; subscribers survive restarts and upgrades.
    pub channels: DriveChannels,
    /// Running version: `profile@version`.
    pub version: String,
    /// The drive's config as running.
    pub config: DriveConfig,
    /// The drive's own subtree supervisor (its actor is the child named like the drive).
    pub subtree: SupervisorRef,
    pub(crate) setup: Arc<DriveSetup>,
}

/// One running bus: the handle its drives use, its own child handle (fault injection), and the
/// simulator behind it when it is simulated.
#[derive(Debug, Clone)]
pub struct BusEntry {
    pub id: String,
    /// The stable bus handle (metrics, acyclic requests).
    pub handle: BusHandle,
    /// The bus child itself.
    pub child: ChildHandle<BusCtl>,
    /// The in-process simulator of a simulated bus.
    pub sim: Option<SimHandle>,
    /// The bus's config as running.
    pub config: BusConfig,
}

/// A change to which drives run, announced to subscribers (the control plane follows new
/// drives). An upgrade keeps the drive's handle and channels, so it needs no notice.
#[derive(Debug, Clone)]
pub enum LineNotice {
    /// A drive was added (also when a change re-creates it).
    DriveAdded(Box<DriveEntry>),
    /// A drive was removed.
    DriveRemoved(String),
}

/// Options of a running line that are not in the config file.
#[derive(Debug, Clone, Default)]
pub struct LineOptions {
    /// Drive timing knobs (command timeout, safe-stop bound).
    pub drive: DriveOptions,
    /// What a new drive version (upgrade, reconfiguration) or an added drive must show before
    /// a change counts as done; otherwise the change rolls back.
    pub trial: TrialRule,
    /// Where the buses run: cycle threads as `[realtime]` says, or the caller's runtime.
    pub execution: Execution,
}

#[derive(Debug)]
pub(crate) struct Running {
    pub(crate) config: Arc<ValidLine>,
    /// The text `config` was read from, as the integrator wrote it (comments and all), or as
    /// a change edited it; `None` when unknown.
    pub(crate) source: Option<Arc<str>>,
    pub(crate) buses: BTreeMap<String, BusEntry>,
    pub(crate) drives: BTreeMap<String, DriveEntry>,
}

/// A line whose supervision tree is running.
#[derive(Debug)]
pub struct RunningLine {
    /// Line name.
    pub name: String,
    /// The tree: root, buses and drives supervisors, lifecycle events.
    pub tree: LineTree,
    pub(crate) running: RwLock<Running>,
    /// One change at a time: applies and restarts (see [`RunningLine::try_change`]).
    pub(crate) change: tokio::sync::Mutex<()>,
    /// Set when the line starts stopping: a running change rolls back, new ones are refused.
    pub(crate) stopping: watch::Sender<bool>,
    pub(crate) notices: broadcast::Sender<LineNotice>,
    pub(crate) options: LineOptions,
    /// Serial numbers of simulated units added later stay distinct from those at start.
    pub(crate) next_serial: AtomicU32,
    /// The cycle threads the buses run on.
    pub(crate) exec: Executor,
}

impl RunningLine {
    /// Builds and starts the tree of `line`: buses first, then one subtree per drive.
    pub async fn start(line: &ValidLine, options: LineOptions) -> Result<Self, LineError> {
        let config = &line.config;
        let exec = Executor::new(&config.realtime, options.execution);
        let mut tree = LineTreeSpec::new(&config.line.name);
        let mut buses = BTreeMap::new();
        for (i, b) in config.bus.iter().enumerate() {
            let (spec, entry) = build::bus(line, b, 1000 * (i as u32 + 1), &exec)?;
            tree = tree.bus(spec);
            buses.insert(entry.id.clone(), entry);
        }
        let mut drives = BTreeMap::new();
        for d in &config.drive {
            let bus = buses.get(&d.bus).ok_or_else(|| LineError::Drive {
                drive: d.id.clone(),
                reason: format!("bus \"{}\" is not running", d.bus),
            })?;
            let (spec, entry) = build::drive(line, d, bus, &options, None)?;
            tree = tree.drive(spec);
            drives.insert(d.id.clone(), entry);
        }
        let tree = tree.start(EventBus::default()).await?;
        info!(
            line = %config.line.name,
            buses = buses.len(),
            drives = drives.len(),
            cycle_threads = exec.isolated(),
            "Line started."
        );
        let first_free_serial = 1000 * (config.bus.len() as u32 + 1);
        Ok(Self {
            name: config.line.name.clone(),
            tree,
            running: RwLock::new(Running {
                config: Arc::new(line.clone()),
                source: None,
                buses,
                drives,
            }),
            change: tokio::sync::Mutex::new(()),
            stopping: watch::channel(false).0,
            notices: broadcast::channel(256).0,
            options,
            next_serial: AtomicU32::new(first_free_serial),
            exec,
        })
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Running> {
        self.running.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Running> {
        self.running.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every running drive, by id.
    pub fn drives(&self) -> BTreeMap<String, DriveEntry> {
        self.read().drives.clone()
    }

    /// One drive.
    pub fn drive(&self, id: &str) -> Option<DriveEntry> {
        self.read().drives.get(id).cloned()
    }

    /// Every running bus, by id.
    pub fn buses(&self) -> BTreeMap<String, BusEntry> {
        self.read().buses.clone()
    }

    /// The cycle threads by the bus they carry (`shared` for the one shared thread); empty
    /// when the buses run on the caller's runtime.
    pub fn cycle_threads(&self) -> BTreeMap<String, String> {
        self.exec.threads()
    }

    /// One bus.
    pub fn bus(&self, id: &str) -> Option<BusEntry> {
        self.read().buses.get(id).cloned()
    }

    /// The config the line runs now (changes with every applied change).
    pub fn config(&self) -> Arc<ValidLine> {
        self.read().config.clone()
    }

    /// The running config with the text it was read from, if known (see
    /// [`Self::adopt_source`]); both from the same moment.
    pub fn source(&self) -> (Arc<ValidLine>, Option<Arc<str>>) {
        let r = self.read();
        (r.config.clone(), r.source.clone())
    }

    /// Records `text` as the source of `config` if `config` still runs (false otherwise). The
    /// caller vouches that `text` checks to `config`.
    pub fn adopt_source(&self, config: &Arc<ValidLine>, text: Arc<str>) -> bool {
        let mut w = self.write();
        let current = Arc::ptr_eq(&w.config, config);
        if current {
            w.source = Some(text);
        }
        current
    }

    /// The one-change-at-a-time lock, for a change made outside [`Self::apply`] (a planned
    /// restart): held, no apply interleaves with it. Refused while another change runs or
    /// once the line is stopping.
    pub fn try_change(&self) -> Result<ChangeGuard<'_>, ChangeError> {
        if self.is_stopping() {
            return Err(ChangeError::Refused(vec![STOPPING.to_owned()]));
        }
        self.change
            .try_lock()
            .map(|g| ChangeGuard { _held: g })
            .map_err(|_| ChangeError::Busy)
    }

    pub(crate) fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Announcements of drives added or removed.
    pub fn subscribe(&self) -> broadcast::Receiver<LineNotice> {
        self.notices.subscribe()
    }

    /// Planned restart of one drive's actor (the drive itself keeps running when its restart
    /// policy is `adopt`; `reinit` brings it to its `on_stop` safe state first). Its siblings
    /// are not touched.
    /// Takes no lock: a caller that must not interleave with a change holds
    /// [`Self::try_change`] around it (the control plane does).
    pub async fn restart_drive(&self, id: &str) -> Result<(), LineError> {
        let entry = self
            .drive(id)
            .ok_or_else(|| LineError::UnknownDrive(id.to_owned()))?;
        entry.subtree.restart_now(id).await?;
        Ok(())
    }

    /// Planned restart of one bus actor: its drives see comm loss, never a restart.
    /// Takes no lock, as [`Self::restart_drive`].
    pub async fn restart_bus(&self, id: &str) -> Result<(), LineError> {
        if self.bus(id).is_none() {
            return Err(LineError::UnknownBus(id.to_owned()));
        }
        self.tree.buses.restart_now(id).await?;
        Ok(())
    }

    /// Ordered shutdown: every drive is brought to its `on_stop` safe state by its supervisor,
    /// then the buses close their ports. A change still running is told to stop: it rolls
    /// back at its next step (a trial in progress ends at once), and the shutdown waits for
    /// it at most [`CHANGE_GRACE`], then goes on regardless. No change starts afterwards.
    pub async fn shutdown(&self) -> Result<(), SupervisorError> {
        self.stopping.send_replace(true);
        let _change = match tokio::time::timeout(CHANGE_GRACE, self.change.lock()).await {
            Ok(guard) => Some(guard),
            Err(_) => {
                warn!(line = %self.name, grace = ?CHANGE_GRACE, "A change did not end in time; stopping anyway.");
                None
            }
        };
        info!(line = %self.name, "Line stopping: drives to their safe state.");
        self.tree.shutdown().await
    }

    pub(crate) fn serial(&self) -> u32 {
        self.next_serial.fetch_add(1, Ordering::Relaxed)
    }
}
