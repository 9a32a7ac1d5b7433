//! Modbus TCP client: loopback against the server (real time, outcomes only) and scripted
//! peers over in-memory streams with paused time for every fault kind.

mod common;

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use common::*;
use linevisor_modbus::client::{Attached, Connect};
use linevisor_modbus::server::tcp::{serve, serve_connection};
use linevisor_modbus::{
    Client, Exception, ExceptionCode, LinkError, MbapHeader, Request, Response, Retry, TcpClient,
    TcpConfig,
};
use tokio::io::{AsyncWriteExt, DuplexStream, duplex};
use tokio::net::TcpListener;
use tokio::time::{sleep, timeout};

fn config(retries: u8) -> TcpConfig {
    TcpConfig {
        bus: "test-tcp".into(),
        response_timeout: Duration::from_millis(100),
        retries,
        ..TcpConfig::default()
    }
}

/// Hands out prepared streams (or failures) one connection attempt at a time.
struct Scripted(VecDeque<io::Result<DuplexStream>>);

impl Connect for Scripted {
    type Stream = DuplexStream;
    async fn connect(&mut self) -> io::Result<DuplexStream> {
        self.0
            .pop_front()
            .unwrap_or_else(|| Err(io::Error::new(io::ErrorKind::ConnectionRefused, "refused")))
    }
    fn peer(&self) -> String {
        "scripted".into()
    }
}

#[tokio::test]
async fn loopback_against_the_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(listener, register_map(&[1, 2])));
    let mut cfg = config(0);
    cfg.response_timeout = Duration::from_secs(2);
    let mut c = TcpClient::new(addr, cfg);
    for unit in [1u8, 2] {
        c.write_multiple_registers(unit, 0, &[unit.into(), 2, 3])
            .await
            .unwrap()
            .unwrap();
        let got = c.read_holding_registers(unit, 0, 4).await.unwrap().unwrap();
        assert_eq!(got, [unit.into(), 2, 3, 100 * u16::from(unit) + 3]);
    }
    let full = c.read_holding_registers(1, 0, 64).await.unwrap().unwrap();
    assert_eq!(full.len(), 64);
    let refused = c.read_holding_registers(1, 64, 1).await.unwrap();
    let code = ExceptionCode::IllegalDataAddress;
    assert_eq!(
        refused,
        Err(Exception {
            unit: 1,
            function: 3,
            code
        })
    );
    server.abort();
}

#[tokio::test]
async fn loopback_disconnect_then_reconnect() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let map = register_map(&[1]);
    let server = tokio::spawn(async move {
        // Each of the first two connections answers one request and is then cut.
        for _ in 0..2 {
            let (mut s, _) = listener.accept().await.unwrap();
            let (header, _) = read_tcp_request(&mut s).await;
            s.write_all(&tcp_frame(header, registers(&[11])))
                .await
                .unwrap();
        }
        loop {
            let (s, _) = listener.accept().await.unwrap();
            tokio::spawn(serve_connection(s, map.clone()));
        }
    });
    let mut cfg = config(0);
    cfg.response_timeout = Duration::from_secs(2);
    let mut c = TcpClient::new(addr, cfg.clone());
    assert_eq!(
        c.read_holding_registers(1, 0, 1).await.unwrap().unwrap(),
        [11]
    );
    let e = c.read_holding_registers(1, 0, 1).await.unwrap_err();
    assert!(
        matches!(e, LinkError::Disconnected | LinkError::Io(_)),
        "{e}"
    );
    assert!(!c.is_connected());
    assert_eq!(
        c.read_holding_registers(1, 0, 1).await.unwrap().unwrap(),
        [11],
        "reconnected"
    );

    // With a retry, the loss is invisible to the caller.
    cfg.retries = 1;
    let mut c = TcpClient::new(addr, cfg);
    assert_eq!(
        c.read_holding_registers(1, 0, 1).await.unwrap().unwrap(),
        [100]
    );
    server.abort();
}

