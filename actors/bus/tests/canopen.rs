//! The CANopen bus actor against simulated CiA 402 nodes on the in-memory CAN bus, in paused
//! time: boot with PDO re-mapping, one sample per SYNC, RPDO writes latched at SYNC, SDO with
//! aborts as device answers, heartbeat loss and return, a power cycle re-booting one node
//! while its neighbour's cycles go on.

use std::time::Duration;

use linevisor_bus::{
    Attach, BusError, BusEvent, CanopenArgs, CanopenBus, CanopenHandle, CanopenSettings, Object,
    PdoBlock, Sample,
};
use linevisor_can::{TransportKind, VirtualBus};
use linevisor_canopen::sim::{self, NodeConfig, SimNodeHandle};
use linevisor_canopen::{AbortCode, MappingEntry, NodeId, PdoKind};
use ractor::Actor;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

const SYNC: Duration = Duration::from_millis(10);
const HEARTBEAT: Duration = Duration::from_millis(100);
const CONTROLWORD: Object = Object {
    index: 0x6040,
    subindex: 0,
};
const TARGET_VELOCITY: Object = Object {
    index: 0x60FF,
    subindex: 0,
};

fn blocks() -> Vec<PdoBlock> {
    let e = MappingEntry::new;
    vec![
        PdoBlock {
            policy: Default::default(),
            kind: PdoKind::Rpdo,
            number: 1,
            entries: vec![e(0x6040, 0, 16), e(0x60FF, 0, 32)],
        },
        PdoBlock {
            policy: Default::default(),
            kind: PdoKind::Tpdo,
            number: 1,
            entries: vec![e(0x6041, 0, 16), e(0x606C, 0, 32)],
        },
        PdoBlock {
            policy: Default::default(),
            kind: PdoKind::Tpdo,
            number: 2,
            entries: vec![e(0x6064, 0, 32), e(0x603F, 0, 16)],
        },
    ]
}

struct Rig {
    handle: CanopenHandle,
    nodes: Vec<SimNodeHandle>,
    _vbus: VirtualBus,
}

async fn rig(ids: &[u8]) -> Rig {
    let vbus = VirtualBus::new();
    let nodes = ids
        .iter()
        .map(|id| sim::spawn(vbus.endpoint(), NodeConfig::new(NodeId::new(*id).unwrap())))
        .collect();
    let settings = CanopenSettings {
        bus: "can-a".into(),
        sync_period: SYNC,
        node_heartbeat: HEARTBEAT,
        heartbeat_timeout: HEARTBEAT * 3 / 2,
        sdo_timeout: Duration::from_millis(100),
        boot_retry: Duration::from_secs(1),
    };
    let args = CanopenArgs {
        settings,
        transport: TransportKind::Virtual(vbus.clone()),
    };
    let (actor, _) = Actor::spawn(None, CanopenBus, args).await.unwrap();
    Rig {
        handle: CanopenHandle::new("can-a", actor),
        nodes,
        _vbus: vbus,
    }
}

async fn attach(rig: &Rig, node: u8) -> mpsc::Receiver<BusEvent> {
    // Room for every sample of a test: a full sink would drop samples (an overrun, not a miss).
    let (tx, rx) = mpsc::channel(4096);
    rig.handle
        .attach(Attach {
            unit: node,
            blocks: blocks(),
            period: SYNC,
            sink: tx,
        })
        .await
        .unwrap();
    rx
}

/// Attaches and waits until the bus has booted the node.
async fn attach_booted(rig: &Rig, node: u8) -> mpsc::Receiver<BusEvent> {
    let mut rx = attach(rig, node).await;
    loop {
        if let BusEvent::CommRestored { unit } = next(&mut rx, "booted").await {
            assert_eq!(unit, node);
            return rx;
        }
    }
}

