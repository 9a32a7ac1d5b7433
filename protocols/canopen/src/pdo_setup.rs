//! How a PDO gets the mapping a profile asks for, by policy:
//! - `configure`: write it by SDO (CiA 301 re-mapping), as linevisor always did;
//! - `verify`: read the mapping and communication parameters and compare; never write (drives
//!   with fixed, read-only mappings);
//! - `auto` (the default): read first, write only a PDO that differs; if the node refuses the
//!   write, verify instead, so a fixed mapping that matches boots and one that does not fails
//!   with what differs.
//!
//! [`compare`] is pure: it says what differs between the wanted PDO and what the node holds.

use std::fmt;

use linevisor_can::CanTransport;
use tracing::{debug, info};

use crate::error::{LinkError, SdoAbort};
use crate::pdo::{self, COB_ID_INVALID, MappingEntry, PdoConfig, PdoKind};
use crate::sdo::SdoClient;

/// How a profile's PDO mapping reaches the node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MappingPolicy {
    /// Read first; write only what differs; verify if the node refuses the write.
    #[default]
    Auto,
    /// Read and compare; never write.
    Verify,
    /// Write every PDO at boot.
    Configure,
}

/// A PDO as the node holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundPdo {
    /// Communication parameter sub 1 (bit 31: not valid).
    pub cob_id: u32,
    /// Communication parameter sub 2.
    pub transmission_type: u8,
    pub entries: Vec<MappingEntry>,
}

/// What differs between the wanted PDO and the node's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdoMismatch {
    pub kind: PdoKind,
    pub number: u8,
    /// The mapping object (0x1600 + n − 1 or 0x1A00 + n − 1).
    pub mapping_index: u16,
    pub expected: Vec<MappingEntry>,
    pub found: Vec<MappingEntry>,
    /// The COB-ID wanted (valid) and the one found, when they differ.
    pub cob_id: Option<(u32, u32)>,
}

fn name(kind: PdoKind) -> &'static str {
    match kind {
        PdoKind::Rpdo => "RPDO",
        PdoKind::Tpdo => "TPDO",
    }
}

fn entries(f: &mut fmt::Formatter<'_>, list: &[MappingEntry]) -> fmt::Result {
    write!(f, "[")?;
    for (i, e) in list.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        write!(f, "{sep}{:#06X}:{:02X}/{}", e.index, e.subindex, e.bits)?;
    }
    write!(f, "]")
}

impl fmt::Display for PdoMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({:#06X})",
            name(self.kind),
            self.number,
            self.mapping_index
        )?;
        if self.expected != self.found {
            write!(f, ": expected ")?;
            entries(f, &self.expected)?;
            write!(f, ", found ")?;
            entries(f, &self.found)?;
        }
        if let Some((want, got)) = self.cob_id {
            let comm = self.mapping_index - 0x200;
            write!(
                f,
                "; COB-ID {comm:#06X}:01 expected {want:#X}, found {got:#X}"
            )?;
            if got & COB_ID_INVALID != 0 {
                write!(f, " (not valid)")?;
            }
        }
        Ok(())
    }
}

/// What differs between `wanted` (for `node`) and `found`; `None` when the node holds it.
/// The transmission type is not compared: fixed drives often send event-driven TPDOs, which
/// still arrive every cycle while values change; [`setup`] writes it when it can.
pub fn compare(wanted: &PdoConfig, node: crate::NodeId, found: &FoundPdo) -> Option<PdoMismatch> {
    let want_cob = u32::from(wanted.cob_id_for(node));
    let cob_ok = found.cob_id & COB_ID_INVALID == 0 && found.cob_id & 0x7FF == want_cob;
    let same = found.entries == wanted.mapping.entries();
    (!same || !cob_ok).then(|| PdoMismatch {
        kind: wanted.kind,
        number: wanted.number,
        mapping_index: wanted.mapping_index(),
        expected: wanted.mapping.entries().to_vec(),
        found: found.entries.clone(),
        cob_id: (!cob_ok).then_some((want_cob, found.cob_id)),
    })
}

/// Why a PDO could not be set up.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SetupError {
    /// The node's PDO is not the profile's, and is not written (`verify`, or refused).
    #[error("{mismatch}{}", refused.as_ref().map(|a| format!(" (the node refused the write: {a})")).unwrap_or_default())]
    Mismatch {
        mismatch: PdoMismatch,
        /// The abort of the write `auto` tried first.
        refused: Option<SdoAbort>,
    },
    /// An SDO of the set-up was aborted.
    #[error("{what}: {abort}")]
    Abort { what: String, abort: SdoAbort },
    /// The link failed.
    #[error("{what}: {source}")]
    Link {
        what: String,
        #[source]
        source: LinkError,
    },
}

