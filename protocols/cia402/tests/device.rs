//! Property tests on the device model and on master-side sequencing against it.

use linevisor_cia402::device::{
    DriveParameters, PowerStateMachine, QuickStopOption, SimulatedDrive,
};
use linevisor_cia402::{
    Controlword, ModeOfOperation, PowerState, Step, Target, Transition, next_step,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Action {
    Write(u16),
    Step(f64),
    Fault { code: u16, persistent: bool },
    ClearCause,
    Mode(i8),
    Velocity(f64),
    Position(f64),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => any::<u16>().prop_map(Action::Write),
        // Bias towards the words a master writes.
        4 => prop::sample::select(vec![0x00u16, 0x02, 0x06, 0x07, 0x0F, 0x80, 0x1F, 0x10F])
            .prop_map(Action::Write),
        4 => (0.0..0.5f64).prop_map(Action::Step),
        1 => (any::<u16>(), any::<bool>()).prop_map(|(code, persistent)| Action::Fault { code, persistent }),
        1 => Just(Action::ClearCause),
        1 => prop::sample::select(vec![1i8, 3, 6, 8, 9, 0]).prop_map(Action::Mode),
        1 => (-1000.0..1000.0f64).prop_map(Action::Velocity),
        1 => (-1e4..1e4f64).prop_map(Action::Position),
    ]
}

fn params() -> impl Strategy<Value = DriveParameters> {
    prop::bool::ANY.prop_map(|stay| DriveParameters {
        quick_stop_option: if stay {
            QuickStopOption::StayInQuickStop
        } else {
            QuickStopOption::DisableAfterStop
        },
        ..DriveParameters::default()
    })
}

fn apply(drive: &mut SimulatedDrive, a: &Action) {
    match *a {
        Action::Write(w) => {
            drive.write_controlword(Controlword(w));
        }
        Action::Step(dt) => {
            drive.step(dt);
        }
        Action::Fault { code, persistent } => {
            if persistent {
                drive.inject_persistent_fault(code);
            } else {
                drive.inject_fault(code);
            }
        }
        Action::ClearCause => drive.clear_fault_cause(),
        Action::Mode(m) => drive.set_mode(ModeOfOperation::from(m)),
        Action::Velocity(v) => drive.set_target_velocity(v),
        Action::Position(p) => drive.set_target_position(p),
    }
}

fn any_target() -> impl Strategy<Value = Target> {
    prop::sample::select(vec![
        Target::OperationEnabled,
        Target::SwitchedOn,
        Target::ReadyToSwitchOn,
        Target::SwitchOnDisabled,
        Target::QuickStop,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Each call of the state machine takes at most one transition, always a legal edge with
    /// the number it reports, and the statusword always decodes to the model's state.
    #[test]
    fn state_machine_only_takes_legal_transitions(
        stay in any::<bool>(),
        ops in prop::collection::vec((0u8..4, any::<u16>(), any::<bool>()), 0..80),
    ) {
        let opt = if stay { QuickStopOption::StayInQuickStop } else { QuickStopOption::DisableAfterStop };
        let mut m = PowerStateMachine::new(opt);
        for (kind, word, flag) in ops {
            let before = m.state();
            let t = match kind {
                0 => m.evaluate(Controlword(word)),
                1 => m.update(flag),
                2 => m.inject_fault(word, flag),
                _ => { m.clear_fault_cause(); None }
            };
            let after = m.state();
            match t {
                Some(t) => prop_assert!(t.connects(before, after), "{t} for {before} -> {after}"),
                None => prop_assert_eq!(before, after),
            }
            prop_assert_eq!(m.statusword().state(), Ok(after));
        }
    }

    /// The simulated drive never leaves the defined states, whatever is written to it, and
    /// its actual values stay finite.
    #[test]
    fn simulated_drive_stays_defined(p in params(), actions in prop::collection::vec(action(), 0..120)) {
        let mut drive = SimulatedDrive::new(p);
        for a in &actions {
            apply(&mut drive, a);
            prop_assert_eq!(drive.statusword().state(), Ok(drive.state()));
            prop_assert!(drive.position().is_finite() && drive.velocity().is_finite());
            if !drive.state().is_powered() {
                prop_assert_eq!(drive.velocity(), 0.0);
            }
        }
    }

    /// From any state a random history leaves the drive in, following `next_step` reaches
    /// the target within 6 writes and 30 s of simulated polling (10 ms cycle), unless a
    /// persistent fault blocks the reset.
    #[test]
    fn sequencing_reaches_every_target(
        p in params(),
        history in prop::collection::vec(action(), 0..60),
        target in any_target(),
    ) {
        let mut drive = SimulatedDrive::new(p);
        for a in &history {
            apply(&mut drive, a);
        }
        drive.clear_fault_cause();
        let mut writes = 0;
        let mut last = drive.controlword();
        for _cycle in 0..3000 {
            let state = drive.statusword().state().map_err(|e| TestCaseError::fail(e.to_string()))?;
            match next_step(state, target, last) {
                Step::Done => {
                    prop_assert!(target.is_reached(drive.state()));
                    return Ok(());
                }
                Step::Wait => {}
                Step::Write { controlword, transition, .. } => {
                    writes += 1;
                    prop_assert!(writes <= 6, "{writes} writes, now in {state} aiming at {target:?}");
                    drive.write_controlword(controlword);
                    last = controlword;
                    // The drive takes the announced transition as soon as the word lands.
                    if let Some(t) = transition {
                        prop_assert!(t.connects(state, drive.state()), "{t}: {state} -> {}", drive.state());
                    }
                }
            }
            drive.step(0.01);
        }
        prop_assert!(false, "target {target:?} not reached, drive in {}", drive.state());
    }
}

#[test]
fn enable_sequence_reports_transitions_2_3_4() {
    let mut drive = SimulatedDrive::default();
    drive.step(0.01);
    let mut taken = Vec::new();
    let mut last = Controlword(0);
    while let Step::Write {
        controlword,
        transition,
        ..
    } = next_step(drive.state(), Target::OperationEnabled, last)
    {
        taken.push(transition);
        drive.write_controlword(controlword);
        last = controlword;
    }
    assert_eq!(
        taken,
        vec![
            Some(Transition(2)),
            Some(Transition(3)),
            Some(Transition(4))
        ]
    );
    assert_eq!(drive.state(), PowerState::OperationEnabled);
}
