//! Every serial link fault as a master built from linevisor-serial sees it, per family, and the
//! line answering correctly again afterwards. Paused time, in-memory streams.

mod common;

use common::master::{Master, SCL, Seen, TMCL, serial_line};
use linevisor_modbus::ExceptionCode;
use linevisor_serial::{ErrorKind, Op, SerialError};
use linevisor_sim::SimHandle;
use tokio::io::DuplexStream;

fn rig(name: &str) -> (SimHandle, Master<DuplexStream>, linevisor_sim::ServeTask) {
    let sim = serial_line(name, &[1, 2]);
    let (io, task) = sim.serve_duplex_serial().unwrap();
    let m = Master::new(io, &common::profile(name), 1);
    (sim, m, task)
}

/// The fault shows once, then the drive answers as before.
async fn once(m: &mut Master<DuplexStream>) -> Seen {
    let seen = m.exchange("position_actual", Op::Read).await.unwrap_err();
    assert_eq!(
        m.read("position_actual").await,
        0,
        "recovered after {seen:?}"
    );
    seen
}

fn link(seen: &Seen) -> &SerialError {
    match seen {
        Seen::Error(e) => {
            assert_eq!(e.kind(), ErrorKind::Link, "{e}");
            e
        }
        Seen::Timeout => panic!("a timeout, not a reply"),
    }
}

#[tokio::test(start_paused = true)]
async fn garbage_is_a_garbage_reply_or_a_checksum_error() {
    for name in [SCL, TMCL] {
        let (sim, mut m, _t) = rig(name);
        sim.garbage_replies(1, 1).unwrap();
        let seen = once(&mut m).await;
        match (name, link(&seen)) {
            (SCL, SerialError::Garbage { .. }) | (TMCL, SerialError::Checksum { .. }) => {}
            (_, e) => panic!("{name}: {e:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_truncated_reply_is_reported_after_the_timeout() {
    for name in [SCL, TMCL] {
        let (sim, mut m, _t) = rig(name);
        sim.truncate_replies(1, 1).unwrap();
        let seen = once(&mut m).await;
        assert!(
            matches!(link(&seen), SerialError::Truncated { got, .. } if *got > 0),
            "{name}: {seen:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_wrong_checksum_is_a_checksum_error_where_the_framing_has_one() {
    let (sim, mut m, _t) = rig(TMCL);
    sim.corrupt_crc(1, 1).unwrap();
    let seen = once(&mut m).await;
    assert!(
        matches!(link(&seen), SerialError::Checksum { .. }),
        "{seen:?}"
    );
    // ASCII lines carry no checksum: the reply is untouched, as Modbus TCP answers are.
    let (sim, mut m, _t) = rig(SCL);
    sim.corrupt_crc(1, 1).unwrap();
    assert_eq!(m.read("position_actual").await, 0);
}

#[tokio::test(start_paused = true)]
async fn an_echo_confuses_a_master_without_suppression_only() {
    for name in [SCL, TMCL] {
        let (sim, mut m, _t) = rig(name);
        sim.echo_requests(1, 1).unwrap();
        let seen = once(&mut m).await;
        // The master takes its own request for the reply: SCL "1IP" is no "IP=…" value,
        // TMCL's request frame carries the command where a reply has the module address.
        match (name, link(&seen)) {
            (SCL, SerialError::Garbage { text }) => assert_eq!(text, "1IP"),
            (TMCL, SerialError::OtherAddress { expected, got }) => {
                assert_eq!((expected.as_str(), got.as_str()), ("1", "6"));
            }
            (_, e) => panic!("{name}: {e:?}"),
        }
        m.suppress_echo = true;
        sim.echo_requests(1, 2).unwrap();
        assert_eq!(m.read("position_actual").await, 0);
        assert_eq!(m.read("position_actual").await, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn a_reply_for_another_address_is_refused_by_the_master() {
    for name in [SCL, TMCL] {
        let (sim, mut m, _t) = rig(name);
        sim.reply_for_other_address(1, 1).unwrap();
        let seen = once(&mut m).await;
        assert!(
            matches!(link(&seen), SerialError::OtherAddress { expected, got } if expected == "1" && got == "2"),
            "{name}: {seen:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_exception_is_a_nak_or_a_status_and_is_not_carried_out() {
    for name in [SCL, TMCL] {
        let (sim, mut m, _t) = rig(name);
        sim.answer_exception(1, ExceptionCode::ServerDeviceBusy, Some(1))
            .unwrap();
        let Err(Seen::Error(e)) = m.exchange("command", Op::Write(1)).await else {
            panic!("{name}: no refusal");
        };
        assert_eq!(e.kind(), ErrorKind::Refused, "{e}");
        match (name, e) {
            (SCL, SerialError::Nak { code: Some(6) }) => {}
            (
                TMCL,
                SerialError::Status {
                    command: 3,
                    status: 6,
                },
            ) => {}
            (_, e) => panic!("{name}: {e:?}"),
        }
        assert_eq!(sim.writes_received(1).unwrap(), 0);
        m.write("command", 1).await;
        assert_eq!(sim.writes_received(1).unwrap(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn silence_and_lost_replies_are_timeouts() {
    for name in [SCL, TMCL] {
        let (sim, mut m, _t) = rig(name);
        sim.go_silent(1).unwrap();
        let seen = m.exchange("command", Op::Write(1)).await;
        assert_eq!(seen, Err(Seen::Timeout), "{name}");
        assert_eq!(
            sim.writes_received(1).unwrap(),
            0,
            "a silent drive ignores requests"
        );
        sim.come_back(1).unwrap();
        sim.drop_responses(1, 1).unwrap();
        let seen = m.exchange("command", Op::Write(1)).await;
        assert_eq!(seen, Err(Seen::Timeout), "{name}");
        assert_eq!(
            sim.writes_received(1).unwrap(),
            1,
            "a lost reply's write is done"
        );
        assert_eq!(m.read("position_actual").await, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn clearing_link_faults_clears_the_serial_ones() {
    let (sim, mut m, _t) = rig(SCL);
    sim.garbage_replies(1, 5).unwrap();
    sim.truncate_replies(1, 5).unwrap();
    sim.echo_requests(1, 5).unwrap();
    sim.reply_for_other_address(1, 5).unwrap();
    sim.clear_link_faults(1).unwrap();
    assert_eq!(m.read("position_actual").await, 0);
    // The neighbour never saw any of it.
    let mut m = m.at(2);
    assert_eq!(m.read("position_actual").await, 0);
}
