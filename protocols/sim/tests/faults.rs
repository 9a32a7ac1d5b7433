//! Every injected fault as a client sees it (a link error kind or an exception code), and the
//! link or drive recovering afterwards. Paused time, in-memory streams.

mod common;

use std::time::Duration;

use common::*;
use linevisor_modbus::{
    CallResult, Client, ExceptionCode, LinkError, RtuClient, RtuConfig, TcpClient, TcpConfig,
};

const TIMEOUT: Duration = Duration::from_millis(100);

fn rtu_client(handle: &linevisor_sim::SimHandle) -> (impl Client, linevisor_sim::ServeTask) {
    let (io, task) = handle.serve_duplex_rtu(115_200);
    let mut config = RtuConfig::new(115_200);
    config.response_timeout = TIMEOUT;
    (RtuClient::new(io, config), task)
}

fn tcp_client(handle: &linevisor_sim::SimHandle) -> impl Client {
    let connector = DuplexConnector {
        handle: handle.clone(),
        tasks: Vec::new(),
    };
    let config = TcpConfig {
        response_timeout: TIMEOUT,
        ..TcpConfig::default()
    };
    TcpClient::with_connector(connector, config)
}

async fn serial(c: &mut impl Client, unit: u8) -> CallResult<Vec<u16>> {
    c.read_holding_registers(unit, 20, 2).await
}

fn expect_timeout<T: std::fmt::Debug>(r: CallResult<T>) {
    match r {
        Err(e) => assert!(e.is_timeout(), "expected a timeout, got {e}"),
        Ok(v) => panic!("expected a timeout, got {v:?}"),
    }
}

/// Calls until one succeeds (at most 5); every failure on the way must be a timeout.
async fn recovers(c: &mut impl Client, unit: u8) -> usize {
    for attempt in 0..5 {
        match serial(c, unit).await {
            Ok(Ok(v)) => {
                assert_eq!(v, [0, 1000 + u16::from(unit)]);
                return attempt;
            }
            Err(e) if e.is_timeout() => {}
            other => panic!("while recovering: {other:?}"),
        }
    }
    panic!("the link did not recover");
}

/// Faults that behave alike on RTU and TCP.
async fn common_faults(handle: &linevisor_sim::SimHandle, c: &mut impl Client) {
    assert_eq!(serial(c, 1).await.unwrap().unwrap(), [0, 1001]);

    // Dropped responses: the write is carried out, its answer is lost.
    handle.drop_responses(1, 2).unwrap();
    expect_timeout(c.write_single_register(1, 100, 500).await);
    expect_timeout(serial(c, 1).await);
    assert_eq!(
        c.read_holding_registers(1, 100, 1).await.unwrap().unwrap(),
        [500]
    );

    // Exception replies: a device answer, the link is healthy; the request is not carried out.
    handle
        .answer_exception(1, ExceptionCode::ServerDeviceBusy, Some(2))
        .unwrap();
    for _ in 0..2 {
        let refused = c
            .write_single_register(1, 100, 900)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            (refused.unit, refused.code),
            (1, ExceptionCode::ServerDeviceBusy)
        );
    }
    assert_eq!(
        c.read_holding_registers(1, 100, 1).await.unwrap().unwrap(),
        [500]
    );
    handle
        .answer_exception(1, ExceptionCode::Other(0x42), None)
        .unwrap();
    let refused = serial(c, 1).await.unwrap().unwrap_err();
    assert_eq!(refused.code, ExceptionCode::Other(0x42));
    handle.clear_exception(1).unwrap();
    assert_eq!(recovers(c, 1).await, 0);

    // Late responses: timeouts, then the link recovers; late answers are never taken for
    // another unit's.
    handle.delay_responses(1, 3 * TIMEOUT).unwrap();
    expect_timeout(serial(c, 1).await);
    handle.delay_responses(1, Duration::ZERO).unwrap();
    recovers(c, 1).await;
    assert_eq!(serial(c, 2).await.unwrap().unwrap(), [0, 1002]);

    // A silent unit times out, its neighbour answers, and it comes back.
    handle.go_silent(1).unwrap();
    expect_timeout(serial(c, 1).await);
    assert_eq!(serial(c, 2).await.unwrap().unwrap(), [0, 1002]);
    handle.come_back(1).unwrap();
    assert_eq!(recovers(c, 1).await, 0);
}

