//! The simulated node's object dictionary: typed entries with access rights, and the factory
//! contents of a CiA 402 servo drive.

use std::collections::BTreeMap;

use crate::abort::AbortCode;
use crate::cob::NodeId;

/// Access right of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only.
    Ro,
    /// Read and write.
    Rw,
    /// Write only.
    Wo,
}

/// One object dictionary entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Value, little endian.
    pub value: Vec<u8>,
    /// Access right.
    pub access: Access,
    /// True for fixed-size (numeric) entries: writes must keep the size.
    pub fixed: bool,
}

/// Index/sub-index → entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectDictionary {
    entries: BTreeMap<(u16, u8), Entry>,
}

impl ObjectDictionary {
    /// Inserts a numeric entry of `size` bytes.
    pub fn insert(&mut self, index: u16, subindex: u8, access: Access, value: &[u8]) {
        self.entries.insert(
            (index, subindex),
            Entry {
                value: value.to_vec(),
                access,
                fixed: true,
            },
        );
    }

    /// Inserts a variable-length entry (VISIBLE_STRING, DOMAIN).
    pub fn insert_bytes(&mut self, index: u16, subindex: u8, access: Access, value: &[u8]) {
        self.entries.insert(
            (index, subindex),
            Entry {
                value: value.to_vec(),
                access,
                fixed: false,
            },
        );
    }

    /// The entry, or the abort a server answers for a missing one.
    pub fn entry(&self, index: u16, subindex: u8) -> Result<&Entry, AbortCode> {
        self.entries.get(&(index, subindex)).ok_or_else(|| {
            if self
                .entries
                .range((index, 0)..=(index, 255))
                .next()
                .is_some()
            {
                AbortCode::NO_SUBINDEX
            } else {
                AbortCode::NO_OBJECT
            }
        })
    }

    /// Reads as an SDO server does (write-only entries refuse).
    pub fn read(&self, index: u16, subindex: u8) -> Result<Vec<u8>, AbortCode> {
        let e = self.entry(index, subindex)?;
        if e.access == Access::Wo {
            return Err(AbortCode::WRITE_ONLY);
        }
        Ok(e.value.clone())
    }

    /// Writes as an SDO server does (read-only entries and wrong sizes refuse).
    pub fn write(&mut self, index: u16, subindex: u8, data: &[u8]) -> Result<(), AbortCode> {
        let e = self.entry(index, subindex)?;
        if e.access == Access::Ro {
            return Err(AbortCode::READ_ONLY);
        }
        self.set(index, subindex, data)
    }

    /// Writes ignoring the access right (the device updating its own values).
    pub fn set(&mut self, index: u16, subindex: u8, data: &[u8]) -> Result<(), AbortCode> {
        let e = self
            .entries
            .get_mut(&(index, subindex))
            .ok_or(AbortCode::NO_OBJECT)?;
        if e.fixed && data.len() != e.value.len() {
            return Err(if data.len() > e.value.len() {
                AbortCode::LENGTH_TOO_HIGH
            } else {
                AbortCode::LENGTH_TOO_LOW
            });
        }
        e.value = data.to_vec();
        Ok(())
    }

    /// A numeric value zero-extended to u32 (0 if absent).
    pub fn u32(&self, index: u16, subindex: u8) -> u32 {
        let mut b = [0u8; 4];
        if let Ok(e) = self.entry(index, subindex) {
            let n = e.value.len().min(4);
            b[..n].copy_from_slice(&e.value[..n]);
        }
        u32::from_le_bytes(b)
    }

    /// Size in bytes of an entry (0 if absent).
    pub fn size(&self, index: u16, subindex: u8) -> usize {
        self.entry(index, subindex).map_or(0, |e| e.value.len())
    }

    /// Replaces every entry in `range` with the same entries of `other` (communication reset).
    pub fn restore_range(&mut self, other: &ObjectDictionary, first: u16, last: u16) {
        self.entries.retain(|(i, _), _| !(first..=last).contains(i));
        for (k, v) in other.entries.range((first, 0)..=(last, 255)) {
            self.entries.insert(*k, v.clone());
        }
    }
}

/// Identity of a simulated unit (0x1018).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// Vendor id (sub 1).
    pub vendor_id: u32,
    /// Product code (sub 2).
    pub product_code: u32,
    /// Revision (sub 3).
    pub revision: u32,
    /// Serial number (sub 4): changes when the unit is swapped.
    pub serial: u32,
}

/// Device name in 0x1008: long enough to need a segmented upload.
pub const DEVICE_NAME: &str = "linevisor simulated CiA 402 servo";

/// Mappable objects and whether they may go in an RPDO (true) or a TPDO (false).
pub(crate) const MAPPABLE: &[(u16, bool)] = &[
    (0x6040, true),
    (0x6060, true),
    (0x607A, true),
    (0x6081, true),
    (0x60FF, true),
    (0x6041, false),
    (0x6061, false),
    (0x6064, false),
    (0x606C, false),
    (0x603F, false),
];

