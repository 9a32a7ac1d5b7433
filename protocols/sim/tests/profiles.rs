//! Every shipped Modbus profile (and an unusual custom one) driven over RTU through the profile
//! codec alone, as a drive actor would: poll the read plan, decode the state, write the command
//! steps, setpoints and fault reset the codec produces.

mod common;

use std::time::Duration;

use common::*;
use linevisor_config::model::{PointTable, Profile, WriteFunction};
use linevisor_modbus::{Client, RtuClient, RtuConfig};
use linevisor_profile::{
    CommandState, CommandStep, Direction, PointWrite, PowerState, ProfileCodec, Sample,
    TelemetryValues, UniformCommand,
};
use linevisor_sim::{SimDrive, SimDriveOptions, SimHandle};

const CYCLE: Duration = Duration::from_millis(10);

struct Actor<C> {
    client: C,
    codec: ProfileCodec,
    memory: CommandState,
}

impl<C: Client> Actor<C> {
    async fn poll(&mut self) -> Sample {
        let mut words = Vec::new();
        for b in self.codec.poll_plan().blocks() {
            let r = match b.table {
                PointTable::Holding => {
                    self.client
                        .read_holding_registers(1, b.address, b.count)
                        .await
                }
                PointTable::Input => {
                    self.client
                        .read_input_registers(1, b.address, b.count)
                        .await
                }
                PointTable::Coil | PointTable::DiscreteInput => {
                    panic!("no shipped profile polls bits")
                }
            };
            words.push(r.unwrap().unwrap());
        }
        self.codec.poll_plan().decode(&words).unwrap()
    }

    async fn state(&mut self) -> (PowerState, TelemetryValues) {
        let s = self.poll().await;
        (
            self.codec.decode_status(&s).unwrap(),
            self.codec.telemetry(&s),
        )
    }

    async fn write(&mut self, writes: &[PointWrite]) {
        for w in writes {
            let r = self.codec.register_write(w).unwrap();
            match r.function {
                WriteFunction::Single => {
                    self.client
                        .write_single_register(1, r.address, r.words[0])
                        .await
                }
                WriteFunction::Multiple => {
                    self.client
                        .write_multiple_registers(1, r.address, &r.words)
                        .await
                }
            }
            .unwrap()
            .unwrap();
        }
        self.codec.note_written(&mut self.memory, writes);
    }

    async fn command(&mut self, cmd: UniformCommand) -> PowerState {
        for _ in 0..100 {
            let (state, _) = self.state().await;
            match self.codec.command_step(cmd, state, &self.memory).unwrap() {
                CommandStep::Done => return state,
                CommandStep::Write(w) => self.write(&w).await,
                CommandStep::Wait => {}
                CommandStep::Refused(r) => panic!("{cmd:?} refused in {state:?}: {r:?}"),
            }
            tokio::time::sleep(CYCLE).await;
        }
        panic!("{} {cmd:?} not done", self.codec.name());
    }

    async fn until(&mut self, what: &str, pred: impl Fn(PowerState, &TelemetryValues) -> bool) {
        for _ in 0..500 {
            let (s, t) = self.state().await;
            if pred(s, &t) {
                return;
            }
            tokio::time::sleep(CYCLE).await;
        }
        panic!("{}: never {what}", self.codec.name());
    }
}

