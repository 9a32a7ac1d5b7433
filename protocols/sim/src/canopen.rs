//! The CANopen drives of a sim config: one simulated CiA 402 node each (linevisor-canopen's
//! `sim`) on an in-process virtual CAN bus, reached through an emulated slcan adapter on a
//! pseudo-terminal, so a line whose bus says `adapter = "slcan"` and `port = "<that path>"`
//! runs against them as it would against a USB CAN adapter.

use std::collections::BTreeMap;
use std::path::PathBuf;

use linevisor_can::VirtualBus;
use linevisor_can::slcan::{EmulatorConfig, EmulatorHandle, emulator};
use linevisor_canopen::sim::{self, NodeConfig, SimNodeHandle};
use tokio_serial::SerialStream;

use crate::SimError;

/// Simulated CANopen nodes behind an emulated slcan adapter. Dropping it unplugs the adapter
/// and stops the nodes.
#[derive(Debug)]
pub struct SlcanEndpoint {
    /// Path of the adapter's terminal (e.g. `/dev/pts/7`) a host opens.
    pub path: PathBuf,
    nodes: BTreeMap<u8, SimNodeHandle>,
    bus: VirtualBus,
    emulator: EmulatorHandle,
    /// The host's end, kept open so hosts may open and close `path` at will.
    _far_end: SerialStream,
}

impl SlcanEndpoint {
    /// Starts one node per config (booting at once) and the adapter on a new pty pair. Must be
    /// called inside a tokio runtime.
    pub fn serve(nodes: Vec<NodeConfig>) -> Result<Self, SimError> {
        let bus = VirtualBus::new();
        let config = EmulatorConfig {
            name: "sim-slcan".into(),
            ..EmulatorConfig::default()
        };
        // The adapter's endpoint first, so it hears the nodes' boot-ups.
        let (emulator, path, far_end) =
            emulator::spawn_on_pty(bus.endpoint(), config).map_err(SimError::SlcanPty)?;
        let nodes = nodes
            .into_iter()
            .map(|c| (c.node.get(), sim::spawn(bus.endpoint(), c)))
            .collect();
        Ok(Self {
            path: PathBuf::from(path),
            nodes,
            bus,
            emulator,
            _far_end: far_end,
        })
    }

    /// Node ids served, ascending.
    pub fn node_ids(&self) -> Vec<u8> {
        self.nodes.keys().copied().collect()
    }

    /// A node's handle, for fault injection (EMCY, silence, power cycle) and inspection.
    pub fn node(&self, id: u8) -> Option<&SimNodeHandle> {
        self.nodes.get(&id)
    }

    /// The virtual CAN bus behind the adapter (to watch or inject frames).
    pub fn bus(&self) -> &VirtualBus {
        &self.bus
    }
}

impl Drop for SlcanEndpoint {
    fn drop(&mut self) {
        self.emulator.unplug();
    }
}
