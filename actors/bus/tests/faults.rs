//! Injected faults, each with its error kind and its recovery. Paused time over in-memory
//! RTU lines (the TCP disconnect is in `tcp.rs`).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use linevisor_bus::{BusError, BusEvent, BusSpec, CycleFault, ModbusHandle, ReadBlock, Write};
use linevisor_config::model::ModbusRtuBus;
use linevisor_modbus::{Exception, ExceptionCode, LinkError};
use tokio::sync::mpsc;
use tokio::time::Instant;

const GUARD: Duration = Duration::from_secs(60);

async fn line_with(
    spec: ModbusRtuBus,
    service: Arc<TestService>,
    corrupt: Option<Arc<AtomicU32>>,
) -> (ModbusHandle, DuplexLine) {
    let line = DuplexLine::default();
    let opener = line.opener(service, spec.baud, corrupt);
    let (bus, _join) = spawn(BusSpec::Rtu(spec), opener, options(100)).await;
    (bus, line)
}

async fn unit_counters(bus: &ModbusHandle, unit: u8) -> linevisor_bus::Counters {
    let m = bus.metrics().await.unwrap();
    m.units
        .into_iter()
        .find(|u| u.unit == unit)
        .unwrap()
        .counters
}

#[tokio::test(start_paused = true)]
async fn dropped_response_times_out_then_the_retry_succeeds() {
    let service = TestService::new(register_map(&[1]));
    let mut spec = rtu_spec(19_200);
    spec.retries = 1;
    let (bus, _line) = line_with(spec, service.clone(), None).await;
    service.drop_responses(1, 1);
    let got = bus
        .read(1, ReadBlock::holding(3, 2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, [holding(1, 3), holding(1, 4)]);
    assert_eq!(service.requests_to(1), 2, "sent, lost, resent");
    let c = unit_counters(&bus, 1).await;
    assert_eq!((c.transactions, c.timeouts, c.demotions), (2, 1, 0));

    // Without a retry left, the timeout reaches the caller as a link fault.
    service.drop_responses(1, 2);
    let e = bus.read(1, ReadBlock::holding(0, 1)).await.unwrap_err();
    assert!(e.is_timeout(), "{e}");
}

#[tokio::test(start_paused = true)]
async fn corrupted_crc_is_a_counted_crc_error_and_the_line_recovers() {
    let service = TestService::new(register_map(&[1]));
    let corrupt = Arc::new(AtomicU32::new(0));
    let (bus, _line) = line_with(rtu_spec(19_200), service, Some(corrupt.clone())).await;
    corrupt.store(1, Ordering::SeqCst);
    let e = bus.read(1, ReadBlock::holding(0, 2)).await.unwrap_err();
    assert!(
        matches!(
            e,
            BusError::Link {
                source: LinkError::Crc { unit: 1, .. },
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        bus.read(1, ReadBlock::holding(0, 1))
            .await
            .unwrap()
            .unwrap(),
        [100]
    );
    let c = unit_counters(&bus, 1).await;
    assert_eq!((c.crc_errors, c.timeouts, c.transactions), (1, 0, 2));
}

#[tokio::test(start_paused = true)]
async fn exception_goes_to_the_requester_and_is_not_a_link_fault() {
    let service = TestService::new(register_map(&[1]));
    let mut spec = rtu_spec(19_200);
    spec.demote_after_timeouts = 1;
    let (bus, _line) = line_with(spec, service, None).await;
    let r = bus
        .write(
            1,
            Write::Single {
                address: 500,
                value: 1,
            },
        )
        .await;
    let code = ExceptionCode::IllegalDataAddress;
    assert_eq!(
        r.unwrap(),
        Err(Exception {
            unit: 1,
            function: 6,
            code
        })
    );

    // A poll the device refuses is the drive's business too.
    let (sink, mut rx) = mpsc::channel(16);
    attach(&bus, 1, vec![ReadBlock::input(190, 20)], 100, &sink).await;
    match next(&mut rx, GUARD, "the refused cycle").await {
        BusEvent::CycleFailed {
            unit: 1,
            seq: 0,
            error: CycleFault::Device(e),
        } => {
            assert_eq!(e.code, u32::from(code.code()));
        }
        other => panic!("{other:?}"),
    }
    let m = bus.metrics().await.unwrap();
    assert_eq!(m.counters.exceptions, 2);
    assert_eq!(
        (m.counters.timeouts, m.counters.crc_errors, m.link_losses),
        (0, 0, 0)
    );
    assert!(!m.units[0].demoted);
    bus.write(
        1,
        Write::Single {
            address: 5,
            value: 1,
        },
    )
    .await
    .unwrap()
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn port_absent_at_start_is_reopened_with_backoff_and_drives_see_comm_restored() {
    let service = TestService::new(register_map(&[1]));
    let line = DuplexLine::default();
    *line.fail_next.lock().unwrap() = 3;
    let opener = line.opener(service, 19_200, None);
    let (bus, _join) = spawn(BusSpec::Rtu(rtu_spec(19_200)), opener, options(100)).await;
    let (sink, mut rx) = mpsc::channel(16);
    attach(&bus, 1, vec![ReadBlock::holding(0, 1)], 50, &sink).await;
    match next(&mut rx, GUARD, "CommLost").await {
        BusEvent::CommLost {
            unit: 1,
            error: BusError::LinkDown { reason, .. },
        } => {
            assert!(reason.contains("no such port"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Requests while down fail at once.
    let e = bus.read(1, ReadBlock::holding(0, 1)).await.unwrap_err();
    assert!(matches!(e, BusError::LinkDown { .. }), "{e}");
    assert!(matches!(
        next(&mut rx, GUARD, "CommRestored").await,
        BusEvent::CommRestored { unit: 1 }
    ));
    sample_of(&mut rx, 1, GUARD).await;

    let at = line.attempts.lock().unwrap().clone();
    let gaps: Vec<u128> = at.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect();
    assert_eq!(gaps, [100, 200, 400], "exponential backoff, no jitter");
    let m = bus.metrics().await.unwrap();
    assert_eq!((m.open_failures, m.link_losses), (3, 0));
}

#[tokio::test(start_paused = true)]
async fn port_unplugged_and_back_reopens_and_polling_resumes() {
    let service = TestService::new(register_map(&[1, 2]));
    let (bus, line) = line_with(rtu_spec(19_200), service, None).await;
    let (sink, mut rx) = mpsc::channel(64);
    for unit in [1, 2] {
        attach(&bus, unit, vec![ReadBlock::holding(0, 1)], 50, &sink).await;
    }
    sample_of(&mut rx, 2, GUARD).await;
    *line.fail_next.lock().unwrap() = 2;
    line.unplug();
    let (_, lost) = until(&mut rx, GUARD, "CommLost", |e| match e {
        BusEvent::CommLost { .. } => Some(Instant::now()),
        _ => None,
    })
    .await;
    let (events, back) = until(&mut rx, GUARD, "CommRestored for both", {
        let mut restored = 0;
        move |e| {
            restored += usize::from(matches!(e, BusEvent::CommRestored { .. }));
            (restored == 2).then(Instant::now)
        }
    })
    .await;
    assert!(
        !events.iter().any(|e| matches!(e, BusEvent::Sample(_))),
        "no data while down"
    );
    // Attempts after 100 ms and 200 ms more fail; the third, 400 ms later, opens.
    assert_eq!((back - lost).as_millis(), 700);
    let s = sample_of(&mut rx, 1, GUARD).await;
    assert_eq!(s.blocks, [vec![holding(1, 0)]]);
    let m = bus.metrics().await.unwrap();
    assert_eq!((m.link_losses, m.open_failures), (1, 2));
    assert!(m.link_up);
}

#[tokio::test(start_paused = true)]
async fn a_full_sink_is_an_overrun_and_never_holds_the_line() {
    let service = TestService::new(register_map(&[1, 2]));
    let (bus, _line) = line_with(rtu_spec(19_200), service, None).await;
    let (slow, _never_read) = mpsc::channel(1);
    let (sink, mut rx) = mpsc::channel(64);
    attach(&bus, 1, vec![ReadBlock::holding(0, 1)], 50, &slow).await;
    attach(&bus, 2, vec![ReadBlock::holding(0, 1)], 50, &sink).await;
    for _ in 0..10 {
        sample_of(&mut rx, 2, GUARD).await;
    }
    let c = unit_counters(&bus, 1).await;
    assert!(c.overruns >= 8, "{c:?}");
    assert_eq!(c.samples, c.overruns + 1, "one fitted in the sink");

    // A dropped receiver detaches its unit at its next cycle (both run every 50 ms).
    drop(_never_read);
    for _ in 0..2 {
        sample_of(&mut rx, 2, GUARD).await;
    }
    assert!(!bus.metrics().await.unwrap().units[0].attached);
}

#[tokio::test(start_paused = true)]
async fn broadcast_reaches_every_unit_without_an_answer() {
    let map = register_map(&[1, 2]);
    let service = TestService::new(map.clone());
    let (bus, _line) = line_with(rtu_spec(19_200), service, None).await;
    let t = Instant::now();
    bus.broadcast(Write::Multiple {
        address: 9,
        values: vec![5, 6],
    })
    .await
    .unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(20),
        "turnaround respected"
    );
    for unit in [1, 2] {
        let got = bus
            .read(unit, ReadBlock::holding(9, 2))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, [5, 6]);
    }
    let e = bus.read(0, ReadBlock::holding(0, 1)).await.unwrap_err();
    assert!(matches!(e, BusError::InvalidUnit { unit: 0, .. }), "{e}");
    // An RTU line addresses 1–247; 248–255 are only for TCP.
    let e = bus.read(248, ReadBlock::holding(0, 1)).await.unwrap_err();
    assert!(
        matches!(
            e,
            BusError::InvalidUnit {
                unit: 248,
                max: 247,
                ..
            }
        ),
        "{e}"
    );
}
