//! A dead unit on a shared RTU line: demoted after N timeouts, then probed once per probe
//! interval, while its neighbours keep their poll rate; restored when it answers again.
//! Paused time over an in-memory line, so the run is deterministic.

mod common;

use std::time::Duration;

use common::*;
use linevisor_bus::{BusError, BusEvent, BusSpec, ReadBlock, Write};
use tokio::sync::mpsc;
use tokio::time::Instant;

const GUARD: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn dead_unit_is_demoted_neighbours_keep_their_rate_and_it_is_restored() {
    let service = TestService::new(register_map(&[1, 2, 3]));
    service.silence(3, true);
    let line = DuplexLine::default();
    let mut spec = rtu_spec(19_200);
    spec.response_timeout_ms = 50;
    spec.retries = 1;
    spec.demote_after_timeouts = 3;
    spec.probe_interval_ms = 1000;
    let opener = line.opener(service.clone(), 19_200, None);
    let (bus, _join) = spawn(BusSpec::Rtu(spec), opener, options(100)).await;

    let (sink, mut rx) = mpsc::channel(1024);
    let period = Duration::from_millis(100);
    for unit in 1..=3 {
        attach(&bus, unit, vec![ReadBlock::holding(0, 4)], 100, &sink).await;
    }
    let start = Instant::now();
    let end = start + Duration::from_secs(10);
    let mut samples = [0u32; 4];
    let mut demoted_at = None;
    let mut failures_before_demotion = 0;
    while Instant::now() < end {
        match next(&mut rx, GUARD, "events over 10 s").await {
            BusEvent::Sample(s) => {
                assert_ne!(s.unit, 3, "the dead unit sent a sample");
                assert_eq!(s.blocks, [expected(s.unit, &ReadBlock::holding(0, 4))]);
                samples[usize::from(s.unit)] += 1;
            }
            BusEvent::Demoted {
                unit,
                timeouts,
                probe_every,
            } => {
                assert_eq!((unit, timeouts), (3, 3));
                assert_eq!(probe_every, Duration::from_secs(1));
                assert!(demoted_at.is_none(), "demoted once");
                demoted_at = Some(Instant::now());
            }
            BusEvent::CycleFailed { unit: 3, error, .. } => {
                assert!(matches!(&error, linevisor_bus::CycleFault::Bus(e) if e.is_timeout()));
                if demoted_at.is_none() {
                    failures_before_demotion += 1;
                }
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    let cycles = (end - start).as_millis() / period.as_millis();
    for unit in [1, 2] {
        let got = samples[unit];
        assert!(
            u128::from(got) * 100 >= cycles * 90,
            "unit {unit}: {got} samples of {cycles} cycles"
        );
    }
    // Retries 1: first cycle = 2 timeouts, second cycle's first attempt is the 3rd.
    assert_eq!(
        failures_before_demotion, 1,
        "the cycle that demoted it is reported after"
    );
    assert!(demoted_at.is_some_and(|t| t - start < Duration::from_millis(500)));

    let m = bus.metrics().await.unwrap();
    let dead = m.units.iter().find(|u| u.unit == 3).unwrap();
    assert!(dead.demoted);
    assert_eq!(dead.counters.demotions, 1);
    // 3 timeouts to demote, then at most one per probe interval (≈ 10 in 10 s).
    let probes = dead.counters.timeouts - 3;
    assert!(
        (8..=11).contains(&probes),
        "{} timeouts",
        dead.counters.timeouts
    );
    for unit in [1, 2] {
        let n = &m.units.iter().find(|u| u.unit == unit).unwrap().counters;
        assert_eq!(n.timeouts, 0);
        assert!(
            n.missed_cycles <= 10,
            "unit {unit} missed {}",
            n.missed_cycles
        );
    }

    // A request to the demoted unit fails fast instead of burning a response timeout.
    let asked = Instant::now();
    let r = bus
        .write(
            3,
            Write::Single {
                address: 0,
                value: 1,
            },
        )
        .await;
    assert!(
        matches!(r, Err(BusError::UnitDemoted { unit: 3, .. })),
        "{r:?}"
    );
    assert_eq!(Instant::now(), asked, "no time spent on the line");

    // It comes back: restored at the next probe, then sampled at its period.
    service.silence(3, false);
    let (_, demoted_for) = until(&mut rx, GUARD, "Restored", |e| match e {
        BusEvent::Restored {
            unit: 3,
            demoted_for,
        } => Some(*demoted_for),
        _ => None,
    })
    .await;
    assert!(demoted_for >= Duration::from_secs(9));
    let s = sample_of(&mut rx, 3, GUARD).await;
    assert_eq!(s.blocks, [expected(3, &ReadBlock::holding(0, 4))]);
    let m = bus.metrics().await.unwrap();
    let back = m.units.iter().find(|u| u.unit == 3).unwrap();
    assert!(!back.demoted);
    assert_eq!(back.counters.restorations, 1);
}
