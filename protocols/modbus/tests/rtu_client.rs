//! RTU client behaviour over in-memory streams with paused time: the timing rules of
//! protocols.md §2.2 and every fault kind.

mod common;

use std::time::Duration;

use common::*;
use linevisor_modbus::server::rtu::{RtuServerConfig, serve};
use linevisor_modbus::timing::RtuTiming;
use linevisor_modbus::{
    CallOptions, Client, Exception, ExceptionCode, FrameError, LinkError, Request, Response,
    RtuClient, RtuConfig,
};
use tokio::io::{AsyncWriteExt, DuplexStream, duplex};
use tokio::time::{Instant, sleep_until};

const BAUD: u32 = 9_600;
const TIMEOUT: Duration = Duration::from_millis(100);

fn client(io: DuplexStream, retries: u8) -> RtuClient<DuplexStream> {
    let mut config = RtuConfig::new(BAUD);
    config.bus = "test-rtu".into();
    config.response_timeout = TIMEOUT;
    config.retries = retries;
    RtuClient::new(io, config)
}

fn t35() -> Duration {
    RtuTiming::from_baud(BAUD).t35
}

#[tokio::test(start_paused = true)]
async fn three_units_on_one_line_read_write_and_refuse() {
    let (a, b) = duplex(1024);
    let map = register_map(&[1, 2, 3]);
    tokio::spawn(serve(b, map.clone(), RtuServerConfig::new(BAUD)));
    let mut c = client(a, 0);
    for unit in 1..=3u8 {
        let regs = c.read_holding_registers(unit, 4, 3).await.unwrap().unwrap();
        let base = 100 * u16::from(unit);
        assert_eq!(regs, [base + 4, base + 5, base + 6]);
    }
    c.write_multiple_registers(2, 10, &[7, 8, 9])
        .await
        .unwrap()
        .unwrap();
    c.write_single_coil(2, 3, true).await.unwrap().unwrap();
    assert_eq!(
        c.read_holding_registers(2, 10, 3).await.unwrap().unwrap(),
        [7, 8, 9]
    );
    assert_eq!(
        c.read_coils(2, 0, 5).await.unwrap().unwrap(),
        [false, false, false, true, false]
    );
    assert_eq!(
        map.with_memory(1, |m| m.holding_registers[10]),
        Some(110),
        "unit 1 untouched"
    );
    let refused = c.read_holding_registers(3, 60, 10).await.unwrap();
    let code = ExceptionCode::IllegalDataAddress;
    assert_eq!(
        refused,
        Err(Exception {
            unit: 3,
            function: 3,
            code
        })
    );
    let silent = c.read_holding_registers(9, 0, 1).await.unwrap_err();
    assert!(
        matches!(
            silent,
            LinkError::Timeout {
                unit: 9,
                function: 3,
                ..
            }
        ),
        "{silent}"
    );
}

#[tokio::test(start_paused = true)]
async fn waits_t35_after_sent_complete_and_after_the_last_byte_seen() {
    let (a, mut dev) = duplex(1024);
    let start = Instant::now();
    let peer = tokio::spawn(async move {
        let mut arrivals = Vec::new();
        for _ in 0..2 {
            let (unit, _) = read_rtu_request(&mut dev).await;
            arrivals.push(Instant::now());
            dev.write_all(&rtu_frame(unit, registers(&[1])))
                .await
                .unwrap();
        }
        arrivals
    });
    let mut c = client(a, 0);
    c.call(1, &read_holding(0, 1)).await.unwrap().unwrap();
    c.call(1, &read_holding(0, 1)).await.unwrap().unwrap();
    let arrivals = peer.await.unwrap();
    let timing = RtuTiming::from_baud(BAUD);
    // The line counts as busy when the client starts.
    assert!(arrivals[0] - start >= t35());
    // The device answered at once, before the request's 8 characters could have left the
    // wire: the next transmit counts from sent-complete, not from the write call.
    let gap = arrivals[1] - arrivals[0];
    assert!(gap >= timing.frame_time(8) + t35(), "gap {gap:?}");
}

