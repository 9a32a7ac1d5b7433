//! Property tests of the drive's core alone: no actors, no bus, no simulator process. A
//! CiA 402 device model (linevisor-cia402) answers the core's reads and writes and produces
//! its samples; time is a plain `Instant` moved by hand.
//!
//! - Every command gets exactly one outcome, in time; a newer command of the same kind
//!   supersedes a pending one, which gets `Superseded`; a state command's acknowledgement is
//!   a state that confirms it.
//! - A device that never confirms: the command fails with `Timeout` once `command_timeout`
//!   has passed, not before.
//! - Comm loss while a command is pending fails it with `CommLoss` (the bus's reason); commands
//!   while offline are refused the same way; comm back runs the reconnect procedure first.
//! - Safe stop ([`DriveTo`] quick stop or disable through acyclic reads and writes) reaches a
//!   state that confirms it from any state the device can be driven into.
//! - Arbitrary event sequences (stale completions, undecodable samples, failed start-ups)
//!   never panic and never answer a command twice.

#[path = "core_props/device.rs"]
mod device;

use linevisor_drive::PowerState;
use std::collections::BTreeSet;
use std::time::Duration;

use device::{CODEC, Device, PERIOD, Rig, TIMEOUT};
use linevisor_cia402::Controlword;
use linevisor_config::model::{RestartPolicy, SafeState};
use linevisor_drive::core::{
    CycleSample, DriveTo, Event, IoId, Poll, StartupOutcome, StopPlan, stop_plan,
};
use linevisor_drive::{Command, CommandError, Direction, DriveState, StartupKind};
use linevisor_profile::{CommandState, UniformCommand};
use linevisor_supervisor::StopCause;
use proptest::prelude::*;
use tokio::time::Instant;

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::Enable(Direction::Forward)),
        Just(Command::Disable),
        Just(Command::Stop),
        Just(Command::QuickStop),
        Just(Command::FaultReset),
        (-2000.0..2000.0f64).prop_map(Command::SetVelocity),
        (-50.0..50.0f64).prop_map(|p| Command::MoveTo {
            position: p,
            velocity: None
        }),
        Just(Command::Home),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Command(Command),
    Cycles(u8),
    Fault(u16),
    Lose,
    Back,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => command().prop_map(Op::Command),
        6 => (1u8..12).prop_map(Op::Cycles),
        1 => (1u16..0x7FFF).prop_map(Op::Fault),
        1 => Just(Op::Lose),
        2 => Just(Op::Back),
    ]
}

