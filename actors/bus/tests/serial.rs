//! The serial bus kind end to end on in-memory lines under paused time: drives of both shipped
//! families (SCL ASCII, TMCL binary) answered by `linevisor_serial::Device`, reached through the
//! kind-erased drive link exactly as a drive actor reaches them. One test per fault kind.

mod common;

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::serial_device::{Fault, Line, shipped};
use common::{next, options, until};
use linevisor_bus::serial::{SerialArgs, SerialBus, SerialHandle, SerialLinkError};
use linevisor_bus::{
    BusError, BusEvent, BusHandle, DriveLink, FnOpener, LinkStream, Opener, PointError,
};
use linevisor_config::model::{Parity, SerialBus as SerialBusConfig};
use linevisor_profile::ProfileCodec;
use linevisor_serial::{ErrorKind, Op, SerialError};
use ractor::Actor;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const GUARD: Duration = Duration::from_secs(30);

fn config(echo_suppression: bool) -> SerialBusConfig {
    SerialBusConfig {
        id: "steppers".into(),
        port: "/dev/ttyS1".into(),
        baud: 57_600,
        parity: Parity::None,
        data_bits: 8,
        stop_bits: 1,
        response_timeout_ms: 50,
        retries: 0,
        inter_request_gap_us: 0,
        echo_suppression,
        demote_after_timeouts: 3,
        probe_interval_ms: 500,
    }
}

/// An opener handing out a fresh in-memory line served by `line` per attempt; `plugs` holds
/// the device ends' tasks so a test can pull the plug.
fn opener(line: &Line, plugs: Arc<Mutex<Vec<JoinHandle<()>>>>) -> Box<dyn Opener> {
    let line = line.clone();
    Box::new(FnOpener::new("in-memory line", move || {
        let (ours, theirs) = tokio::io::duplex(4096);
        plugs.lock().unwrap().push(line.serve(theirs));
        async move { Ok::<_, io::Error>(Box::new(ours) as LinkStream) }
    }))
}

async fn spawn(config: SerialBusConfig, opener: Box<dyn Opener>) -> SerialHandle {
    let id = config.id.clone();
    let args = SerialArgs {
        config,
        opener,
        options: options(100),
    };
    let (actor, _) = Actor::spawn(None, SerialBus, args)
        .await
        .expect("spawn bus");
    SerialHandle::new(id, actor)
}

fn link(bus: &SerialHandle, line: &Line, address: u32) -> Arc<dyn DriveLink> {
    let codec = Arc::new(ProfileCodec::new(&line.profile).expect("codec"));
    BusHandle::from(bus.clone())
        .drive_link(codec, address)
        .expect("link")
}

/// A value per (address, point) that fits every point type of the shipped profiles.
fn value(address: u32, point: &str) -> i64 {
    i64::from(address) * 100 + point.len() as i64
}

async fn poll_write_and_read(profile: &str, reread: &str) {
    let line = Line::new(shipped(profile), &[1, 2], value);
    let bus = spawn(config(false), opener(&line, Arc::default())).await;
    for address in [1u32, 2] {
        let link = link(&bus, &line, address);
        let (sink, mut rx) = mpsc::channel(16);
        link.attach(sink, Duration::from_millis(20)).await.unwrap();
        let sample = match next(&mut rx, GUARD, "a sample").await {
            BusEvent::Sample(s) => s,
            other => panic!("{profile}: {other:?}"),
        };
        let points = link.decode(&sample.blocks).expect("decode");
        let codec = ProfileCodec::new(&line.profile).unwrap();
        for (name, got) in points.iter() {
            let want = codec
                .point(name)
                .unwrap()
                .decode_raw(value(address, name) as u32);
            assert_eq!(got.value, want, "{profile} address {address} point {name}");
        }
        assert!(!points.is_empty());
        // A setpoint write lands on this drive only, then reads back.
        let w = codec.write("target_velocity", 12.0).unwrap();
        link.write(std::slice::from_ref(&w)).await.expect("write");
        let raw = line.with(address, |d| d.values["target_velocity"]);
        assert_eq!(
            codec
                .point("target_velocity")
                .unwrap()
                .decode_raw(raw as u32),
            12.0
        );
        // Both steps of the velocity write's sequence, in order (SCL: JS then CJ).
        let steps = line
            .with(address, |d| d.log.clone())
            .iter()
            .filter(|(p, op)| p == "target_velocity" && matches!(op, Op::Write(_)))
            .count();
        let parts = line.profile.points["target_velocity"]
            .write
            .as_ref()
            .map_or(0, |w| w.parts().len());
        assert_eq!(steps, parts, "{profile}");
        let read = link.read(&[reread]).await.expect("read");
        assert!(read.get(reread).is_some(), "{profile}: {reread}");
    }
    // Both drives on the one line were asked; each only its own.
    let log = line.log();
    assert!(log.iter().any(|(a, _, _)| *a == 1) && log.iter().any(|(a, _, _)| *a == 2));
    let m = bus.metrics().await.unwrap();
    assert_eq!(
        m.counters.timeouts + m.counters.framing_errors,
        0,
        "{profile}"
    );
    assert!(m.counters.samples >= 2 && m.bytes_sent > 0 && m.bytes_received > 0);
}

