//! The simulated node's rules for PDO parameter writes (CiA 301 §3.4 re-mapping): only in
//! pre-operational, mapping only while the PDO is invalid and sub 0 is 0, only mappable objects
//! of matching length, at most 64 bits.

use super::od::{MAPPABLE, ObjectDictionary};
use crate::abort::AbortCode;
use crate::nmt::NmtState;
use crate::pdo::{COB_ID_INVALID, MappingEntry};

/// Checks an SDO write to a PDO communication or mapping object; other objects pass.
pub(crate) fn check_write(
    od: &ObjectDictionary,
    nmt: NmtState,
    index: u16,
    subindex: u8,
    data: &[u8],
) -> Result<(), AbortCode> {
    let comm = matches!(index, 0x1400..=0x1403 | 0x1800..=0x1803);
    let map = matches!(index, 0x1600..=0x1603 | 0x1A00..=0x1A03);
    if !(comm || map) {
        return Ok(());
    }
    // CiA 301: PDO parameters change only in pre-operational.
    if nmt == NmtState::Operational {
        return Err(AbortCode::DEVICE_STATE);
    }
    let comm_index = if map { index - 0x200 } else { index };
    let valid = od.u32(comm_index, 1) & COB_ID_INVALID == 0;
    let value = {
        let mut b = [0u8; 4];
        b[..data.len().min(4)].copy_from_slice(&data[..data.len().min(4)]);
        u32::from_le_bytes(b)
    };
    if comm && subindex == 1 && valid && value & COB_ID_INVALID == 0 {
        let current = od.u32(comm_index, 1);
        if value & 0x1FFF_FFFF != current & 0x1FFF_FFFF {
            return Err(AbortCode::VALUE_RANGE);
        }
    }
    if !map {
        return Ok(());
    }
    if valid {
        return Err(AbortCode::UNSUPPORTED_ACCESS);
    }
    let rpdo = index < 0x1A00;
    if subindex == 0 {
        if value > 8 {
            return Err(AbortCode::VALUE_RANGE);
        }
        let bits: u32 = (1..=value as u8)
            .map(|s| MappingEntry::from_u32(od.u32(index, s)).bits as u32)
            .sum();
        return if bits > 64 {
            Err(AbortCode::PDO_LENGTH)
        } else {
            Ok(())
        };
    }
    if od.u32(index, 0) != 0 {
        return Err(AbortCode::UNSUPPORTED_ACCESS);
    }
    let e = MappingEntry::from_u32(value);
    let mappable = MAPPABLE.iter().any(|(i, r)| *i == e.index && (*r || !rpdo));
    if !mappable || e.subindex != 0 || usize::from(e.bits) != 8 * od.size(e.index, 0) {
        return Err(AbortCode::NOT_MAPPABLE);
    }
    Ok(())
}
