//! Plain serial drives of both shipped families (SCL ASCII lines, TMCL binary frames) served on
//! one multi-drop line, talked to by a master built from linevisor-serial's `Codec` and
//! `Framer`: over an in-memory stream (paused time) and over a real pseudo-terminal.

mod common;

use std::time::Duration;

use common::master::{Master, PTY_TIMEOUT, SCL, Seen, TMCL, serial_line};
use linevisor_core::PowerState;
use linevisor_serial::{Op, SerialError};
use linevisor_sim::{SimError, SimHandle};
use tokio::io::{AsyncRead, AsyncWrite};

/// Per family: the fault code to inject (one the status rules show as it is) and what the
/// state is after a fault reset.
fn family(name: &str) -> (i64, PowerState) {
    match name {
        SCL => (0x0002, PowerState::SwitchOnDisabled),
        // TMCL has no enable: "operation enabled unless the driver reports an error".
        _ => (0x0008, PowerState::OperationEnabled),
    }
}

/// Read status and position, enable, set a velocity, see the model follow, fault, reset.
async fn drive_cycle<T: AsyncRead + AsyncWrite + Unpin>(
    m: &mut Master<T>,
    sim: &SimHandle,
    name: &str,
    unit: u8,
) {
    let (code, after_reset) = family(name);
    let position = |sim: &SimHandle| sim.with_drive(unit, |d| d.position()).unwrap();
    assert_eq!(m.read("position_actual").await, 0);
    let idle = m.state().await;
    assert_ne!(idle, PowerState::Fault);

    m.write("command", 1).await;
    // The drive sequences the enable itself, one transition per step.
    sim.with_drive(unit, |d| d.step(Duration::from_millis(100)))
        .unwrap();
    assert_eq!(
        sim.with_drive(unit, |d| d.state()).unwrap(),
        PowerState::OperationEnabled
    );
    assert_eq!(m.state().await, PowerState::OperationEnabled);
    // 5 rev/s on SCL (scale 0.0001), 50 000 pps on TMCL.
    m.write("target_velocity", 50_000).await;
    let target = sim.with_drive(unit, |d| d.target_velocity()).unwrap();
    assert!(
        target > 0.0,
        "velocity setpoint reached the model: {target}"
    );

    sim.with_drive(unit, |d| d.step(Duration::from_secs(5)))
        .unwrap();
    let moved = m.read("position_actual").await;
    assert!(moved > 0, "position follows the velocity: {moved}");
    // At standstill the reply is exactly the model's position.
    m.write("target_velocity", 0).await;
    sim.with_drive(unit, |d| d.step(Duration::from_secs(5)))
        .unwrap();
    let stopped = m.read("position_actual").await;
    assert!(stopped >= moved);
    assert_eq!(stopped, position(sim).round() as i64);

    sim.inject_fault(unit, Some(code as u16)).unwrap();
    // The fault reaction ramps the axis down first.
    sim.with_drive(unit, |d| d.step(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(m.state().await, PowerState::Fault);
    let fault_point = common::profile(name).fault.code.unwrap();
    assert_eq!(m.read(&fault_point).await, code);

    m.write("command", 8).await;
    sim.with_drive(unit, |d| d.step(Duration::from_millis(100)))
        .unwrap();
    assert_eq!(m.state().await, after_reset);
    assert_eq!(m.read(&fault_point).await, 0);
}

#[tokio::test(start_paused = true)]
async fn both_families_over_an_in_memory_line() {
    for name in [SCL, TMCL] {
        let sim = serial_line(name, &[1]);
        let (io, _task) = sim.serve_duplex_serial().unwrap();
        let mut m = Master::new(io, &common::profile(name), 1);
        drive_cycle(&mut m, &sim, name, 1).await;
        assert!(sim.writes_received(1).unwrap() >= 3);
    }
}

#[tokio::test]
async fn both_families_over_a_pseudo_terminal() {
    for name in [SCL, TMCL] {
        let sim = serial_line(name, &[2]);
        let mut endpoint = sim.serve_pty_serial(115_200).unwrap();
        assert!(endpoint.path.exists(), "{:?}", endpoint.path);
        let port = tokio_serial::SerialStream::open(&tokio_serial::new(
            endpoint.path.to_string_lossy(),
            115_200,
        ))
        .expect("open the pty by its path");
        let _keep = endpoint.far_end.take();
        let mut m = Master::new(port, &common::profile(name), 2);
        m.timeout = PTY_TIMEOUT;
        drive_cycle(&mut m, &sim, name, 2).await;
    }
}

#[tokio::test(start_paused = true)]
async fn on_a_shared_line_only_the_addressed_drive_answers() {
    for name in [SCL, TMCL] {
        let sim = serial_line(name, &[1, 2]);
        let (io, _task) = sim.serve_duplex_serial().unwrap();
        let mut m = Master::new(io, &common::profile(name), 2);
        m.write("command", 1).await;
        let state = |u| {
            sim.with_drive(u, |d| {
                d.step(Duration::from_millis(100));
                d.state()
            })
            .unwrap()
        };
        assert_eq!(state(2), PowerState::OperationEnabled);
        assert_eq!(state(1), PowerState::SwitchOnDisabled);
        assert_eq!(sim.writes_received(1).unwrap(), 0);
        // Nobody at address 3: silence, and the line keeps working.
        let mut m = m.at(3);
        assert_eq!(
            m.exchange("position_actual", Op::Read).await,
            Err(Seen::Timeout)
        );
        let mut m = m.at(1);
        assert_eq!(m.read("position_actual").await, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn refusals_are_typed_per_family() {
    // An unknown command code: SCL drives answer NAK 5, TMCL modules status 4 (invalid value).
    let sim = serial_line(TMCL, &[1]);
    let (io, _task) = sim.serve_duplex_serial().unwrap();
    let mut m = Master::new(io, &common::profile(TMCL), 1);
    let e = m.exchange("max_current", Op::Write(-1)).await.unwrap_err();
    assert_eq!(
        e,
        Seen::Error(SerialError::Status {
            command: 5,
            status: 4
        })
    );
    assert_eq!(m.read("max_current").await, 0);
    let mut d = sim.remove_drive(1).unwrap();
    assert_eq!(
        d.write_point("command", 7),
        Err(linevisor_sim::Refusal::InvalidValue)
    );
    assert_eq!(
        d.write_point("position_actual", 1),
        Err(linevisor_sim::Refusal::NotWritable)
    );
    assert_eq!(
        d.read_point("command"),
        Err(linevisor_sim::Refusal::NotReadable)
    );
    assert_eq!(
        d.read_point("nope"),
        Err(linevisor_sim::Refusal::UnknownPoint)
    );
}

#[test]
fn one_line_carries_one_framing() {
    let sim = serial_line(SCL, &[1]);
    let tmcl = serial_line(TMCL, &[2]).remove_drive(2).unwrap();
    sim.add_drive(2, tmcl).unwrap();
    let e = sim.serial_line(None).unwrap_err();
    assert!(
        matches!(
            e,
            SimError::MixedFraming {
                first: 1,
                unit: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("separate lines"), "{e}");
    assert_eq!(sim.serial_line(Some(&[2])).unwrap().units(), [2]);
    let servo = common::servo_line(&[3]);
    let e = servo.serial_line(None).unwrap_err();
    assert!(matches!(e, SimError::NoSerialDrive), "{e}");
    let e = servo.serial_line(Some(&[3])).unwrap_err();
    assert!(matches!(e, SimError::NotSerial { unit: 3, .. }), "{e}");
    assert!(matches!(
        sim.serial_line(Some(&[9])),
        Err(SimError::UnknownUnit(9))
    ));
}

#[tokio::test(start_paused = true)]
async fn a_paced_line_answers_after_the_replys_wire_time() {
    let sim = serial_line(SCL, &[1]);
    let (io, _task) = sim
        .serial_line(None)
        .unwrap()
        .with_baud(9600)
        .serve_duplex();
    let mut m = Master::new(io, &common::profile(SCL), 1);
    let t0 = tokio::time::Instant::now();
    assert_eq!(m.read("position_actual").await, 0);
    // "1IP=00000000\r": 13 bytes of 10 bits at 9600 baud, in virtual time (tokio's timers
    // round up to the millisecond).
    let wire = Duration::from_nanos(13 * 10 * 1_000_000_000 / 9600);
    let took = t0.elapsed();
    assert!(
        wire <= took && took <= wire + Duration::from_millis(1),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn noise_on_the_line_gets_no_answer_and_the_line_resyncs() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // ASCII: an over-long line is skipped up to its terminator, an unknown command ignored.
    let sim = serial_line(SCL, &[1]);
    let (io, _task) = sim.serve_duplex_serial().unwrap();
    let mut m = Master::new(io, &common::profile(SCL), 1);
    m.io().write_all(&[b'7'; 1000]).await.unwrap();
    m.io().write_all(b"\r1XX\r1IP=5\r").await.unwrap();
    assert_eq!(m.read("position_actual").await, 0);
    assert_eq!(sim.writes_received(1).unwrap(), 0);
    // Binary: a partial frame is dropped after a silence, so the next frame lines up again.
    let sim = serial_line(TMCL, &[1]);
    let (io, _task) = sim.serve_duplex_serial().unwrap();
    let mut m = Master::new(io, &common::profile(TMCL), 1);
    m.io().write_all(&[1, 6, 1, 0]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(m.read("position_actual").await, 0);
    // A frame with a wrong checksum is not answered; the next one is.
    m.io()
        .write_all(&[1, 6, 1, 0, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let heard = tokio::time::timeout(Duration::from_millis(100), m.io().read(&mut buf)).await;
    assert!(heard.is_err(), "an answer to a bad frame: {heard:?}");
    assert_eq!(m.read("position_actual").await, 0);
}

/// A write sequence's later step (SCL `CJ` after `JS`) is acknowledged and leaves the value;
/// the homing code (SCL `SH`, TMCL `RFS`) makes the current position home.
#[tokio::test(start_paused = true)]
async fn sequences_and_homing_codes_reach_the_model() {
    for name in [SCL, TMCL] {
        let sim = serial_line(name, &[1]);
        let (io, _task) = sim.serve_duplex_serial().unwrap();
        let profile = common::profile(name);
        let mut m = Master::new(io, &profile, 1);
        m.write("command", 1).await;
        sim.with_drive(1, |d| d.step(Duration::from_millis(100)))
            .unwrap();
        // Both steps on SCL (JS then CJ).
        m.write("target_velocity", 50_000).await;
        let target = sim.with_drive(1, |d| d.target_velocity()).unwrap();
        assert!(target > 0.0, "{name}: {target}");
        sim.with_drive(1, |d| d.step(Duration::from_secs(2)))
            .unwrap();
        assert!(m.read("position_actual").await > 0, "{name}");
        let home = profile.homing.as_ref().and_then(|h| h.code).unwrap();
        m.write("target_velocity", 0).await;
        sim.with_drive(1, |d| d.step(Duration::from_secs(5)))
            .unwrap();
        m.write("command", i64::from(home)).await;
        assert_eq!(m.read("position_actual").await, 0, "{name}: homed");
    }
}