#[tokio::test(start_paused = true)]
async fn link_faults_on_rtu_give_their_errors_and_the_line_recovers() {
    let handle = servo_line(&[1, 2]);
    let (mut c, _task) = rtu_client(&handle);
    common_faults(&handle, &mut c).await;

    handle.corrupt_crc(1, 1).unwrap();
    match serial(&mut c, 1).await {
        Err(LinkError::Crc { unit: 1, .. }) => {}
        other => panic!("expected a CRC error, got {other:?}"),
    }
    assert_eq!(recovers(&mut c, 1).await, 0);
    // An unknown unit on a line: nobody answers.
    expect_timeout(serial(&mut c, 9).await);
}

#[tokio::test(start_paused = true)]
async fn link_faults_on_tcp_give_their_errors_and_the_connection_recovers() {
    let handle = servo_line(&[1, 2]);
    let mut c = tcp_client(&handle);
    common_faults(&handle, &mut c).await;

    // CRC corruption is an RTU fault: TCP answers are untouched.
    handle.corrupt_crc(1, 1).unwrap();
    assert_eq!(serial(&mut c, 1).await.unwrap().unwrap(), [0, 1001]);

    handle.close_tcp_connections();
    match serial(&mut c, 1).await {
        Err(LinkError::Disconnected | LinkError::Io(_)) => {}
        other => panic!("expected a lost connection, got {other:?}"),
    }
    assert_eq!(recovers(&mut c, 1).await, 0, "reconnects at once");
    let refused = serial(&mut c, 9).await.unwrap().unwrap_err();
    assert_eq!(
        refused.code,
        ExceptionCode::GatewayTargetDeviceFailedToRespond
    );
}

#[tokio::test(start_paused = true)]
async fn drive_faults_show_in_the_status_and_a_fault_reset_recovers() {
    let handle = servo_line(&[1]);
    let (mut c, _task) = rtu_client(&handle);
    for cw in [6, 7, 15] {
        c.write_single_register(1, 0, cw).await.unwrap().unwrap();
    }
    for (code, shown) in [(Some(0x7121), 0x7121), (None, 0)] {
        handle.inject_fault(1, code).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let status = c.read_holding_registers(1, 10, 8).await.unwrap().unwrap();
        assert_eq!(status[0] & 0x4F, 0x08, "fault");
        assert_eq!(status[7], shown, "error code");
        c.write_single_register(1, 0, 0x80).await.unwrap().unwrap();
        let status = c.read_holding_registers(1, 10, 8).await.unwrap().unwrap();
        assert_eq!(
            (status[0] & 0x4F, status[7]),
            (0x40, 0),
            "reset to switch on disabled"
        );
        c.write_single_register(1, 0, 0).await.unwrap().unwrap();
    }
    // A persistent fault survives resets until its cause is gone.
    handle.inject_persistent_fault(1, Some(0x4310)).unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    c.write_single_register(1, 0, 0x80).await.unwrap().unwrap();
    assert_eq!(
        c.read_holding_registers(1, 10, 1).await.unwrap().unwrap()[0] & 0x4F,
        0x08
    );
    handle.clear_fault_cause(1).unwrap();
    c.write_single_register(1, 0, 0).await.unwrap().unwrap();
    c.write_single_register(1, 0, 0x80).await.unwrap().unwrap();
    assert_eq!(
        c.read_holding_registers(1, 10, 1).await.unwrap().unwrap()[0] & 0x4F,
        0x40
    );
}

#[tokio::test(start_paused = true)]
async fn unit_replacement_changes_the_serial_number_and_resets_parameters() {
    let handle = servo_line(&[1]);
    let (mut c, _task) = rtu_client(&handle);
    c.write_multiple_registers(1, 100, &[450, 0, 5000])
        .await
        .unwrap()
        .unwrap();
    let before = c.read_holding_registers(1, 100, 3).await.unwrap().unwrap();
    assert_eq!(before, [450, 0, 5000]);
    handle.replace_unit(1, 0x0012_3456).unwrap();
    assert_eq!(serial(&mut c, 1).await.unwrap().unwrap(), [0x0012, 0x3456]);
    let after = c.read_holding_registers(1, 100, 3).await.unwrap().unwrap();
    assert_eq!(
        after,
        [10, 0, 1],
        "factory: 0.1 A and 1 rpm/s (profile minimums)"
    );
    let e = handle.replace_unit(5, 1).unwrap_err();
    assert!(matches!(e, linevisor_sim::SimError::UnknownUnit(5)), "{e}");
}
