//! The bus over a pseudo-terminal pair: the real tokio-serial path. Real time (the kernel
//! moves the bytes), so outcomes are asserted, never durations; timeouts only guard hangs.

mod common;

use std::time::Duration;

use common::*;
use linevisor_bus::{BusEvent, BusSpec, ReadBlock, Write};
use linevisor_modbus::Request;
use linevisor_modbus::server::rtu::{RtuServerConfig, serve};
use tokio::sync::mpsc;
use tokio_serial::SerialStream;

const GUARD: Duration = Duration::from_secs(20);

#[tokio::test]
async fn three_units_on_one_pty_line_are_polled_in_turn_with_the_right_words() {
    let (master, slave) = SerialStream::pair().expect("pseudo-terminal pair");
    let service = TestService::new(register_map(&[1, 2, 3]));
    let server = tokio::spawn(serve(slave, service.clone(), RtuServerConfig::new(115_200)));
    let mut spec = rtu_spec(115_200);
    // Generous: a loaded CI machine must not turn into a false timeout.
    spec.response_timeout_ms = 2000;
    let (bus, _join) = spawn(BusSpec::Rtu(spec), once(master), unstaggered(50)).await;

    let (sink, mut rx) = mpsc::channel(256);
    let blocks = |unit: u8| {
        vec![
            ReadBlock::holding(u16::from(unit), 3),
            ReadBlock::input(5, 2),
            ReadBlock::holding(u16::from(unit) + 3, 2),
        ]
    };
    for unit in 1..=3 {
        attach(&bus, unit, blocks(unit), 250, &sink).await;
    }
    let mut order = Vec::new();
    while order.len() < 9 {
        match next(&mut rx, GUARD, "samples").await {
            BusEvent::Sample(s) => {
                let want: Vec<Vec<u16>> =
                    blocks(s.unit).iter().map(|b| expected(s.unit, b)).collect();
                assert_eq!(s.blocks, want, "unit {}", s.unit);
                assert!(s.completed_at >= s.scheduled_at);
                order.push(s.unit);
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(order, [1, 2, 3, 1, 2, 3, 1, 2, 3], "polled in turn");

    // Adjacent holding blocks go out as one read per cycle, the input block as another.
    let first_round: Vec<(u8, Request)> = service.log().into_iter().take(6).collect();
    let want: Vec<(u8, Request)> = (1..=3u8)
        .flat_map(|u| {
            let address = u16::from(u);
            [
                (
                    u,
                    Request::ReadHoldingRegisters {
                        address,
                        quantity: 5,
                    },
                ),
                (
                    u,
                    Request::ReadInputRegisters {
                        address: 5,
                        quantity: 2,
                    },
                ),
            ]
        })
        .collect();
    assert_eq!(first_round, want);

    let write = Write::Single {
        address: 150,
        value: 4242,
    };
    bus.write(2, write).await.unwrap().unwrap();
    let got = bus
        .read(2, ReadBlock::holding(150, 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, [4242]);

    let m = bus.metrics().await.unwrap();
    assert_eq!(m.counters.timeouts, 0);
    assert_eq!(m.counters.crc_errors, 0);
    assert!(m.counters.samples >= 9);
    assert!(m.utilisation_percent.is_some_and(|u| u > 0.0));

    within(GUARD, "stop", bus.stop()).await.unwrap();
    // The bus closed its end: the server sees EOF or EIO and ends.
    let _ = within(GUARD, "server end", server).await;
}

#[tokio::test]
async fn production_opener_opens_the_configured_port_path_with_its_line_settings() {
    use tokio_serial::SerialPort;
    let (master, slave) = SerialStream::pair().expect("pseudo-terminal pair");
    // The slave stays open (unread) so the master does not see a hang-up before the bus opens
    // the same terminal by its path, as it would open /dev/ttyUSB0.
    let path = slave.name().expect("pty slave path");
    let service = TestService::new(register_map(&[4]));
    let server = tokio::spawn(serve(master, service, RtuServerConfig::new(19_200)));
    let mut spec = rtu_spec(19_200);
    spec.port = path;
    spec.parity = linevisor_config::model::Parity::None;
    spec.stop_bits = 2;
    spec.response_timeout_ms = 2000;
    let args = linevisor_bus::ModbusArgs::production(BusSpec::Rtu(spec)).unwrap();
    let (actor, _join) = ractor::Actor::spawn(None, linevisor_bus::ModbusBus, args)
        .await
        .unwrap();
    let bus = linevisor_bus::ModbusHandle::new("line1", actor);
    let got = within(GUARD, "read", bus.read(4, ReadBlock::input(0, 3))).await;
    assert_eq!(
        got.unwrap().unwrap(),
        [input(4, 0), input(4, 1), input(4, 2)]
    );
    within(GUARD, "stop", bus.stop()).await.unwrap();
    drop(slave);
    let _ = within(GUARD, "server end", server).await;
}