/// A rig with the drive started and ready.
fn ready_rig() -> Rig {
    let mut rig = Rig::new(SafeState::QuickStop);
    rig.cycle();
    assert_eq!(
        rig.core.state(),
        DriveState::Power(PowerState::SwitchOnDisabled)
    );
    rig
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Every command ends in one outcome; supersede, acknowledgement and comm-loss rules hold.
    #[test]
    fn every_command_gets_one_outcome(ops in prop::collection::vec(op(), 1..24)) {
        let mut rig = ready_rig();
        // Per command: kind (state?), issued at, last comm loss before its outcome.
        let mut issued: Vec<(u64, Command, Instant)> = Vec::new();
        let mut losses: Vec<Instant> = Vec::new();
        let mut id = 0;
        for op in ops {
            match op {
                Op::Command(c) => {
                    id += 1;
                    issued.push((id, c, rig.now));
                    rig.command(id, c);
                }
                Op::Cycles(n) => (0..n).for_each(|_| rig.cycle()),
                Op::Fault(code) => {
                    rig.device.drive.inject_fault(code);
                }
                Op::Lose => {
                    rig.device.silent = true;
                    losses.push(rig.now);
                    rig.event(Event::CommLost { reason: "lost".into() });
                }
                Op::Back => rig.device.silent = false,
            }
        }
        // Comm back and time for every pending command to end.
        rig.device.silent = false;
        let end = rig.now + TIMEOUT + PERIOD * 4;
        while rig.now < end {
            rig.cycle();
        }
        prop_assert!(rig.core.pending().is_empty(), "{:?}", rig.core.pending());
        let mut answered = BTreeSet::new();
        for (i, result, at) in &rig.seen.replies {
            prop_assert!(answered.insert(*i), "command {i} answered twice");
            let (_, c, t) = issued.iter().find(|(x, _, _)| x == i).expect("issued");
            match result {
                Ok(ack) => {
                    prop_assert_eq!(ack.command, *c);
                    prop_assert_eq!(ack.took, at.saturating_duration_since(*t));
                    if let Some(u) = state_command(*c) {
                        let s = ack.state.power();
                        prop_assert!(s.is_some_and(|s| CODEC.command_reached(u, s)), "{c:?} acked in {:?}", ack.state);
                    }
                }
                Err(CommandError::Superseded) => {
                    let newer = issued.iter().any(|(x, n, tn)| {
                        x > i && state_command(*n).is_some() == state_command(*c).is_some() && tn <= at
                    });
                    prop_assert!(newer, "{c:?} superseded without a newer command of its kind");
                }
                Err(CommandError::Timeout { after, .. }) => {
                    prop_assert_eq!(after, &TIMEOUT);
                    prop_assert!(at.saturating_duration_since(*t) >= TIMEOUT);
                }
                Err(CommandError::CommLoss { .. }) => {
                    prop_assert!(losses.iter().any(|l| l <= at), "{c:?}: comm loss without a loss");
                }
                Err(_) => {}
            }
        }
        prop_assert_eq!(answered.len(), issued.len());
    }

    /// A command still pending when a newer one of the same kind arrives gets `Superseded` at
    /// once; the newer one is carried out.
    #[test]
    fn a_newer_command_supersedes_a_pending_one(
        motion in any::<bool>(),
        first in -1000.0..1000.0f64,
        second in command(),
    ) {
        let mut rig = ready_rig();
        rig.command(1, Command::Enable(Direction::Forward));
        (0..8).for_each(|_| rig.cycle());
        prop_assert!(matches!(rig.reply(1), Some(Ok(_))));
        // A move waits for its set-point release; a disable for the drive's next samples.
        let older = if motion {
            Command::MoveTo { position: first / 20.0, velocity: None }
        } else {
            Command::Disable
        };
        // The disable's own statusword reads would confirm it at once: the device ignores it
        // until the newer command has arrived.
        rig.device.deaf = !motion;
        rig.command(2, older);
        prop_assert!(rig.core.pending().iter().any(|(id, _)| id.0 == 2));
        if state_command(second).is_some() == motion {
            // Another kind: both go on.
            rig.command(3, second);
            prop_assert!(rig.reply(2).is_none());
            return Ok(());
        }
        rig.device.deaf = false;
        rig.command(3, second);
        prop_assert!(matches!(rig.reply(2), Some(Err(CommandError::Superseded))), "{:?}", rig.reply(2));
        (0..40).for_each(|_| rig.cycle());
        let r = rig.reply(3);
        prop_assert!(matches!(r, Some(Ok(_)) | Some(Err(CommandError::InFault { .. }))), "{second:?}: {r:?}");
    }

    /// A device that takes no writes (from disabled, enabled or fault): a state command it does
    /// not already confirm fails with `Timeout` at the first event after `command_timeout`,
    /// not before (or `InFault` for an enable in fault).
    #[test]
    fn unconfirmed_commands_time_out(
        c in prop::sample::select(UniformCommand::ALL.to_vec()),
        start in 0u8..3,
    ) {
        let mut rig = ready_rig();
        if start >= 1 {
            rig.command(100, Command::Enable(Direction::Forward));
            (0..8).for_each(|_| rig.cycle());
        }
        if start == 2 {
            rig.device.drive.inject_fault(0x2310);
            (0..40).for_each(|_| rig.cycle());
        }
        let before = rig.core.state().power().expect("online");
        let t0 = rig.now;
        // The device ignores every write from now on (also the ones followed by a read at once).
        rig.device.deaf = true;
        let frozen = rig.device.clone();
        rig.command(1, to_command(c));
        while rig.reply(1).is_none() && rig.now < t0 + TIMEOUT * 3 {
            rig.device = frozen.clone();
            rig.cycle();
        }
        let result = rig.reply(1).expect("an outcome");
        let at = rig.seen.replies.iter().find(|r| r.0 == 1).map(|r| r.2).expect("reply");
        let reached = CODEC.command_reached(c, before)
            && !(matches!(c, UniformCommand::Enable(_)) && rig.device.drive.controlword().halt());
        match result {
            Ok(ack) => prop_assert!(reached, "{c:?} from {before:?} acked in {:?}", ack.state),
            Err(CommandError::Timeout { after, .. }) => {
                prop_assert!(!reached, "{c:?} from {before:?} timed out");
                prop_assert_eq!(after, &TIMEOUT);
                let waited = at.saturating_duration_since(t0);
                prop_assert!(waited >= TIMEOUT && waited <= TIMEOUT + PERIOD, "{waited:?}");
            }
            Err(CommandError::InFault { .. }) => {
                prop_assert!(matches!(c, UniformCommand::Enable(_)) && start == 2, "{c:?} from {before:?}");
            }
            Err(other) => prop_assert!(false, "{c:?} from {before:?}: {other}"),
        }
    }

    /// Comm loss while a command is pending fails it with the bus's reason; commands while
    /// offline are refused; comm back runs the reconnect procedure before the next command.
    #[test]
    fn comm_loss_fails_pending_commands(c in command(), cycles in 0u8..3) {
        let mut rig = ready_rig();
        rig.command(1, Command::Enable(Direction::Forward));
        (0..8).for_each(|_| rig.cycle());
        rig.command(2, c);
        (0..cycles).for_each(|_| rig.cycle());
        let pending = rig.reply(2).is_none();
        rig.device.silent = true;
        rig.event(Event::CommLost { reason: "timeout x3".into() });
        if pending {
            let r = rig.reply(2);
            prop_assert!(matches!(r, Some(Err(CommandError::CommLoss { reason })) if reason == "timeout x3"), "{r:?}");
        }
        prop_assert_eq!(rig.core.state(), DriveState::Offline);
        rig.command(3, c);
        let r = rig.reply(3);
        prop_assert!(matches!(r, Some(Err(CommandError::CommLoss { .. }))), "{:?}", r);
        rig.device.silent = false;
        let startups = rig.seen.startups.len();
        rig.cycle();
        let job = rig.seen.startups.get(startups).expect("reconnect procedure");
        prop_assert_eq!(job.kind, StartupKind::Reconnect);
        prop_assert!(job.comm_loss_pending);
        prop_assert_ne!(rig.core.state(), DriveState::Offline);
    }

    /// Safe stop through acyclic I/O reaches a state that confirms it from any state the
    /// device can be driven into (random controlwords, faults, time).
    #[test]
    fn safe_stop_reaches_the_safe_state(
        words in prop::collection::vec((any::<u16>(), 0u8..20), 0..12),
        fault in prop::option::of(1u16..0x7FFF),
        safe in prop::sample::select(vec![SafeState::QuickStop, SafeState::Disable]),
        command_word in any::<Option<u16>>(),
    ) {
        let mut device = Device::new();
        for (word, steps) in words {
            device.drive.write_controlword(Controlword(word & 0x01FF));
            for _ in 0..steps {
                device.drive.step(PERIOD.as_secs_f64());
            }
        }
        if let Some(code) = fault {
            device.drive.inject_fault(code);
        }
        let command = match safe {
            SafeState::QuickStop => UniformCommand::QuickStop,
            _ => UniformCommand::Disable,
        };
        let memory = CommandState { last_command: command_word.map(u32::from) };
        let mut now = Instant::now();
        let timeout = Duration::from_secs(3);
        let mut run = DriveTo::new(command, memory, now, PERIOD, timeout);
        let mut poll = Poll::Read;
        let points: Vec<String> = linevisor_drive::core::observed_points(&CODEC, &[])
            .into_iter().map(str::to_owned).collect();
        let reached = loop {
            poll = match poll {
                Poll::Read => {
                    let sample = device.read(&points).expect("answers");
                    let state = CODEC.decode_status(&sample).expect("decodes");
                    match run.observed(&CODEC, state, CODEC.fault_code(&sample), now, now) {
                        Ok(p) => p,
                        Err(e) => break Err(e),
                    }
                }
                Poll::Write(w) => {
                    device.apply(&w).expect("takes writes");
                    run.written(&CODEC, &w, now)
                }
                Poll::Sleep(d) => {
                    now += d;
                    device.drive.step(d.as_secs_f64());
                    Poll::Read
                }
                Poll::Done(s) => break Ok(s),
            };
        };
        let s = reached.map_err(|e| TestCaseError::fail(format!("{command:?}: {e}")))?;
        prop_assert!(CODEC.command_reached(command, s), "{command:?} done in {s:?}");
        prop_assert!(run.writes() <= 4, "{} write rounds", run.writes());
        // The safe-stop step applies it on a shutdown, never on a replacement.
        prop_assert_eq!(stop_plan(StopCause::Shutdown, RestartPolicy::Adopt, safe), StopPlan::Apply(safe));
        prop_assert_eq!(stop_plan(StopCause::Replace, RestartPolicy::Reinit, safe), StopPlan::Bumpless);
    }

    /// Anything in any order: no panic, no command answered twice.
    #[test]
    fn arbitrary_events_never_panic(events in prop::collection::vec(event(), 1..60)) {
        let mut rig = Rig::new(SafeState::Disable);
        let mut id = 0;
        for e in events {
            match e {
                Ev::Command(c) => {
                    id += 1;
                    rig.command(id, c);
                }
                Ev::Raw(event) => {
                    rig.now += PERIOD;
                    // Raw events bypass the rig's I/O loop: completions may be stale or missing.
                    let _ = rig.core.step(event, rig.now);
                }
                Ev::Cycle => rig.cycle(),
            }
            let _ = rig.core.snapshot();
        }
        let mut answered = BTreeSet::new();
        for (i, _, _) in &rig.seen.replies {
            prop_assert!(answered.insert(*i), "command {i} answered twice");
        }
    }
}

