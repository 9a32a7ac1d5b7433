//! The bus over Modbus TCP on loopback (127.0.0.1:0). Real time: outcomes are asserted,
//! timeouts only guard hangs.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use linevisor_bus::{BusError, BusEvent, BusSpec, ReadBlock, TcpOpener, Write};
use linevisor_modbus::server::tcp::{serve, serve_connection};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

const GUARD: Duration = Duration::from_secs(20);

async fn three_units_over_tcp(max_in_flight: u8) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = TestService::new(register_map(&[1, 2, 3]));
    let server = tokio::spawn(serve(listener, service.clone()));
    let mut spec = tcp_spec(addr.to_string());
    spec.max_in_flight = max_in_flight;
    let opener = Box::new(TcpOpener::from_config(&spec));
    let (bus, _join) = spawn(BusSpec::Tcp(spec), opener, options(50)).await;

    let (sink, mut rx) = mpsc::channel(256);
    let blocks = |unit: u8| {
        vec![
            ReadBlock::holding(10, 4),
            ReadBlock::input(u16::from(unit), 1),
        ]
    };
    for unit in 1..=3 {
        attach(&bus, unit, blocks(unit), 50, &sink).await;
    }
    let mut seen = [0u32; 4];
    while seen[1..].iter().any(|n| *n < 3) {
        match next(&mut rx, GUARD, "samples").await {
            BusEvent::Sample(s) => {
                let want: Vec<Vec<u16>> =
                    blocks(s.unit).iter().map(|b| expected(s.unit, b)).collect();
                assert_eq!(s.blocks, want, "unit {}", s.unit);
                seen[usize::from(s.unit)] += 1;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    let w = Write::Multiple {
        address: 20,
        values: vec![7, 8, 9],
    };
    bus.write(3, w).await.unwrap().unwrap();
    assert_eq!(
        bus.read(3, ReadBlock::holding(20, 3))
            .await
            .unwrap()
            .unwrap(),
        [7, 8, 9]
    );
    // Broadcast has no meaning on TCP: refused, nothing sent.
    let b = bus
        .broadcast(Write::Single {
            address: 0,
            value: 1,
        })
        .await;
    assert!(
        matches!(b, Err(BusError::BroadcastUnsupported { .. })),
        "{b:?}"
    );

    let m = bus.metrics().await.unwrap();
    assert_eq!(m.utilisation_percent, None);
    assert!(m.transactions_per_s > 0.0);
    assert_eq!(m.counters.timeouts, 0);
    within(GUARD, "stop", bus.stop()).await.unwrap();
    server.abort();
}

#[tokio::test]
async fn three_units_over_tcp_loopback_one_in_flight() {
    three_units_over_tcp(1).await;
}

#[tokio::test]
async fn three_units_over_tcp_loopback_pipelined() {
    three_units_over_tcp(4).await;
}

#[tokio::test]
async fn tcp_disconnect_gives_comm_lost_then_reconnect_comm_restored_and_polling_resumes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = TestService::new(register_map(&[1]));
    let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
    let conns = Arc::clone(&connections);
    let svc = service.clone();
    let server = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let t = tokio::spawn(serve_connection(stream, svc.clone()));
            conns.lock().unwrap().push(t.abort_handle());
        }
    });
    let spec = tcp_spec(addr.to_string());
    let opener = Box::new(TcpOpener::from_config(&spec));
    let (bus, _join) = spawn(BusSpec::Tcp(spec), opener, options(50)).await;
    let (sink, mut rx) = mpsc::channel(256);
    attach(&bus, 1, vec![ReadBlock::holding(0, 2)], 50, &sink).await;
    let before = sample_of(&mut rx, 1, GUARD).await;

    // The peer drops the connection.
    connections
        .lock()
        .unwrap()
        .drain(..)
        .for_each(|c| c.abort());
    let (_, lost) = until(&mut rx, GUARD, "CommLost", |e| match e {
        BusEvent::CommLost { error, .. } => Some(error.clone()),
        _ => None,
    })
    .await;
    assert!(matches!(lost, BusError::LinkDown { .. }), "{lost}");
    until(&mut rx, GUARD, "CommRestored", |e| {
        matches!(e, BusEvent::CommRestored { unit: 1 }).then_some(())
    })
    .await;
    let after = sample_of(&mut rx, 1, GUARD).await;
    assert!(after.seq > before.seq);
    assert_eq!(after.blocks, [vec![holding(1, 0), holding(1, 1)]]);

    let m = bus.metrics().await.unwrap();
    assert_eq!(m.link_losses, 1);
    assert!(m.link_up);
    assert_eq!(connections.lock().unwrap().len(), 1, "reconnected once");
    within(GUARD, "stop", bus.stop()).await.unwrap();
    server.abort();
}

/// Direct Modbus TCP devices often answer on unit 255: a TCP bus carries 1–255 (what
/// `linevisor check` allows there), an RTU line 1–247.
#[tokio::test]
async fn a_tcp_bus_reads_unit_255_and_refuses_unit_0() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = TestService::new(register_map(&[255]));
    let server = tokio::spawn(serve(listener, service.clone()));
    let spec = tcp_spec(addr.to_string());
    let opener = Box::new(TcpOpener::from_config(&spec));
    let (bus, _join) = spawn(BusSpec::Tcp(spec), opener, options(50)).await;
    let block = ReadBlock::holding(10, 2);
    let got = within(GUARD, "read of unit 255", bus.read(255, block))
        .await
        .expect("the bus carries unit 255")
        .expect("the device answers");
    assert_eq!(got, expected(255, &block));
    let e = bus.read(0, block).await.unwrap_err();
    assert!(
        matches!(
            e,
            BusError::InvalidUnit {
                unit: 0,
                max: 255,
                ..
            }
        ),
        "{e}"
    );
    server.abort();
}