async fn next(rx: &mut mpsc::Receiver<BusEvent>, what: &str) -> BusEvent {
    timeout(Duration::from_secs(30), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no event: {what}"))
        .expect("sink open")
}

async fn sample(rx: &mut mpsc::Receiver<BusEvent>) -> Sample {
    loop {
        if let BusEvent::Sample(s) = next(rx, "sample").await {
            return s;
        }
    }
}

fn statusword(s: &Sample) -> u16 {
    s.blocks[0][0]
}

fn velocity(s: &Sample) -> i32 {
    (u32::from(s.blocks[1][0]) | u32::from(s.blocks[1][1]) << 16) as i32
}

/// Steps the CiA 402 state machine by RPDO until operation enabled at `velocity`.
async fn enable(rig: &Rig, node: u8, rx: &mut mpsc::Receiver<BusEvent>, velocity_rpm: i32) {
    rig.handle
        .rpdo_write(node, TARGET_VELOCITY, u64::from(velocity_rpm as u32))
        .await
        .unwrap();
    for _ in 0..500 {
        let s = sample(rx).await;
        let sw = statusword(&s);
        let cw = match sw & 0x6F {
            0x27 if velocity(&s) == velocity_rpm => return,
            0x27 => 0x0F,
            0x23 => 0x0F,
            0x21 => 0x07,
            _ if sw & 0x4F == 0x40 => 0x06,
            _ => 0x06,
        };
        rig.handle.rpdo_write(node, CONTROLWORD, cw).await.unwrap();
    }
    panic!("node {node} did not reach operation enabled at {velocity_rpm}");
}

#[tokio::test(start_paused = true)]
async fn boots_maps_pdos_and_samples_every_sync() {
    let rig = rig(&[5]).await;
    let mut rx = attach(&rig, 5).await;
    assert!(matches!(
        next(&mut rx, "restored").await,
        BusEvent::CommRestored { unit: 5 }
    ));
    let writes = rig.nodes[0].status().await.unwrap().sdo_writes;
    assert!(
        writes.contains(&(0x1A01, 1, 0x6064_0020u32.to_le_bytes().to_vec())),
        "TPDO2 re-mapped: {writes:?}"
    );
    // The simulated node already produces its heartbeat every 100 ms: read, not written.
    assert!(
        !writes.iter().any(|(index, _, _)| *index == 0x1017),
        "heartbeat period written though unchanged: {writes:?}"
    );
    let a = sample(&mut rx).await;
    let b = sample(&mut rx).await;
    assert_eq!(b.seq, a.seq + 1, "one sample per SYNC");
    assert_eq!(b.scheduled_at - a.scheduled_at, SYNC);
    assert_eq!(a.blocks.len(), 4, "one vector per TPDO entry");
    assert_eq!(statusword(&a) & 0x4F, 0x40, "switch on disabled");
}

#[tokio::test(start_paused = true)]
async fn rpdo_enables_and_velocity_is_acknowledged() {
    let rig = rig(&[5]).await;
    let mut rx = attach_booted(&rig, 5).await;
    rig.handle
        .sdo_download(
            5,
            Object {
                index: 0x6060,
                subindex: 0,
            },
            vec![3],
        )
        .await
        .unwrap()
        .unwrap();
    enable(&rig, 5, &mut rx, 300).await;
    let status = rig.nodes[0].status().await.unwrap();
    assert_eq!(status.target_velocity, 300.0);
    // A write of an unmapped object is refused by the bus, not sent.
    let e = rig
        .handle
        .rpdo_write(
            5,
            Object {
                index: 0x607A,
                subindex: 0,
            },
            1,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            BusError::NotMapped {
                node: 5,
                index: 0x607A,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test(start_paused = true)]
async fn sdo_reads_and_aborts_are_device_answers() {
    let rig = rig(&[5]).await;
    let _rx = attach(&rig, 5).await;
    let serial = rig
        .handle
        .sdo_upload(
            5,
            Object {
                index: 0x1018,
                subindex: 4,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(serial.len(), 4);
    let abort = rig
        .handle
        .sdo_upload(
            5,
            Object {
                index: 0x2FFF,
                subindex: 0,
            },
        )
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(abort.code, AbortCode::NO_OBJECT);
    // A node nobody answers for: the bus's business (timeout), not an abort.
    let e = rig
        .handle
        .sdo_upload(
            9,
            Object {
                index: 0x1000,
                subindex: 0,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, BusError::Sdo { .. }), "{e}");
}

#[tokio::test(start_paused = true)]
async fn heartbeat_loss_within_one_and_a_half_periods_then_restored() {
    let rig = rig(&[5]).await;
    let mut rx = attach(&rig, 5).await;
    sample(&mut rx).await;
    rig.nodes[0].set_silent(true);
    let silent_at = Instant::now();
    loop {
        match next(&mut rx, "comm lost").await {
            BusEvent::CommLost { unit: 5, error } => {
                assert!(
                    matches!(error, BusError::NodeDown { node: 5, .. }),
                    "{error}"
                );
                break;
            }
            BusEvent::Sample(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // Loss at 1.5 × 100 ms after the last heartbeat, which came at most one period earlier.
    assert!(
        silent_at.elapsed() <= HEARTBEAT * 3 / 2,
        "{:?}",
        silent_at.elapsed()
    );
    rig.nodes[0].set_silent(false);
    loop {
        if let BusEvent::CommRestored { unit: 5 } = next(&mut rx, "restored").await {
            break;
        }
    }
    sample(&mut rx).await;
}

#[tokio::test(start_paused = true)]
async fn power_cycle_reboots_that_node_only() {
    let rig = rig(&[5, 6]).await;
    let mut rx5 = attach_booted(&rig, 5).await;
    let mut rx6 = attach_booted(&rig, 6).await;
    enable(&rig, 5, &mut rx5, 100).await;
    enable(&rig, 6, &mut rx6, 200).await;
    let serial_before = rig.nodes[1].status().await.unwrap().serial;
    while let Ok(Some(_)) = timeout(Duration::ZERO, rx5.recv()).await {}
    let first = sample(&mut rx5).await.seq;
    rig.nodes[1].power_cycle();
    let mut lost = false;
    loop {
        match next(&mut rx6, "node 6 back").await {
            BusEvent::CommLost { unit: 6, .. } => lost = true,
            BusEvent::CommRestored { unit: 6 } if lost => break,
            _ => {}
        }
    }
    let s6 = sample(&mut rx6).await;
    assert_eq!(
        statusword(&s6) & 0x4F,
        0x40,
        "factory state after the power cycle"
    );
    let status6 = rig.nodes[1].status().await.unwrap();
    assert_ne!(status6.serial, serial_before, "a new unit");
    assert!(
        status6.sdo_writes.contains(&(0x1A00, 0, vec![2])),
        "PDOs re-mapped on the new unit"
    );
    // Node 5 kept every cycle through node 6's reboot and stayed enabled.
    let mut seq = first;
    while seq < first + 50 {
        match next(&mut rx5, "node 5 sample").await {
            BusEvent::Sample(s) => {
                assert_eq!(s.seq, seq + 1, "node 5 missed a cycle");
                assert_eq!(statusword(&s) & 0x6F, 0x27);
                seq = s.seq;
            }
            other => panic!("node 5 saw {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_restarted_drive_reattaches_without_touching_the_node() {
    let rig = rig(&[5]).await;
    let mut old = attach_booted(&rig, 5).await;
    enable(&rig, 5, &mut old, 120).await;
    let writes = rig.nodes[0].status().await.unwrap().sdo_writes.len();
    // The drive actor restarts: a new sink, the same node and PDOs.
    drop(old);
    let mut rx = attach(&rig, 5).await;
    assert!(matches!(
        next(&mut rx, "restored").await,
        BusEvent::CommRestored { unit: 5 }
    ));
    let a = sample(&mut rx).await;
    let b = sample(&mut rx).await;
    assert_eq!(b.seq, a.seq + 1);
    assert_eq!(statusword(&b) & 0x6F, 0x27, "still operation enabled");
    assert_eq!(velocity(&b), 120);
    let status = rig.nodes[0].status().await.unwrap();
    assert_eq!(status.sdo_writes.len(), writes, "no SDO write to the node");
    assert_eq!(status.nmt, linevisor_canopen::NmtState::Operational);
}
