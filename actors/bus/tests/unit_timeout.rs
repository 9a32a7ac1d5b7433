//! A drive's own response timeout (`[[drive]] response_timeout_ms`, issue 15) overrides its
//! bus's for that unit's exchanges only: two equally slow simulated drives share a line whose
//! timeout is shorter than their answers; the one with its own, longer timeout gets its samples,
//! the other times out. On RTU, and on Modbus TCP with both requests in flight at once.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{once, options, rtu_spec, spawn, tcp_spec};
use linevisor_bus::{
    BusEvent, BusHandle, BusSpec, Counters, CycleFault, LinkOptions, ModbusHandle,
};
use linevisor_config::model::Profile;
use linevisor_profile::ProfileCodec;
use linevisor_sim::{SimDrive, SimDriveOptions, SimHandle};
use tokio::sync::mpsc;

const HOLED: &str = include_str!("data/holed-servo.toml");
const SLOW: Duration = Duration::from_millis(300);

async fn counters(bus: &ModbusHandle, unit: u8) -> Counters {
    let m = bus.metrics().await.expect("metrics");
    m.units
        .into_iter()
        .find(|u| u.unit == unit)
        .expect("unit")
        .counters
}

/// Units 1 and 2 answer after [`SLOW`]; the bus waits 100 ms, unit 2 its own 2 s.
async fn run(tcp: bool) {
    let profile: Profile = toml::from_str(HOLED).expect("test profile");
    let sim = SimHandle::new();
    for unit in [1, 2] {
        let drive = SimDrive::new(&profile, SimDriveOptions::default()).expect("sim drive");
        sim.add_drive(unit, drive).expect("add");
        sim.delay_responses(unit, SLOW).expect("delay");
    }
    let (spec, (stream, _serve)) = if tcp {
        let mut spec = tcp_spec("sim".into());
        spec.response_timeout_ms = 100;
        spec.max_in_flight = 2;
        (BusSpec::Tcp(spec), sim.serve_duplex_tcp())
    } else {
        (
            BusSpec::Rtu(rtu_spec(115_200)),
            sim.serve_duplex_rtu(115_200),
        )
    };
    let (bus, _join) = spawn(spec, once(stream), options(100)).await;
    let handle = BusHandle::from(bus.clone());
    let codec = Arc::new(ProfileCodec::new(&profile).expect("codec"));
    let own = LinkOptions {
        response_timeout: Some(Duration::from_secs(2)),
    };
    let quick = handle.drive_link(codec.clone(), 1).expect("link 1");
    let patient = handle.drive_link_with(codec, 2, own).expect("link 2");
    let (tx, mut rx) = mpsc::channel(64);
    let period = Duration::from_secs(2);
    quick.attach(tx.clone(), period).await.expect("attach 1");
    patient.attach(tx, period).await.expect("attach 2");

    let mut samples = [0u32; 3];
    let mut failed = [0u32; 3];
    let three_samples = async {
        while samples[2] < 3 {
            match common::next(&mut rx, Duration::from_secs(60), "events").await {
                BusEvent::Sample(s) => samples[usize::from(s.unit)] += 1,
                BusEvent::CycleFailed { unit, error, .. } => {
                    assert!(
                        matches!(&error, CycleFault::Bus(e) if e.is_timeout()),
                        "{error}"
                    );
                    failed[usize::from(unit)] += 1;
                }
                _ => {}
            }
        }
    };
    // Three 2 s cycles; the rest is a hang guard (unit 1's failures keep coming).
    common::within(
        Duration::from_secs(30),
        "three samples of unit 2",
        three_samples,
    )
    .await;
    assert_eq!((samples[1], failed[2]), (0, 0), "tcp: {tcp}");
    assert!(failed[1] > 0, "tcp: {tcp}");
    let (c1, c2) = (counters(&bus, 1).await, counters(&bus, 2).await);
    assert!(c1.timeouts > 0);
    assert_eq!(c2.timeouts, 0, "tcp: {tcp}");
    let _ = bus.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_drives_own_response_timeout_overrides_the_rtu_bus() {
    run(false).await;
}

#[tokio::test(start_paused = true)]
async fn a_drives_own_response_timeout_overrides_the_tcp_bus_with_requests_in_flight() {
    run(true).await;
}
