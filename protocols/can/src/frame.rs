//! Classic CAN 2.0 frames: 11- or 29-bit identifier, up to 8 data bytes or a remote request.

use std::fmt;

/// Largest standard (11-bit) identifier.
pub const MAX_STANDARD_ID: u32 = 0x7FF;
/// Largest extended (29-bit) identifier.
pub const MAX_EXTENDED_ID: u32 = 0x1FFF_FFFF;

/// A frame or identifier that CAN 2.0 cannot carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Identifier above 0x7FF (standard) or 0x1FFFFFFF (extended).
    #[error("CAN id {id:#x} does not fit in {} bits", if *.extended { 29 } else { 11 })]
    IdOutOfRange {
        /// The identifier given.
        id: u32,
        /// True for a 29-bit identifier.
        extended: bool,
    },
    /// More than 8 data bytes, or a DLC above 8.
    #[error("CAN frame length {len} exceeds 8 bytes")]
    TooLong {
        /// The length or DLC given.
        len: usize,
    },
}

/// An 11-bit (standard) or 29-bit (extended) CAN identifier, range-checked at construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CanId {
    raw: u32,
    extended: bool,
}

impl CanId {
    /// A standard 11-bit identifier.
    pub const fn standard(raw: u16) -> Result<CanId, FrameError> {
        if raw as u32 > MAX_STANDARD_ID {
            return Err(FrameError::IdOutOfRange {
                id: raw as u32,
                extended: false,
            });
        }
        Ok(CanId {
            raw: raw as u32,
            extended: false,
        })
    }

    /// A standard identifier from the low 11 bits of `raw`; for ids computed from values
    /// already known to be in range (CANopen COB-IDs of node ids 1–127).
    pub const fn standard_masked(raw: u16) -> CanId {
        CanId {
            raw: raw as u32 & MAX_STANDARD_ID,
            extended: false,
        }
    }

    /// An extended 29-bit identifier.
    pub const fn extended(raw: u32) -> Result<CanId, FrameError> {
        if raw > MAX_EXTENDED_ID {
            return Err(FrameError::IdOutOfRange {
                id: raw,
                extended: true,
            });
        }
        Ok(CanId {
            raw,
            extended: true,
        })
    }

    /// The identifier value.
    pub const fn raw(self) -> u32 {
        self.raw
    }

    /// True for a 29-bit identifier.
    pub const fn is_extended(self) -> bool {
        self.extended
    }
}

impl fmt::Display for CanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.extended {
            write!(f, "{:08X}", self.raw)
        } else {
            write!(f, "{:03X}", self.raw)
        }
    }
}

/// A classic CAN data frame (0–8 bytes) or remote frame (RTR, DLC 0–8, no data).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CanFrame {
    id: CanId,
    remote: bool,
    dlc: u8,
    data: [u8; 8],
}

impl CanFrame {
    /// A data frame carrying `data` (at most 8 bytes).
    pub fn new(id: CanId, data: &[u8]) -> Result<CanFrame, FrameError> {
        if data.len() > 8 {
            return Err(FrameError::TooLong { len: data.len() });
        }
        let mut buf = [0u8; 8];
        buf[..data.len()].copy_from_slice(data);
        Ok(CanFrame {
            id,
            remote: false,
            dlc: data.len() as u8,
            data: buf,
        })
    }

    /// A remote (RTR) frame requesting `dlc` bytes.
    pub fn remote(id: CanId, dlc: u8) -> Result<CanFrame, FrameError> {
        if dlc > 8 {
            return Err(FrameError::TooLong { len: dlc.into() });
        }
        Ok(CanFrame {
            id,
            remote: true,
            dlc,
            data: [0; 8],
        })
    }

    /// The identifier.
    pub const fn id(&self) -> CanId {
        self.id
    }

    /// True for a remote (RTR) frame.
    pub const fn is_remote(&self) -> bool {
        self.remote
    }

    /// Data length code: the payload length, or the requested length of a remote frame.
    pub const fn dlc(&self) -> u8 {
        self.dlc
    }

    /// The payload; empty for a remote frame.
    pub fn data(&self) -> &[u8] {
        if self.remote {
            &[]
        } else {
            &self.data[..usize::from(self.dlc)]
        }
    }
}

impl fmt::Debug for CanFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// candump style: `181#2700E8030000`, `701#R1` for a remote frame.
impl fmt::Display for CanFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#", self.id)?;
        if self.remote {
            return write!(f, "R{}", self.dlc);
        }
        for b in self.data() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_range_checked() {
        assert!(CanId::standard(0x7FF).is_ok());
        assert_eq!(
            CanId::standard(0x800),
            Err(FrameError::IdOutOfRange {
                id: 0x800,
                extended: false
            })
        );
        assert!(CanId::extended(0x1FFF_FFFF).is_ok());
        assert!(CanId::extended(0x2000_0000).is_err());
        assert_eq!(CanId::standard_masked(0xFFFF).raw(), 0x7FF);
    }

    #[test]
    fn frames_carry_at_most_eight_bytes() {
        let id = CanId::standard_masked(0x181);
        let f = CanFrame::new(id, &[1, 2, 3]).unwrap();
        assert_eq!((f.dlc(), f.data()), (3, &[1u8, 2, 3][..]));
        assert_eq!(f.to_string(), "181#010203");
        assert_eq!(
            CanFrame::new(id, &[0; 9]),
            Err(FrameError::TooLong { len: 9 })
        );
        let r = CanFrame::remote(id, 2).unwrap();
        assert!(r.is_remote() && r.data().is_empty());
        assert_eq!(r.to_string(), "181#R2");
        assert!(CanFrame::remote(id, 9).is_err());
    }
}
