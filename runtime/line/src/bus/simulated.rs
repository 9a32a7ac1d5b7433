//! Simulated segments: the drives of a `simulated` bus run in-process in linevisor-sim and are
//! reached through the real Modbus bus actor over an in-memory Modbus TCP link, so a demo line
//! exercises the same code path as a physical one. A `protocol = "serial"` segment is the
//! simulator's serial line (an in-memory stream) reached through the real serial bus actor.
//! A `protocol = "canopen"` segment is an
//! in-process virtual CAN bus with a simulated CiA 402 node per drive ([`CanSegment`]), reached
//! through the real CANopen bus actor.

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use linevisor_bus::modbus::{ModbusStart, OpenerFactory};
use linevisor_bus::serial::SerialStart;
use linevisor_bus::{
    BusSpec, BusStart, CanopenSettings, CanopenStart, FnOpener, LinkStream, Opener,
};
use linevisor_can::{CanTransport, TransportKind, VirtualBus};
use linevisor_canopen::NodeId;
use linevisor_canopen::sim::{self, NodeConfig, SimNodeHandle};

use linevisor_config::ValidLine;
use linevisor_config::model::{ModbusTcpBus, Parity, Protocol, SerialBus, SimulatedBus};
use linevisor_sim::{ServeTask, SimDrive, SimDriveOptions, SimHandle};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

use crate::LineError;
use crate::build::profile_of;

/// The Modbus TCP settings the bus actor uses on a simulated segment.
fn tcp_spec(bus: &SimulatedBus) -> ModbusTcpBus {
    ModbusTcpBus {
        id: bus.id.clone(),
        address: format!("simulated:{}", bus.id),
        connect_timeout_ms: 1000,
        response_timeout_ms: 200,
        retries: 1,
        max_in_flight: 1,
        demote_after_timeouts: 3,
        probe_interval_ms: 1000,
    }
}

/// The simulator of one simulated bus with a drive for every `[[drive]]` on it. Each drive gets
/// a distinct serial number (its identity) so that replacing a unit can be simulated.
pub(crate) fn build(
    line: &ValidLine,
    bus: &SimulatedBus,
    first_serial: u32,
) -> Result<SimHandle, LineError> {
    let sim = SimHandle::new();
    if bus.protocol == Protocol::Canopen {
        // Its nodes live on the virtual CAN bus of the bus child (see `CanSegment`).
        return Ok(sim);
    }
    let drives = line.config.drive.iter().filter(|d| d.bus == bus.id);
    for (i, d) in drives.enumerate() {
        let profile = profile_of(&line.profiles, d)?;
        let options = SimDriveOptions {
            serial_number: first_serial + i as u32,
            ..SimDriveOptions::default()
        };
        let fail = |reason: String| LineError::Drive {
            drive: d.id.clone(),
            reason,
        };
        let drive = SimDrive::new(profile, options).map_err(|e| fail(e.to_string()))?;
        let unit = u8::try_from(d.address).map_err(|_| fail("address out of range".into()))?;
        sim.add_drive(unit, drive)
            .map_err(|e| fail(e.to_string()))?;
        if bus.latency_us >= 1000 {
            let latency = std::time::Duration::from_micros(u64::from(bus.latency_us));
            sim.delay_responses(unit, latency)
                .map_err(|e| fail(e.to_string()))?;
        }
    }
    Ok(sim)
}

/// One connection to the simulator: the client's end of the stream and the task serving the
/// other end, which ends when this is dropped (as a TCP connection would close).
#[derive(Debug)]
pub(crate) struct SimLink {
    io: DuplexStream,
    _serve: ServeTask,
}

impl SimLink {
    pub(crate) fn connect(sim: &SimHandle) -> Self {
        let (io, serve) = sim.serve_duplex_tcp();
        Self { io, _serve: serve }
    }

    /// The simulator's serial line (every serial drive on it, one framing).
    fn serial(sim: &SimHandle) -> io::Result<Self> {
        let (io, serve) = sim
            .serve_duplex_serial()
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Self { io, _serve: serve })
    }
}

/// The serial line settings the bus actor uses on a simulated serial segment.
fn serial_config(bus: &SimulatedBus) -> SerialBus {
    SerialBus {
        id: bus.id.clone(),
        port: format!("simulated:{}", bus.id),
        baud: 115_200,
        parity: Parity::None,
        data_bits: 8,
        stop_bits: 1,
        response_timeout_ms: 200,
        retries: 1,
        inter_request_gap_us: 0,
        echo_suppression: false,
        demote_after_timeouts: 3,
        probe_interval_ms: 1000,
    }
}

