//! The RTU envelope: unit id in front of the PDU, CRC-16 behind it (handled by the codec).

/// A decoded RTU frame: the unit id and the PDU it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtuFrame<T> {
    /// Unit id (1–247; 0 is broadcast).
    pub unit: u8,
    /// The PDU.
    pub pdu: T,
}