async fn conformance(profile: &Profile) {
    let handle = SimHandle::new();
    let drive = SimDrive::new(profile, SimDriveOptions::default()).unwrap();
    handle.add_drive(1, drive).unwrap();
    let (io, _task) = handle.serve_duplex_rtu(115_200);
    let mut a = Actor {
        client: RtuClient::new(io, RtuConfig::new(115_200)),
        codec: ProfileCodec::new(profile).unwrap(),
        memory: CommandState::default(),
    };
    let name = profile.profile.name.clone();
    let enable = UniformCommand::Enable(Direction::Forward);
    assert_eq!(
        a.command(enable).await,
        PowerState::OperationEnabled,
        "{name}"
    );
    let setpoint = a.codec.velocity_setpoint(12.0).unwrap();
    a.write(&setpoint).await;
    a.until("at 12.0", |s, t| {
        s == PowerState::OperationEnabled && t.velocity.is_some_and(|v| (v - 12.0).abs() < 0.011)
    })
    .await;
    for cmd in [
        UniformCommand::Stop,
        UniformCommand::Disable,
        UniformCommand::QuickStop,
    ] {
        a.command(enable).await;
        let s = a.command(cmd).await;
        assert!(a.codec.command_reached(cmd, s), "{name} {cmd:?} in {s:?}");
        let (_, t) = a.state().await;
        assert_eq!(t.velocity.map(f64::abs), Some(0.0), "{name} {cmd:?}");
    }
    a.command(enable).await;
    handle.inject_fault(1, Some(0x0021)).unwrap();
    a.until("in fault", |s, t| {
        s == PowerState::Fault && t.fault_code == Some(0x21)
    })
    .await;
    let (_, t) = a.state().await;
    assert_eq!(t.fault_code, Some(0x21), "{name}");
    let s = a.command(UniformCommand::FaultReset).await;
    assert_ne!(s, PowerState::Fault, "{name}");
    assert_eq!(
        a.command(enable).await,
        PowerState::OperationEnabled,
        "{name} after reset"
    );
}

#[tokio::test(start_paused = true)]
async fn every_shipped_modbus_profile_runs_through_its_codec_alone() {
    for name in modbus_profiles() {
        conformance(&profile(&name)).await;
    }
}

/// 1-based registers, word-swapped 32-bit values, status and telemetry in input registers,
/// FC6 writes, 4 registers per read at most.
const ODD_PROFILE: &str = r#"
[profile]
name = "odd-servo"
version = "1.0"
protocol = "modbus"

[units]
position = "deg"
velocity = "rpm"
acceleration = "rpm/s"

[modbus]
address_base = 1
word_order = "low_first"
write_function = "single"
max_registers_per_read = 4

[points]
controlword = { register = 1, type = "u16", access = "rw" }
target_velocity = { register = 2, type = "f32", access = "rw" }
statusword = { register = 1, type = "u16", table = "input" }
velocity_actual = { register = 2, type = "i32", scale = 0.01, table = "input" }
position_actual = { register = 4, type = "i32", word_order = "high_first", table = "input" }
error_code = { register = 6, type = "u16", table = "input" }

[command]
encoding = "cia402"
point = "controlword"

[status]
point = "statusword"
states = [
    { state = "fault", mask = 0x0008, value = 0x0008 },
    { state = "operation_enabled", mask = 0x006F, value = 0x0027 },
    { state = "switched_on", mask = 0x006F, value = 0x0023 },
    { state = "ready_to_switch_on", mask = 0x006F, value = 0x0021 },
    { state = "switch_on_disabled", mask = 0x0040, value = 0x0040 },
    { state = "quick_stop_active", mask = 0x006F, value = 0x0007 },
]

[fault]
code = "error_code"
reset = { method = "controlword_edge" }

[poll]
points = ["statusword", "velocity_actual", "position_actual", "error_code"]

[setpoints]
velocity = "target_velocity"

[telemetry]
velocity = "velocity_actual"
position = "position_actual"
"#;

#[tokio::test(start_paused = true)]
async fn an_unusual_profile_from_a_profile_folder_runs_too() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sim-profiles-test");
    std::fs::create_dir_all(dir.join("profiles")).unwrap();
    std::fs::write(dir.join("profiles/odd-servo.toml"), ODD_PROFILE).unwrap();
    let text = "[sim]\nprofile_dirs = [\"profiles\"]\n\n[[endpoint]]\npty = true\n\n[[drive]]\nunit = 1\nprofile = { name = \"odd-servo\", version = \"1.0\" }\n";
    let config = linevisor_sim::SimConfig::parse("odd.toml", text, Some(&dir))
        .unwrap_or_else(|e| panic!("{e}"));
    let p = &config.drives[0].profile;
    let codec = ProfileCodec::new(p).unwrap();
    assert_eq!(codec.poll_plan().counts(), [3, 3], "split at 4 registers");
    conformance(p).await;
}
