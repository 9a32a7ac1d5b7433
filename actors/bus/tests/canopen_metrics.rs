//! The metrics snapshot of a CANopen bus counts what the test did, in paused time on the
//! in-memory CAN bus: frames both ways, SDO transfers and one abort, SYNCs, cycles per node, one
//! EMCY, one heartbeat loss, one boot-up and the node's return.

use std::time::Duration;

use linevisor_bus::{
    Attach, BusEvent, CanopenArgs, CanopenBus, CanopenHandle, CanopenSettings, Object, PdoBlock,
    Sample,
};
use linevisor_can::{TransportKind, VirtualBus};
use linevisor_canopen::sim::{self, NodeConfig, SimNodeHandle};
use linevisor_canopen::{MappingEntry, NodeId, PdoKind};
use ractor::Actor;
use tokio::sync::mpsc;
use tokio::time::timeout;

const SYNC: Duration = Duration::from_millis(10);
const HEARTBEAT: Duration = Duration::from_millis(100);

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
    ]
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

async fn booted(handle: &CanopenHandle, node: u8) -> mpsc::Receiver<BusEvent> {
    let (tx, mut rx) = mpsc::channel(4096);
    handle
        .attach(Attach {
            unit: node,
            blocks: blocks(),
            period: SYNC,
            sink: tx,
        })
        .await
        .unwrap();
    while !matches!(next(&mut rx, "booted").await, BusEvent::CommRestored { .. }) {}
    rx
}

#[tokio::test(start_paused = true)]
async fn canopen_metrics_count_what_happened() {
    let vbus = VirtualBus::new();
    let nodes: Vec<SimNodeHandle> = [1, 2]
        .iter()
        .map(|id| sim::spawn(vbus.endpoint(), NodeConfig::new(NodeId::new(*id).unwrap())))
        .collect();
    let settings = CanopenSettings {
        bus: "can-m".into(),
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
    let handle = CanopenHandle::new("can-m", actor);
    let mut rx1 = booted(&handle, 1).await;
    let mut rx2 = booted(&handle, 2).await;
    let booted_at = handle.metrics().await.unwrap();
    let boot_sdos = booted_at.canopen.as_ref().unwrap().sdo_transfers;
    assert!(booted_at.link_up);
    assert!(
        boot_sdos >= 2 * 8,
        "heartbeat + two PDO mappings per node: {boot_sdos}"
    );

    for _ in 0..20 {
        sample(&mut rx1).await;
    }
    // One SDO the node refuses: an abort, counted for node 1.
    let missing = Object {
        index: 0x2FFF,
        subindex: 0,
    };
    assert!(handle.sdo_upload(1, missing).await.unwrap().is_err());
    // Node 1 faults: its EMCY, then the fault in its statusword.
    nodes[0].inject_fault(0x2310);
    while sample(&mut rx1).await.blocks[0][0] & 0x4F != 0x08 {}
    // Node 2 goes silent (heartbeat loss), then is power cycled (boot-up, boot, back).
    nodes[1].set_silent(true);
    while !matches!(next(&mut rx2, "lost").await, BusEvent::CommLost { .. }) {}
    nodes[1].power_cycle();
    while !matches!(next(&mut rx2, "back").await, BusEvent::CommRestored { .. }) {}

    let m = handle.metrics().await.unwrap();
    let c = m.canopen.clone().expect("CANopen figures");
    assert_eq!(c.emcy, 1, "{c:?}");
    assert_eq!(c.heartbeat_losses, 1, "{c:?}");
    assert_eq!(
        c.boot_ups, 1,
        "the nodes' first boot-ups predate the bus: {c:?}"
    );
    assert_eq!(c.sdo_aborts, 1, "{c:?}");
    assert_eq!(c.sdo_timeouts, 0, "{c:?}");
    // Node 2's boot again, plus the refused read.
    assert!(c.sdo_transfers > boot_sdos + boot_sdos / 2, "{c:?}");
    assert!(c.sync_sent >= 20 && c.frames_sent > c.sync_sent, "{c:?}");
    assert!(c.frames_received >= 20, "{c:?}");
    assert_eq!(c.send_errors, 0);
    // Paused time: every SYNC period is exact.
    assert_eq!((c.sync_jitter_p99_us, c.sync_missed), (0, 0), "{c:?}");
    assert_eq!(m.counters.exceptions, 1);
    assert_eq!(m.counters.transactions, c.sdo_transfers);
    let unit = |u: u8| m.units.iter().find(|x| x.unit == u).unwrap().clone();
    let (u1, u2) = (unit(1), unit(2));
    assert!(u1.attached && !u1.demoted);
    assert_eq!(u1.counters.exceptions, 1);
    assert!(u1.counters.samples >= 20);
    assert_eq!(u1.counters.samples, u1.latency.count);
    assert_eq!((u2.counters.demotions, u2.counters.restorations), (1, 1));
    assert!(!u2.demoted);
    assert_eq!(u1.counters.overruns + u2.counters.overruns, 0);
    handle.stop().await.unwrap();
}
