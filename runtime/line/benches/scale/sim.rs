//! The simulated drives of one scenario, in a process of their own so that the line's CPU and
//! memory are the line's alone: each Modbus bus is a simulator serving Modbus TCP on a loopback
//! port, each CANopen segment a virtual CAN bus of simulated CiA 402 nodes behind an emulated
//! slcan adapter on a pseudo-terminal. The line reaches them as it would real devices.

use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;

use linevisor_canopen::NodeId;
use linevisor_canopen::sim::NodeConfig;
use linevisor_config::check_text;
use linevisor_config::model::Profile;
use linevisor_profile::ProfileCodec;
use linevisor_sim::{SimDrive, SimDriveOptions, SimHandle, SlcanEndpoint, TcpEndpoint};
use serde::{Deserialize, Serialize};

use crate::scenario::{ROLE, SIM_SPEC};

/// One bus of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum BusPlan {
    /// A Modbus TCP connection with this many units.
    Modbus(usize),
    /// A CANopen segment with this many nodes.
    Canopen(usize),
}

/// What the simulator process serves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SimSpec {
    pub(crate) buses: Vec<BusPlan>,
    /// Profile of the Modbus drives: name, version.
    pub(crate) modbus_profile: (String, String),
    /// Folder of that profile when it is not a shipped one.
    pub(crate) profile_dir: Option<String>,
}

/// The simulator process, seen from the line's: one endpoint per bus (`127.0.0.1:port` or
/// `/dev/pts/N`). Dropping it closes the simulator's stdin, which stops it.
#[derive(Debug)]
pub(crate) struct SimChild {
    child: Child,
    stdin: Option<ChildStdin>,
    pub(crate) endpoints: Vec<String>,
}

impl SimChild {
    pub(crate) fn spawn(spec: &SimSpec) -> Self {
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current exe: {e}"));
        let json = serde_json::to_string(spec).unwrap_or_else(|e| panic!("{e}"));
        let mut child = Command::new(exe)
            .env(ROLE, "sim")
            .env(SIM_SPEC, json)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("simulator process: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("sim stdout"));
        let mut endpoints = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap_or_else(|e| panic!("sim stdout: {e}"));
            if line == "ready" {
                break;
            }
            if let Some((_, at)) = line.split_once(' ') {
                endpoints.push(at.to_owned());
            }
        }
        assert_eq!(endpoints.len(), spec.buses.len(), "simulator endpoints");
        Self {
            child,
            stdin,
            endpoints,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for SimChild {
    fn drop(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.flush();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A profile by name, from the shipped ones or `dir`.
pub(crate) fn load_profile(name: &str, version: &str, dir: Option<&Path>) -> Profile {
    let dirs = if dir.is_some() {
        "profile_dirs = [\".\"]\n"
    } else {
        ""
    };
    let text = format!(
        "[line]\nname = \"stub\"\ncycle_ms = 10\n{dirs}\n[[bus]]\nid = \"b\"\ntype = \"simulated\"\nprotocol = \"modbus\"\n\n[[drive]]\nid = \"d\"\nbus = \"b\"\naddress = 1\nprofile = {{ name = \"{name}\", version = \"{version}\" }}\n"
    );
    let checked = check_text("stub.toml", &text, dir);
    let line = checked
        .line
        .unwrap_or_else(|| panic!("profile {name}: {:#?}", checked.diagnostics));
    line.profiles
        .get(&(name.to_owned(), version.to_owned()))
        .map(|lp| lp.profile.clone())
        .unwrap_or_else(|| panic!("profile {name} not loaded"))
}

/// The `sim` role: serves the spec's buses, prints one endpoint a line then `ready`, and
/// serves until its stdin closes.
pub(crate) fn main() {
    let spec: SimSpec = std::env::var(SIM_SPEC)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| panic!("{SIM_SPEC} missing or invalid"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sim")
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    rt.block_on(async {
        let (name, version) = &spec.modbus_profile;
        let dir = spec.profile_dir.as_deref().map(Path::new);
        let codec = spec
            .buses
            .iter()
            .any(|b| matches!(b, BusPlan::Modbus(_)))
            .then(|| {
                let profile = load_profile(name, version, dir);
                Arc::new(ProfileCodec::new(&profile).unwrap_or_else(|e| panic!("codec: {e}")))
            });
        // Held until the process ends: dropping an endpoint stops it.
        let mut modbus: Vec<(SimHandle, TcpEndpoint)> = Vec::new();
        let mut canopen: Vec<SlcanEndpoint> = Vec::new();
        let mut serial = 1000;
        for bus in &spec.buses {
            match (*bus, &codec) {
                (BusPlan::Modbus(units), Some(codec)) => {
                    let sim = SimHandle::new();
                    for unit in 1..=units {
                        serial += 1;
                        let options = SimDriveOptions {
                            serial_number: serial,
                            ..SimDriveOptions::default()
                        };
                        let drive = SimDrive::with_codec(Arc::clone(codec), options)
                            .unwrap_or_else(|e| panic!("sim drive: {e}"));
                        let unit = u8::try_from(unit).unwrap_or_else(|_| panic!("unit {unit}"));
                        sim.add_drive(unit, drive)
                            .unwrap_or_else(|e| panic!("sim drive: {e}"));
                    }
                    let any_port = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
                    let endpoint = sim
                        .serve_tcp(any_port)
                        .await
                        .unwrap_or_else(|e| panic!("serve tcp: {e}"));
                    println!("modbus {}", endpoint.address);
                    modbus.push((sim, endpoint));
                }
                (BusPlan::Canopen(nodes), _) => {
                    let configs = (1..=nodes)
                        .map(|i| {
                            let id = u8::try_from(i).ok().and_then(|i| NodeId::new(i).ok());
                            let mut c =
                                NodeConfig::new(id.unwrap_or_else(|| panic!("node id {i}")));
                            serial += 1;
                            c.identity.serial = serial;
                            c
                        })
                        .collect();
                    let endpoint =
                        SlcanEndpoint::serve(configs).unwrap_or_else(|e| panic!("slcan: {e}"));
                    println!("slcan {}", endpoint.path.display());
                    canopen.push(endpoint);
                }
                (BusPlan::Modbus(_), None) => unreachable!("codec made when a Modbus bus exists"),
            }
        }
        println!("ready");
        // Serve until the line's process closes our stdin (or ends).
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        })
        .await;
        drop((modbus, canopen));
    });
}
