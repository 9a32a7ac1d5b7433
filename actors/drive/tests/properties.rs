//! Property tests over random state paths of the simulator's device model (linevisor-cia402's
//! state machine behind each shipped Modbus profile): random commands, injected faults,
//! setpoints and time steps.
//!
//! - Status decoding: at every observation the drive's decoding (poll plan → words → sample →
//!   status rules → `DriveState`) equals the state the device shows.
//! - Command sequencing: the drive's `Sequence` (the same code the actor runs per sample)
//!   drives the device; every command ends `Done` in a state that confirms it, or `InFault`
//!   for an enable in a fault state, within a few write rounds; every write is accepted by the
//!   device; it never ends by timeout.

mod common;

use std::time::Duration;

use common::{modbus_profiles, profile};
use linevisor_config::model::PointTable;
use linevisor_drive::{CommandError, DriveState, Next, Sequence};
use linevisor_modbus::{Request, Response};
use linevisor_profile::{CommandState, PowerState, ProfileCodec, UniformCommand};
use linevisor_sim::{SimDrive, SimDriveOptions};
use proptest::prelude::*;
use tokio::time::Instant;

const TICK: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
enum Op {
    Command(UniformCommand),
    Fault(u16),
    Velocity(f64),
    Step(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => prop::sample::select(UniformCommand::ALL.to_vec()).prop_map(Op::Command),
        1 => (1u16..0x7FFF).prop_map(Op::Fault),
        1 => (-60.0..60.0f64).prop_map(Op::Velocity),
        2 => (1u64..300).prop_map(Op::Step),
    ]
}

/// Reads the poll plan from the device and decodes it as the drive does.
fn observe(drive: &mut SimDrive, codec: &ProfileCodec) -> (PowerState, Option<u32>) {
    let plan = codec.poll_plan();
    let words: Vec<Vec<u16>> = plan
        .blocks()
        .iter()
        .map(|b| {
            let (address, quantity) = (b.address, b.count);
            let request = match b.table {
                PointTable::Holding => Request::ReadHoldingRegisters { address, quantity },
                PointTable::Input => Request::ReadInputRegisters { address, quantity },
                PointTable::Coil => Request::ReadCoils { address, quantity },
                PointTable::DiscreteInput => Request::ReadDiscreteInputs { address, quantity },
            };
            match drive.handle(&request) {
                Ok(Response::ReadHoldingRegisters(w) | Response::ReadInputRegisters(w)) => w,
                Ok(Response::ReadCoils(b) | Response::ReadDiscreteInputs(b)) => {
                    b.into_iter().map(u16::from).collect()
                }
                other => panic!("poll read: {other:?}"),
            }
        })
        .collect();
    let sample = plan.decode(&words).expect("decode");
    let state = codec.decode_status(&sample).expect("decodable status");
    assert_eq!(Some(state), drive.shown_state(), "decoded vs shown");
    assert_eq!(DriveState::from(state).power(), Some(state));
    (state, codec.fault_code(&sample))
}

/// Runs `command` with the drive's sequence until it ends; returns the outcome and write rounds.
fn run(
    drive: &mut SimDrive,
    codec: &ProfileCodec,
    command: UniformCommand,
    memory: &mut CommandState,
    t: &mut Instant,
) -> (Result<PowerState, CommandError>, u32) {
    let mut seq = Sequence::new(command, *t, Duration::from_secs(5));
    loop {
        let (state, fault_code) = observe(drive, codec);
        match seq.on_status(codec, state, fault_code, *t, *t, memory) {
            Ok(Next::Done(s)) => return (Ok(s), seq.writes()),
            Ok(Next::Wait) => {}
            Ok(Next::Write(writes)) => {
                for w in &writes {
                    drive
                        .apply(w)
                        .unwrap_or_else(|e| panic!("device refused {w:?}: {e:?}"));
                }
                codec.note_written(memory, &writes);
                seq.wrote(*t);
            }
            Err(e) => return (Err(e), seq.writes()),
        }
        drive.step(TICK);
        *t += TICK;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn sequences_reach_their_targets_on_the_simulated_state_machine(
        which in 0..modbus_profiles().len(),
        ops in prop::collection::vec(op(), 1..30),
    ) {
        let p = profile(&modbus_profiles()[which]);
        let codec = ProfileCodec::new(&p).expect("codec");
        let mut drive = SimDrive::new(&p, SimDriveOptions::default()).expect("sim");
        let mut memory = CommandState::default();
        let mut t = Instant::now();
        for op in ops {
            match op {
                Op::Command(command) => {
                    // Delta has no reverse code of its own in every profile: skip what it lacks.
                    if codec.command_step(command, PowerState::SwitchOnDisabled, &memory).is_err() {
                        continue;
                    }
                    let (before, _) = observe(&mut drive, &codec);
                    let (outcome, rounds) = run(&mut drive, &codec, command, &mut memory, &mut t);
                    prop_assert!(rounds <= 6, "{command:?} took {rounds} write rounds");
                    match outcome {
                        Ok(s) => {
                            prop_assert!(codec.command_reached(command, s), "{command:?} done in {s:?}");
                            prop_assert_eq!(Some(s), drive.shown_state());
                        }
                        Err(CommandError::InFault { code }) => {
                            prop_assert!(matches!(command, UniformCommand::Enable(_)), "{command:?}");
                            prop_assert!(DriveState::from(before).is_fault() || drive.state() == PowerState::Fault);
                            prop_assert_eq!(code, observe(&mut drive, &codec).1);
                        }
                        Err(e) => prop_assert!(false, "{command:?} from {before:?}: {e}"),
                    }
                }
                Op::Fault(code) => drive.inject_fault(Some(code)),
                Op::Velocity(v) => {
                    if let Ok(writes) = codec.velocity_setpoint(v) {
                        for w in &writes {
                            drive.apply(w).expect("setpoint accepted");
                        }
                    }
                }
                Op::Step(ms) => {
                    drive.step(Duration::from_millis(ms));
                    t += Duration::from_millis(ms);
                    observe(&mut drive, &codec);
                }
            }
        }
    }
}
