//! The CANopen bus actor: sole owner of one CAN interface (SocketCAN, slcan adapter or an
//! in-process virtual bus). Same boundary as the Modbus bus: a drive attaches its node with the
//! PDO sets its profile maps ([`PdoBlock`]s as the `Attach` block type), gets one [`Sample`]
//! per SYNC built from its TPDOs, and comm events from the heartbeat consumer and boot-ups;
//! acyclic requests are SDO transfers whose abort is the device's answer.
//!
//! [`Sample`]: crate::Sample

mod actor;
mod drive_link;
mod meter;
mod node;
mod requests;
mod start;
mod task;

use std::sync::Arc;
use std::time::Duration;

use linevisor_can::TransportKind;
use linevisor_canopen::{MappingEntry, PdoKind, PdoMapping, SdoAbort};
use linevisor_config::model::{CanopenBus as CanopenConfig, Protocol};
use linevisor_profile::ProfileCodec;
use ractor::RpcReplyPort;

pub use actor::{CanopenBus, CanopenMsg, CanopenState};
pub use start::CanopenStart;

use crate::drive_link::{DriveLink, LinkSetupError, check_link};
use crate::handle::{BusKind, Handle};
use crate::{Attach, BusError, BusMetrics};

/// The CANopen kind, for [`Handle`].
#[derive(Debug)]
pub struct Canopen;

/// A handle on a CANopen bus.
pub type CanopenHandle = Handle<Canopen>;

impl BusKind for Canopen {
    type Msg = CanopenMsg;
    type Block = PdoBlock;
    type Options = ();
    const NAME: &'static str = "canopen";

    fn attach(
        attach: Attach<PdoBlock>,
        (): (),
        reply: RpcReplyPort<Result<(), BusError>>,
    ) -> CanopenMsg {
        CanopenMsg::Attach(attach, reply)
    }
    fn detach(unit: u8) -> CanopenMsg {
        CanopenMsg::Detach(unit)
    }
    fn metrics(reply: RpcReplyPort<BusMetrics>) -> CanopenMsg {
        CanopenMsg::Metrics(reply)
    }
    fn stop(reply: Option<RpcReplyPort<()>>) -> CanopenMsg {
        CanopenMsg::Stop(reply)
    }
    fn drive_link(
        handle: &CanopenHandle,
        codec: Arc<ProfileCodec>,
        address: u32,
    ) -> Result<Arc<dyn DriveLink>, LinkSetupError> {
        let node = check_link(
            &codec,
            Protocol::Canopen,
            Self::NAME,
            address,
            (1, 127, "CANopen node id"),
        )?;
        Ok(Arc::new(drive_link::CanopenLink::new(
            codec,
            handle.clone(),
            node,
        )?))
    }
}

impl CanopenHandle {
    /// SDO upload (read) of `object` from `node`.
    pub async fn sdo_upload(&self, node: u8, object: Object) -> SdoBusResult<Vec<u8>> {
        self.call(|reply| CanopenMsg::SdoUpload {
            node,
            object,
            reply,
        })
        .await?
    }

    /// SDO download (write) of `object` of `node`.
    pub async fn sdo_download(&self, node: u8, object: Object, data: Vec<u8>) -> SdoBusResult<()> {
        self.call(|reply| CanopenMsg::SdoDownload {
            node,
            object,
            data,
            reply,
        })
        .await?
    }

    /// Sets an RPDO-mapped object of `node`; it goes out after the next SYNC.
    pub async fn rpdo_write(&self, node: u8, object: Object, value: u64) -> Result<(), BusError> {
        self.call(|reply| CanopenMsg::RpdoWrite {
            node,
            object,
            value,
            reply,
        })
        .await?
    }
}

/// Outcome of an SDO request: outer `Err` = the bus's business, inner `Err` = the node's abort.
pub type SdoBusResult<T> = Result<Result<T, SdoAbort>, BusError>;

/// One object of a node's dictionary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Object {
    /// Index.
    pub index: u16,
    /// Sub-index.
    pub subindex: u8,
}

/// One PDO a drive wants mapped at boot. The sample of a cycle holds, for every TPDO block in
/// attach order, one vector per mapped entry: its raw value as little-endian 16-bit words (one
/// word up to 16 bits, two for 24/32).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PdoBlock {
    /// RPDO (master → node) or TPDO (node → master).
    pub kind: PdoKind,
    /// PDO number 1–4 (predefined COB-IDs).
    pub number: u8,
    /// Mapped objects, in payload order.
    pub entries: Vec<MappingEntry>,
    /// How the mapping reaches the node at boot.
    pub policy: linevisor_canopen::MappingPolicy,
}

