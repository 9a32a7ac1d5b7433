//! Property tests on the codecs: every supported function code round-trips through RTU and TCP
//! framing, our response encoding agrees with rmodbus' parser, and no input makes a decoder panic.

use linevisor_modbus::codec::{rtu, tcp};
use linevisor_modbus::frame::limits;
use linevisor_modbus::{
    ExceptionCode, ExceptionResponse, MbapHeader, Request, Response, ResponsePdu,
};
use proptest::prelude::*;
use rmodbus::{ModbusProto, client::ModbusRequest};

/// (address, quantity) with address + quantity ≤ 0x10000.
fn span(max: u16) -> impl Strategy<Value = (u16, u16)> {
    (1..=max).prop_flat_map(|q| (0..=(0x1_0000 - u32::from(q)) as u16, Just(q)))
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        span(limits::READ_BITS)
            .prop_map(|(address, quantity)| Request::ReadCoils { address, quantity }),
        span(limits::READ_BITS)
            .prop_map(|(address, quantity)| Request::ReadDiscreteInputs { address, quantity }),
        span(limits::READ_REGISTERS)
            .prop_map(|(address, quantity)| Request::ReadHoldingRegisters { address, quantity }),
        span(limits::READ_REGISTERS)
            .prop_map(|(address, quantity)| Request::ReadInputRegisters { address, quantity }),
        (any::<u16>(), any::<bool>())
            .prop_map(|(address, value)| Request::WriteSingleCoil { address, value }),
        (any::<u16>(), any::<u16>())
            .prop_map(|(address, value)| Request::WriteSingleRegister { address, value }),
        span(limits::WRITE_COILS).prop_flat_map(|(address, q)| {
            prop::collection::vec(any::<bool>(), usize::from(q))
                .prop_map(move |values| Request::WriteMultipleCoils { address, values })
        }),
        span(limits::WRITE_REGISTERS).prop_flat_map(|(address, q)| {
            prop::collection::vec(any::<u16>(), usize::from(q))
                .prop_map(move |values| Request::WriteMultipleRegisters { address, values })
        }),
    ]
}

fn response() -> impl Strategy<Value = ResponsePdu> {
    let bits = || prop::collection::vec(any::<bool>(), 1..=usize::from(limits::READ_BITS));
    let words = || prop::collection::vec(any::<u16>(), 1..=usize::from(limits::READ_REGISTERS));
    prop_oneof![
        bits().prop_map(|b| Ok(Response::ReadCoils(b))),
        bits().prop_map(|b| Ok(Response::ReadDiscreteInputs(b))),
        words().prop_map(|w| Ok(Response::ReadHoldingRegisters(w))),
        words().prop_map(|w| Ok(Response::ReadInputRegisters(w))),
        (any::<u16>(), any::<bool>())
            .prop_map(|(address, value)| Ok(Response::WriteSingleCoil { address, value })),
        (any::<u16>(), any::<u16>())
            .prop_map(|(address, value)| Ok(Response::WriteSingleRegister { address, value })),
        (any::<u16>(), any::<u16>())
            .prop_map(|(address, quantity)| Ok(Response::WriteMultipleCoils { address, quantity })),
        (any::<u16>(), any::<u16>()).prop_map(|(address, quantity)| Ok(
            Response::WriteMultipleRegisters { address, quantity }
        )),
        (1u8..0x80, any::<u8>()).prop_map(|(function, code)| Err(ExceptionResponse {
            function,
            code: ExceptionCode::from_code(code)
        })),
    ]
}

/// What decoding gives back: bit reads are padded to whole bytes.
fn padded(r: &ResponsePdu) -> ResponsePdu {
    let pad = |b: &Vec<bool>| {
        let mut b = b.clone();
        b.resize(b.len().div_ceil(8) * 8, false);
        b
    };
    match r {
        Ok(Response::ReadCoils(b)) => Ok(Response::ReadCoils(pad(b))),
        Ok(Response::ReadDiscreteInputs(b)) => Ok(Response::ReadDiscreteInputs(pad(b))),
        other => other.clone(),
    }
}

