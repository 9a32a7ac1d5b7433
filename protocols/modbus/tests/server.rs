//! Server-side framing: what a slave must answer, and what it must ignore.

mod common;

use std::time::Duration;

use common::*;
use linevisor_modbus::codec::{crc16, rtu, tcp};
use linevisor_modbus::server::rtu::{RtuServerConfig, serve};
use linevisor_modbus::server::tcp::serve_connection;
use linevisor_modbus::{ExceptionCode, ExceptionResponse, MbapHeader};
use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};
use tokio::time::timeout;

fn with_crc(mut frame: Vec<u8>) -> Vec<u8> {
    let crc = crc16(&frame);
    frame.extend(crc.to_le_bytes());
    frame
}

async fn read_rtu_response<T: AsyncReadExt + Unpin>(io: &mut T) -> Vec<u8> {
    let mut buf = vec![0u8; 3];
    io.read_exact(&mut buf).await.unwrap();
    let n = rtu::response_len(&buf).unwrap().unwrap();
    buf.resize(n, 0);
    if n > 3 {
        io.read_exact(&mut buf[3..]).await.unwrap();
    }
    buf
}

#[tokio::test(start_paused = true)]
async fn rtu_server_answers_unknown_functions_and_ignores_bad_crc_and_broadcast_replies() {
    let (mut master, slave) = duplex(1024);
    let map = register_map(&[1]);
    tokio::spawn(serve(slave, map.clone(), RtuServerConfig::new(9_600)));

    // Read device identification (0x2B/0x0E) is not ours: framed by silence, refused with 0x01.
    master
        .write_all(&with_crc(vec![1, 0x2B, 0x0E, 0x01, 0x00]))
        .await
        .unwrap();
    let answer = rtu::decode_response(&read_rtu_response(&mut master).await).unwrap();
    let refused = ExceptionResponse {
        function: 0x2B,
        code: ExceptionCode::IllegalFunction,
    };
    assert_eq!((answer.unit, answer.pdu), (1, Err(refused)));

    // A bad CRC gets no answer at all (a slave must stay silent).
    let mut bad = with_crc(vec![1, 0x03, 0, 0, 0, 1]);
    bad[7] ^= 1;
    master.write_all(&bad).await.unwrap();
    let mut byte = [0u8; 1];
    assert!(
        timeout(Duration::from_millis(200), master.read(&mut byte))
            .await
            .is_err()
    );

    // Nor does a broadcast, though it is carried out.
    master
        .write_all(&with_crc(vec![0, 0x06, 0, 9, 0x12, 0x34]))
        .await
        .unwrap();
    assert!(
        timeout(Duration::from_millis(200), master.read(&mut byte))
            .await
            .is_err()
    );
    assert_eq!(map.with_memory(1, |m| m.holding_registers[9]), Some(0x1234));

    // A quantity beyond the limit is refused with 0x03.
    master
        .write_all(&with_crc(vec![1, 0x03, 0, 0, 0, 126]))
        .await
        .unwrap();
    let answer = rtu::decode_response(&read_rtu_response(&mut master).await).unwrap();
    let refused = ExceptionResponse {
        function: 3,
        code: ExceptionCode::IllegalDataValue,
    };
    assert_eq!(answer.pdu, Err(refused));
}

#[tokio::test(start_paused = true)]
async fn tcp_server_copies_the_transaction_id_and_closes_on_a_bad_header() {
    let (mut client, server) = duplex(1024);
    tokio::spawn(serve_connection(server, register_map(&[1])));
    let header = MbapHeader {
        transaction_id: 0xCAFE,
        unit: 1,
    };
    let mut req = Vec::new();
    tcp::encode_request(header, &read_holding(2, 1), &mut req).unwrap();
    client.write_all(&req).await.unwrap();
    let mut buf = vec![0u8; 11];
    client.read_exact(&mut buf).await.unwrap();
    let answer = tcp::decode_response(&buf).unwrap();
    assert_eq!((answer.header, answer.pdu), (header, registers(&[102])));

    req[2] = 1; // protocol id 0x0100
    client.write_all(&req).await.unwrap();
    let mut rest = Vec::new();
    assert_eq!(
        client.read_to_end(&mut rest).await.unwrap(),
        0,
        "closed without an answer"
    );
}
