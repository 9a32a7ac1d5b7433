//! RTU client and server over a pseudo-terminal pair: the real tokio-serial path. Real time
//! (the kernel moves the bytes), so only outcomes are asserted, never durations.

mod common;

use std::time::Duration;

use common::*;
use linevisor_modbus::server::rtu::{RtuServerConfig, serve};
use linevisor_modbus::{Client, Exception, ExceptionCode, LinkError, RtuClient, RtuConfig};
use tokio_serial::SerialStream;

#[tokio::test]
async fn client_and_server_over_a_pty_pair() {
    let (master, slave) = SerialStream::pair().expect("pseudo-terminal pair");
    let map = register_map(&[1, 2, 3]);
    let server = tokio::spawn(serve(slave, map.clone(), RtuServerConfig::new(115_200)));
    let mut config = RtuConfig::new(115_200);
    // Generous: a loaded 2-core CI machine must not turn into a false timeout.
    config.response_timeout = Duration::from_secs(2);
    let mut c = RtuClient::new(master, config);

    for round in 0..3u16 {
        for unit in 1..=3u8 {
            c.write_single_register(unit, 40, round * 10 + u16::from(unit))
                .await
                .unwrap()
                .unwrap();
        }
        for unit in 1..=3u8 {
            let got = c
                .read_holding_registers(unit, 40, 2)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                got,
                [round * 10 + u16::from(unit), 100 * u16::from(unit) + 41]
            );
        }
    }
    c.write_multiple_coils(2, 5, &[true, false, true])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c.read_coils(2, 4, 4).await.unwrap().unwrap(),
        [false, true, false, true]
    );
    let big = c.read_holding_registers(1, 0, 64).await.unwrap().unwrap();
    assert_eq!(big.len(), 64);

    let refused = c.read_input_registers(3, 63, 2).await.unwrap();
    let code = ExceptionCode::IllegalDataAddress;
    assert_eq!(
        refused,
        Err(Exception {
            unit: 3,
            function: 4,
            code
        })
    );
    server.abort();
}

#[tokio::test]
async fn silent_unit_on_a_pty_times_out_and_its_neighbour_still_answers() {
    let (master, slave) = SerialStream::pair().expect("pseudo-terminal pair");
    let server = tokio::spawn(serve(
        slave,
        register_map(&[1]),
        RtuServerConfig::new(19_200),
    ));
    let mut config = RtuConfig::new(19_200);
    config.response_timeout = Duration::from_millis(500);
    let mut c = RtuClient::new(master, config);
    let e = c.read_holding_registers(7, 0, 1).await.unwrap_err();
    assert!(matches!(e, LinkError::Timeout { unit: 7, .. }), "{e}");
    assert_eq!(
        c.read_holding_registers(1, 0, 1).await.unwrap().unwrap(),
        [100]
    );
    server.abort();
}
