//! The CANopen profile passes the conformance scenario against a simulated CiA 402 node,
//! through the real CANopen bus actor under a real supervisor: over the in-memory CAN bus
//! (paused time) and over slcan on a pseudo-terminal pair via the adapter emulator (real
//! time, hang guards only).
//! The shipped profile runs unchanged: its parameters are downloaded by SDO and verified, and
//! every step of the scenario is the same as for Modbus profiles.

mod common;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use linevisor_bus::{CanopenArgs, CanopenBus, CanopenHandle, CanopenSettings};
use linevisor_can::slcan::{Bitrate, EmulatorConfig, emulator};
use linevisor_can::{CanTransport, TransportKind, VirtualBus};
use linevisor_canopen::NodeId;
use linevisor_canopen::sim::{self, NodeConfig, NodeStatus, SimNodeHandle};
use linevisor_config::check_text;
use linevisor_config::model::{Profile, Protocol};
use linevisor_drive::conformance::{self, Rig};
use linevisor_profile::{PointValue, PowerState, ProfileCodec, Sample};
use ractor::Actor;
use tokio::task::JoinHandle;

const NODE: u8 = 7;

/// The device side: the node's status, refreshed on every frame on the bus, and the RPDO
/// payload changes it received (writes, as the Modbus rig counts register writes).
struct CanRig {
    node: Arc<SimNodeHandle>,
    seen: Arc<Mutex<(Option<NodeStatus>, usize)>>,
    codec: ProfileCodec,
    /// Object (index, subindex) of every point, to find the SDO writes of parameters.
    objects: std::collections::BTreeMap<String, (u16, u8)>,
    _observer: JoinHandle<()>,
}

impl CanRig {
    fn new(vbus: &VirtualBus, profile: &Profile) -> Self {
        let codec = ProfileCodec::new(profile).unwrap();
        let objects = profile
            .points
            .iter()
            .filter_map(|(n, p)| Some((n.clone(), (p.index?, p.subindex))))
            .collect();
        let mut config = NodeConfig::new(NodeId::new(NODE).unwrap());
        config.identity.serial = 4242;
        let node = Arc::new(sim::spawn(vbus.endpoint(), config));
        let seen: Arc<Mutex<(Option<NodeStatus>, usize)>> = Arc::default();
        let observer = vbus.endpoint();
        let (n, s) = (node.clone(), seen.clone());
        let task = tokio::spawn(async move {
            let mut last_rpdo: [Option<Vec<u8>>; 4] = Default::default();
            while let Ok(f) = observer.recv().await {
                let id = f.id().raw();
                let changed = (0x200..0x600).contains(&id)
                    && id & 0x7F == u32::from(NODE)
                    && id & 0x80 == 0
                    && {
                        let slot = &mut last_rpdo[((id >> 8) - 2) as usize];
                        let new = Some(f.data().to_vec());
                        let changed = slot.is_some() && *slot != new;
                        *slot = new;
                        changed
                    };
                let status = n.status().await;
                let mut g = s.lock().unwrap_or_else(PoisonError::into_inner);
                g.0 = status.or(g.0.take());
                g.1 += usize::from(changed);
            }
        });
        Self {
            node,
            seen,
            codec,
            objects,
            _observer: task,
        }
    }

    fn status(&self) -> Option<NodeStatus> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone()
    }
}

impl Rig for CanRig {
    fn device_state(&self) -> Option<PowerState> {
        let s = self.status()?;
        let point = self.codec.point("statusword").ok()?;
        let mut sample = Sample::default();
        sample.insert(
            "statusword",
            PointValue::new(point, u32::from(s.statusword)),
        );
        self.codec.decode_status(&sample).ok()
    }

    fn device_value(&self, point: &str) -> Option<f64> {
        let s = self.status()?;
        match point {
            "target_velocity" => Some(s.target_velocity),
            "target_position" => Some(s.target_position),
            "velocity_actual" => Some(s.velocity),
            "statusword" => Some(f64::from(s.statusword)),
            "error_code" => Some(f64::from(s.error_code)),
            // Anything else (parameters): the last value the node accepted by SDO.
            other => {
                let object = self.objects.get(other)?;
                let (_, _, data) = s
                    .sdo_writes
                    .iter()
                    .rev()
                    .find(|(i, sub, _)| (*i, *sub) == *object)?;
                self.codec.point(other).ok()?.decode_le_bytes(data).ok()
            }
        }
    }

    fn writes_received(&self) -> usize {
        let g = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        g.0.as_ref().map_or(0, |s| s.sdo_writes.len()) + g.1
    }

    fn inject_fault(&self, code: u16) {
        self.node.inject_fault(code);
    }

    fn go_silent(&self) {
        self.node.set_silent(true);
    }

    fn come_back(&self) {
        self.node.set_silent(false);
    }
}

/// Every shipped CANopen profile, discovered from `configs/profiles/`; at least one.
fn canopen_profiles() -> Vec<Profile> {
    let line = check_text("<test>", "[line]\nname = \"t\"\n", None)
        .line
        .expect("the shipped profiles check clean");
    let profiles: Vec<Profile> = line
        .profiles
        .into_values()
        .map(|lp| lp.profile)
        .filter(|p| p.profile.protocol == Protocol::Canopen)
        .collect();
    assert!(!profiles.is_empty(), "no shipped canopen profile");
    profiles
}

async fn conform(vbus: &VirtualBus, transport: TransportKind, patient: bool, profile: Profile) {
    let name = profile.profile.name.clone();
    let rig = CanRig::new(vbus, &profile);
    let slack = if patient { 20 } else { 1 };
    let settings = CanopenSettings {
        bus: "can-a".into(),
        sync_period: Duration::from_millis(10),
        node_heartbeat: Duration::from_millis(100),
        heartbeat_timeout: Duration::from_millis(150) * slack,
        sdo_timeout: Duration::from_millis(200) * slack,
        boot_retry: Duration::from_millis(500),
    };
    let (actor, _) = Actor::spawn(
        None,
        CanopenBus,
        CanopenArgs {
            settings,
            transport,
        },
    )
    .await
    .unwrap();
    let bus = CanopenHandle::new("can-a", actor);
    let config = conformance::drive_config(&profile, "axis-1", "can-a", u32::from(NODE));
    let harness = common::harness(profile, config, bus.clone().into()).await;
    match conformance::run(&rig, harness).await {
        Ok(report) => {
            for step in report.steps {
                println!("{name}: {step}");
            }
        }
        Err(f) => panic!("{name}: {f}"),
    }
    bus.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn every_shipped_canopen_profile_conforms_on_the_virtual_bus() {
    for profile in canopen_profiles() {
        let vbus = VirtualBus::new();
        conform(&vbus, TransportKind::Virtual(vbus.clone()), false, profile).await;
    }
}

#[tokio::test]
async fn every_shipped_canopen_profile_conforms_over_slcan_on_a_pty() {
    for profile in canopen_profiles() {
        let vbus = VirtualBus::new();
        let (_emulator, path, _adapter_end) =
            emulator::spawn_on_pty(vbus.endpoint(), EmulatorConfig::default()).expect("pty");
        let transport = TransportKind::Slcan {
            path,
            serial_baud: 115_200,
            bitrate: Bitrate::K500,
        };
        conform(&vbus, transport, true, profile).await;
    }
}