#[tokio::test(start_paused = true)]
async fn dropped_response_times_out_and_the_retry_uses_a_new_transaction_id() {
    let (a, mut dev) = duplex(4096);
    let peer = tokio::spawn(async move {
        let (first, _) = read_tcp_request(&mut dev).await; // dropped
        let (second, _) = read_tcp_request(&mut dev).await;
        dev.write_all(&tcp_frame(second, registers(&[9])))
            .await
            .unwrap();
        (first, second, dev)
    });
    let mut c = TcpClient::with_connector(Attached::new(a), config(1));
    assert_eq!(
        c.read_holding_registers(3, 0, 1).await.unwrap().unwrap(),
        [9]
    );
    let (first, second, _dev) = peer.await.unwrap();
    assert_ne!(first.transaction_id, second.transaction_id);

    let (silent, _keep_open) = duplex(64);
    let mut c = TcpClient::with_connector(Attached::new(silent), config(0));
    let e = c.call(3, &read_holding(0, 1)).await.unwrap_err();
    assert!(
        matches!(
            e,
            LinkError::Timeout {
                unit: 3,
                function: 3,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test(start_paused = true)]
async fn late_response_never_poisons_the_next_transaction() {
    let (a, mut dev) = duplex(4096);
    tokio::spawn(async move {
        let (late, _) = read_tcp_request(&mut dev).await;
        let (next, _) = read_tcp_request(&mut dev).await;
        // Same unit, function and count as the answer expected now: only the id tells.
        dev.write_all(&tcp_frame(late, registers(&[1, 1])))
            .await
            .unwrap();
        dev.write_all(&tcp_frame(next, registers(&[2, 2])))
            .await
            .unwrap();
        std::future::pending::<()>().await;
    });
    let mut c = TcpClient::with_connector(Attached::new(a), config(0));
    assert!(
        c.call(1, &read_holding(0, 2))
            .await
            .unwrap_err()
            .is_timeout()
    );
    assert_eq!(
        c.read_holding_registers(1, 0, 2).await.unwrap().unwrap(),
        [2, 2]
    );
}

#[tokio::test(start_paused = true)]
async fn exceptions_and_wrong_answers_are_told_apart() {
    let (a, mut dev) = duplex(4096);
    tokio::spawn(async move {
        for code in [0x02, 0x0A, 0x0B] {
            let (h, _) = read_tcp_request(&mut dev).await;
            dev.write_all(&tcp_frame(h, exception(3, ExceptionCode::from_code(code))))
                .await
                .unwrap();
        }
        let (h, _) = read_tcp_request(&mut dev).await;
        let other_unit = MbapHeader {
            unit: h.unit + 1,
            ..h
        };
        dev.write_all(&tcp_frame(other_unit, registers(&[1])))
            .await
            .unwrap();
        let (h, _) = read_tcp_request(&mut dev).await;
        let coils = Ok(Response::ReadCoils(vec![true]));
        dev.write_all(&tcp_frame(h, coils)).await.unwrap();
        let (h, _) = read_tcp_request(&mut dev).await;
        dev.write_all(&tcp_frame(h, registers(&[1, 2])))
            .await
            .unwrap();
        std::future::pending::<()>().await;
    });
    let mut c = TcpClient::with_connector(Attached::new(a), config(0));
    for code in [0x02, 0x0A, 0x0B] {
        let code = ExceptionCode::from_code(code);
        let r = c.call(5, &read_holding(0, 1)).await.unwrap();
        assert_eq!(
            r,
            Err(Exception {
                unit: 5,
                function: 3,
                code
            })
        );
    }
    let e = c.call(5, &read_holding(0, 1)).await.unwrap_err();
    assert!(
        matches!(
            e,
            LinkError::UnexpectedUnit {
                expected: 5,
                got: 6
            }
        ),
        "{e}"
    );
    let e = c.call(5, &read_holding(0, 1)).await.unwrap_err();
    assert!(
        matches!(
            e,
            LinkError::UnexpectedFunction {
                unit: 5,
                expected: 3,
                got: 1
            }
        ),
        "{e}"
    );
    let e = c.call(5, &read_holding(0, 1)).await.unwrap_err();
    assert!(
        matches!(
            e,
            LinkError::Mismatch {
                unit: 5,
                function: 3,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test(start_paused = true)]
async fn window_of_two_pipelines_and_matches_out_of_order_answers() {
    let (a, mut dev) = duplex(4096);
    let peer = tokio::spawn(async move {
        for _ in 0..2 {
            let (h1, r1) = read_tcp_request(&mut dev).await;
            let (h2, r2) = read_tcp_request(&mut dev).await;
            // Nothing more may arrive while two are in flight.
            let third = timeout(Duration::from_millis(50), read_tcp_request(&mut dev)).await;
            assert!(
                third.is_err(),
                "a third request was sent with a window of 2"
            );
            // Answer in reverse order, each with its own address as the value.
            dev.write_all(&tcp_frame(h2, registers(&[r2.address()])))
                .await
                .unwrap();
            dev.write_all(&tcp_frame(h1, registers(&[r1.address()])))
                .await
                .unwrap();
        }
        dev
    });
    let mut cfg = config(0);
    cfg.window = 2;
    cfg.response_timeout = Duration::from_secs(1);
    let mut c = TcpClient::with_connector(Attached::new(a), cfg);
    let calls: Vec<(u8, Request)> = (10..14).map(|a| (1, read_holding(a, 1))).collect();
    let results = c.call_batch(&calls).await;
    let values: Vec<Vec<u16>> = results
        .into_iter()
        .map(|r| match r.unwrap().unwrap() {
            Response::ReadHoldingRegisters(v) => v,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(values, [[10], [11], [12], [13]]);
    let _dev = peer.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn reconnect_backs_off_exponentially_then_recovers() {
    let (a, b) = duplex(4096);
    tokio::spawn(serve_connection(b, register_map(&[1])));
    let refused = || Err(io::Error::new(io::ErrorKind::ConnectionRefused, "refused"));
    let connector = Scripted(VecDeque::from([refused(), refused(), Ok(a)]));
    let backoff =
        Retry::new(Duration::from_millis(100), Duration::from_secs(5)).with_jitter(0.5, || 0.0);
    let mut c = TcpClient::with_connector(connector, config(0)).with_backoff(backoff);

    let e = c.call(1, &read_holding(0, 1)).await.unwrap_err();
    assert!(matches!(e, LinkError::Connect { .. }), "{e}");
    let e = c.call(1, &read_holding(0, 1)).await.unwrap_err();
    assert!(
        matches!(e, LinkError::NotConnected { retry_in } if retry_in == Duration::from_millis(100)),
        "{e}"
    );
    sleep(Duration::from_millis(100)).await;
    assert!(matches!(
        c.call(1, &read_holding(0, 1)).await,
        Err(LinkError::Connect { .. })
    ));
    let e = c.call(1, &read_holding(0, 1)).await.unwrap_err();
    assert!(
        matches!(e, LinkError::NotConnected { retry_in } if retry_in == Duration::from_millis(200)),
        "{e}"
    );
    sleep(Duration::from_millis(200)).await;
    assert_eq!(
        c.read_holding_registers(1, 0, 1).await.unwrap().unwrap(),
        [100]
    );
}

#[tokio::test(start_paused = true)]
async fn bad_mbap_header_drops_the_connection_and_the_next_call_reconnects() {
    let (a, mut dev) = duplex(4096);
    let (b, srv) = duplex(4096);
    tokio::spawn(serve_connection(srv, register_map(&[1])));
    tokio::spawn(async move {
        let (h, _) = read_tcp_request(&mut dev).await;
        let mut frame = tcp_frame(h, registers(&[1]));
        frame[2] = 0x12; // protocol id
        dev.write_all(&frame).await.unwrap();
        std::future::pending::<()>().await;
    });
    let mut c = TcpClient::with_connector(Scripted(VecDeque::from([Ok(a), Ok(b)])), config(0));
    let e = c.call(1, &read_holding(0, 1)).await.unwrap_err();
    assert!(matches!(&e, LinkError::Framing { unit: 1, .. }), "{e}");
    assert!(!c.is_connected());
    assert_eq!(
        c.read_holding_registers(1, 0, 1).await.unwrap().unwrap(),
        [100]
    );
}
