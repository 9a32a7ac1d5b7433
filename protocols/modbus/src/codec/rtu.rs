//! RTU: `unit | PDU | CRC-16 (LE)`. No length field: the length follows from the function code
//! and byte count (protocols.md §2.2 rule 1).

use rmodbus::{ErrorKind, ModbusProto, client::ModbusRequest};

use super::crc16;
use crate::frame::{RtuFrame, function, pdu};
use crate::{FrameError, Request, ResponsePdu};

/// Largest RTU frame: unit + 253-byte PDU + CRC.
pub const MAX_FRAME: usize = 256;

/// Appends the RTU frame of `request` to `unit` (unit 0 = broadcast, writes only).
pub fn encode_request(unit: u8, request: &Request, out: &mut Vec<u8>) -> Result<(), FrameError> {
    if unit == 0 && !request.is_write() {
        return Err(FrameError::Broadcast {
            function: request.function(),
        });
    }
    let mut mreq = ModbusRequest::new(unit, ModbusProto::Rtu);
    super::generate(&mut mreq, request, out)
}

/// Total length of the response frame starting with `prefix`: `Ok(None)` if more bytes are
/// needed to tell (2 for an exception, else 3), `Err` for a function code we cannot frame.
pub fn response_len(prefix: &[u8]) -> Result<Option<usize>, FrameError> {
    if prefix.len() < 2 {
        return Ok(None);
    }
    if prefix[1] & function::EXCEPTION_FLAG != 0 {
        return Ok(Some(5));
    }
    if prefix.len() < 3 {
        return Ok(None);
    }
    match rmodbus::guess_response_frame_len(&prefix[..3], ModbusProto::Rtu) {
        Ok(n) => Ok(Some(usize::from(n))),
        Err(ErrorKind::OOB) => Ok(None),
        Err(_) => Err(FrameError::UnsupportedFunction(prefix[1])),
    }
}

/// Total length of the request frame starting with `prefix` (server side); `Ok(None)` if more
/// bytes are needed (2, or 7 for FC 15/16).
pub fn request_len(prefix: &[u8]) -> Result<Option<usize>, FrameError> {
    if prefix.len() < 2 {
        return Ok(None);
    }
    match prefix[1] {
        function::READ_COILS..=function::WRITE_SINGLE_REGISTER => Ok(Some(8)),
        function::WRITE_MULTIPLE_COILS | function::WRITE_MULTIPLE_REGISTERS => {
            if prefix.len() < 7 {
                return Ok(None);
            }
            // rmodbus refuses (FrameBroken) frames over 255 bytes; none of those is valid.
            match rmodbus::guess_request_frame_len(&prefix[..7], ModbusProto::Rtu) {
                Ok(n) => Ok(Some(usize::from(n))),
                Err(_) => {
                    let quantity = usize::from(u16::from_be_bytes([prefix[4], prefix[5]]));
                    let expected = if prefix[1] == function::WRITE_MULTIPLE_COILS {
                        quantity.div_ceil(8)
                    } else {
                        quantity * 2
                    };
                    let got = usize::from(prefix[6]);
                    Err(FrameError::ByteCount {
                        function: prefix[1],
                        expected,
                        got,
                    })
                }
            }
        }
        other => Err(FrameError::UnsupportedFunction(other)),
    }
}

/// Checks the CRC of a whole frame and returns `(unit, pdu)`.
pub fn check_crc(frame: &[u8]) -> Result<(u8, &[u8]), FrameError> {
    if frame.len() < 4 {
        return Err(FrameError::Truncated {
            needed: 4,
            got: frame.len(),
        });
    }
    let (body, tail) = frame.split_at(frame.len() - 2);
    let (expected, got) = (crc16(body), u16::from_le_bytes([tail[0], tail[1]]));
    if expected != got {
        return Err(FrameError::Crc { expected, got });
    }
    Ok((body[0], &body[1..]))
}

/// Decodes one whole response frame (exactly [`response_len`] bytes).
pub fn decode_response(frame: &[u8]) -> Result<RtuFrame<ResponsePdu>, FrameError> {
    let (unit, body) = check_crc(frame)?;
    Ok(RtuFrame {
        unit,
        pdu: pdu::decode_response(body)?,
    })
}

/// Decodes one whole request frame (exactly [`request_len`] bytes).
pub fn decode_request(frame: &[u8]) -> Result<RtuFrame<Request>, FrameError> {
    let (unit, body) = check_crc(frame)?;
    Ok(RtuFrame {
        unit,
        pdu: pdu::decode_request(body)?,
    })
}

/// Appends the RTU frame of a response from `unit`.
pub fn encode_response(
    unit: u8,
    response: &ResponsePdu,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let start = out.len();
    out.push(unit);
    pdu::encode_response(response, out)?;
    let crc = crc16(&out[start..]);
    out.extend(crc.to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Response;

    #[test]
    fn matches_the_published_frames() {
        // modbustools.com examples, as in rmodbus' own tests.
        let mut out = Vec::new();
        let read = Request::ReadHoldingRegisters {
            address: 0,
            quantity: 2,
        };
        encode_request(1, &read, &mut out).unwrap();
        assert_eq!(out, [0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xC4, 0x0B]);
        let resp = [0x01, 0x03, 0x04, 0x00, 0x06, 0x00, 0x05, 0xDA, 0x31];
        assert_eq!(response_len(&resp[..3]), Ok(Some(resp.len())));
        let f = decode_response(&resp).unwrap();
        assert_eq!(
            (f.unit, f.pdu),
            (1, Ok(Response::ReadHoldingRegisters(vec![6, 5])))
        );
        let mut back = Vec::new();
        encode_response(
            1,
            &Ok(Response::ReadHoldingRegisters(vec![6, 5])),
            &mut back,
        )
        .unwrap();
        assert_eq!(back, resp);
    }

    #[test]
    fn crc_error_names_both_values() {
        let bad = [0x01, 0x03, 0x04, 0x00, 0x06, 0x00, 0x05, 0xDA, 0x32];
        assert_eq!(
            decode_response(&bad).unwrap_err(),
            FrameError::Crc {
                expected: 0x31DA,
                got: 0x32DA
            }
        );
    }

    #[test]
    fn broadcast_reads_are_refused() {
        let read = Request::ReadCoils {
            address: 0,
            quantity: 1,
        };
        assert!(matches!(
            encode_request(0, &read, &mut Vec::new()),
            Err(FrameError::Broadcast { .. })
        ));
    }
}
