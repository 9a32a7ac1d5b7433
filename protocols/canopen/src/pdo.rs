//! PDOs (protocols.md §3.4): mappings, the CiA 301 re-mapping procedure by SDO, and packing
//! RPDO / unpacking TPDO payloads by a mapping.

use linevisor_can::CanTransport;
use tracing::debug;

use crate::cob::{Cob, NodeId};
use crate::error::SdoResult;
use crate::sdo::SdoClient;

/// COB-ID bit 31: the PDO is invalid (not exchanged).
pub const COB_ID_INVALID: u32 = 1 << 31;

/// Which way a PDO goes, seen from the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PdoKind {
    /// Received by the node (master → node): controlword, targets.
    Rpdo,
    /// Transmitted by the node (node → master): statusword, actual values.
    Tpdo,
}

/// One mapped object: `index << 16 | subindex << 8 | bits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MappingEntry {
    /// Object index.
    pub index: u16,
    /// Sub-index.
    pub subindex: u8,
    /// Length in bits (8, 16, 24 or 32 here: byte-aligned mappings only).
    pub bits: u8,
}

impl MappingEntry {
    /// An entry.
    pub const fn new(index: u16, subindex: u8, bits: u8) -> Self {
        Self {
            index,
            subindex,
            bits,
        }
    }

    /// The UNSIGNED32 written to the mapping object.
    pub const fn to_u32(self) -> u32 {
        (self.index as u32) << 16 | (self.subindex as u32) << 8 | self.bits as u32
    }

    /// Decodes a mapping object value.
    pub const fn from_u32(v: u32) -> Self {
        Self::new((v >> 16) as u16, (v >> 8) as u8, v as u8)
    }
}

/// A mapping that cannot be packed into one CAN frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdoError {
    /// More than 8 entries.
    #[error("{0} mapping entries, at most 8")]
    TooManyEntries(usize),
    /// Entries longer than 64 bits in total.
    #[error("mapping is {0} bits, at most 64")]
    TooLong(u32),
    /// An entry that is not 8, 16, 24 or 32 bits.
    #[error(
        "entry {index:#06X}:{subindex:02X} is {bits} bits; only byte-aligned lengths up to 32 are supported"
    )]
    Unaligned {
        /// Object index.
        index: u16,
        /// Sub-index.
        subindex: u8,
        /// Bit length.
        bits: u8,
    },
    /// Values and entries differ in number.
    #[error("{got} values for {expected} mapped objects")]
    ValueCount {
        /// Entries.
        expected: usize,
        /// Values.
        got: usize,
    },
    /// A received payload shorter than the mapping.
    #[error("PDO payload has {got} bytes, mapping needs {expected}")]
    Short {
        /// Bytes the mapping needs.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
}

/// A validated mapping: up to 8 byte-aligned entries, 64 bits in total.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PdoMapping {
    entries: Vec<MappingEntry>,
}

impl PdoMapping {
    /// Validates `entries`.
    pub fn new(entries: Vec<MappingEntry>) -> Result<Self, PdoError> {
        if entries.len() > 8 {
            return Err(PdoError::TooManyEntries(entries.len()));
        }
        let mut total = 0u32;
        for e in &entries {
            if !matches!(e.bits, 8 | 16 | 24 | 32) {
                return Err(PdoError::Unaligned {
                    index: e.index,
                    subindex: e.subindex,
                    bits: e.bits,
                });
            }
            total += u32::from(e.bits);
        }
        if total > 64 {
            return Err(PdoError::TooLong(total));
        }
        Ok(Self { entries })
    }

    /// The entries.
    pub fn entries(&self) -> &[MappingEntry] {
        &self.entries
    }

    /// Payload length in bytes.
    pub fn len_bytes(&self) -> usize {
        self.entries.iter().map(|e| usize::from(e.bits / 8)).sum()
    }

    /// Packs one value per entry (two's complement for signed objects: pass `v as u32 as u64`),
    /// little endian, each cut to its entry's length.
    pub fn pack(&self, values: &[u64]) -> Result<Vec<u8>, PdoError> {
        if values.len() != self.entries.len() {
            return Err(PdoError::ValueCount {
                expected: self.entries.len(),
                got: values.len(),
            });
        }
        let mut out = Vec::with_capacity(self.len_bytes());
        for (e, v) in self.entries.iter().zip(values) {
            out.extend_from_slice(&v.to_le_bytes()[..usize::from(e.bits / 8)]);
        }
        Ok(out)
    }

    /// Unpacks one zero-extended value per entry (see [`sign_extend`] for signed objects).
    pub fn unpack(&self, data: &[u8]) -> Result<Vec<u64>, PdoError> {
        if data.len() < self.len_bytes() {
            return Err(PdoError::Short {
                expected: self.len_bytes(),
                got: data.len(),
            });
        }
        let mut at = 0;
        Ok(self
            .entries
            .iter()
            .map(|e| {
                let n = usize::from(e.bits / 8);
                let mut b = [0u8; 8];
                b[..n].copy_from_slice(&data[at..at + n]);
                at += n;
                u64::from_le_bytes(b)
            })
            .collect())
    }
}

