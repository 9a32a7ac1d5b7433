//! Every shipped profile through the codec: status decoding against linevisor-cia402, command
//! and setpoint encoding writing only writable points, read plans against the config crate.

mod common;

use common::{codec, shipped};
use linevisor_cia402::Statusword;
use linevisor_core::PowerState;
use linevisor_core::profile::{CommandEncoding, Protocol};
use linevisor_profile::{
    CodecError, CommandState, CommandStep, PointWrite, ProfileCodec, UniformCommand,
};

#[test]
fn cia402_profiles_decode_every_statusword_like_linevisor_cia402() {
    let mut checked = 0;
    for p in shipped() {
        if p.command.encoding != CommandEncoding::Cia402 {
            continue;
        }
        let codec = ProfileCodec::new(&p).unwrap();
        for w in 0..=u16::MAX {
            let ours = codec.decode_status_with(|_| Some(u32::from(w)));
            match Statusword(w).state() {
                Ok(s) => assert_eq!(ours, Ok(s), "{} {w:#06x}", p.profile.name),
                Err(_) => assert_eq!(
                    ours,
                    Err(CodecError::Undecodable {
                        point: p.status.point.clone(),
                        raw: u32::from(w)
                    }),
                    "{} {w:#06x}",
                    p.profile.name
                ),
            }
        }
        checked += 1;
    }
    // Discovered, not counted by hand: at least one CiA 402 profile ships.
    assert!(checked > 0, "no shipped CiA 402 profile");
}

/// Every write the codec can produce for `codec`, from every state and remembered command.
fn all_writes(codec: &ProfileCodec) -> Vec<PointWrite> {
    let p = codec.profile();
    let mut lasts: Vec<Option<u32>> = vec![
        None,
        Some(0),
        Some(0x80),
        Some(0x0F),
        Some(0x10F),
        Some(0x1F),
    ];
    lasts.extend(p.command.codes.values().map(|c| Some(*c)));
    let mut writes = Vec::new();
    for last in lasts {
        let memory = CommandState { last_command: last };
        for state in PowerState::ALL {
            for cmd in UniformCommand::ALL {
                match codec.command_step(cmd, state, &memory) {
                    Ok(CommandStep::Write(w)) => writes.extend(w),
                    Ok(_) => {}
                    // Only a missing enable_reverse code may be unsupported.
                    Err(CodecError::Unsupported { what, .. }) => {
                        assert!(
                            what.contains("enable_reverse"),
                            "{}: {what}",
                            p.profile.name
                        )
                    }
                    Err(e) => panic!("{}: {cmd:?} in {state:?}: {e}", p.profile.name),
                }
            }
        }
        if p.setpoints.position.is_some() {
            let m = codec.position_setpoint(10.0, Some(5.0), &memory).unwrap();
            writes.extend(m.writes.into_iter().chain(m.release));
        }
        if p.homing.is_some() {
            let m = codec.homing_start(&memory).unwrap();
            writes.extend(m.writes.into_iter().chain(m.release));
        }
    }
    if p.setpoints.velocity.is_some() {
        writes.extend(codec.velocity_setpoint(1.0).unwrap());
        writes.extend(codec.velocity_setpoint(0.0).unwrap());
    }
    for (name, def) in &p.parameters {
        for v in [def.min, def.max].into_iter().flatten() {
            writes.push(codec.parameter_write(name, v).unwrap());
        }
    }
    writes
}

#[test]
fn every_shipped_profile_encodes_only_writes_to_writable_points() {
    for p in shipped() {
        let codec = ProfileCodec::new(&p).unwrap();
        let writes = all_writes(&codec);
        assert!(writes.len() > 10, "{}", p.profile.name);
        for w in &writes {
            let point = codec.point(&w.point).unwrap();
            assert!(point.access().writable(), "{}: {}", p.profile.name, w.point);
            assert_eq!(point.decode_raw(w.raw), w.value, "{}", w.point);
            if p.profile.protocol == Protocol::Modbus {
                let r = codec.register_write(w).unwrap();
                assert_eq!(r.words.len(), usize::from(point.registers()));
            }
        }
    }
}

