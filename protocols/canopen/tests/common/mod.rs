//! Test rigs: the master and simulated nodes on a virtual bus, or behind an emulated slcan
//! adapter on a duplex stream or a pseudo-terminal pair.

#![allow(dead_code, unreachable_pub)]

pub mod scenarios;

use std::io;
use std::time::Duration;

use linevisor_can::slcan::emulator::{self, EmulatorConfig, EmulatorHandle};
use linevisor_can::slcan::{Bitrate, SlcanConfig, SlcanTransport};
use linevisor_can::{CanTransport, VirtualBus, VirtualEndpoint};
use linevisor_canopen::sim::{self, NodeConfig, SimNodeHandle};
use linevisor_canopen::{Bus, BusConfig, Event, Events, NodeId, SdoConfig};

pub struct Rig<T> {
    pub bus: Bus<T>,
    pub events: Events,
    pub vbus: VirtualBus,
    pub nodes: Vec<(NodeId, SimNodeHandle)>,
    /// How long event waits may take before the test fails instead of hanging.
    pub patience: Duration,
    pub real_time: bool,
    _emulator: Option<EmulatorHandle>,
}

pub fn node(id: u8) -> NodeId {
    NodeId::new(id).unwrap()
}

fn spawn_nodes(vbus: &VirtualBus, ids: &[u8]) -> Vec<(NodeId, SimNodeHandle)> {
    ids.iter()
        .map(|id| {
            let n = node(*id);
            (n, sim::spawn(vbus.endpoint(), NodeConfig::new(n)))
        })
        .collect()
}

pub fn virtual_rig(ids: &[u8]) -> Rig<VirtualEndpoint> {
    let vbus = VirtualBus::new();
    let (bus, events) = Bus::start(vbus.endpoint(), BusConfig::new("virtual"));
    Rig {
        bus,
        events,
        nodes: spawn_nodes(&vbus, ids),
        vbus,
        patience: Duration::from_secs(30),
        real_time: false,
        _emulator: None,
    }
}

async fn slcan_rig<S>(ids: &[u8], host: S, adapter: S, real_time: bool) -> Rig<SlcanTransport>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let vbus = VirtualBus::new();
    let emu = emulator::spawn(adapter, vbus.endpoint(), EmulatorConfig::default());
    let mut host = Some(host);
    let opener = move || std::future::ready(host.take().ok_or_else(|| io::Error::other("gone")));
    let mut config = SlcanConfig::new("slcan-test", Bitrate::K500);
    config.reply_timeout = Duration::from_secs(2);
    let transport = SlcanTransport::open(opener, config).await.unwrap();
    let mut bus_config = BusConfig::new("slcan");
    if real_time {
        // A loaded 2-core CI machine must not turn into a false timeout.
        bus_config.sdo = SdoConfig {
            timeout: Duration::from_secs(2),
            ..SdoConfig::default()
        };
    }
    let (bus, events) = Bus::start(transport, bus_config);
    Rig {
        bus,
        events,
        nodes: spawn_nodes(&vbus, ids),
        vbus,
        patience: Duration::from_secs(30),
        real_time,
        _emulator: Some(emu),
    }
}

pub async fn slcan_duplex_rig(ids: &[u8]) -> Rig<SlcanTransport> {
    let (host, adapter) = tokio::io::duplex(4096);
    slcan_rig(ids, host, adapter, false).await
}

pub async fn slcan_pty_rig(ids: &[u8]) -> Rig<SlcanTransport> {
    let (host, adapter) = tokio_serial::SerialStream::pair().expect("pseudo-terminal pair");
    slcan_rig(ids, host, adapter, true).await
}

impl<T: CanTransport> Rig<T> {
    pub fn handle(&self, n: NodeId) -> &SimNodeHandle {
        &self.nodes.iter().find(|(id, _)| *id == n).unwrap().1
    }

    /// The next event matching `pred`, skipping others; fails after `patience`.
    pub async fn wait_for(&mut self, what: &str, mut pred: impl FnMut(&Event) -> bool) -> Event {
        let events = &mut self.events;
        let found = tokio::time::timeout(self.patience, async {
            loop {
                let e = events.next().await.expect("bus closed");
                if pred(&e) {
                    return e;
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no {what} within {:?}", self.patience))
    }

    pub async fn boot_all(&mut self) {
        let mut pending: Vec<NodeId> = self.nodes.iter().map(|(n, _)| *n).collect();
        while !pending.is_empty() {
            if let Event::BootUp { node } = self
                .wait_for("boot-up", |e| matches!(e, Event::BootUp { .. }))
                .await
            {
                pending.retain(|n| *n != node);
            }
        }
    }
}