#[tokio::test(start_paused = true)]
async fn dropped_response_times_out_then_a_retry_succeeds() {
    let (a, mut dev) = duplex(1024);
    tokio::spawn(async move {
        read_rtu_request(&mut dev).await; // dropped
        let (unit, _) = read_rtu_request(&mut dev).await;
        dev.write_all(&rtu_frame(unit, registers(&[42])))
            .await
            .unwrap();
        read_rtu_request(&mut dev).await; // dropped, no retry left
        std::future::pending::<()>().await; // keep the line open
    });
    let mut c = client(a, 1);
    let t0 = Instant::now();
    assert_eq!(
        c.read_holding_registers(5, 0, 1).await.unwrap().unwrap(),
        [42]
    );
    assert!(
        Instant::now() - t0 >= TIMEOUT,
        "the first attempt waited its timeout"
    );
    // Per-call options override the line's: no retry this time.
    let once = CallOptions {
        response_timeout: TIMEOUT,
        retries: 0,
    };
    let e = c.call_with(5, &read_holding(0, 1), once).await.unwrap_err();
    assert!(
        matches!(
            e,
            LinkError::Timeout {
                unit: 5,
                function: 3,
                timeout: TIMEOUT
            }
        ),
        "{e}"
    );
    assert!(e.is_timeout() && e.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn corrupted_crc_is_a_crc_error_with_both_values() {
    let (a, mut dev) = duplex(1024);
    tokio::spawn(async move {
        let (unit, _) = read_rtu_request(&mut dev).await;
        let mut frame = rtu_frame(unit, registers(&[1, 2]));
        let n = frame.len();
        frame[n - 1] ^= 0xFF;
        dev.write_all(&frame).await.unwrap();
    });
    let mut c = client(a, 0);
    let e = c.call(7, &read_holding(0, 2)).await.unwrap_err();
    let good = rtu_frame(7, registers(&[1, 2]));
    let n = good.len();
    let expected = u16::from_le_bytes([good[n - 2], good[n - 1]]);
    match e {
        LinkError::Crc {
            unit: 7,
            expected: e,
            got,
        } => {
            assert_eq!(e, expected);
            assert_eq!(got, expected ^ 0xFF00);
        }
        other => panic!("expected a CRC error, got {other}"),
    }
}

#[tokio::test(start_paused = true)]
async fn exception_replies_are_device_answers_with_their_code() {
    let codes = [
        ExceptionCode::IllegalDataAddress,
        ExceptionCode::ServerDeviceBusy,
        ExceptionCode::GatewayPathUnavailable,
        ExceptionCode::GatewayTargetDeviceFailedToRespond,
    ];
    let (a, mut dev) = duplex(1024);
    tokio::spawn(async move {
        for code in codes {
            let (unit, req) = read_rtu_request(&mut dev).await;
            dev.write_all(&rtu_frame(unit, exception(req.function(), code)))
                .await
                .unwrap();
        }
    });
    let mut c = client(a, 3);
    for code in codes {
        let answer = c
            .call(
                4,
                &Request::WriteSingleRegister {
                    address: 1,
                    value: 2,
                },
            )
            .await;
        assert_eq!(
            answer.unwrap(),
            Err(Exception {
                unit: 4,
                function: 6,
                code
            })
        );
    }
}

#[tokio::test(start_paused = true)]
async fn late_response_during_the_next_transaction_is_discarded() {
    let (a, mut dev) = duplex(1024);
    tokio::spawn(async move {
        read_rtu_request(&mut dev).await; // answered too late, see below
        let (unit, _) = read_rtu_request(&mut dev).await;
        // The late answer to the first request (2 registers), then a stray one from unit 9,
        // then the real answer (3 registers).
        dev.write_all(&rtu_frame(unit, registers(&[1, 2])))
            .await
            .unwrap();
        dev.write_all(&rtu_frame(9, registers(&[5, 5, 5])))
            .await
            .unwrap();
        dev.write_all(&rtu_frame(unit, registers(&[7, 8, 9])))
            .await
            .unwrap();
    });
    let mut c = client(a, 0);
    assert!(
        c.call(1, &read_holding(0, 2))
            .await
            .unwrap_err()
            .is_timeout()
    );
    let r = c.call(1, &read_holding(0, 3)).await.unwrap().unwrap();
    assert_eq!(r, Response::ReadHoldingRegisters(vec![7, 8, 9]));
}

#[tokio::test(start_paused = true)]
async fn late_response_between_transactions_is_drained_before_sending() {
    let (a, mut dev) = duplex(1024);
    tokio::spawn(async move {
        let (unit, _) = read_rtu_request(&mut dev).await;
        let sent = Instant::now();
        // Arrives after the client gave up (timeout counted from sent-complete), inside the
        // t3.5 it then waits.
        sleep_until(sent + RtuTiming::from_baud(BAUD).frame_time(8) + TIMEOUT + t35() / 2).await;
        dev.write_all(&rtu_frame(unit, registers(&[1, 2, 3])))
            .await
            .unwrap();
        let (unit, req) = read_rtu_request(&mut dev).await;
        assert_eq!(req, read_holding(0, 3));
        dev.write_all(&rtu_frame(unit, registers(&[4, 5, 6])))
            .await
            .unwrap();
    });
    let mut c = client(a, 0);
    assert!(
        c.call(1, &read_holding(0, 3))
            .await
            .unwrap_err()
            .is_timeout()
    );
    let r = c.call(1, &read_holding(0, 3)).await.unwrap().unwrap();
    assert_eq!(
        r,
        Response::ReadHoldingRegisters(vec![4, 5, 6]),
        "the stale 1,2,3 was drained"
    );
}

#[tokio::test(start_paused = true)]
async fn truncated_and_garbage_frames_are_framing_errors_and_the_line_recovers() {
    let (a, mut dev) = duplex(1024);
    tokio::spawn(async move {
        let (unit, _) = read_rtu_request(&mut dev).await;
        let frame = rtu_frame(unit, registers(&[1, 2]));
        dev.write_all(&frame[..5]).await.unwrap(); // then silence
        let (unit, _) = read_rtu_request(&mut dev).await;
        dev.write_all(&[unit, 0x42, 0x00, 0x01, 0x02, 0x03])
            .await
            .unwrap();
        let (unit, _) = read_rtu_request(&mut dev).await;
        dev.write_all(&rtu_frame(unit, registers(&[3, 4])))
            .await
            .unwrap();
    });
    let mut c = client(a, 0);
    let e = c.call(2, &read_holding(0, 2)).await.unwrap_err();
    let truncated = FrameError::Truncated { needed: 9, got: 5 };
    assert!(
        matches!(&e, LinkError::Framing { unit: 2, source } if *source == truncated),
        "{e}"
    );
    let e = c.call(2, &read_holding(0, 2)).await.unwrap_err();
    let garbage = FrameError::UnsupportedFunction(0x42);
    assert!(
        matches!(&e, LinkError::Framing { unit: 2, source } if *source == garbage),
        "{e}"
    );
    assert_eq!(
        c.read_holding_registers(2, 0, 2).await.unwrap().unwrap(),
        [3, 4]
    );
}

#[tokio::test(start_paused = true)]
async fn broadcast_gets_no_reply_and_waits_the_turnaround() {
    let (a, b) = duplex(1024);
    let map = register_map(&[1, 2, 3]);
    tokio::spawn(serve(b, map.clone(), RtuServerConfig::new(BAUD)));
    let mut c = client(a, 0);
    let t0 = Instant::now();
    c.broadcast(&Request::WriteSingleRegister {
        address: 20,
        value: 0xABCD,
    })
    .await
    .unwrap();
    assert!(Instant::now() - t0 >= c.config().broadcast_turnaround);
    for unit in 1..=3 {
        assert_eq!(
            c.read_holding_registers(unit, 20, 1)
                .await
                .unwrap()
                .unwrap(),
            [0xABCD]
        );
    }
    let read = c.broadcast(&read_holding(0, 1)).await.unwrap_err();
    assert!(matches!(
        read,
        LinkError::InvalidRequest {
            unit: 0,
            source: FrameError::Broadcast { function: 3 }
        }
    ));
    let via_call = c.call(0, &read_holding(0, 1)).await.unwrap_err();
    assert!(matches!(
        via_call,
        LinkError::InvalidRequest { unit: 0, .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn local_echo_is_read_back_and_discarded() {
    let (a, b) = duplex(1024);
    tokio::spawn(serve(b, register_map(&[1]), RtuServerConfig::new(BAUD)));
    let mut config = RtuConfig::new(BAUD);
    config.local_echo = true;
    let mut c = RtuClient::new(Echo::new(a), config);
    c.write_single_register(1, 3, 33).await.unwrap().unwrap();
    assert_eq!(
        c.read_holding_registers(1, 3, 1).await.unwrap().unwrap(),
        [33]
    );

    // Echo suppression on an adapter that does not echo: a clear error, not a hang.
    let (a, b) = duplex(1024);
    tokio::spawn(serve(b, register_map(&[1]), RtuServerConfig::new(BAUD)));
    let mut config = RtuConfig::new(BAUD);
    config.local_echo = true;
    let mut c = RtuClient::new(a, config);
    let e = c.call(1, &read_holding(0, 1)).await.unwrap_err();
    assert!(matches!(e, LinkError::Echo { unit: 1, sent: 8 }), "{e}");
}

#[tokio::test(start_paused = true)]
async fn closed_line_is_a_link_fault_not_a_hang() {
    let (a, dev) = duplex(1024);
    drop(dev);
    let mut c = client(a, 2);
    let e = c.call(1, &read_holding(0, 1)).await.unwrap_err();
    assert!(
        matches!(e, LinkError::Disconnected | LinkError::Io(_)),
        "{e}"
    );
}
