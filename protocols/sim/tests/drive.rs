//! The simulated drive on its own (no transport): registers in, device behaviour out.

mod common;

use std::time::Duration;

use common::*;
use linevisor_modbus::{ExceptionCode, Request, Response};
use linevisor_profile::{CommandState, Direction, PowerState, UniformCommand};

fn write(
    drive: &mut linevisor_sim::SimDrive,
    address: u16,
    value: u16,
) -> Result<Response, ExceptionCode> {
    drive.handle(&Request::WriteSingleRegister { address, value })
}

fn read(drive: &mut linevisor_sim::SimDrive, address: u16, quantity: u16) -> Vec<u16> {
    match drive
        .handle(&Request::ReadHoldingRegisters { address, quantity })
        .unwrap()
    {
        Response::ReadHoldingRegisters(v) => v,
        other => panic!("{other:?}"),
    }
}

#[test]
fn sim_servo_enables_with_6_7_15_and_ramps_to_the_velocity_setpoint() {
    let mut d = drive("linevisor-sim-servo");
    assert_eq!(
        d.shown_state(),
        Some(PowerState::SwitchOnDisabled),
        "self test passed"
    );
    for (cw, state) in [
        (6, PowerState::ReadyToSwitchOn),
        (7, PowerState::SwitchedOn),
        (15, PowerState::OperationEnabled),
    ] {
        write(&mut d, 0, cw).unwrap();
        assert_eq!(d.shown_state(), Some(state), "after controlword {cw}");
    }
    // Profile velocity mode, 150.0 rpm (0.1 rpm per count), FC16 over both registers.
    write(&mut d, 1, 3).unwrap();
    d.handle(&Request::WriteMultipleRegisters {
        address: 2,
        values: vec![0, 1500],
    })
    .unwrap();
    d.step(Duration::from_millis(50));
    let v = d.velocity();
    assert!(v > 40.0 && v < 60.0, "ramping at 1000 rpm/s: {v}");
    d.step(Duration::from_millis(500));
    assert_eq!(d.velocity(), 150.0);
    let status = read(&mut d, 10, 8);
    assert_eq!(status[0] & 0x6F, 0x27, "operation enabled");
    assert_eq!(status[1], 3, "mode display");
    assert_eq!(
        (status[2], status[3]),
        (0, 1500),
        "velocity actual in 0.1 rpm"
    );
    assert!(d.position() > 0.0);
    assert_eq!(read(&mut d, 20, 2), [0, 1001], "serial number");
}

#[test]
fn reads_and_writes_outside_the_map_are_refused() {
    let mut d = drive("linevisor-sim-servo");
    let e = |r| d.clone().handle(&r).unwrap_err();
    assert_eq!(
        e(Request::ReadHoldingRegisters {
            address: 104,
            quantity: 4
        }),
        ExceptionCode::IllegalDataAddress
    );
    assert_eq!(
        e(Request::WriteSingleRegister {
            address: 10,
            value: 1
        }),
        ExceptionCode::IllegalDataAddress,
        "statusword is read-only"
    );
    assert_eq!(
        e(Request::WriteSingleRegister {
            address: 9,
            value: 1
        }),
        ExceptionCode::IllegalDataAddress,
        "hole"
    );
    assert_eq!(
        e(Request::ReadCoils {
            address: 0,
            quantity: 1
        }),
        ExceptionCode::IllegalFunction
    );
    // Holes inside the map read as 0.
    assert_eq!(read(&mut d, 8, 3)[1], 0);
}