#[test]
fn read_plans_agree_with_the_config_crates_load_check() {
    for p in shipped() {
        let codec = ProfileCodec::new(&p).unwrap();
        let ours: Vec<u32> = codec
            .poll_plan()
            .counts()
            .into_iter()
            .map(u32::from)
            .collect();
        assert_eq!(
            ours,
            linevisor_config::modbus_reads(&p),
            "{}",
            p.profile.name
        );
    }
    let servo = codec("linevisor-sim-servo");
    let blocks = servo.poll_plan().blocks();
    assert_eq!(
        (blocks.len(), blocks[0].address, blocks[0].count),
        (1, 10, 8)
    );
    let delta = codec("delta-c2000-vfd");
    let b = &delta.poll_plan().blocks()[0];
    assert_eq!((b.address, b.count), (0x2100, 5));
}

#[test]
fn sim_servo_sample_decodes_state_and_telemetry() {
    let c = codec("linevisor-sim-servo");
    // statusword 0x0637, mode 3, velocity 1500.0 rpm, position -2.5 mm, 1.25 A, no error.
    let words = vec![0x0637, 3, 0, 15_000, 0xFFFF, 0xF63C, 125, 0];
    let sample = c.poll_plan().decode(&[words]).unwrap();
    assert_eq!(c.decode_status(&sample), Ok(PowerState::OperationEnabled));
    let t = c.telemetry(&sample);
    assert_eq!(t.velocity, Some(1500.0));
    assert!((t.position.unwrap() + 2.5).abs() < 1e-9, "{:?}", t.position);
    assert_eq!((t.current, t.fault_code), (Some(1.25), Some(0)));
    let e = c.poll_plan().decode(&[vec![0; 7]]).unwrap_err();
    assert!(matches!(e, CodecError::Blocks { .. }), "{e}");
}

#[test]
fn delta_fault_rule_wins_and_the_code_is_masked() {
    use PowerState::*;
    let c = codec("delta-c2000-vfd");
    let words = |fault: u16, run: u16| vec![fault, run, 0, 5000, 12];
    let state = |f, r| c.decode_status(&c.poll_plan().decode(&[words(f, r)]).unwrap());
    assert_eq!(
        state(0x0300, 3),
        Ok(OperationEnabled),
        "a warning is no fault"
    );
    assert_eq!(state(0x0000, 2), Ok(SwitchedOn));
    assert_eq!(state(0x0305, 3), Ok(Fault));
    let sample = c.poll_plan().decode(&[words(0x0305, 3)]).unwrap();
    assert_eq!(c.telemetry(&sample).fault_code, Some(5));
    assert_eq!(c.telemetry(&sample).velocity, Some(50.0));
}

fn step_words(
    c: &ProfileCodec,
    cmd: UniformCommand,
    state: PowerState,
    last: Option<u32>,
) -> Vec<(String, u32)> {
    match c
        .command_step(cmd, state, &CommandState { last_command: last })
        .unwrap()
    {
        CommandStep::Write(w) => w.into_iter().map(|w| (w.point, w.raw)).collect(),
        other => panic!("expected writes, got {other:?}"),
    }
}

#[test]
fn cia402_enable_runs_shutdown_switch_on_enable_operation() {
    use PowerState::*;
    let c = codec("generic-cia402-modbus");
    let enable = UniformCommand::Enable(Default::default());
    let cw = |w: u32| vec![("controlword".to_owned(), w)];
    assert_eq!(step_words(&c, enable, SwitchOnDisabled, None), cw(0x06));
    assert_eq!(
        step_words(&c, enable, ReadyToSwitchOn, Some(0x06)),
        cw(0x07)
    );
    assert_eq!(step_words(&c, enable, SwitchedOn, Some(0x07)), cw(0x0F));
    let none = CommandState {
        last_command: Some(0x0F),
    };
    assert_eq!(
        c.command_step(enable, OperationEnabled, &none),
        Ok(CommandStep::Done)
    );
    assert_eq!(
        c.command_step(enable, Fault, &none),
        Ok(CommandStep::Refused(linevisor_profile::Refusal::InFault))
    );
    assert_eq!(
        step_words(&c, UniformCommand::FaultReset, Fault, Some(0x0F)),
        cw(0x80)
    );
    assert_eq!(
        step_words(&c, UniformCommand::FaultReset, Fault, Some(0x80)),
        cw(0x00)
    );
    assert_eq!(
        step_words(&c, UniformCommand::QuickStop, OperationEnabled, Some(0x0F)),
        cw(0x02)
    );
    assert_eq!(
        step_words(&c, UniformCommand::Stop, OperationEnabled, Some(0x0F)),
        cw(0x07)
    );
    assert_eq!(
        step_words(&c, UniformCommand::Disable, OperationEnabled, Some(0x0F)),
        cw(0x00)
    );
}

