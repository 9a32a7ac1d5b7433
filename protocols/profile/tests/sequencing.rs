//! Command sequencing of the CiA 402 profiles against linevisor-cia402's device model: from any
//! reachable state, every command the state machine allows completes within a few steps.

mod common;

use linevisor_cia402::Controlword;
use linevisor_cia402::device::{PowerStateMachine, QuickStopOption};
use linevisor_profile::{
    CommandState, CommandStep, Direction, PowerState, Refusal, UniformCommand,
};
use proptest::prelude::*;

/// Built once: loading the shipped profiles per case would dominate the run time.
static CODEC: std::sync::LazyLock<linevisor_profile::ProfileCodec> =
    std::sync::LazyLock::new(|| common::codec("linevisor-sim-servo"));

fn command() -> impl Strategy<Value = UniformCommand> {
    prop::sample::select(vec![
        UniformCommand::Enable(Direction::Forward),
        UniformCommand::Disable,
        UniformCommand::Stop,
        UniformCommand::QuickStop,
        UniformCommand::FaultReset,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn cia402_commands_complete_from_random_states(
        words in prop::collection::vec(any::<u16>(), 0..12),
        fault in any::<bool>(),
        stay in any::<bool>(),
        cmd in command(),
    ) {
        let codec = &*CODEC;
        let option = if stay { QuickStopOption::StayInQuickStop } else { QuickStopOption::DisableAfterStop };
        let mut psm = PowerStateMachine::new(option);
        for w in &words {
            psm.evaluate(Controlword(*w));
            psm.update(true);
        }
        if fault {
            psm.inject_fault(0x5000, false);
        }
        let mut memory = CommandState { last_command: words.last().map(|w| u32::from(*w)) };
        let decode = |psm: &PowerStateMachine| {
            codec.decode_status_with(|_| Some(u32::from(psm.statusword().0))).unwrap()
        };
        let mut done = false;
        for _ in 0..10 {
            let state = decode(&psm);
            match codec.command_step(cmd, state, &memory).unwrap() {
                CommandStep::Done => {
                    prop_assert!(codec.command_reached(cmd, state), "{cmd:?} done in {state:?}");
                    done = true;
                    break;
                }
                CommandStep::Wait => {}
                CommandStep::Write(writes) => {
                    for w in &writes {
                        psm.evaluate(Controlword(w.raw as u16));
                    }
                    codec.note_written(&mut memory, &writes);
                }
                CommandStep::Refused(Refusal::InFault) => {
                    prop_assert!(matches!(state, PowerState::Fault | PowerState::FaultReactionActive));
                    done = true;
                    break;
                }
            }
            // The drive's automatic transitions between polls (standstill: no motion here).
            psm.update(true);
        }
        prop_assert!(done, "{cmd:?} did not complete; stuck in {:?}", psm.state());
    }
}
