//! Shipped profiles and helpers shared by the simulator tests.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use linevisor_config::check_text;
use linevisor_core::profile::Profile;
use linevisor_profile::{CommandState, CommandStep, PowerState, ProfileCodec, UniformCommand};
use linevisor_sim::{SimDrive, SimDriveOptions};

pub mod master;

/// Every shipped profile, checked by linevisor-config.
pub fn shipped() -> Vec<Profile> {
    let checked = check_text("<test>", "[line]\nname = \"t\"\n", None);
    let line = checked.line.expect("the shipped profiles check clean");
    line.profiles.into_values().map(|lp| lp.profile).collect()
}

/// A shipped profile by name.
pub fn profile(name: &str) -> Profile {
    shipped()
        .into_iter()
        .find(|p| p.profile.name == name)
        .expect("shipped profile")
}

/// Every shipped Modbus profile by name, discovered from `configs/profiles/` (never listed by
/// hand); fails if there is none.
pub fn modbus_profiles() -> Vec<String> {
    let mut names: Vec<String> = shipped()
        .into_iter()
        .filter(|p| p.profile.protocol == linevisor_core::profile::Protocol::Modbus)
        .map(|p| p.profile.name)
        .collect();
    names.sort();
    names.dedup();
    assert!(!names.is_empty(), "no shipped modbus profile");
    names
}

/// A drive of a shipped profile with serial number 1001.
pub fn drive(name: &str) -> SimDrive {
    let options = SimDriveOptions {
        serial_number: 1001,
        ..SimDriveOptions::default()
    };
    SimDrive::new(&profile(name), options).expect("sim drive")
}

/// Runs `cmd` on a drive directly through the codec (no transport) until it is done;
/// returns the number of write rounds.
pub fn run_command(drive: &mut SimDrive, cmd: UniformCommand, memory: &mut CommandState) -> usize {
    let codec: ProfileCodec = drive.codec().clone();
    for round in 0..50 {
        let state = drive.shown_state().expect("decodable status");
        match codec
            .command_step(cmd, state, memory)
            .expect("command step")
        {
            CommandStep::Done => return round,
            CommandStep::Wait => {}
            CommandStep::Write(writes) => {
                for w in &writes {
                    drive.apply(w).expect("write accepted");
                }
                codec.note_written(memory, &writes);
            }
            CommandStep::Refused(r) => panic!("{cmd:?} refused: {r:?}"),
        }
        drive.step(Duration::from_millis(10));
    }
    panic!("{cmd:?} not done; state {:?}", drive.shown_state());
}

/// Steps a drive until `pred` holds, at most `limit`.
pub fn step_until(drive: &mut SimDrive, limit: Duration, pred: impl Fn(&SimDrive) -> bool) {
    let mut t = Duration::ZERO;
    while !pred(drive) {
        assert!(
            t < limit,
            "condition not met within {limit:?}; state {:?}",
            drive.state()
        );
        drive.step(Duration::from_millis(10));
        t += Duration::from_millis(10);
    }
}

pub fn is(state: PowerState) -> impl Fn(&SimDrive) -> bool {
    move |d| d.shown_state() == Some(state)
}

/// A simulator hosting a `linevisor-sim-servo` at each unit, serial number 1000 + unit.
pub fn servo_line(units: &[u8]) -> linevisor_sim::SimHandle {
    let handle = linevisor_sim::SimHandle::new();
    let p = profile("linevisor-sim-servo");
    for &u in units {
        let options = SimDriveOptions {
            serial_number: 1000 + u32::from(u),
            ..SimDriveOptions::default()
        };
        handle
            .add_drive(u, SimDrive::new(&p, options).unwrap())
            .unwrap();
    }
    handle
}

/// A TCP connector that opens a fresh in-memory connection to the simulator each time, so the
/// client can reconnect after the simulator closes a connection (paused time, no sockets).
#[derive(Debug)]
pub struct DuplexConnector {
    pub handle: linevisor_sim::SimHandle,
    pub tasks: Vec<linevisor_sim::ServeTask>,
}

impl linevisor_modbus::client::Connect for DuplexConnector {
    type Stream = tokio::io::DuplexStream;

    async fn connect(&mut self) -> std::io::Result<Self::Stream> {
        let (client, task) = self.handle.serve_duplex_tcp();
        self.tasks.push(task);
        Ok(client)
    }

    fn peer(&self) -> String {
        "simulator".to_owned()
    }
}
