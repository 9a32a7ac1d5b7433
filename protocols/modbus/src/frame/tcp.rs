//! The Modbus TCP envelope: the MBAP header (protocols.md §2.4).

/// MBAP header fields we keep (protocol id is always 0, the length is the codec's business).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MbapHeader {
    /// Transaction id, allocated by the client and copied by the server.
    pub transaction_id: u16,
    /// Unit id (routes to serial slaves behind gateways; 255 or 1 for plain devices).
    pub unit: u8,
}

/// A decoded TCP frame: header and the PDU it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpFrame<T> {
    /// MBAP header.
    pub header: MbapHeader,
    /// The PDU.
    pub pdu: T,
}
