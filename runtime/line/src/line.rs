//! Starting and stopping a whole line.

use std::collections::BTreeMap;

use linevisor_bus::BusHandle;
use linevisor_config::ValidLine;
use linevisor_config::model::BusConfig;
use linevisor_drive::{DriveChannels, DriveMsg, DriveOptions, DriveSetup};
use linevisor_sim::SimHandle;
use linevisor_supervisor::{
    ChildHandle, EventBus, LineTree, LineTreeSpec, SupervisorError, drive_subtree,
};
use tracing::info;

use crate::LineError;
use crate::bus::{self, BusCtl};
use crate::simulated;

/// One running drive: its stable handle and its broadcasts.
#[derive(Debug, Clone)]
pub struct DriveEntry {
    /// Drive id.
    pub id: String,
    /// Bus id.
    pub bus: String,
    /// Commands and snapshots; stable across restarts.
    pub handle: ChildHandle<DriveMsg>,
    /// Telemetry and events; subscribers survive restarts.
    pub channels: DriveChannels,
}

/// One running bus: the handle its drives use, its own child handle (fault injection), and the
/// simulator behind it when it is simulated.
#[derive(Debug, Clone)]
pub struct BusEntry {
    /// Bus id.
    pub id: String,
    /// The stable bus handle (metrics, acyclic requests).
    pub handle: BusHandle,
    /// The bus child itself.
    pub child: ChildHandle<BusCtl>,
    /// The in-process simulator of a simulated bus.
    pub sim: Option<SimHandle>,
}

/// A line whose supervision tree is running.
#[derive(Debug)]
pub struct RunningLine {
    /// Line name.
    pub name: String,
    /// The tree: root, buses and drives supervisors, lifecycle events.
    pub tree: LineTree,
    /// Buses by id.
    pub buses: BTreeMap<String, BusEntry>,
    /// Drives by id, in config order of their ids.
    pub drives: BTreeMap<String, DriveEntry>,
}

/// Options of a running line that are not in the config file.
#[derive(Debug, Clone, Default)]
pub struct LineOptions {
    /// Drive timing knobs (command timeout, safe-stop bound).
    pub drive: DriveOptions,
}

impl RunningLine {
    /// Builds and starts the tree of `line`: buses first, then one subtree per drive.
    pub async fn start(line: &ValidLine, options: LineOptions) -> Result<Self, LineError> {
        let config = &line.config;
        let mut tree = LineTreeSpec::new(&config.line.name);
        let mut buses = BTreeMap::new();
        for (i, b) in config.bus.iter().enumerate() {
            let sim = match b {
                BusConfig::Simulated(s) => Some(simulated::build(line, s, 1000 * (i as u32 + 1))?),
                _ => None,
            };
            let child = bus::child(b, sim)?;
            let entry = BusEntry {
                id: b.id().to_owned(),
                handle: child.handle.clone(),
                child: child.spec.handle(),
                sim: child.sim.clone(),
            };
            tree = tree.bus(child.spec);
            buses.insert(entry.id.clone(), entry);
        }
        let mut drives = BTreeMap::new();
        for d in &config.drive {
            let profile = simulated::profile_of(&line.profiles, d)?;
            let bus = buses.get(&d.bus).ok_or_else(|| LineError::Drive {
                drive: d.id.clone(),
                reason: format!("bus \"{}\" is not running", d.bus),
            })?;
            let channels = DriveChannels::default();
            let setup = DriveSetup::new(
                &config.line,
                d,
                profile,
                bus.handle.clone(),
                channels.clone(),
                options.drive.clone(),
            )
            .map_err(|e| LineError::Drive {
                drive: d.id.clone(),
                reason: e.to_string(),
            })?;
            let spec = setup.spec();
            let entry = DriveEntry {
                id: d.id.clone(),
                bus: d.bus.clone(),
                handle: spec.handle(),
                channels,
            };
            tree = tree.drive(drive_subtree([spec.build()]).into_child(d.id.as_str()));
            drives.insert(d.id.clone(), entry);
        }
        let tree = tree.start(EventBus::default()).await?;
        info!(line = %config.line.name, buses = buses.len(), drives = drives.len(), "Line started.");
        Ok(Self {
            name: config.line.name.clone(),
            tree,
            buses,
            drives,
        })
    }

    /// Ordered shutdown: every drive is brought to its `on_stop` safe state by its supervisor,
    /// then the buses close their ports.
    pub async fn shutdown(&self) -> Result<(), SupervisorError> {
        info!(line = %self.name, "Line stopping: drives to their safe state.");
        self.tree.shutdown().await
    }
}