#[test]
fn enumerated_codes_and_reset_methods() {
    use PowerState::*;
    use linevisor_profile::Direction;
    let d = codec("delta-c2000-vfd");
    let fwd = UniformCommand::Enable(Direction::Forward);
    let rev = UniformCommand::Enable(Direction::Reverse);
    assert_eq!(
        step_words(&d, fwd, SwitchedOn, None),
        vec![("command".to_owned(), 0x12)]
    );
    // Running forward, asked to run reverse: a new code although the state is the same.
    assert_eq!(
        step_words(&d, rev, OperationEnabled, Some(0x12)),
        vec![("command".to_owned(), 0x22)]
    );
    let running = CommandState {
        last_command: Some(0x22),
    };
    assert_eq!(
        d.command_step(rev, OperationEnabled, &running),
        Ok(CommandStep::Done)
    );
    assert_eq!(
        step_words(&d, UniformCommand::FaultReset, Fault, None),
        vec![("control2".to_owned(), 2), ("control2".to_owned(), 0)],
        "pulse bit 1: set, then clear"
    );
    let s = codec("ascii-stepper");
    assert_eq!(
        step_words(&s, UniformCommand::FaultReset, Fault, None),
        vec![("command".to_owned(), 8)]
    );
    let e = s
        .command_step(rev, SwitchedOn, &CommandState::default())
        .unwrap_err();
    assert!(matches!(e, CodecError::Unsupported { .. }), "{e}");
}

#[test]
fn position_move_in_profile_position_toggles_bit_4() {
    let c = codec("linevisor-sim-servo");
    let m = c
        .position_setpoint(
            12.5,
            Some(100.0),
            &CommandState {
                last_command: Some(0x1F),
            },
        )
        .unwrap();
    let names: Vec<(&str, u32)> = m.writes.iter().map(|w| (w.point.as_str(), w.raw)).collect();
    assert_eq!(
        names,
        [
            ("modes_of_operation", 1),
            ("profile_velocity", 1000),
            ("target_position", 12_500),
            ("controlword", 0x0F),
            ("controlword", 0x1F)
        ]
    );
    assert_eq!(m.release[0].raw, 0x0F);
    let e = c.velocity_setpoint(1e9).unwrap_err();
    assert!(
        matches!(e, CodecError::OutOfRange { ref point, .. } if point == "target_velocity"),
        "{e}"
    );
    let e = c.parameter_write("max_current", 80.0).unwrap_err();
    assert!(
        matches!(e, CodecError::ParameterRange { max, .. } if max == 50.0),
        "{e}"
    );
    let w = c
        .register_write(&c.write("target_velocity", -1.0).unwrap())
        .unwrap();
    assert_eq!((w.address, w.words), (2, vec![0xFFFF, 0xFFF6]));
}

/// A drive whose status cannot show a command's result is confirmed by acknowledging the
/// code's write, once; one whose status can show it waits for the state.
#[test]
fn commands_the_status_cannot_show_are_confirmed_by_their_write() {
    use linevisor_profile::{CommandState, CommandStep, PowerState, UniformCommand};
    let tmcl = common::codec("trinamic-tmcl-axis");
    let enabled = PowerState::OperationEnabled;
    for c in [
        UniformCommand::Disable,
        UniformCommand::Stop,
        UniformCommand::QuickStop,
    ] {
        assert!(!tmcl.state_shows(c), "{c:?}");
        let fresh = CommandState::default();
        assert!(matches!(
            tmcl.command_step(c, enabled, &fresh).unwrap(),
            CommandStep::Write(_)
        ));
        let written = CommandState {
            last_command: Some(tmcl.code(c).unwrap()),
        };
        assert_eq!(
            tmcl.command_step(c, enabled, &written).unwrap(),
            CommandStep::Done,
            "{c:?}"
        );
    }
    assert!(tmcl.state_shows(UniformCommand::FaultReset));
    let scl = common::codec("applied-motion-scl-stepper");
    for c in [UniformCommand::Disable, UniformCommand::QuickStop] {
        assert!(scl.state_shows(c), "{c:?}");
        let written = CommandState {
            last_command: Some(scl.code(c).unwrap()),
        };
        assert!(
            matches!(
                scl.command_step(c, enabled, &written).unwrap(),
                CommandStep::Write(_)
            ),
            "{c:?}: SCL shows the result, so it waits for it"
        );
    }
}
