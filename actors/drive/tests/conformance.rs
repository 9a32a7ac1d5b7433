//! Every shipped Modbus profile (discovered from `configs/profiles/`) passes the conformance
//! scenario against linevisor-sim, through a real `ModbusBus` (in-memory RTU, and TCP for one
//! profile) under a real supervisor.

mod common;

use common::{Bench, BenchOptions, Transport, modbus_profiles};
use linevisor_config::model::Protocol;
use linevisor_drive::conformance;

async fn conform(profile: &str, transport: Transport) {
    let bench = Bench::start(
        profile,
        BenchOptions {
            transport,
            ..BenchOptions::default()
        },
    )
    .await;
    let (rig, harness) = bench.harness();
    match conformance::run(&rig, harness).await {
        Ok(report) => {
            for step in report.steps {
                println!("{profile} ({transport:?}): {step}");
            }
        }
        Err(f) => panic!("{profile} ({transport:?}): {f}"),
    }
}

/// Every shipped Modbus profile, discovered from `configs/profiles/`, over RTU.
#[tokio::test(start_paused = true)]
async fn every_shipped_modbus_profile_conforms() {
    for name in modbus_profiles() {
        conform(&name, Transport::Rtu).await;
    }
}

#[tokio::test(start_paused = true)]
async fn linevisor_sim_servo_conforms_over_tcp() {
    conform("linevisor-sim-servo", Transport::Tcp).await;
}

/// Every shipped profile is run by a conformance suite of its protocol; the match is
/// exhaustive, so a new protocol must be placed.
#[test]
fn every_shipped_profile_is_covered_or_skipped_for_a_reason() {
    let mut covered = 0;
    for (name, protocol) in common::shipped_all() {
        match protocol {
            // This file.
            Protocol::Modbus => covered += 1,
            // `conformance_canopen.rs`: on the virtual bus and over slcan on a pty.
            Protocol::Canopen => covered += 1,
            // `conformance_serial.rs`: on an in-memory line and over a paced pty.
            Protocol::Serial => covered += 1,
        }
        println!("covered: {name} ({})", protocol.name());
    }
    assert!(covered > 0);
}
