//! The drive's side of the bus boundary, protocol-neutral: attach the cyclic data, decode a
//! cycle into profile points, read and write points acyclically. Everything Modbus is in
//! [`modbus`], everything CANopen in [`canopen`].

pub(crate) mod canopen;
mod forward;
pub(crate) mod modbus;

use std::sync::Arc;
use std::time::Duration;

use linevisor_bus::{BusError, BusEvent, BusHandle};
use linevisor_config::model::Protocol;
use linevisor_profile::{CodecError, PointWrite, ProfileCodec, Sample};
use tokio::sync::mpsc;

pub(crate) use forward::{ForwardArgs, Task, spawn_forwarder};

use crate::{CommandError, DeviceRefusal, DriveError};

/// Why a read or write did not go through.
#[derive(Debug, Clone)]
pub(crate) enum LinkError {
    /// The device refused it.
    Device(DeviceRefusal),
    /// The bus could not carry it out.
    Bus(BusError),
    /// The points cannot be encoded or decoded with this profile.
    Codec(CodecError),
}

impl From<BusError> for LinkError {
    fn from(e: BusError) -> Self {
        LinkError::Bus(e)
    }
}

impl From<CodecError> for LinkError {
    fn from(e: CodecError) -> Self {
        LinkError::Codec(e)
    }
}

impl From<LinkError> for CommandError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Device(d) => CommandError::Device(d),
            LinkError::Bus(b) if is_comm_loss(&b) => CommandError::CommLoss {
                reason: b.to_string(),
            },
            LinkError::Bus(b) => CommandError::Bus(b),
            LinkError::Codec(c) => CommandError::from_codec(c),
        }
    }
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::Device(d) => write!(f, "the drive refused: {d}"),
            LinkError::Bus(b) => write!(f, "{b}"),
            LinkError::Codec(c) => write!(f, "{c}"),
        }
    }
}

/// Bus errors that mean the drive cannot be reached at all (not a one-off fault).
fn is_comm_loss(e: &BusError) -> bool {
    matches!(
        e,
        BusError::LinkDown { .. }
            | BusError::UnitDemoted { .. }
            | BusError::NodeDown { .. }
            | BusError::ShuttingDown { .. }
            | BusError::Unreachable { .. }
    )
}

/// A drive's link to its device.
#[derive(Debug, Clone)]
pub(crate) enum Link {
    /// A unit on a Modbus RTU line or TCP connection.
    Modbus(modbus::ModbusLink),
    /// A node on a CANopen bus.
    Canopen(canopen::CanopenLink),
}

impl Link {
    /// The link for `profile`'s protocol.
    pub(crate) fn new(
        drive: &str,
        codec: Arc<ProfileCodec>,
        bus: BusHandle,
        address: u32,
    ) -> Result<Self, DriveError> {
        let protocol = codec.profile().profile.protocol;
        match protocol {
            Protocol::Modbus => {
                let unit = u8::try_from(address)
                    .ok()
                    .filter(|u| (1..=247).contains(u))
                    .ok_or_else(|| DriveError::Address {
                        drive: drive.to_owned(),
                        address,
                    })?;
                Ok(Link::Modbus(modbus::ModbusLink { codec, bus, unit }))
            }
            Protocol::Canopen => {
                let node = u8::try_from(address)
                    .ok()
                    .filter(|n| (1..=127).contains(n))
                    .ok_or_else(|| DriveError::Address {
                        drive: drive.to_owned(),
                        address,
                    })?;
                let profile = codec.name().to_owned();
                canopen::CanopenLink::new(codec, bus, node)
                    .map(Link::Canopen)
                    .map_err(|source| DriveError::Codec {
                        drive: drive.to_owned(),
                        profile,
                        source,
                    })
            }
            other => Err(DriveError::Protocol {
                drive: drive.to_owned(),
                profile: codec.name().to_owned(),
                protocol: other.name(),
            }),
        }
    }

    /// Whether the device is reachable only once the bus has brought it up: a CANopen node is
    /// booted by its bus (NMT, PDO mapping), so a start-up procedure waits for its first cycle
    /// rather than failing against a node that is still booting.
    pub(crate) fn up_with_first_cycle(&self) -> bool {
        matches!(self, Link::Canopen(_))
    }

    /// Unit id or node id.
    pub(crate) fn unit(&self) -> u8 {
        match self {
            Link::Modbus(m) => m.unit,
            Link::Canopen(c) => c.node,
        }
    }

    /// Attaches the cyclic data.
    pub(crate) async fn attach(
        &self,
        sink: mpsc::Sender<BusEvent>,
        period: Duration,
    ) -> Result<(), BusError> {
        match self {
            Link::Modbus(m) => m.attach(sink, period).await,
            Link::Canopen(c) => c.attach(sink, period).await,
        }
    }

    /// Decodes one cycle's data.
    pub(crate) fn decode(&self, blocks: &[Vec<u16>]) -> Result<Sample, LinkError> {
        match self {
            Link::Modbus(m) => m.decode(blocks),
            Link::Canopen(c) => c.decode(blocks),
        }
    }

    /// Reads points acyclically.
    pub(crate) async fn read(&self, points: &[&str]) -> Result<Sample, LinkError> {
        match self {
            Link::Modbus(m) => m.read(points).await,
            Link::Canopen(c) => c.read(points).await,
        }
    }

    /// Writes points in order; stops at the first failure.
    pub(crate) async fn write(&self, writes: &[PointWrite]) -> Result<(), LinkError> {
        if writes.is_empty() {
            return Ok(());
        }
        match self {
            Link::Modbus(m) => m.write(writes).await,
            Link::Canopen(c) => c.write(writes).await,
        }
    }
}
