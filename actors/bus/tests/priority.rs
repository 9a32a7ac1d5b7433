//! Commands go ahead of polls: a write queued while polls are pending is the next request on
//! the line. Paused time over an in-memory line.

mod common;

use std::time::Duration;

use common::*;
use linevisor_bus::{BusSpec, ModbusMsg, ReadBlock, Write};
use linevisor_modbus::Request;
use tokio::sync::{mpsc, oneshot};

const GUARD: Duration = Duration::from_secs(30);

#[tokio::test(start_paused = true)]
async fn a_write_queued_behind_pending_polls_is_sent_next() {
    let service = TestService::new(register_map(&[1, 2, 3]));
    let line = DuplexLine::default();
    let mut spec = rtu_spec(115_200);
    spec.response_timeout_ms = 5000;
    let opener = line.opener(service.clone(), 115_200, None);
    let (bus, _join) = spawn(BusSpec::Rtu(spec), opener, unstaggered(100)).await;

    // Unit 1's first poll is held by the device; units 2 and 3 are due meanwhile.
    let (entered, release) = service.hold_next(1);
    let (sink, mut rx) = mpsc::channel(64);
    for unit in 1..=3 {
        attach(&bus, unit, vec![ReadBlock::holding(0, 1)], 100, &sink).await;
    }
    within(GUARD, "unit 1's poll reaching the device", entered)
        .await
        .unwrap();

    // Queue the write through the actor, then a metrics call behind it: when that returns,
    // the write is in the line's queue (same mailbox, in order).
    let (tx, written) = oneshot::channel();
    let write = Write::Single {
        address: 7,
        value: 77,
    };
    bus.actor()
        .unwrap()
        .cast(ModbusMsg::Write {
            unit: 3,
            write,
            reply: tx.into(),
        })
        .unwrap();
    let m = bus.metrics().await.unwrap();
    assert_eq!(m.queued, 1, "the write waits in the queue");
    release.send(()).unwrap();
    within(GUARD, "the write", written)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    for unit in 1..=3 {
        sample_of(&mut rx, unit, GUARD).await;
    }

    let log: Vec<(u8, Request)> = service.log().into_iter().take(4).collect();
    let poll = Request::ReadHoldingRegisters {
        address: 0,
        quantity: 1,
    };
    let write = Request::WriteSingleRegister {
        address: 7,
        value: 77,
    };
    assert_eq!(
        log,
        [(1, poll.clone()), (3, write), (2, poll.clone()), (3, poll)],
        "the write went ahead of the pending polls of units 2 and 3"
    );
}