impl AsyncRead for SimLink {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimLink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A simulated CANopen segment: an in-process virtual CAN bus on which a simulated CiA 402
/// node appears for each drive, the first time the master addresses it by NMT (the boot of an
/// attached drive). The bus actor reaches it through its own endpoint, as it would a
/// SocketCAN interface. Dropping the segment stops its nodes.
#[derive(Debug)]
pub(crate) struct CanSegment {
    pub(crate) vbus: VirtualBus,
    /// Read only by fault injection; held so the nodes live as long as the segment.
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    nodes: Arc<Mutex<BTreeMap<u8, SimNodeHandle>>>,
    watch: tokio::task::JoinHandle<()>,
}

impl Drop for CanSegment {
    fn drop(&mut self) {
        self.watch.abort();
    }
}

/// The CANopen timing the bus actor uses on a simulated segment.
fn canopen_settings(bus: &SimulatedBus) -> CanopenSettings {
    CanopenSettings {
        bus: bus.id.clone(),
        sync_period: Duration::from_millis(10),
        node_heartbeat: Duration::from_millis(100),
        heartbeat_timeout: Duration::from_millis(150),
        sdo_timeout: Duration::from_millis(200),
        boot_retry: Duration::from_secs(1),
    }
}

impl CanSegment {
    /// A segment with no node yet; must be created inside a tokio runtime.
    pub(crate) fn new(first_serial: u32) -> Self {
        let vbus = VirtualBus::new();
        let nodes: Arc<Mutex<BTreeMap<u8, SimNodeHandle>>> = Arc::default();
        let watcher = vbus.endpoint();
        let (bus, map) = (vbus.clone(), nodes.clone());
        let watch = tokio::spawn(async move {
            while let Ok(f) = watcher.recv().await {
                // NMT (COB-ID 0) to one node: make that node if it is not there yet.
                if f.id().raw() != 0 {
                    continue;
                }
                let Some(&id) = f.data().get(1) else { continue };
                let Ok(node) = NodeId::new(id) else { continue };
                let mut nodes = map.lock().unwrap_or_else(PoisonError::into_inner);
                nodes.entry(id).or_insert_with(|| {
                    let mut config = NodeConfig::new(node);
                    config.identity.serial = first_serial + u32::from(id);
                    sim::spawn(bus.endpoint(), config)
                });
            }
        });
        Self { vbus, nodes, watch }
    }

    /// Runs `f` on node `id`'s handle; false if the node does not exist (yet).
    #[cfg(feature = "fault-injection")]
    pub(crate) fn with_node(&self, id: u8, f: impl FnOnce(&SimNodeHandle)) -> bool {
        let nodes = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        nodes.get(&id).map(f).is_some()
    }
}

/// What a simulated bus child runs.
pub(super) type SimStart = (
    Arc<dyn BusStart>,
    Option<SimHandle>,
    Option<Arc<CanSegment>>,
);

/// A simulated segment's bus: the Modbus bus actor on in-process links to the simulator `sim`,
/// or the CANopen bus actor on a virtual CAN bus with a simulated node per drive (which keeps
/// its nodes itself, for fault injection).
pub(super) fn start(b: &SimulatedBus, sim: Option<SimHandle>) -> Result<SimStart, &'static str> {
    match (b.protocol, sim) {
        (Protocol::Modbus, Some(sim)) => {
            let connect = sim.clone();
            let opener: OpenerFactory = Arc::new(move || {
                let sim = connect.clone();
                let open = move || {
                    let link = SimLink::connect(&sim);
                    async move { Ok(Box::new(link) as LinkStream) }
                };
                Ok(Box::new(FnOpener::new("in-process simulator", open)) as Box<dyn Opener>)
            });
            let start = ModbusStart::new(BusSpec::Tcp(tcp_spec(b)), opener);
            Ok((Arc::new(start), Some(sim), None))
        }
        (Protocol::Serial, Some(sim)) => {
            let connect = sim.clone();
            let opener: OpenerFactory = Arc::new(move || {
                let sim = connect.clone();
                let open = move || {
                    let link = SimLink::serial(&sim);
                    async move { Ok(Box::new(link?) as LinkStream) }
                };
                Ok(Box::new(FnOpener::new("in-process simulator", open)) as Box<dyn Opener>)
            });
            let start = SerialStart::new(serial_config(b), opener);
            Ok((Arc::new(start), Some(sim), None))
        }
        (Protocol::Canopen, _) => {
            let segment = CanSegment::new(1000);
            let transport = TransportKind::Virtual(segment.vbus.clone());
            let start = CanopenStart::new(canopen_settings(b), transport);
            Ok((Arc::new(start), None, Some(Arc::new(segment))))
        }
        _ => Err("a simulated segment needs its simulator"),
    }
}