/// Timing of one CANopen bus, from its config.
#[derive(Debug, Clone)]
pub struct CanopenSettings {
    pub bus: String,
    /// SYNC period: one cycle of every attached node.
    pub sync_period: Duration,
    /// Heartbeat period written to every node (0x1017).
    pub node_heartbeat: Duration,
    /// A node is lost after this long without a heartbeat.
    pub heartbeat_timeout: Duration,
    /// SDO response timeout.
    pub sdo_timeout: Duration,
    /// Wait before booting a node again after a failed boot.
    pub boot_retry: Duration,
}

impl CanopenSettings {
    /// The settings of a `type = "canopen"` bus.
    pub fn from_config(c: &CanopenConfig) -> Self {
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        let node_heartbeat = ms(c.node_heartbeat_ms);
        Self {
            bus: c.id.clone(),
            sync_period: ms(c.sync_period_ms),
            node_heartbeat,
            heartbeat_timeout: c
                .heartbeat_timeout_ms
                .map_or_else(|| node_heartbeat * 3 / 2, ms),
            sdo_timeout: ms(c.sdo_timeout_ms),
            boot_retry: Duration::from_secs(1),
        }
    }
}

/// What a CANopen bus actor is spawned with.
#[derive(Debug)]
pub struct CanopenArgs {
    /// Timing.
    pub settings: CanopenSettings,
    /// The interface to open (and keep open: transports reopen themselves after a fault).
    pub transport: TransportKind,
}

/// Checks an attach before it is taken: node id, PDO numbers, mappings that fit a frame.
pub(crate) fn check_attach(bus: &str, attach: &Attach<PdoBlock>) -> Result<(), BusError> {
    let invalid = |reason: String| BusError::InvalidAttach {
        bus: bus.to_owned(),
        unit: attach.unit,
        reason,
    };
    check_node(bus, attach.unit)?;
    if !attach
        .blocks
        .iter()
        .any(|b| b.kind == PdoKind::Tpdo && !b.entries.is_empty())
    {
        return Err(invalid("no TPDO carries cyclic data".into()));
    }
    for b in &attach.blocks {
        if !(1..=4).contains(&b.number) {
            return Err(invalid(format!(
                "{:?} number {} outside 1..=4",
                b.kind, b.number
            )));
        }
        PdoMapping::new(b.entries.clone())
            .map_err(|e| invalid(format!("{:?} {}: {e}", b.kind, b.number)))?;
    }
    Ok(())
}

/// Checks a CANopen node id (1–127).
pub(crate) fn check_node(bus: &str, node: u8) -> Result<(), BusError> {
    if (1..=127).contains(&node) {
        Ok(())
    } else {
        Err(BusError::InvalidUnit {
            bus: bus.to_owned(),
            unit: node,
            max: 127,
        })
    }
}

/// Raw value → little-endian words (the sample's shape).
pub(crate) fn words(value: u64, bits: u8) -> Vec<u16> {
    let n = usize::from(bits.div_ceil(16)).max(1);
    (0..n).map(|i| (value >> (16 * i)) as u16).collect()
}

/// The interface opened at run time, as a concrete [`CanTransport`] type: spawned tasks that
/// hold a `Bus<Box<dyn …>>` trip a rustc higher-ranked `Send` limitation, a newtype does not.
/// Counts every frame through it for the metrics.
///
/// [`CanTransport`]: linevisor_can::CanTransport
pub(crate) struct Port(linevisor_can::AnyTransport, std::sync::Arc<meter::Frames>);

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Port")
    }
}

impl linevisor_can::CanTransport for Port {
    fn send(
        &self,
        frame: &linevisor_can::CanFrame,
    ) -> impl Future<Output = Result<(), linevisor_can::CanError>> + Send {
        // Owned, so the future borrows only `self`.
        let frame = *frame;
        async move {
            let sent = self.0.send_boxed(&frame).await;
            let counter = if sent.is_ok() {
                &self.1.sent
            } else {
                &self.1.send_errors
            };
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            sent
        }
    }
    async fn recv(&self) -> Result<linevisor_can::CanFrame, linevisor_can::CanError> {
        let received = self.0.recv_boxed().await;
        if received.is_ok() {
            self.1
                .received
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        received
    }
    fn close(&self) -> impl Future<Output = Result<(), linevisor_can::CanError>> + Send {
        self.0.close_boxed()
    }
}
