//! A linevisor-modbus client against the simulator over a pseudo-terminal pair (the real
//! tokio-serial path), TCP loopback and in-memory streams.

mod common;

use std::time::Duration;

use common::*;
use linevisor_modbus::{
    Client, Exception, ExceptionCode, RtuClient, RtuConfig, TcpClient, TcpConfig,
};

/// Statusword & 0x6F of the sim servo (register 10).
async fn state_bits(c: &mut impl Client, unit: u8) -> u16 {
    c.read_holding_registers(unit, 10, 1)
        .await
        .unwrap()
        .unwrap()[0]
        & 0x6F
}

#[tokio::test]
async fn rtu_client_reads_and_writes_three_units_over_a_pty_pair() {
    let handle = servo_line(&[1, 2, 3]);
    let mut pty = handle.serve_pty(115_200).unwrap();
    assert!(pty.path.starts_with("/dev/"), "{:?}", pty.path);
    let mut config = RtuConfig::new(115_200);
    // Generous: a loaded 2-core machine must not turn into a false timeout.
    config.response_timeout = Duration::from_secs(2);
    let mut c = RtuClient::new(pty.far_end.take().unwrap(), config);
    for unit in 1..=3u8 {
        let serial = c
            .read_holding_registers(unit, 20, 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(serial, [0, 1000 + u16::from(unit)]);
    }
    for (cw, bits) in [(6, 0x21), (7, 0x23), (15, 0x27)] {
        c.write_single_register(2, 0, cw).await.unwrap().unwrap();
        assert_eq!(state_bits(&mut c, 2).await, bits, "controlword {cw}");
    }
    assert_eq!(
        state_bits(&mut c, 1).await,
        0x40 & 0x6F,
        "neighbours untouched"
    );
    c.write_multiple_registers(2, 100, &[600])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c.read_holding_registers(2, 100, 1).await.unwrap().unwrap(),
        [600]
    );
    let quick = linevisor_modbus::CallOptions {
        response_timeout: Duration::from_millis(200),
        retries: 0,
    };
    let read = linevisor_modbus::Request::ReadHoldingRegisters {
        address: 10,
        quantity: 1,
    };
    let e = c.call_with(7, &read, quick).await.unwrap_err();
    assert!(e.is_timeout(), "unknown unit on RTU: silence, got {e}");
}

#[tokio::test]
async fn tcp_client_over_loopback_and_unknown_unit_gets_0x0b() {
    let handle = servo_line(&[1, 2]);
    let ep = handle
        .serve_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    assert_ne!(ep.address.port(), 0);
    let config = TcpConfig {
        response_timeout: Duration::from_secs(2),
        ..TcpConfig::default()
    };
    let mut c = TcpClient::new(ep.address, config);
    c.write_single_register(1, 0, 6).await.unwrap().unwrap();
    assert_eq!(state_bits(&mut c, 1).await, 0x21);
    assert_eq!(
        c.read_holding_registers(2, 20, 2).await.unwrap().unwrap(),
        [0, 1002]
    );
    let refused = c.read_holding_registers(9, 10, 1).await.unwrap();
    assert_eq!(
        refused,
        Err(Exception {
            unit: 9,
            function: 3,
            code: ExceptionCode::GatewayTargetDeviceFailedToRespond
        })
    );
    let refused = c.write_single_register(1, 10, 1).await.unwrap();
    assert_eq!(
        refused.unwrap_err().code,
        ExceptionCode::IllegalDataAddress,
        "read-only statusword"
    );
}

#[tokio::test(start_paused = true)]
async fn enable_sequence_then_a_velocity_setpoint_ramps_the_actual_velocity() {
    let handle = servo_line(&[1]);
    let (io, _task) = handle.serve_duplex_rtu(115_200);
    let mut c = RtuClient::new(io, RtuConfig::new(115_200));
    assert_eq!(
        state_bits(&mut c, 1).await,
        0x40,
        "switch on disabled after power-up"
    );
    for cw in [6, 7, 15] {
        c.write_single_register(1, 0, cw).await.unwrap().unwrap();
    }
    assert_eq!(state_bits(&mut c, 1).await, 0x27);
    // Profile velocity mode, 300.0 rpm: the default ramp is 1000 rpm/s.
    c.write_multiple_registers(1, 1, &[3, 0, 3000])
        .await
        .unwrap()
        .unwrap();
    let velocity = |w: &[u16]| f64::from((u32::from(w[0]) << 16 | u32::from(w[1])) as i32) * 0.1;
    let t0 = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let v1 = velocity(&c.read_holding_registers(1, 12, 2).await.unwrap().unwrap());
    let dt = t0.elapsed().as_secs_f64();
    assert!(v1 > 0.0 && v1 < 300.0, "ramping: {v1} rpm after {dt} s");
    assert!(
        (v1 - 1000.0 * dt).abs() < 5.0,
        "1000 rpm/s: {v1} rpm after {dt} s"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let v2 = velocity(&c.read_holding_registers(1, 12, 2).await.unwrap().unwrap());
    assert_eq!(v2, 300.0);
    let position = handle.with_drive(1, |d| d.position()).unwrap();
    assert!(position > 100.0, "position integrates: {position}");
}