/// Sign-extends the low `bits` of `value`.
pub fn sign_extend(value: u64, bits: u8) -> i64 {
    let shift = 64 - u32::from(bits.clamp(1, 64));
    ((value << shift) as i64) >> shift
}

/// The full configuration of one PDO of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdoConfig {
    /// RPDO or TPDO.
    pub kind: PdoKind,
    /// PDO number 1–4 (predefined set; other numbers use `cob_id`).
    pub number: u8,
    /// COB-ID; `None` = the predefined one for `number` and the node.
    pub cob_id: Option<u16>,
    /// Transmission type: 1–240 = every n-th SYNC, 254/255 = event driven.
    pub transmission_type: u8,
    /// What the PDO carries.
    pub mapping: PdoMapping,
}

impl PdoConfig {
    /// Communication parameter index (0x1400 + n − 1 or 0x1800 + n − 1).
    pub fn communication_index(&self) -> u16 {
        let base = match self.kind {
            PdoKind::Rpdo => 0x1400,
            PdoKind::Tpdo => 0x1800,
        };
        base + u16::from(self.number.saturating_sub(1))
    }

    /// Mapping parameter index (0x1600 + n − 1 or 0x1A00 + n − 1).
    pub fn mapping_index(&self) -> u16 {
        self.communication_index() + 0x200
    }

    /// The COB-ID this PDO uses for `node`.
    pub fn cob_id_for(&self, node: NodeId) -> u16 {
        self.cob_id.unwrap_or_else(|| {
            let n = self.number.clamp(1, 4);
            let cob = match self.kind {
                PdoKind::Rpdo => Cob::Rpdo(n, node),
                PdoKind::Tpdo => Cob::Tpdo(n, node),
            };
            cob.id().raw() as u16
        })
    }
}

/// Re-maps one PDO by SDO with the CiA 301 procedure (§3.4): invalidate (COB-ID bit 31) →
/// mapping sub 0 = 0 → entries → sub 0 = count → transmission type → COB-ID valid.
/// The node must be pre-operational; most nodes abort otherwise (0x08000022).
pub async fn configure<T: CanTransport>(sdo: &SdoClient<T>, config: &PdoConfig) -> SdoResult<()> {
    let comm = config.communication_index();
    let map = config.mapping_index();
    let cob = u32::from(config.cob_id_for(sdo.node()));
    debug!(node = sdo.node().get(), comm, map, cob, "Re-mapping PDO.");
    macro_rules! step {
        ($e:expr) => {
            if let Err(abort) = $e.await? {
                return Ok(Err(abort));
            }
        };
    }
    step!(sdo.write_u32(comm, 1, cob | COB_ID_INVALID));
    step!(sdo.write_u8(map, 0, 0));
    for (i, e) in config.mapping.entries().iter().enumerate() {
        step!(sdo.write_u32(map, i as u8 + 1, e.to_u32()));
    }
    step!(sdo.write_u8(map, 0, config.mapping.entries().len() as u8));
    step!(sdo.write_u8(comm, 2, config.transmission_type));
    step!(sdo.write_u32(comm, 1, cob));
    Ok(Ok(()))
}

/// Disables one PDO (COB-ID bit 31 set).
pub async fn disable<T: CanTransport>(
    sdo: &SdoClient<T>,
    kind: PdoKind,
    number: u8,
) -> SdoResult<()> {
    let config = PdoConfig {
        kind,
        number,
        cob_id: None,
        transmission_type: 0,
        mapping: PdoMapping::default(),
    };
    let cob = u32::from(config.cob_id_for(sdo.node()));
    sdo.write_u32(config.communication_index(), 1, cob | COB_ID_INVALID)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_payloads_round_trip() {
        let cw = MappingEntry::new(0x6040, 0, 16);
        assert_eq!(cw.to_u32(), 0x6040_0010);
        assert_eq!(
            MappingEntry::from_u32(0x60FF_0020),
            MappingEntry::new(0x60FF, 0, 32)
        );
        let m = PdoMapping::new(vec![cw, MappingEntry::new(0x60FF, 0, 32)]).unwrap();
        let bytes = m.pack(&[0x000F, (-1000i32) as u32 as u64]).unwrap();
        assert_eq!(bytes, [0x0F, 0x00, 0x18, 0xFC, 0xFF, 0xFF]);
        let v = m.unpack(&bytes).unwrap();
        assert_eq!(sign_extend(v[1], 32), -1000);
        assert_eq!(v[0], 0x0F);
        assert!(m.unpack(&bytes[..5]).is_err());
        assert!(PdoMapping::new(vec![MappingEntry::new(1, 0, 12)]).is_err());
        assert!(PdoMapping::new(vec![MappingEntry::new(1, 0, 32); 3]).is_err());
        let cfg = PdoConfig {
            kind: PdoKind::Tpdo,
            number: 2,
            cob_id: None,
            transmission_type: 1,
            mapping: m,
        };
        let n = NodeId::new(5).unwrap();
        assert_eq!(
            (cfg.communication_index(), cfg.mapping_index()),
            (0x1801, 0x1A01)
        );
        assert_eq!(cfg.cob_id_for(n), 0x285);
    }
}
