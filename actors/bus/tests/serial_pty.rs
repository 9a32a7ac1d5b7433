//! The serial bus over pseudo-terminal pairs: the real tokio-serial path, both shipped
//! families. Real time (the kernel moves the bytes): outcomes are asserted, never durations;
//! timeouts only guard hangs.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::serial_device::{Line, shipped};
use common::{next, once, options};
use linevisor_bus::serial::{SerialArgs, SerialBus, SerialHandle};
use linevisor_bus::{BusEvent, BusHandle};
use linevisor_config::model::{Parity, SerialBus as SerialBusConfig};
use linevisor_profile::ProfileCodec;
use ractor::Actor;
use tokio::sync::mpsc;
use tokio_serial::SerialStream;

const GUARD: Duration = Duration::from_secs(20);

async fn over_a_pty(profile: &str) {
    let (master, slave) = SerialStream::pair().expect("pseudo-terminal pair");
    let line = Line::new(shipped(profile), &[3, 4], |a, p| {
        i64::from(a) * 7 + p.len() as i64
    });
    let _device = line.serve(slave);
    let config = SerialBusConfig {
        id: "pty".into(),
        port: "pty".into(),
        baud: 115_200,
        parity: Parity::None,
        data_bits: 8,
        stop_bits: 1,
        // Generous: a loaded CI machine must not turn into a false timeout.
        response_timeout_ms: 2000,
        retries: 1,
        inter_request_gap_us: 0,
        echo_suppression: false,
        demote_after_timeouts: 3,
        probe_interval_ms: 1000,
    };
    let args = SerialArgs {
        config,
        opener: once(master),
        options: options(50),
    };
    let (actor, _) = Actor::spawn(None, SerialBus, args).await.expect("spawn");
    let bus: BusHandle = SerialHandle::new("pty", actor).into();
    let codec = Arc::new(ProfileCodec::new(&line.profile).unwrap());
    let (sink, mut rx) = mpsc::channel(64);
    let mut links = Vec::new();
    for address in [3, 4] {
        let link = bus.drive_link(Arc::clone(&codec), address).unwrap();
        link.attach(sink.clone(), Duration::from_millis(100))
            .await
            .unwrap();
        links.push(link);
    }
    let mut seen = [false; 2];
    while seen != [true, true] {
        match next(&mut rx, GUARD, "samples").await {
            BusEvent::Sample(s) => {
                let points = links[usize::from(s.unit - 3)].decode(&s.blocks).unwrap();
                for (name, v) in points.iter() {
                    let raw = i64::from(s.unit) * 7 + name.len() as i64;
                    let want = codec.point(name).unwrap().decode_raw(raw as u32);
                    assert_eq!(v.value, want, "{profile} unit {} {name}", s.unit);
                }
                seen[usize::from(s.unit - 3)] = true;
            }
            other => panic!("{profile}: {other:?}"),
        }
    }
    let w = codec.write("target_position", -250.0).unwrap();
    links[1].write(&[w]).await.expect("write");
    let raw = line.with(4, |d| d.values["target_position"]);
    assert_eq!(raw, -250, "{profile}");
    let m = bus.metrics().await.unwrap();
    assert_eq!(
        m.counters.timeouts + m.counters.framing_errors + m.counters.crc_errors,
        0
    );
}

#[tokio::test]
async fn scl_drives_answer_over_a_pty() {
    over_a_pty("applied-motion-scl-stepper").await;
}

#[tokio::test]
async fn tmcl_axes_answer_over_a_pty() {
    over_a_pty("trinamic-tmcl-axis").await;
}
