//! A Modbus TCP connection that goes half-open: the peer stops answering without closing it
//! (a rebooted gateway, a cut cable behind a switch). No probe through it can ever succeed, so
//! once every unit on it is demoted the bus drops it and connects again; the units come back
//! on the new connection. Paused time over in-memory connections.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use linevisor_bus::{BusEvent, BusSpec, FnOpener, LinkStream, ReadBlock};
use linevisor_modbus::server::tcp::serve_connection;
use tokio::sync::mpsc;

const GUARD: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn a_half_open_connection_is_dropped_and_the_units_come_back_on_a_new_one() {
    let map = register_map(&[1, 2]);
    // One service per connection, so one connection can fall silent for good.
    let services: Arc<Mutex<Vec<Arc<TestService>>>> = Arc::default();
    let opened = services.clone();
    let opener = Box::new(FnOpener::new("in-memory tcp", move || {
        let service = TestService::new(map.clone());
        opened.lock().unwrap().push(service.clone());
        let (client, server) = tokio::io::duplex(4096);
        tokio::spawn(serve_connection(server, service));
        async move { Ok(Box::new(client) as LinkStream) }
    }));
    let mut spec = tcp_spec("gateway:502".into());
    spec.response_timeout_ms = 50;
    spec.demote_after_timeouts = 2;
    let (bus, _join) = spawn(BusSpec::Tcp(spec), opener, options(100)).await;
    let (sink, mut rx) = mpsc::channel(1024);
    for unit in [1, 2] {
        attach(&bus, unit, vec![ReadBlock::holding(0, 2)], 50, &sink).await;
    }
    sample_of(&mut rx, 2, GUARD).await;

    // The peer goes away without closing: the first connection never answers again.
    for unit in [1, 2] {
        services.lock().unwrap()[0].silence(unit, true);
    }
    let (events, ()) = until(&mut rx, GUARD, "both units restored", {
        let mut restored = Vec::new();
        move |e| {
            if let BusEvent::Restored { unit, .. } = e {
                restored.push(*unit);
            }
            (restored.len() == 2).then_some(())
        }
    })
    .await;
    let demoted = events
        .iter()
        .filter(|e| matches!(e, BusEvent::Demoted { .. }))
        .count();
    let lost = events
        .iter()
        .filter(|e| matches!(e, BusEvent::CommLost { .. }))
        .count();
    assert_eq!((demoted, lost), (2, 2), "{events:?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, BusEvent::CommRestored { .. })),
        "a demoted unit is back when it answers, not when the connection is"
    );
    let s = sample_of(&mut rx, 1, GUARD).await;
    assert_eq!(s.blocks, [vec![holding(1, 0), holding(1, 1)]]);
    assert_eq!(services.lock().unwrap().len(), 2, "one new connection");
    let m = bus.metrics().await.unwrap();
    assert_eq!(m.link_losses, 1);
    assert!(m.link_up);
}
