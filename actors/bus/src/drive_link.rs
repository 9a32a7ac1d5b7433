//! The drive's side of the boundary, in profile terms: a drive attaches its cyclic data, decodes
//! a cycle into points, reads and writes points acyclically. Each bus kind implements
//! [`DriveLink`] next to its actor (`modbus/drive_link.rs`, `canopen/drive_link.rs`), so the
//! drive actor knows no protocol: it gets its link from [`BusHandle::drive_link`](crate::BusHandle::drive_link).

use std::time::Duration;

use linevisor_profile::{CodecError, PointWrite, ProfileCodec, Sample as Points};
use tokio::sync::mpsc;

use crate::handle::BoxFuture;
use crate::{BusError, BusEvent};

/// A device's refusal, in the protocol's own code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The protocol's code (Modbus exception code, SDO abort code).
    pub code: u32,
    /// What the code means, with the request it refused.
    pub meaning: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.meaning)
    }
}

/// Why a point read or write did not go through: the device refused, the bus could not, or the
/// points do not fit the profile. Kept apart because a drive reacts to each differently.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PointError {
    /// The device refused it.
    #[error("the drive refused: {}", .0.meaning)]
    Device(Refusal),
    /// The bus could not carry it out.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The points cannot be encoded or decoded with this profile.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// Why a drive cannot have a link on a bus (caught by `linevisor check` before a line runs).
#[derive(Debug, Clone, thiserror::Error)]
pub enum LinkSetupError {
    /// The address is outside what the bus's protocol can carry.
    #[error("address {address} is not a {what} ({lo}–{hi})")]
    Address {
        /// The drive's address.
        address: u32,
        /// e.g. "Modbus unit id".
        what: &'static str,
        /// Lowest allowed.
        lo: u32,
        /// Highest allowed.
        hi: u32,
    },
    /// The profile speaks another protocol than the bus.
    #[error("profile {profile} speaks {protocol}, but the bus is {bus_kind}")]
    Protocol {
        profile: String,
        /// The profile's protocol.
        protocol: &'static str,
        /// The bus's kind.
        bus_kind: &'static str,
    },
    /// The profile lacks what the protocol needs (a `[canopen]` section, object indices).
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// What a drive's config asks of its link beyond its profile and address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkOptions {
    /// The drive's own response timeout (`[[drive]] response_timeout_ms`; Modbus only):
    /// overrides the bus's for this unit's exchanges.
    pub response_timeout: Option<Duration>,
}

/// One drive's link to its device through its bus.
pub trait DriveLink: std::fmt::Debug + Send + Sync {
    /// Unit id or node id.
    fn unit(&self) -> u8;
    /// Whether the device is reachable only once the bus has brought it up (a CANopen node is
    /// booted by its bus), so a start-up procedure waits for its first cycle.
    fn up_with_first_cycle(&self) -> bool {
        false
    }
    /// Attaches the cyclic data at `period`; events go to `sink`.
    fn attach(
        &self,
        sink: mpsc::Sender<BusEvent>,
        period: Duration,
    ) -> BoxFuture<'_, Result<(), BusError>>;
    /// Decodes one cycle's data.
    fn decode(&self, blocks: &[Vec<u16>]) -> Result<Points, PointError>;
    /// Reads points acyclically.
    fn read<'a>(&'a self, points: &'a [&'a str]) -> BoxFuture<'a, Result<Points, PointError>>;
    /// Writes points in order; stops at the first failure.
    fn write<'a>(&'a self, writes: &'a [PointWrite]) -> BoxFuture<'a, Result<(), PointError>>;
}

/// Checks that `codec`'s profile speaks `protocol` and `address` is in `lo..=hi`.
pub(crate) fn check_link(
    codec: &ProfileCodec,
    protocol: linevisor_config::model::Protocol,
    bus_kind: &'static str,
    address: u32,
    (lo, hi, what): (u32, u32, &'static str),
) -> Result<u8, LinkSetupError> {
    let speaks = codec.profile().profile.protocol;
    if speaks != protocol {
        return Err(LinkSetupError::Protocol {
            profile: codec.name().to_owned(),
            protocol: speaks.name(),
            bus_kind,
        });
    }
    u8::try_from(address)
        .ok()
        .filter(|a| (lo..=hi).contains(&u32::from(*a)))
        .ok_or(LinkSetupError::Address {
            address,
            what,
            lo,
            hi,
        })
}
