//! Clean stop and kill: no request left without an answer, no task outliving the actor.

mod common;

use std::time::Duration;

use common::*;
use linevisor_bus::{BusError, BusEvent, BusSpec, ModbusMsg, ReadBlock, Write};
use tokio::sync::{mpsc, oneshot};

const GUARD: Duration = Duration::from_secs(30);

#[tokio::test(start_paused = true)]
async fn stop_finishes_the_transaction_in_flight_refuses_the_queue_and_closes_the_port() {
    let service = TestService::new(register_map(&[1, 2]));
    let line = DuplexLine::default();
    let mut spec = rtu_spec(19_200);
    spec.response_timeout_ms = 5000;
    let opener = line.opener(service.clone(), 19_200, None);
    let (bus, join) = spawn(BusSpec::Rtu(spec), opener, options(100)).await;
    let (sink, mut rx) = mpsc::channel(64);
    attach(&bus, 2, vec![ReadBlock::holding(0, 1)], 100, &sink).await;
    sample_of(&mut rx, 2, GUARD).await;

    let (entered, release) = service.hold_next(1);
    let mut replies = Vec::new();
    for value in 1..=3 {
        let (tx, reply) = oneshot::channel();
        let write = Write::Single { address: 1, value };
        bus.actor()
            .unwrap()
            .cast(ModbusMsg::Write {
                unit: 1,
                write,
                reply: tx.into(),
            })
            .unwrap();
        replies.push(reply);
    }
    within(GUARD, "first write at the device", entered)
        .await
        .unwrap();
    assert_eq!(bus.metrics().await.unwrap().queued, 2);
    let (tx, stopped) = oneshot::channel();
    bus.actor()
        .unwrap()
        .cast(ModbusMsg::Stop(Some(tx.into())))
        .unwrap();
    release.send(()).unwrap();

    let mut replies = replies.into_iter();
    let first = within(GUARD, "write 1", replies.next().unwrap())
        .await
        .unwrap();
    assert_eq!(first.unwrap(), Ok(()), "the write in flight completes");
    for r in replies {
        let e = within(GUARD, "queued write", r).await.unwrap().unwrap_err();
        assert!(matches!(e, BusError::ShuttingDown { .. }), "{e}");
    }
    within(GUARD, "stop reply", stopped).await.unwrap();
    let (_, error) = until(&mut rx, GUARD, "CommLost", |e| match e {
        BusEvent::CommLost { unit: 2, error } => Some(error.clone()),
        _ => None,
    })
    .await;
    assert!(matches!(error, BusError::ShuttingDown { .. }), "{error}");
    within(GUARD, "actor exit", join).await.unwrap();
    // The port is closed: the device side reads EOF.
    let server = line.servers.lock().unwrap().pop().unwrap();
    within(GUARD, "server end", server).await.unwrap().unwrap();
    assert_eq!(
        service.requests_to(1),
        1,
        "queued writes never reached the line"
    );

    let e = bus
        .write(
            1,
            Write::Single {
                address: 1,
                value: 9,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, BusError::Unreachable { .. }), "{e}");
}

#[tokio::test(start_paused = true)]
async fn killing_the_actor_ends_its_line_task() {
    let service = TestService::new(register_map(&[1]));
    let line = DuplexLine::default();
    let opener = line.opener(service, 19_200, None);
    let (bus, join) = spawn(BusSpec::Rtu(rtu_spec(19_200)), opener, options(100)).await;
    let (sink, mut rx) = mpsc::channel(64);
    attach(&bus, 1, vec![ReadBlock::holding(0, 1)], 100, &sink).await;
    sample_of(&mut rx, 1, GUARD).await;

    bus.actor().unwrap().kill();
    within(GUARD, "actor exit", join).await.unwrap();
    // No post_stop on kill, yet the port task ends and closes the port.
    let server = line.servers.lock().unwrap().pop().unwrap();
    within(GUARD, "server end", server).await.unwrap().unwrap();
    let (_, error) = until(&mut rx, GUARD, "CommLost", |e| match e {
        BusEvent::CommLost { error, .. } => Some(error.clone()),
        _ => None,
    })
    .await;
    assert!(matches!(error, BusError::ShuttingDown { .. }), "{error}");
}