#[test]
fn parameters_read_back_and_replacement_restores_factory_values() {
    let mut d = drive("linevisor-sim-servo");
    let codec = d.codec().clone();
    d.apply(&codec.parameter_write("max_current", 6.0).unwrap())
        .unwrap();
    d.apply(
        &codec
            .parameter_write("profile_acceleration", 5000.0)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(d.parameters()["max_current"], 6.0);
    assert_eq!(read(&mut d, 101, 2), [0, 5000]);
    let factory = d.clone();
    d.replace_unit(2002);
    assert_eq!(d.serial_number(), 2002);
    assert_eq!(read(&mut d, 20, 2), [0, 2002]);
    assert_eq!(
        d.parameters()["max_current"],
        0.1,
        "factory: 0 clamped into 0.1–50"
    );
    assert_eq!(d.parameters()["profile_acceleration"], 1.0);
    assert_ne!(d.parameters(), factory.parameters());
    assert_eq!(
        d.state(),
        PowerState::SwitchOnDisabled,
        "a fresh unit powers up"
    );
}

#[test]
fn delta_vfd_runs_on_its_codes_and_decelerates_before_it_shows_stopped() {
    let mut d = drive("delta-c2000-vfd");
    d.step(Duration::from_millis(10));
    assert_eq!(
        d.shown_state(),
        Some(PowerState::SwitchedOn),
        "no switch-on-disabled rule: stopped"
    );
    write(&mut d, 0x2001, 5000).unwrap(); // 50.00 Hz
    write(&mut d, 0x2000, 0x0022).unwrap(); // run reverse
    step_until(
        &mut d,
        Duration::from_millis(100),
        is(PowerState::OperationEnabled),
    );
    assert_eq!(read(&mut d, 0x2101, 1)[0] & 3, 3, "running");
    d.step(Duration::from_millis(20));
    assert!(d.velocity() < 0.0, "reverse: {}", d.velocity());
    assert!(
        d.point_value("output_frequency").unwrap() > 0.0,
        "frequency shown as a magnitude"
    );
    step_until(&mut d, Duration::from_secs(1), |d| d.velocity() == -50.0);
    write(&mut d, 0x2000, 0x0001).unwrap(); // stop
    d.step(Duration::from_millis(10));
    // Decelerating shows as the first operation-enabled rule (running) until standstill.
    assert_eq!(d.shown_state(), Some(PowerState::OperationEnabled));
    assert!(
        d.velocity() < 0.0 && d.velocity() > -50.0,
        "{}",
        d.velocity()
    );
    step_until(&mut d, Duration::from_secs(1), is(PowerState::SwitchedOn));
    assert_eq!(d.velocity(), 0.0);
    assert_eq!(
        write(&mut d, 0x2000, 0x0777),
        Err(ExceptionCode::IllegalDataValue),
        "unknown code"
    );
}

#[test]
fn faults_with_and_without_a_code_and_their_reset() {
    let mut servo = drive("linevisor-sim-servo");
    let mut memory = CommandState::default();
    run_command(
        &mut servo,
        UniformCommand::Enable(Direction::Forward),
        &mut memory,
    );
    servo.inject_fault(Some(0x2310));
    step_until(&mut servo, Duration::from_secs(1), is(PowerState::Fault));
    assert_eq!(servo.point_value("error_code"), Some(f64::from(0x2310)));
    run_command(&mut servo, UniformCommand::FaultReset, &mut memory);
    assert_eq!(servo.shown_state(), Some(PowerState::SwitchOnDisabled));
    assert_eq!(servo.point_value("error_code"), Some(0.0));

    let mut vfd = drive("delta-c2000-vfd");
    let codec = vfd.codec().clone();
    vfd.step(Duration::from_millis(10));
    vfd.inject_fault(None);
    step_until(&mut vfd, Duration::from_secs(1), is(PowerState::Fault));
    let raw = vfd.point_raw("fault_code").unwrap();
    assert_ne!(
        raw & 0xFF,
        0,
        "a fault without a code still shows a non-zero code"
    );
    vfd.inject_fault(Some(0x0305));
    assert_eq!(
        vfd.point_raw("fault_code"),
        Some(raw),
        "a second fault keeps the first"
    );
    let mut memory = CommandState::default();
    run_command(&mut vfd, UniformCommand::FaultReset, &mut memory);
    assert_eq!(vfd.shown_state(), Some(PowerState::SwitchedOn));
    vfd.inject_fault(Some(0x0305));
    step_until(&mut vfd, Duration::from_secs(1), is(PowerState::Fault));
    let sample = codec
        .poll_plan()
        .decode(&[read(&mut vfd, 0x2100, 5)])
        .unwrap();
    assert_eq!(codec.telemetry(&sample).fault_code, Some(5));
}

#[test]
fn every_shipped_modbus_profile_enables_and_disables_through_its_codec_alone() {
    for name in modbus_profiles() {
        let mut d = drive(&name);
        let mut memory = CommandState::default();
        d.step(Duration::from_millis(10));
        let rounds = run_command(
            &mut d,
            UniformCommand::Enable(Direction::Forward),
            &mut memory,
        );
        assert_eq!(d.state(), PowerState::OperationEnabled, "{name}");
        assert!(rounds >= 1, "{name}");
        let codec = d.codec().clone();
        for w in codec.velocity_setpoint(10.0).unwrap() {
            d.apply(&w).unwrap();
        }
        step_until(&mut d, Duration::from_secs(2), |d| {
            (d.velocity() - 10.0).abs() < 1e-9
        });
        for cmd in [UniformCommand::Stop, UniformCommand::Disable] {
            run_command(&mut d, cmd, &mut memory);
            assert!(
                codec.command_reached(cmd, d.shown_state().unwrap()),
                "{name} {cmd:?}"
            );
            run_command(
                &mut d,
                UniformCommand::Enable(Direction::Forward),
                &mut memory,
            );
        }
        run_command(&mut d, UniformCommand::QuickStop, &mut memory);
        assert_eq!(d.velocity(), 0.0, "{name}");
    }
}

#[test]
fn holes_read_zero_unless_the_drive_refuses_them() {
    let mut d = drive("linevisor-sim-servo");
    // Registers 18–19 lie between the status block and the serial number.
    assert_eq!(read(&mut d, 17, 4)[1..3], [0, 0]);
    d.refuse_holes(true);
    let e = d.handle(&Request::ReadHoldingRegisters {
        address: 17,
        quantity: 4,
    });
    assert_eq!(e, Err(ExceptionCode::IllegalDataAddress));
    assert_eq!(read(&mut d, 10, 8).len(), 8, "mapped registers still read");
}

#[test]
fn coils_and_discrete_inputs_of_the_profile_are_read_as_bits() {
    let mut p = profile("linevisor-sim-servo");
    for (name, text) in [
        (
            "brake_released",
            "table = \"coil\"\nregister = 0\ntype = \"u16\"",
        ),
        (
            "door_closed",
            "table = \"discrete_input\"\nregister = 3\ntype = \"u16\"",
        ),
    ] {
        p.points
            .insert(name.into(), toml::from_str(text).expect("point"));
    }
    let mut d = linevisor_sim::SimDrive::new(&p, Default::default()).expect("sim");
    d.set_point_raw("brake_released", 1);
    d.set_point_raw("door_closed", 1);
    let coils = d.handle(&Request::ReadCoils {
        address: 0,
        quantity: 1,
    });
    assert_eq!(coils, Ok(Response::ReadCoils(vec![true])));
    let inputs = d.handle(&Request::ReadDiscreteInputs {
        address: 3,
        quantity: 1,
    });
    assert_eq!(inputs, Ok(Response::ReadDiscreteInputs(vec![true])));
    let outside = d.handle(&Request::ReadCoils {
        address: 1,
        quantity: 1,
    });
    assert_eq!(outside, Err(ExceptionCode::IllegalDataAddress));
}