#[derive(Debug, Clone)]
enum Ev {
    Command(Command),
    Raw(Event),
    Cycle,
}

fn event() -> impl Strategy<Value = Ev> {
    let raw = prop_oneof![
        (0u64..4).prop_map(|io| Event::WriteDone {
            io: IoId(io),
            result: Ok(())
        }),
        (0u64..4).prop_map(|io| Event::WriteDone {
            io: IoId(io),
            result: Err(CommandError::Superseded)
        }),
        (0u64..4).prop_map(|io| Event::ReadDone {
            io: IoId(io),
            result: Ok(Default::default())
        }),
        Just(Event::CommLost { reason: "x".into() }),
        Just(Event::CommUp),
        Just(Event::Tick),
        Just(Event::StartupLost),
        (any::<u64>()).prop_map(|seq| Event::CycleFailed {
            seq,
            reason: "crc".into()
        }),
        (any::<u64>(), any::<bool>()).prop_map(|(seq, ok)| Event::Sample(CycleSample {
            seq,
            n: seq,
            scheduled_at: Instant::now(),
            completed_at: Instant::now(),
            latency: Duration::from_millis(2),
            points: if ok {
                Ok(Default::default())
            } else {
                Err("short frame".into())
            },
        })),
        any::<bool>().prop_map(|ok| Event::StartupDone(Box::new(StartupOutcome {
            kind: StartupKind::Reconnect,
            device: None,
            fault_code: None,
            memory: CommandState::default(),
            setpoints: Vec::new(),
            result: if ok { Ok(vec![1]) } else { Err("no".into()) },
        }))),
    ];
    prop_oneof![
        3 => command().prop_map(Ev::Command),
        4 => raw.prop_map(Ev::Raw),
        4 => Just(Ev::Cycle),
    ]
}

fn state_command(c: Command) -> Option<UniformCommand> {
    match c.kind() {
        linevisor_drive::CommandKind::State(u) => Some(u),
        linevisor_drive::CommandKind::Motion => None,
    }
}

fn to_command(c: UniformCommand) -> Command {
    match c {
        UniformCommand::Enable(d) => Command::Enable(d),
        UniformCommand::Disable => Command::Disable,
        UniformCommand::Stop => Command::Stop,
        UniformCommand::QuickStop => Command::QuickStop,
        UniformCommand::FaultReset => Command::FaultReset,
    }
}
