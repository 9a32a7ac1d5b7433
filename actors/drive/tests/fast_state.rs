//! Fast state sequences (issue 15, item 4): after each controlword write the core reads the
//! statusword at once and takes the next CiA 402 step from it, so a state command completes in
//! its own transactions, without waiting for cyclic samples; each command takes at most four
//! such reads; and a cyclic sample read before the newest statusword read does not turn the
//! reported state back.

#[path = "core_props/device.rs"]
mod device;

use device::{PERIOD, Rig};
use linevisor_config::model::SafeState;
use linevisor_drive::core::Event;
use linevisor_drive::{Command, Direction, DriveState, PowerState};

fn ready_rig() -> Rig {
    let mut rig = Rig::new(SafeState::QuickStop);
    rig.cycle();
    assert_eq!(
        rig.core.state(),
        DriveState::Power(PowerState::SwitchOnDisabled)
    );
    rig
}

#[test]
fn enable_disable_and_quick_stop_complete_without_a_cycle() {
    let mut rig = ready_rig();
    let start = rig.now;
    rig.command(1, Command::Enable(Direction::Forward));
    let ack = rig.reply(1).expect("answered within its own reads").clone();
    let ack = ack.expect("enabled");
    assert_eq!(
        ack.state,
        DriveState::Power(PowerState::OperationEnabled),
        "{ack:?}"
    );
    assert_eq!(rig.now, start, "no cycle passed");
    // Shutdown, switch on, enable: three writes, each followed by one read.
    assert_eq!(rig.device.reads, 3);
    assert_eq!(
        rig.core.state(),
        DriveState::Power(PowerState::OperationEnabled)
    );

    rig.command(2, Command::QuickStop);
    let ack = rig.reply(2).expect("answered").clone().expect("quick stop");
    assert_eq!(ack.state, DriveState::Power(PowerState::QuickStopActive));

    rig.command(3, Command::Disable);
    let ack = rig.reply(3).expect("answered").clone().expect("disabled");
    assert!(
        matches!(
            ack.state.power(),
            Some(PowerState::SwitchOnDisabled | PowerState::ReadyToSwitchOn)
        ),
        "{ack:?}"
    );
}

#[test]
fn fault_reset_completes_without_a_cycle() {
    let mut rig = ready_rig();
    rig.device.drive.inject_fault(0x2310);
    rig.cycle();
    assert_eq!(rig.core.state(), DriveState::Power(PowerState::Fault));
    rig.command(1, Command::FaultReset);
    let ack = rig.reply(1).expect("answered").clone().expect("reset");
    assert_eq!(ack.state, DriveState::Power(PowerState::SwitchOnDisabled));
}

#[test]
fn a_drive_that_does_not_follow_takes_four_reads_then_the_cycles_carry_on() {
    let mut rig = ready_rig();
    rig.device.deaf = true;
    rig.command(1, Command::Enable(Direction::Forward));
    assert!(rig.reply(1).is_none(), "nothing confirms it yet");
    assert_eq!(rig.device.reads, 4, "the budget of one command");
    // It follows again: the cyclic samples complete the sequence.
    rig.device.deaf = false;
    for _ in 0..10 {
        rig.cycle();
    }
    assert!(matches!(rig.reply(1), Some(Ok(_))), "{:?}", rig.reply(1));
    assert_eq!(rig.device.reads, 4, "no more reads after the budget");
}

#[test]
fn a_cyclic_sample_older_than_the_statusword_read_does_not_turn_the_state_back() {
    let mut rig = ready_rig();
    // A cyclic read sent before the enable, answered after it.
    let stale = rig.device.cycle(rig.seq + 1, rig.now);
    rig.now += PERIOD;
    rig.command(1, Command::Enable(Direction::Forward));
    assert!(matches!(rig.reply(1), Some(Ok(_))));
    rig.seq += 1;
    rig.event(Event::Sample(stale));
    assert_eq!(
        rig.core.state(),
        DriveState::Power(PowerState::OperationEnabled)
    );
}

#[test]
fn a_failed_statusword_read_leaves_the_command_to_the_cycles() {
    let mut rig = ready_rig();
    rig.device.unreadable = true;
    rig.command(1, Command::Enable(Direction::Forward));
    assert!(rig.reply(1).is_none(), "not confirmed by a failed read");
    for _ in 0..10 {
        rig.cycle();
    }
    let ack = rig.reply(1).expect("answered").clone().expect("enabled");
    assert_eq!(ack.state, DriveState::Power(PowerState::OperationEnabled));
}