/// Feeds the length function growing prefixes, as a reader would, and returns its verdict.
fn framed_len(bytes: &[u8], len: impl Fn(&[u8]) -> Option<usize>) -> Option<usize> {
    (0..=bytes.len()).find_map(|i| len(&bytes[..i]))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn rtu_requests_round_trip(unit in 1u8..=247, req in request()) {
        let mut bytes = Vec::new();
        rtu::encode_request(unit, &req, &mut bytes).unwrap();
        prop_assert_eq!(framed_len(&bytes, |p| rtu::request_len(p).unwrap()), Some(bytes.len()));
        let f = rtu::decode_request(&bytes).unwrap();
        prop_assert_eq!((f.unit, f.pdu), (unit, req));
    }

    #[test]
    fn tcp_requests_round_trip(unit in any::<u8>(), tid in any::<u16>(), req in request()) {
        let header = MbapHeader { transaction_id: tid, unit };
        let mut bytes = Vec::new();
        tcp::encode_request(header, &req, &mut bytes).unwrap();
        prop_assert_eq!(framed_len(&bytes, |p| tcp::frame_len(p).unwrap()), Some(bytes.len()));
        let f = tcp::decode_request(&bytes).unwrap();
        prop_assert_eq!((f.header, f.pdu), (header, req));
    }

    #[test]
    fn rtu_responses_round_trip(unit in any::<u8>(), resp in response()) {
        let mut bytes = Vec::new();
        rtu::encode_response(unit, &resp, &mut bytes).unwrap();
        prop_assert_eq!(framed_len(&bytes, |p| rtu::response_len(p).unwrap()), Some(bytes.len()));
        let f = rtu::decode_response(&bytes).unwrap();
        prop_assert_eq!((f.unit, f.pdu), (unit, padded(&resp)));
    }

    #[test]
    fn tcp_responses_round_trip(unit in any::<u8>(), tid in any::<u16>(), resp in response()) {
        let header = MbapHeader { transaction_id: tid, unit };
        let mut bytes = Vec::new();
        tcp::encode_response(header, &resp, &mut bytes).unwrap();
        prop_assert_eq!(framed_len(&bytes, |p| tcp::frame_len(p).unwrap()), Some(bytes.len()));
        let f = tcp::decode_response(&bytes).unwrap();
        prop_assert_eq!((f.header, f.pdu), (header, padded(&resp)));
    }

    /// The response to a read, encoded by us, parses to the same values in rmodbus, and the
    /// client-side check trims bit reads back to the quantity asked for.
    #[test]
    fn read_responses_agree_with_rmodbus(unit in 1u8..=247, req in request(), seed in any::<u64>()) {
        let mut rng = seed;
        let mut next = move || { rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1); (rng >> 33) as u16 };
        let q = req.quantity();
        let (resp, mut mreq) = (match &req {
            Request::ReadCoils { .. } => Response::ReadCoils((0..q).map(|_| next() & 1 == 1).collect()),
            Request::ReadDiscreteInputs { .. } => Response::ReadDiscreteInputs((0..q).map(|_| next() & 1 == 1).collect()),
            Request::ReadHoldingRegisters { .. } => Response::ReadHoldingRegisters((0..q).map(|_| next()).collect()),
            Request::ReadInputRegisters { .. } => Response::ReadInputRegisters((0..q).map(|_| next()).collect()),
            other => Response::write_echo(other).unwrap(),
        }, ModbusRequest::new(unit, ModbusProto::Rtu));
        rmodbus_state_for(&mut mreq, &req);
        let mut bytes = Vec::new();
        rtu::encode_response(unit, &Ok(resp.clone()), &mut bytes).unwrap();
        match &resp {
            Response::ReadCoils(b) | Response::ReadDiscreteInputs(b) => {
                let mut parsed = Vec::new();
                mreq.parse_bool(&bytes, &mut parsed).unwrap();
                prop_assert_eq!(&parsed, b);
            }
            Response::ReadHoldingRegisters(w) | Response::ReadInputRegisters(w) => {
                let mut parsed = Vec::new();
                mreq.parse_u16(&bytes, &mut parsed).unwrap();
                prop_assert_eq!(&parsed, w);
            }
            _ => mreq.parse_ok(&bytes).unwrap(),
        }
        let decoded = rtu::decode_response(&bytes).unwrap().pdu.unwrap();
        prop_assert_eq!(req.check_response(decoded), Ok(resp));
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = rtu::response_len(&bytes);
        let _ = rtu::request_len(&bytes);
        let _ = rtu::decode_response(&bytes);
        let _ = rtu::decode_request(&bytes);
        let _ = tcp::frame_len(&bytes);
        let _ = tcp::decode_response(&bytes);
        let _ = tcp::decode_request(&bytes);
    }

    /// Arbitrary PDUs behind a valid CRC or MBAP header reach the PDU decoders too.
    #[test]
    fn pdu_decoders_never_panic(unit in any::<u8>(), pdu in prop::collection::vec(any::<u8>(), 0..254)) {
        let mut rtu_frame = vec![unit];
        rtu_frame.extend(&pdu);
        let crc = linevisor_modbus::codec::crc16(&rtu_frame);
        rtu_frame.extend(crc.to_le_bytes());
        let _ = rtu::decode_response(&rtu_frame);
        let _ = rtu::decode_request(&rtu_frame);
        let mut tcp_frame = vec![0, 1, 0, 0];
        tcp_frame.extend(((pdu.len() + 1) as u16).to_be_bytes());
        tcp_frame.push(unit);
        tcp_frame.extend(&pdu);
        let _ = tcp::decode_response(&tcp_frame);
        let _ = tcp::decode_request(&tcp_frame);
    }
}