#[tokio::test(start_paused = true)]
async fn an_scl_line_with_two_drives_polls_writes_and_reads() {
    poll_write_and_read("applied-motion-scl-stepper", "run_current").await;
}

#[tokio::test(start_paused = true)]
async fn a_tmcl_line_with_two_drives_polls_writes_and_reads() {
    poll_write_and_read("trinamic-tmcl-axis", "max_current").await;
}

#[tokio::test(start_paused = true)]
async fn commands_go_before_polls_already_due() {
    let line = Line::new(shipped("applied-motion-scl-stepper"), &[1, 2, 3], value);
    let bus = spawn(config(false), opener(&line, Arc::default())).await;
    let (sink, mut rx) = mpsc::channel(64);
    let links: Vec<_> = (1..=3).map(|a| link(&bus, &line, a)).collect();
    line.answer(false);
    for l in &links {
        l.attach(sink.clone(), Duration::from_millis(10))
            .await
            .unwrap();
    }
    // Drive 1's first poll is on the line and held; every other poll is due. The command
    // queued now must be the next request.
    tokio::task::yield_now().await;
    let codec = ProfileCodec::new(&line.profile).unwrap();
    let w = codec.write("target_position", 500.0).unwrap();
    let l3 = Arc::clone(&links[2]);
    let write = tokio::spawn(async move { l3.write(&[w]).await });
    // Queued behind the held poll (the actor answers metrics after the exchange it got first).
    while bus.metrics().await.unwrap().queued == 0 {
        tokio::task::yield_now().await;
    }
    line.answer(true);
    write.await.unwrap().expect("write");
    let _ = next(&mut rx, GUARD, "a sample").await;
    let log = line.log();
    let first_write = log
        .iter()
        .position(|(_, _, op)| matches!(op, Op::Write(_)))
        .expect("the write arrived");
    assert_eq!(
        first_write, 1,
        "the write follows the poll in flight: {log:?}"
    );
}

/// The error a read through the link ends with when drive 1 does `fault`.
async fn read_with(fault: Fault, profile: &str, echo_suppression: bool) -> (PointError, BusHandle) {
    let line = Line::new(shipped(profile), &[1, 2], value);
    let bus = spawn(config(echo_suppression), opener(&line, Arc::default())).await;
    line.set_fault(1, fault);
    let e = link(&bus, &line, 1)
        .read(&["position_actual"])
        .await
        .expect_err("the fault must surface");
    // Its neighbour on the line is unaffected.
    line.set_fault(1, Fault::None);
    link(&bus, &line, 2)
        .read(&["position_actual"])
        .await
        .expect("the neighbour answers");
    (e, bus.into())
}

