//! The CANopen bus actor through the production slcan path: it opens `/dev/pts/N` with
//! tokio-serial, behind which the slcan adapter emulator bridges to simulated nodes on a
//! virtual CAN bus. Real time (a pseudo-terminal), outcomes only; bounds are hang guards.

use std::time::Duration;

use linevisor_bus::{
    Attach, BusEvent, CanopenArgs, CanopenBus, CanopenHandle, CanopenSettings, Object, PdoBlock,
};
use linevisor_can::slcan::{Bitrate, EmulatorConfig, emulator};
use linevisor_can::{TransportKind, VirtualBus};
use linevisor_canopen::sim::{self, NodeConfig};
use linevisor_canopen::{MappingEntry, NodeId, PdoKind};
use ractor::Actor;
use tokio::sync::mpsc;
use tokio::time::timeout;

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

async fn next(rx: &mut mpsc::Receiver<BusEvent>) -> BusEvent {
    timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("hang guard")
        .expect("sink open")
}

#[tokio::test]
async fn boots_enables_and_follows_velocity_over_slcan_on_a_pty() {
    let vbus = VirtualBus::new();
    let _node = sim::spawn(vbus.endpoint(), NodeConfig::new(NodeId::new(4).unwrap()));
    let (_emulator, path, _adapter_end) =
        emulator::spawn_on_pty(vbus.endpoint(), EmulatorConfig::default()).expect("pty");
    let settings = CanopenSettings {
        bus: "can-pty".into(),
        sync_period: Duration::from_millis(10),
        node_heartbeat: Duration::from_millis(100),
        // A loaded 2-core machine must not turn into a false loss or timeout.
        heartbeat_timeout: Duration::from_secs(2),
        sdo_timeout: Duration::from_secs(2),
        boot_retry: Duration::from_millis(200),
    };
    let transport = TransportKind::Slcan {
        path,
        serial_baud: 115_200,
        bitrate: Bitrate::K500,
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
    let handle = CanopenHandle::new("can-pty", actor);
    let (tx, mut rx) = mpsc::channel(4096);
    handle
        .attach(Attach {
            unit: 4,
            blocks: blocks(),
            period: Duration::from_millis(10),
            sink: tx,
        })
        .await
        .unwrap();
    while !matches!(next(&mut rx).await, BusEvent::CommRestored { unit: 4 }) {}
    let velocity = Object {
        index: 0x60FF,
        subindex: 0,
    };
    let controlword = Object {
        index: 0x6040,
        subindex: 0,
    };
    handle.rpdo_write(4, velocity, 150).await.unwrap();
    for _ in 0..3000 {
        let BusEvent::Sample(s) = next(&mut rx).await else {
            continue;
        };
        let sw = s.blocks[0][0];
        let v = (u32::from(s.blocks[1][0]) | u32::from(s.blocks[1][1]) << 16) as i32;
        if sw & 0x6F == 0x27 && v == 150 {
            // The read back by SDO agrees with the cycle.
            let bytes = handle.sdo_upload(4, velocity).await.unwrap().unwrap();
            assert_eq!(bytes, 150i32.to_le_bytes());
            handle.stop().await.unwrap();
            return;
        }
        let cw = match sw & 0x6F {
            0x27 | 0x23 => 0x0F,
            0x21 => 0x07,
            _ => 0x06,
        };
        handle.rpdo_write(4, controlword, cw).await.unwrap();
    }
    panic!("operation enabled at 150 not reached over slcan");
}
