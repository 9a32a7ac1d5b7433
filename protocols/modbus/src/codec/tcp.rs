//! Modbus TCP: `MBAP (transaction id, protocol id 0, length, unit) | PDU` (protocols.md §2.4).
//!
//! The frame length comes from the MBAP length field, read here rather than by rmodbus'
//! `guess_response_frame_len`, which refuses frames over 255 bytes (a 125-register read is 259).

use rmodbus::client::ModbusRequest;

use crate::frame::{MbapHeader, TcpFrame, pdu};
use crate::{FrameError, Request, ResponsePdu};

/// MBAP header length, unit id included.
pub const HEADER_LEN: usize = 7;
/// Largest ADU: header + 253-byte PDU.
pub const MAX_FRAME: usize = 260;

/// Appends the TCP frame of `request`.
pub fn encode_request(
    header: MbapHeader,
    request: &Request,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let mut mreq = ModbusRequest::new_tcp_udp(header.unit, header.transaction_id);
    super::generate(&mut mreq, request, out)
}

/// Total length of the frame starting with `prefix` (requests and responses alike): `Ok(None)`
/// until the 6 bytes that carry the length are there.
pub fn frame_len(prefix: &[u8]) -> Result<Option<usize>, FrameError> {
    if prefix.len() < 6 {
        return Ok(None);
    }
    let protocol = u16::from_be_bytes([prefix[2], prefix[3]]);
    if protocol != 0 {
        return Err(FrameError::ProtocolId(protocol));
    }
    let len = u16::from_be_bytes([prefix[4], prefix[5]]);
    if !(2..=254).contains(&len) {
        return Err(FrameError::MbapLength(len));
    }
    Ok(Some(6 + usize::from(len)))
}

/// The header of a whole frame and its PDU bytes.
pub fn split(frame: &[u8]) -> Result<(MbapHeader, &[u8]), FrameError> {
    let expected = match frame_len(frame)? {
        Some(n) => n,
        None => {
            return Err(FrameError::Truncated {
                needed: HEADER_LEN,
                got: frame.len(),
            });
        }
    };
    if frame.len() != expected {
        return Err(FrameError::Length {
            expected,
            got: frame.len(),
        });
    }
    let header = MbapHeader {
        transaction_id: u16::from_be_bytes([frame[0], frame[1]]),
        unit: frame[6],
    };
    Ok((header, &frame[HEADER_LEN..]))
}

/// Decodes one whole response frame (exactly [`frame_len`] bytes).
pub fn decode_response(frame: &[u8]) -> Result<TcpFrame<ResponsePdu>, FrameError> {
    let (header, body) = split(frame)?;
    Ok(TcpFrame {
        header,
        pdu: pdu::decode_response(body)?,
    })
}

/// Decodes one whole request frame (exactly [`frame_len`] bytes).
pub fn decode_request(frame: &[u8]) -> Result<TcpFrame<Request>, FrameError> {
    let (header, body) = split(frame)?;
    Ok(TcpFrame {
        header,
        pdu: pdu::decode_request(body)?,
    })
}

/// Appends the TCP frame of a response.
pub fn encode_response(
    header: MbapHeader,
    response: &ResponsePdu,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let start = out.len();
    out.extend(header.transaction_id.to_be_bytes());
    out.extend([0, 0, 0, 0, header.unit]);
    pdu::encode_response(response, out)?;
    let len = out.len() - start - 6;
    let len = u16::try_from(len).map_err(|_| FrameError::MbapLength(u16::MAX))?;
    out[start + 4..start + 6].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Response;

    #[test]
    fn full_size_read_frames_despite_rmodbus_255_cap() {
        let header = MbapHeader {
            transaction_id: 0xBEEF,
            unit: 1,
        };
        let mut out = Vec::new();
        encode_response(
            header,
            &Ok(Response::ReadHoldingRegisters(vec![7; 125])),
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), 259);
        assert_eq!(frame_len(&out), Ok(Some(259)));
        assert!(rmodbus::guess_response_frame_len(&out, rmodbus::ModbusProto::TcpUdp).is_err());
        let f = decode_response(&out).unwrap();
        assert_eq!(f.header, header);
    }

    #[test]
    fn request_matches_the_mbap_layout() {
        let mut out = Vec::new();
        let header = MbapHeader {
            transaction_id: 0x0102,
            unit: 0x11,
        };
        encode_request(
            header,
            &Request::ReadHoldingRegisters {
                address: 0x6B,
                quantity: 3,
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            [0x01, 0x02, 0, 0, 0, 6, 0x11, 0x03, 0x00, 0x6B, 0x00, 0x03]
        );
    }
}
