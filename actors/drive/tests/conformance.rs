//! Every shipped Modbus profile passes the conformance scenario against linevisor-sim, through a
//! real `ModbusBus` (in-memory RTU, and TCP for one profile) under a real supervisor.

mod common;

use common::{Bench, BenchOptions, MODBUS_PROFILES, Transport};
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

#[tokio::test(start_paused = true)]
async fn linevisor_sim_servo_conforms() {
    conform(MODBUS_PROFILES[0], Transport::Rtu).await;
}

#[tokio::test(start_paused = true)]
async fn generic_cia402_modbus_conforms() {
    conform(MODBUS_PROFILES[1], Transport::Rtu).await;
}

#[tokio::test(start_paused = true)]
async fn delta_c2000_vfd_conforms() {
    conform(MODBUS_PROFILES[2], Transport::Rtu).await;
}

#[tokio::test(start_paused = true)]
async fn linevisor_sim_servo_conforms_over_tcp() {
    conform(MODBUS_PROFILES[0], Transport::Tcp).await;
}
