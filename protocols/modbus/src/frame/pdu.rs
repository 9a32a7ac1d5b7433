//! PDU bytes ↔ [`Request`] / [`ResponsePdu`]. Requests are encoded by rmodbus (see
//! `codec`); decoding requests and encoding responses is ours because rmodbus only offers them
//! through its own storage context.

use super::{ExceptionResponse, Request, Response, ResponsePdu, function::*};
use crate::{ExceptionCode, FrameError};

/// Requires exactly `n` bytes.
fn exact(pdu: &[u8], n: usize) -> Result<(), FrameError> {
    match pdu.len() {
        got if got < n => Err(FrameError::Truncated { needed: n, got }),
        got if got > n => Err(FrameError::Length { expected: n, got }),
        _ => Ok(()),
    }
}

fn at_least(pdu: &[u8], n: usize) -> Result<(), FrameError> {
    if pdu.len() < n {
        Err(FrameError::Truncated {
            needed: n,
            got: pdu.len(),
        })
    } else {
        Ok(())
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn coil(value: u16) -> Result<bool, FrameError> {
    match value {
        0xFF00 => Ok(true),
        0x0000 => Ok(false),
        other => Err(FrameError::CoilValue(other)),
    }
}

fn unpack_bits(bytes: &[u8], n: usize) -> Vec<bool> {
    (0..n).map(|i| bytes[i / 8] >> (i % 8) & 1 == 1).collect()
}

fn pack_bits(bits: &[bool], out: &mut Vec<u8>) {
    for chunk in bits.chunks(8) {
        out.push(
            chunk
                .iter()
                .enumerate()
                .fold(0u8, |b, (i, &on)| b | (u8::from(on) << i)),
        );
    }
}

fn words(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|w| u16::from_be_bytes([w[0], w[1]]))
        .collect()
}

/// Decodes a request PDU (function code first) and checks its limits.
pub(crate) fn decode_request(pdu: &[u8]) -> Result<Request, FrameError> {
    at_least(pdu, 1)?;
    let function = pdu[0];
    let request = match function {
        READ_COILS..=WRITE_SINGLE_REGISTER => {
            exact(pdu, 5)?;
            let (address, x) = (be16(pdu, 1), be16(pdu, 3));
            match function {
                READ_COILS => Request::ReadCoils {
                    address,
                    quantity: x,
                },
                READ_DISCRETE_INPUTS => Request::ReadDiscreteInputs {
                    address,
                    quantity: x,
                },
                READ_HOLDING_REGISTERS => Request::ReadHoldingRegisters {
                    address,
                    quantity: x,
                },
                READ_INPUT_REGISTERS => Request::ReadInputRegisters {
                    address,
                    quantity: x,
                },
                WRITE_SINGLE_COIL => Request::WriteSingleCoil {
                    address,
                    value: coil(x)?,
                },
                _ => Request::WriteSingleRegister { address, value: x },
            }
        }
        WRITE_MULTIPLE_COILS | WRITE_MULTIPLE_REGISTERS => {
            at_least(pdu, 6)?;
            let (address, quantity, count) = (be16(pdu, 1), usize::from(be16(pdu, 3)), pdu[5]);
            let count = usize::from(count);
            exact(pdu, 6 + count)?;
            let (max, expected) = if function == WRITE_MULTIPLE_COILS {
                (super::limits::WRITE_COILS, quantity.div_ceil(8))
            } else {
                (super::limits::WRITE_REGISTERS, quantity * 2)
            };
            if quantity == 0 || quantity > usize::from(max) {
                return Err(FrameError::Quantity {
                    function,
                    quantity,
                    max,
                });
            }
            if count != expected {
                return Err(FrameError::ByteCount {
                    function,
                    expected,
                    got: count,
                });
            }
            let data = &pdu[6..];
            if function == WRITE_MULTIPLE_COILS {
                Request::WriteMultipleCoils {
                    address,
                    values: unpack_bits(data, quantity),
                }
            } else {
                Request::WriteMultipleRegisters {
                    address,
                    values: words(data),
                }
            }
        }
        other => return Err(FrameError::UnsupportedFunction(other)),
    };
    request.validate()?;
    Ok(request)
}

/// Decodes a response PDU on its own (bit reads come back as whole bytes of bits).
pub(crate) fn decode_response(pdu: &[u8]) -> Result<ResponsePdu, FrameError> {
    at_least(pdu, 1)?;
    let function = pdu[0];
    if function & EXCEPTION_FLAG != 0 {
        exact(pdu, 2)?;
        let code = ExceptionCode::from_code(pdu[1]);
        return Ok(Err(ExceptionResponse {
            function: function & !EXCEPTION_FLAG,
            code,
        }));
    }
    let response = match function {
        READ_COILS..=READ_INPUT_REGISTERS => {
            at_least(pdu, 2)?;
            let count = usize::from(pdu[1]);
            exact(pdu, 2 + count)?;
            let data = &pdu[2..];
            match function {
                READ_COILS => Response::ReadCoils(unpack_bits(data, count * 8)),
                READ_DISCRETE_INPUTS => Response::ReadDiscreteInputs(unpack_bits(data, count * 8)),
                _ if count % 2 != 0 => {
                    return Err(FrameError::ByteCount {
                        function,
                        expected: count + 1,
                        got: count,
                    });
                }
                READ_HOLDING_REGISTERS => Response::ReadHoldingRegisters(words(data)),
                _ => Response::ReadInputRegisters(words(data)),
            }
        }
        WRITE_SINGLE_COIL..=WRITE_SINGLE_REGISTER
        | WRITE_MULTIPLE_COILS
        | WRITE_MULTIPLE_REGISTERS => {
            exact(pdu, 5)?;
            let (address, x) = (be16(pdu, 1), be16(pdu, 3));
            match function {
                WRITE_SINGLE_COIL => Response::WriteSingleCoil {
                    address,
                    value: coil(x)?,
                },
                WRITE_SINGLE_REGISTER => Response::WriteSingleRegister { address, value: x },
                WRITE_MULTIPLE_COILS => Response::WriteMultipleCoils {
                    address,
                    quantity: x,
                },
                _ => Response::WriteMultipleRegisters {
                    address,
                    quantity: x,
                },
            }
        }
        other => return Err(FrameError::UnsupportedFunction(other)),
    };
    Ok(Ok(response))
}

/// Appends a response PDU. Fails only for reads whose data would not fit a byte count.
pub(crate) fn encode_response(pdu: &ResponsePdu, out: &mut Vec<u8>) -> Result<(), FrameError> {
    let response = match pdu {
        Err(e) => {
            out.extend([e.function | EXCEPTION_FLAG, e.code.code()]);
            return Ok(());
        }
        Ok(r) => r,
    };
    let function = response.function();
    out.push(function);
    let byte_count = |n: usize, max: u16| {
        u8::try_from(n).map_err(|_| FrameError::Quantity {
            function,
            quantity: n,
            max,
        })
    };
    match response {
        Response::ReadCoils(bits) | Response::ReadDiscreteInputs(bits) => {
            out.push(byte_count(
                bits.len().div_ceil(8),
                super::limits::READ_BITS,
            )?);
            pack_bits(bits, out);
        }
        Response::ReadHoldingRegisters(w) | Response::ReadInputRegisters(w) => {
            out.push(byte_count(w.len() * 2, super::limits::READ_REGISTERS)?);
            w.iter().for_each(|v| out.extend(v.to_be_bytes()));
        }
        Response::WriteSingleCoil { address, value } => {
            out.extend(address.to_be_bytes());
            out.extend(if *value { [0xFF, 0x00] } else { [0x00, 0x00] });
        }
        Response::WriteSingleRegister { address, value: x }
        | Response::WriteMultipleCoils {
            address,
            quantity: x,
        }
        | Response::WriteMultipleRegisters {
            address,
            quantity: x,
        } => {
            out.extend(address.to_be_bytes());
            out.extend(x.to_be_bytes());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_spec_examples() {
        // Modbus application protocol spec, FC 3 example: 3 registers from 108.
        assert_eq!(
            decode_response(&[0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64]),
            Ok(Ok(Response::ReadHoldingRegisters(vec![0x022B, 0, 0x64])))
        );
        assert_eq!(
            decode_request(&[0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01]),
            Ok(Request::WriteMultipleCoils {
                address: 0x13,
                values: vec![
                    true, false, true, true, false, false, true, true, true, false
                ],
            })
        );
        assert_eq!(
            decode_response(&[0x83, 0x0B]),
            Ok(Err(ExceptionResponse {
                function: 3,
                code: ExceptionCode::GatewayTargetDeviceFailedToRespond
            }))
        );
    }

    #[test]
    fn rejects_what_a_server_must_refuse() {
        assert_eq!(
            decode_request(&[0x2B, 0x0E]),
            Err(FrameError::UnsupportedFunction(0x2B))
        );
        assert!(matches!(
            decode_request(&[0x03, 0, 0, 0, 126]),
            Err(FrameError::Quantity {
                quantity: 126,
                max: 125,
                ..
            })
        ));
        assert_eq!(
            decode_request(&[0x05, 0, 1, 0x12, 0x34]),
            Err(FrameError::CoilValue(0x1234))
        );
        assert!(matches!(
            decode_response(&[0x03, 0x03, 1, 2, 3]),
            Err(FrameError::ByteCount { .. })
        ));
    }
}
