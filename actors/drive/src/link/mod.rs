//! The drive's side of the bus boundary. The drive knows no protocol: its bus hands it a typed
//! [`DriveLink`] (Modbus registers, CANopen objects and PDOs, …) made once at set-up, and the
//! drive reads, writes and decodes points through it.

mod forward;

use std::sync::Arc;
use std::time::Duration;

use linevisor_bus::{
    BusError, BusEvent, BusHandle, DriveLink, LinkOptions, LinkSetupError, PointError,
};
use linevisor_profile::{CodecError, PointWrite, ProfileCodec, Sample};
use tokio::sync::mpsc;

pub(crate) use forward::{ForwardArgs, OwnedTask, spawn_forwarder};

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

impl From<PointError> for LinkError {
    fn from(e: PointError) -> Self {
        match e {
            PointError::Device(r) => LinkError::Device(DeviceRefusal {
                code: r.code,
                meaning: r.meaning,
            }),
            PointError::Bus(b) => LinkError::Bus(b),
            PointError::Codec(c) => LinkError::Codec(c),
        }
    }
}

impl From<CodecError> for LinkError {
    fn from(e: CodecError) -> Self {
        LinkError::Codec(e)
    }
}

impl From<BusError> for LinkError {
    fn from(e: BusError) -> Self {
        LinkError::Bus(e)
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

/// A drive's link to its device, whatever the bus.
#[derive(Debug, Clone)]
pub(crate) struct Link(Arc<dyn DriveLink>);

impl Link {
    /// The link `bus` gives a drive with `codec`'s profile at `address`, with the drive's
    /// own link `options`.
    pub(crate) fn new(
        drive: &str,
        codec: Arc<ProfileCodec>,
        bus: BusHandle,
        address: u32,
        options: LinkOptions,
    ) -> Result<Self, DriveError> {
        let profile = codec.name().to_owned();
        bus.drive_link_with(codec, address, options)
            .map(Link)
            .map_err(|e| match e {
                LinkSetupError::Address { address, .. } => DriveError::Address {
                    drive: drive.to_owned(),
                    address,
                },
                LinkSetupError::Protocol { protocol, .. } => DriveError::Protocol {
                    drive: drive.to_owned(),
                    profile,
                    protocol,
                },
                LinkSetupError::Codec(source) => DriveError::Codec {
                    drive: drive.to_owned(),
                    profile,
                    source,
                },
            })
    }

    /// Whether the device is reachable only once the bus has brought it up: a CANopen node is
    /// booted by its bus (NMT, PDO mapping), so a start-up procedure waits for its first cycle
    /// rather than failing against a node that is still booting.
    pub(crate) fn up_with_first_cycle(&self) -> bool {
        self.0.up_with_first_cycle()
    }

    /// Unit id or node id.
    pub(crate) fn unit(&self) -> u8 {
        self.0.unit()
    }

    /// Attaches the cyclic data.
    pub(crate) async fn attach(
        &self,
        sink: mpsc::Sender<BusEvent>,
        period: Duration,
    ) -> Result<(), BusError> {
        self.0.attach(sink, period).await
    }

    /// Decodes one cycle's data.
    pub(crate) fn decode(&self, blocks: &[Vec<u16>]) -> Result<Sample, LinkError> {
        Ok(self.0.decode(blocks)?)
    }

    /// Reads points acyclically.
    pub(crate) async fn read(&self, points: &[&str]) -> Result<Sample, LinkError> {
        Ok(self.0.read(points).await?)
    }

    /// Writes points in order; stops at the first failure.
    pub(crate) async fn write(&self, writes: &[PointWrite]) -> Result<(), LinkError> {
        if writes.is_empty() {
            return Ok(());
        }
        Ok(self.0.write(writes).await?)
    }
}
