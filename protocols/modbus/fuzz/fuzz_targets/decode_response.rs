//! Response decoding must never panic, whatever arrives on the wire.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linevisor_modbus::Request;
use linevisor_modbus::codec::{crc16, rtu, tcp};

fuzz_target!(|data: &[u8]| {
    // RTU as the client reads it: length from the first bytes, then the whole frame.
    if let Ok(Some(n)) = rtu::response_len(data) {
        if let Some(frame) = data.get(..n) {
            check(rtu::decode_response(frame).ok().and_then(|f| f.pdu.ok()));
        }
    }
    let _ = rtu::decode_response(data);
    // The same bytes behind a valid CRC, so the PDU decoder sees them.
    let mut framed = data.to_vec();
    framed.extend(crc16(data).to_le_bytes());
    check(rtu::decode_response(&framed).ok().and_then(|f| f.pdu.ok()));
    // TCP: length from the MBAP header.
    if let Ok(Some(n)) = tcp::frame_len(data) {
        if let Some(frame) = data.get(..n) {
            check(tcp::decode_response(frame).ok().and_then(|f| f.pdu.ok()));
        }
    }
});

/// Runs the client-side match against a request of every kind.
fn check(response: Option<linevisor_modbus::Response>) {
    let Some(response) = response else { return };
    let requests = [
        Request::ReadCoils {
            address: 0,
            quantity: 10,
        },
        Request::ReadDiscreteInputs {
            address: 0,
            quantity: 1,
        },
        Request::ReadHoldingRegisters {
            address: 0,
            quantity: 3,
        },
        Request::ReadInputRegisters {
            address: 0,
            quantity: 125,
        },
        Request::WriteSingleCoil {
            address: 1,
            value: true,
        },
        Request::WriteSingleRegister {
            address: 1,
            value: 2,
        },
        Request::WriteMultipleCoils {
            address: 1,
            values: vec![true; 9],
        },
        Request::WriteMultipleRegisters {
            address: 1,
            values: vec![0; 4],
        },
    ];
    for r in requests {
        let _ = r.check_response(response.clone());
    }
}
