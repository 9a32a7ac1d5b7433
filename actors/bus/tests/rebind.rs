//! A bus actor that dies and is replaced: the drives' handle is rebound to the new actor, their
//! attachments are made again, and samples flow to the same sinks without the drives doing
//! anything — a bus restart never restarts its drives.

mod common;

use std::time::Duration;

use common::*;
use linevisor_bus::{BusError, BusEvent, BusSpec, ModbusBus, ReadBlock};
use ractor::Actor;
use tokio::sync::mpsc;

const GUARD: Duration = Duration::from_secs(30);

#[tokio::test(start_paused = true)]
async fn rebinding_the_handle_reattaches_every_drive() {
    let service = TestService::new(register_map(&[1, 2]));
    let line = DuplexLine::default();
    let (bus, join) = spawn(
        BusSpec::Rtu(rtu_spec(19_200)),
        line.opener(service.clone(), 19_200, None),
        options(100),
    )
    .await;
    let (sink, mut rx) = mpsc::channel(64);
    attach(&bus, 1, vec![ReadBlock::holding(0, 2)], 100, &sink).await;
    attach(&bus, 2, vec![ReadBlock::holding(5, 1)], 100, &sink).await;
    sample_of(&mut rx, 1, GUARD).await;

    // The bus actor dies (a crash, as far as the drives can tell).
    bus.actor().unwrap().kill();
    join.await.unwrap();
    // The drives see their bus unavailable: comm loss, not a restart of their own.
    until(&mut rx, GUARD, "CommLost", |e| match e {
        BusEvent::CommLost { .. } => Some(()),
        _ => None,
    })
    .await;
    let e = bus.metrics().await.unwrap_err();
    assert!(matches!(e, BusError::Unreachable { .. }), "{e}");

    // Its supervisor starts a new one on a new line and rebinds the drives' handle.
    let args = linevisor_bus::ModbusArgs {
        spec: BusSpec::Rtu(rtu_spec(19_200)),
        opener: line.opener(service, 19_200, None),
        options: options(100),
    };
    let (actor, join) = Actor::spawn(None, ModbusBus, args).await.unwrap();
    bus.rebind(actor).await.unwrap();
    for unit in [1u8, 2] {
        let s = sample_of(&mut rx, unit, GUARD).await;
        let expected = if unit == 1 {
            vec![holding(1, 0), holding(1, 1)]
        } else {
            vec![holding(2, 5)]
        };
        assert_eq!(s.blocks, vec![expected]);
    }
    // A detached unit is not attached again on the next rebind.
    bus.detach(2).unwrap();
    bus.actor().unwrap().kill();
    join.await.unwrap();
    // Whatever the dead actor's line sent before it ended, up to its CommLost, is not news.
    until(&mut rx, GUARD, "CommLost", |e| match e {
        BusEvent::CommLost { .. } => Some(()),
        _ => None,
    })
    .await;
    let args = linevisor_bus::ModbusArgs {
        spec: BusSpec::Rtu(rtu_spec(19_200)),
        opener: line.opener(TestService::new(register_map(&[1, 2])), 19_200, None),
        options: options(100),
    };
    let (actor, _join) = Actor::spawn(None, ModbusBus, args).await.unwrap();
    bus.rebind(actor).await.unwrap();
    while rx.try_recv().is_ok() {}
    let mut unit1 = 0;
    while unit1 < 5 {
        match within(GUARD, "samples after the second rebind", rx.recv()).await {
            Some(BusEvent::Sample(s)) => {
                assert_eq!(s.unit, 1, "unit 2 was detached and must stay detached");
                unit1 += 1;
            }
            Some(_) => {}
            None => panic!("sink closed"),
        }
    }
}