fn reply_error(e: &PointError) -> &SerialError {
    match e {
        PointError::Bus(BusError::Serial {
            source: SerialLinkError::Reply { source, .. },
            ..
        }) => source,
        other => panic!("not a reply error: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn garbage_is_a_counted_link_error() {
    let (e, bus) = read_with(Fault::Garbage, "applied-motion-scl-stepper", false).await;
    // Noise reads as a reply for another address or as no reply at all: a link error.
    assert_eq!(reply_error(&e).kind(), ErrorKind::Link, "{e}");
    assert_eq!(bus.metrics().await.unwrap().counters.framing_errors, 1);
    let (e, bus) = read_with(Fault::Garbage, "trinamic-tmcl-axis", false).await;
    assert!(
        matches!(reply_error(&e), SerialError::Checksum { .. }),
        "{e}"
    );
    assert_eq!(bus.metrics().await.unwrap().counters.crc_errors, 1);
}

#[tokio::test(start_paused = true)]
async fn a_truncated_reply_is_a_counted_link_error() {
    for profile in ["applied-motion-scl-stepper", "trinamic-tmcl-axis"] {
        let (e, bus) = read_with(Fault::Truncated, profile, false).await;
        assert!(
            matches!(reply_error(&e), SerialError::Truncated { .. }),
            "{profile}: {e}"
        );
        let m = bus.metrics().await.unwrap();
        assert_eq!(
            (m.counters.framing_errors, m.counters.timeouts),
            (1, 0),
            "{profile}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_wrong_checksum_is_a_crc_error() {
    let (e, bus) = read_with(Fault::Checksum, "trinamic-tmcl-axis", false).await;
    assert!(
        matches!(reply_error(&e), SerialError::Checksum { .. }),
        "{e}"
    );
    assert_eq!(bus.metrics().await.unwrap().counters.crc_errors, 1);
}

#[tokio::test(start_paused = true)]
async fn a_reply_for_another_address_is_refused() {
    for profile in ["applied-motion-scl-stepper", "trinamic-tmcl-axis"] {
        let (e, _) = read_with(Fault::OtherAddress, profile, false).await;
        assert!(
            matches!(reply_error(&e), SerialError::OtherAddress { .. }),
            "{profile}: {e}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_over_long_line_is_bounded() {
    let (e, _) = read_with(Fault::OverLong, "applied-motion-scl-stepper", false).await;
    assert!(
        matches!(reply_error(&e), SerialError::OverLong { limit: 32 }),
        "{e}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refusal_is_the_devices_with_its_code() {
    for (profile, code) in [("applied-motion-scl-stepper", 4), ("trinamic-tmcl-axis", 4)] {
        let (e, bus) = read_with(Fault::Refuse(code), profile, false).await;
        match &e {
            PointError::Device(r) => assert_eq!(r.code, 4, "{profile}: {}", r.meaning),
            other => panic!("{profile}: {other:?}"),
        }
        let m = bus.metrics().await.unwrap();
        assert_eq!((m.counters.exceptions, m.counters.framing_errors), (1, 0));
    }
}

#[tokio::test(start_paused = true)]
async fn our_echo_is_skipped_when_suppression_is_on_and_an_error_when_it_is_off() {
    for profile in ["applied-motion-scl-stepper", "trinamic-tmcl-axis"] {
        let line = Line::new(shipped(profile), &[1], value);
        line.set_fault(1, Fault::Echo);
        let bus = spawn(config(true), opener(&line, Arc::default())).await;
        let got = link(&bus, &line, 1).read(&["position_actual"]).await;
        assert!(got.is_ok(), "{profile} with suppression: {got:?}");
        let (e, _) = read_with(Fault::Echo, profile, false).await;
        assert!(
            matches!(e, PointError::Bus(BusError::Serial { .. })),
            "{profile}: {e}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_drive_times_out_is_demoted_and_restored_while_its_neighbour_keeps_polling() {
    let line = Line::new(shipped("trinamic-tmcl-axis"), &[1, 2], value);
    let bus = spawn(config(false), opener(&line, Arc::default())).await;
    let (sink1, mut rx1) = mpsc::channel(64);
    let (sink2, mut rx2) = mpsc::channel(64);
    // Periods that leave room for a response timeout: one holds the line for 50 ms.
    let period = Duration::from_millis(200);
    link(&bus, &line, 1).attach(sink1, period).await.unwrap();
    link(&bus, &line, 2).attach(sink2, period).await.unwrap();
    line.set_fault(1, Fault::Silence);
    until(&mut rx1, GUARD, "demotion", |e| {
        matches!(e, BusEvent::Demoted { timeouts: 3, .. }).then_some(())
    })
    .await;
    // While drive 1 is demoted and probed, drive 2 keeps its cycle: consecutive samples.
    let mut seqs = Vec::new();
    while seqs.len() < 20 {
        if let BusEvent::Sample(s) = next(&mut rx2, GUARD, "neighbour sample").await {
            seqs.push(s.seq);
        }
    }
    line.set_fault(1, Fault::None);
    until(&mut rx1, GUARD, "restoration", |e| {
        matches!(e, BusEvent::Restored { .. }).then_some(())
    })
    .await;
    until(&mut rx1, GUARD, "samples again", |e| {
        matches!(e, BusEvent::Sample(_)).then_some(())
    })
    .await;
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "neighbour cycles {seqs:?}"
    );
    let m = bus.metrics().await.unwrap();
    let neighbour = &m.units[1].counters;
    assert_eq!((neighbour.missed_cycles, neighbour.cycle_failures), (0, 0));
    let dead = &m.units[0].counters;
    assert!(dead.timeouts >= 3 && dead.restorations == 1, "{dead:?}");
}

#[tokio::test(start_paused = true)]
async fn a_vanished_port_is_reopened_and_the_drives_resume() {
    let line = Line::new(shipped("applied-motion-scl-stepper"), &[1], value);
    let plugs: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
    let bus = spawn(config(false), opener(&line, Arc::clone(&plugs))).await;
    let (sink, mut rx) = mpsc::channel(64);
    link(&bus, &line, 1)
        .attach(sink, Duration::from_millis(20))
        .await
        .unwrap();
    until(&mut rx, GUARD, "a sample", |e| {
        matches!(e, BusEvent::Sample(_)).then_some(())
    })
    .await;
    // Unplugged: the device end goes away mid-run.
    for p in plugs.lock().unwrap().drain(..) {
        p.abort();
    }
    until(&mut rx, GUARD, "comm lost", |e| {
        matches!(e, BusEvent::CommLost { .. }).then_some(())
    })
    .await;
    until(&mut rx, GUARD, "comm restored", |e| {
        matches!(e, BusEvent::CommRestored { .. }).then_some(())
    })
    .await;
    until(&mut rx, GUARD, "samples again", |e| {
        matches!(e, BusEvent::Sample(_)).then_some(())
    })
    .await;
    let m = bus.metrics().await.unwrap();
    assert!(m.link_up && m.link_losses == 1, "{m:?}");
}