/// What [`setup`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupOutcome {
    /// Written by SDO.
    Written,
    /// Already as wanted: nothing written.
    Unchanged,
}

/// Reads a PDO's communication and mapping parameters.
pub async fn read<T: CanTransport>(
    sdo: &SdoClient<T>,
    wanted: &PdoConfig,
) -> Result<FoundPdo, SetupError> {
    let (comm, map) = (wanted.communication_index(), wanted.mapping_index());
    let what = |i: u16, s: u8| format!("read {i:#06X}:{s:02X}");
    let cob_id = step(sdo.read_u32(comm, 1).await, what(comm, 1))?;
    let transmission_type = step(sdo.read_u8(comm, 2).await, what(comm, 2))?;
    let count = step(sdo.read_u8(map, 0).await, what(map, 0))?;
    let mut entries = Vec::with_capacity(usize::from(count.min(8)));
    for sub in 1..=count.min(64) {
        let raw = step(sdo.read_u32(map, sub).await, what(map, sub))?;
        entries.push(MappingEntry::from_u32(raw));
    }
    Ok(FoundPdo {
        cob_id,
        transmission_type,
        entries,
    })
}

fn step<T>(r: crate::SdoResult<T>, what: String) -> Result<T, SetupError> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(abort)) => Err(SetupError::Abort { what, abort }),
        Err(source) => Err(SetupError::Link { what, source }),
    }
}

/// Gives the node's PDO the mapping of `wanted`, as `policy` says.
pub async fn setup<T: CanTransport>(
    sdo: &SdoClient<T>,
    wanted: &PdoConfig,
    policy: MappingPolicy,
) -> Result<SetupOutcome, SetupError> {
    let node = sdo.node();
    let write = || async {
        match pdo::configure(sdo, wanted).await {
            Ok(Ok(())) => Ok(Ok(SetupOutcome::Written)),
            Ok(Err(abort)) => Ok(Err(abort)),
            Err(source) => Err(SetupError::Link {
                what: format!("write {:#06X}", wanted.mapping_index()),
                source,
            }),
        }
    };
    match policy {
        MappingPolicy::Configure => match write().await? {
            Ok(o) => Ok(o),
            Err(abort) => Err(SetupError::Abort {
                what: format!("write {} {} mapping", name(wanted.kind), wanted.number),
                abort,
            }),
        },
        MappingPolicy::Verify => {
            let found = read(sdo, wanted).await?;
            match compare(wanted, node, &found) {
                None => Ok(SetupOutcome::Unchanged),
                Some(mismatch) => Err(SetupError::Mismatch {
                    mismatch,
                    refused: None,
                }),
            }
        }
        MappingPolicy::Auto => {
            let (comm, cob) = (
                wanted.communication_index(),
                u32::from(wanted.cob_id_for(node)),
            );
            // A node that cannot even be read is written, as `configure` would.
            if let Ok(found) = read(sdo, wanted).await
                && compare(wanted, node, &found).is_none()
            {
                // The transmission type (every SYNC) is best effort: a fixed event-driven TPDO
                // still delivers, and a refusal here is no reason to fail the boot.
                if found.transmission_type != wanted.transmission_type {
                    let _ = sdo.write_u8(comm, 2, wanted.transmission_type).await;
                }
                debug!(
                    node = node.get(),
                    mapping = wanted.mapping_index(),
                    "PDO already mapped."
                );
                return Ok(SetupOutcome::Unchanged);
            }
            match write().await? {
                Ok(o) => Ok(o),
                Err(refused) => {
                    info!(node = node.get(), mapping = wanted.mapping_index(), %refused, "PDO write refused; verifying instead.");
                    // The re-mapping invalidates the COB-ID first: make it valid again if the
                    // node let that through, so a matching fixed mapping keeps working.
                    let _ = sdo.write_u32(comm, 1, cob).await;
                    let found = read(sdo, wanted).await?;
                    match compare(wanted, node, &found) {
                        None => Ok(SetupOutcome::Unchanged),
                        Some(mismatch) => Err(SetupError::Mismatch {
                            mismatch,
                            refused: Some(refused),
                        }),
                    }
                }
            }
        }
    }
}