/// The factory object dictionary of a simulated servo `node` with `heartbeat_ms` in 0x1017.
pub fn factory(node: NodeId, identity: Identity, heartbeat_ms: u16) -> ObjectDictionary {
    use Access::*;
    let n = u32::from(node.get());
    let mut od = ObjectDictionary::default();
    od.insert(0x1000, 0, Ro, &0x0002_0192u32.to_le_bytes());
    od.insert(0x1001, 0, Ro, &[0]);
    od.insert_bytes(0x1008, 0, Ro, DEVICE_NAME.as_bytes());
    od.insert(0x1017, 0, Rw, &heartbeat_ms.to_le_bytes());
    // Manufacturer area: a writable DOMAIN for segmented downloads (recipes, parameter sets).
    od.insert_bytes(0x2000, 0, Rw, b"");
    od.insert(0x1018, 0, Ro, &[4]);
    for (sub, v) in [
        identity.vendor_id,
        identity.product_code,
        identity.revision,
        identity.serial,
    ]
    .into_iter()
    .enumerate()
    {
        od.insert(0x1018, sub as u8 + 1, Ro, &v.to_le_bytes());
    }
    for p in 0..4u16 {
        // RPDO p+1: 0x200 + 0x100·p + node; PDOs 3 and 4 start invalid.
        let invalid = if p >= 2 { 1 << 31 } else { 0 };
        let rcob = (0x200 + 0x100 * u32::from(p) + n) | invalid;
        od.insert(0x1400 + p, 0, Ro, &[2]);
        od.insert(0x1400 + p, 1, Rw, &rcob.to_le_bytes());
        od.insert(0x1400 + p, 2, Rw, &[255]);
        let tcob = (0x180 + 0x100 * u32::from(p) + n) | invalid;
        od.insert(0x1800 + p, 0, Ro, &[5]);
        od.insert(0x1800 + p, 1, Rw, &tcob.to_le_bytes());
        od.insert(0x1800 + p, 2, Rw, &[255]);
        od.insert(0x1800 + p, 3, Rw, &0u16.to_le_bytes());
        od.insert(0x1800 + p, 5, Rw, &0u16.to_le_bytes());
        for map in [0x1600 + p, 0x1A00 + p] {
            od.insert(map, 0, Rw, &[0]);
            for sub in 1..=8 {
                od.insert(map, sub, Rw, &0u32.to_le_bytes());
            }
        }
    }
    // CiA 402 default PDO set: controlword in RPDO1, statusword in TPDO1.
    od.insert(0x1600, 0, Rw, &[1]);
    od.insert(0x1600, 1, Rw, &0x6040_0010u32.to_le_bytes());
    od.insert(0x1A00, 0, Rw, &[1]);
    od.insert(0x1A00, 1, Rw, &0x6041_0010u32.to_le_bytes());
    od.insert(0x603F, 0, Ro, &0u16.to_le_bytes());
    od.insert(0x6040, 0, Rw, &0u16.to_le_bytes());
    od.insert(0x6041, 0, Ro, &0u16.to_le_bytes());
    od.insert(0x6060, 0, Rw, &[3]);
    od.insert(0x6061, 0, Ro, &[3]);
    od.insert(0x6064, 0, Ro, &0i32.to_le_bytes());
    od.insert(0x606C, 0, Ro, &0i32.to_le_bytes());
    od.insert(0x607A, 0, Rw, &0i32.to_le_bytes());
    od.insert(0x60FF, 0, Rw, &0i32.to_le_bytes());
    // Profile velocity, acceleration, deceleration, quick-stop deceleration, homing method:
    // stored and read back (parameters downloaded at boot are verified against them).
    od.insert(0x6081, 0, Rw, &0u32.to_le_bytes());
    od.insert(0x6083, 0, Rw, &1000u32.to_le_bytes());
    od.insert(0x6084, 0, Rw, &1000u32.to_le_bytes());
    od.insert(0x6085, 0, Rw, &5000u32.to_le_bytes());
    od.insert(0x6098, 0, Rw, &[35]);
    // PP, PV, HM, CSP, CSV.
    od.insert(0x6502, 0, Ro, &0b1_1010_0101u32.to_le_bytes());
    od
}

/// A drive with fixed PDOs: `fixed` mapped (valid COB-ID, transmission type 1), and every PDO
/// communication and mapping object read-only (writes abort with 0x06010002).
pub fn fix_pdos(
    od: &mut ObjectDictionary,
    node: NodeId,
    fixed: &[(crate::PdoKind, u8, Vec<crate::MappingEntry>)],
) {
    use Access::Ro;
    let n = u32::from(node.get());
    for (kind, number, entries) in fixed {
        let p = u16::from(number.saturating_sub(1));
        let (comm, map, base) = match kind {
            crate::PdoKind::Rpdo => (0x1400 + p, 0x1600 + p, 0x200),
            crate::PdoKind::Tpdo => (0x1800 + p, 0x1A00 + p, 0x180),
        };
        let cob = base + 0x100 * u32::from(p) + n;
        od.insert(comm, 1, Ro, &cob.to_le_bytes());
        od.insert(comm, 2, Ro, &[1]);
        od.insert(map, 0, Ro, &[entries.len() as u8]);
        for sub in 1..=8u8 {
            let v = entries.get(usize::from(sub - 1)).map_or(0, |e| e.to_u32());
            od.insert(map, sub, Ro, &v.to_le_bytes());
        }
    }
    for p in 0..4u16 {
        for index in [0x1400 + p, 0x1800 + p] {
            for sub in [1, 2] {
                if let Ok(v) = od.read(index, sub) {
                    od.insert(index, sub, Ro, &v);
                }
            }
        }
        for index in [0x1600 + p, 0x1A00 + p] {
            for sub in 0..=8 {
                if let Ok(v) = od.read(index, sub) {
                    od.insert(index, sub, Ro, &v);
                }
            }
        }
    }
}