/// Sets rmodbus' request state (function, count) as its generators do.
fn rmodbus_state_for(m: &mut ModbusRequest, req: &Request) {
    let mut scratch = Vec::new();
    let r = match req {
        Request::ReadCoils { address, quantity } => {
            m.generate_get_coils(*address, *quantity, &mut scratch)
        }
        Request::ReadDiscreteInputs { address, quantity } => {
            m.generate_get_discretes(*address, *quantity, &mut scratch)
        }
        Request::ReadHoldingRegisters { address, quantity } => {
            m.generate_get_holdings(*address, *quantity, &mut scratch)
        }
        Request::ReadInputRegisters { address, quantity } => {
            m.generate_get_inputs(*address, *quantity, &mut scratch)
        }
        Request::WriteSingleCoil { address, value } => {
            m.generate_set_coil(*address, *value, &mut scratch)
        }
        Request::WriteSingleRegister { address, value } => {
            m.generate_set_holding(*address, *value, &mut scratch)
        }
        Request::WriteMultipleCoils { address, values } => {
            m.generate_set_coils_bulk(*address, values, &mut scratch)
        }
        Request::WriteMultipleRegisters { address, values } => {
            m.generate_set_holdings_bulk(*address, values, &mut scratch)
        }
    };
    r.unwrap();
}

#[test]
fn exception_codes_0a_0b_survive_the_wire() {
    for code in [
        ExceptionCode::GatewayPathUnavailable,
        ExceptionCode::GatewayTargetDeviceFailedToRespond,
    ] {
        let pdu = Err(ExceptionResponse { function: 3, code });
        let mut bytes = Vec::new();
        rtu::encode_response(9, &pdu, &mut bytes).unwrap();
        assert_eq!(bytes[2], code.code());
        assert_eq!(rtu::decode_response(&bytes).unwrap().pdu, pdu);
    }
}
