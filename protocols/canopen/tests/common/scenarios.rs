//! Scenarios run against every rig (virtual bus, slcan over duplex, slcan over a pty).

use std::time::Duration;

use linevisor_can::CanTransport;
use linevisor_canopen::pdo::{self, sign_extend};
use linevisor_canopen::sim::od::DEVICE_NAME;
use linevisor_canopen::{
    AbortCode, Event, LinkError, MappingEntry, NmtCommand, NmtState, PdoConfig, PdoKind,
    PdoMapping, SyncConfig,
};
use linevisor_cia402::{Controlword, PowerState, Statusword, Step, Target, next_step};

use super::{Rig, node};

pub async fn boot_and_nmt<T: CanTransport>(rig: &mut Rig<T>) {
    rig.boot_all().await;
    let n = node(5);
    assert_eq!(rig.bus.node_state(n), Some(NmtState::PreOperational));
    rig.bus.nmt(NmtCommand::Stop, Some(n)).await.unwrap();
    rig.wait_for(
        "stopped heartbeat",
        |e| matches!(e, Event::StateChanged { node, state: NmtState::Stopped } if *node == n),
    )
    .await;
    rig.bus.nmt(NmtCommand::Start, None).await.unwrap();
    rig.wait_for(
        "operational heartbeat",
        |e| matches!(e, Event::StateChanged { node, state: NmtState::Operational } if *node == n),
    )
    .await;
    rig.bus
        .nmt(NmtCommand::ResetCommunication, Some(n))
        .await
        .unwrap();
    rig.wait_for(
        "boot-up after reset communication",
        |e| matches!(e, Event::BootUp { node } if *node == n),
    )
    .await;
    assert_eq!(rig.bus.node_state(n), Some(NmtState::PreOperational));
}

pub async fn sdo_transfers_and_aborts<T: CanTransport>(rig: &mut Rig<T>) {
    rig.boot_all().await;
    let sdo = rig.bus.sdo(node(5));
    // Expedited both ways.
    assert_eq!(
        sdo.read_u32(0x1000, 0).await.unwrap().unwrap() & 0xFFFF,
        0x0192
    );
    sdo.write_i32(0x60FF, 0, -1234).await.unwrap().unwrap();
    assert_eq!(sdo.read_i32(0x60FF, 0).await.unwrap().unwrap(), -1234);
    sdo.write_u16(0x1017, 0, 250).await.unwrap().unwrap();
    assert_eq!(sdo.read_u16(0x1017, 0).await.unwrap().unwrap(), 250);
    // Segmented both ways.
    let name = sdo.upload(0x1008, 0).await.unwrap().unwrap();
    assert_eq!(name, DEVICE_NAME.as_bytes());
    let recipe: Vec<u8> = (0..=40u8).collect();
    sdo.download(0x2000, 0, &recipe).await.unwrap().unwrap();
    assert_eq!(sdo.upload(0x2000, 0).await.unwrap().unwrap(), recipe);
    // Aborts are device answers with their meaning.
    let abort = sdo.read_u32(0x2FFF, 0).await.unwrap().unwrap_err();
    assert_eq!(
        (abort.index, abort.subindex, abort.code),
        (0x2FFF, 0, AbortCode::NO_OBJECT)
    );
    assert_eq!(abort.meaning(), "object does not exist in the dictionary");
    let abort = sdo.write_u16(0x6041, 0, 1).await.unwrap().unwrap_err();
    assert_eq!(abort.meaning(), "attempt to write a read-only object");
    let abort = sdo.read_u32(0x1018, 9).await.unwrap().unwrap_err();
    assert_eq!(abort.code, AbortCode::NO_SUBINDEX);
    let abort = sdo
        .download(0x1008, 0, b"renamed drive")
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!((abort.index, abort.code), (0x1008, AbortCode::READ_ONLY));
    let abort = sdo.write_u32(0x6040, 0, 1).await.unwrap().unwrap_err();
    assert_eq!(abort.code, AbortCode::LENGTH_TOO_HIGH);
    // A wrong toggle bit is a protocol fault, and the channel recovers.
    rig.handle(node(5)).corrupt_next_toggle();
    settle(rig).await;
    let e = sdo.upload(0x1008, 0).await.unwrap_err();
    assert!(
        matches!(e, LinkError::Protocol { ref detail, .. } if detail.contains("toggle")),
        "{e}"
    );
    assert_eq!(
        sdo.upload(0x1008, 0).await.unwrap().unwrap(),
        DEVICE_NAME.as_bytes()
    );
    // Two nodes at once: independent channels.
    let other = rig.bus.sdo(node(6));
    let (a, b) = tokio::join!(sdo.read_u32(0x1018, 4), other.read_u32(0x1018, 4));
    assert_ne!(a.unwrap().unwrap(), b.unwrap().unwrap());
    // A silent node times out (a link fault, not an abort).
    rig.handle(node(6)).set_silent(true);
    settle(rig).await;
    let e = other.read_u16(0x6041, 0).await.unwrap_err();
    assert!(e.is_timeout(), "{e}");
}

/// Lets a control message reach a node task before the next frame does.
async fn settle<T: CanTransport>(rig: &Rig<T>) {
    for (_, h) in &rig.nodes {
        h.status().await;
    }
}

fn rpdo1() -> PdoConfig {
    PdoConfig {
        kind: PdoKind::Rpdo,
        number: 1,
        cob_id: None,
        transmission_type: 1,
        mapping: PdoMapping::new(vec![
            MappingEntry::new(0x6040, 0, 16),
            MappingEntry::new(0x60FF, 0, 32),
        ])
        .unwrap(),
    }
}

fn tpdo1() -> PdoConfig {
    PdoConfig {
        kind: PdoKind::Tpdo,
        number: 1,
        cob_id: None,
        transmission_type: 1,
        mapping: PdoMapping::new(vec![
            MappingEntry::new(0x6041, 0, 16),
            MappingEntry::new(0x606C, 0, 32),
        ])
        .unwrap(),
    }
}

pub async fn pdo_remap_then_cyclic_enable<T: CanTransport>(rig: &mut Rig<T>) {
    rig.boot_all().await;
    let n = node(5);
    let sdo = rig.bus.sdo(n);
    pdo::configure(&sdo, &rpdo1()).await.unwrap().unwrap();
    pdo::configure(&sdo, &tpdo1()).await.unwrap().unwrap();
    let writes = rig.handle(n).status().await.unwrap().sdo_writes;
    let rpdo_steps: Vec<(u16, u8, Vec<u8>)> = writes.into_iter().take(7).collect();
    let expected: Vec<(u16, u8, Vec<u8>)> = vec![
        (0x1400, 1, 0x8000_0205u32.to_le_bytes().to_vec()),
        (0x1600, 0, vec![0]),
        (0x1600, 1, 0x6040_0010u32.to_le_bytes().to_vec()),
        (0x1600, 2, 0x60FF_0020u32.to_le_bytes().to_vec()),
        (0x1600, 0, vec![2]),
        (0x1400, 2, vec![1]),
        (0x1400, 1, 0x0000_0205u32.to_le_bytes().to_vec()),
    ];
    assert_eq!(rpdo_steps, expected, "CiA 301 re-mapping order");
    // Mapping a read-only object into an RPDO is refused by the node.
    sdo.write_u32(0x1401, 1, 0x8000_0305)
        .await
        .unwrap()
        .unwrap();
    let abort = sdo
        .write_u32(0x1601, 1, 0x6041_0010)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(abort.code, AbortCode::NOT_MAPPABLE);
    sdo.write_i8(0x6060, 0, 9).await.unwrap().unwrap(); // CSV
    rig.bus.nmt(NmtCommand::Start, Some(n)).await.unwrap();
    // Re-mapping is for pre-operational only.
    let abort = pdo::configure(&sdo, &tpdo1()).await.unwrap().unwrap_err();
    assert_eq!(abort.code, AbortCode::DEVICE_STATE);

    let mut sync = rig
        .bus
        .sync_producer(SyncConfig {
            period: Duration::from_millis(10),
            counter_overflow: None,
        })
        .unwrap();
    let (rx, tx) = (rpdo1().mapping, tpdo1().mapping);
    let target_velocity: i32 = 200;
    let mut last = Controlword(0);
    let mut enabled_at = None;
    for cycle in 0..600 {
        sync.tick().await.unwrap();
        let Event::Tpdo { data, .. } = rig
            .wait_for(
                "TPDO1",
                |e| matches!(e, Event::Tpdo { node, number: 1, .. } if *node == n),
            )
            .await
        else {
            unreachable!()
        };
        let values = tx.unpack(&data).unwrap();
        let state = Statusword(values[0] as u16).state().unwrap();
        let velocity = sign_extend(values[1], 32);
        if state == PowerState::OperationEnabled {
            enabled_at.get_or_insert(cycle);
            if (velocity - i64::from(target_velocity)).abs() <= 1 {
                let status = rig.handle(n).status().await.unwrap();
                assert_eq!(status.target_velocity, f64::from(target_velocity));
                return;
            }
        }
        if let Step::Write { controlword, .. } = next_step(state, Target::OperationEnabled, last) {
            last = controlword;
        }
        let payload = rx
            .pack(&[u64::from(last.0), target_velocity as u32 as u64])
            .unwrap();
        rig.bus.send_rpdo(n, 1, &payload).await.unwrap();
    }
    panic!("velocity not acknowledged; operation enabled at cycle {enabled_at:?}");
}

pub async fn emcy_fault_and_reset<T: CanTransport>(rig: &mut Rig<T>) {
    rig.boot_all().await;
    let n = node(5);
    let sdo = rig.bus.sdo(n);
    for cw in [0x06u16, 0x07, 0x0F] {
        sdo.write_u16(0x6040, 0, cw).await.unwrap().unwrap();
    }
    rig.handle(n).inject_fault(0x2310);
    let Event::Emcy { emcy, .. } = rig
        .wait_for(
            "EMCY",
            |e| matches!(e, Event::Emcy { node, .. } if *node == n),
        )
        .await
    else {
        unreachable!()
    };
    assert_eq!((emcy.code, emcy.class()), (0x2310, "current"));
    assert_eq!(sdo.read_u16(0x603F, 0).await.unwrap().unwrap(), 0x2310);
    assert_ne!(sdo.read_u8(0x1001, 0).await.unwrap().unwrap(), 0);
    let sw = Statusword(sdo.read_u16(0x6041, 0).await.unwrap().unwrap());
    assert_eq!(sw.state(), Ok(PowerState::Fault));
    sdo.write_u16(0x6040, 0, 0x0080).await.unwrap().unwrap();
    let Event::Emcy { emcy, .. } = rig
        .wait_for(
            "EMCY reset",
            |e| matches!(e, Event::Emcy { node, .. } if *node == n),
        )
        .await
    else {
        unreachable!()
    };
    assert!(emcy.is_reset(), "{emcy}");
    assert_eq!(sdo.read_u16(0x603F, 0).await.unwrap().unwrap(), 0);
    let sw = Statusword(sdo.read_u16(0x6041, 0).await.unwrap().unwrap());
    assert_eq!(sw.state(), Ok(PowerState::SwitchOnDisabled));
}

/// Returns the time from going silent to the loss event.
pub async fn heartbeat_loss_and_resume<T: CanTransport>(rig: &mut Rig<T>) -> Duration {
    rig.boot_all().await;
    let n = node(5);
    let period = Duration::from_millis(100);
    rig.bus.watch_heartbeat_period(n, period);
    rig.bus.watch_heartbeat_period(node(6), period);
    rig.wait_for(
        "first heartbeat",
        |e| matches!(e, Event::StateChanged { node, .. } if *node == n),
    )
    .await;
    // Steady heartbeats: no loss over 20 periods.
    let until = tokio::time::Instant::now() + period * 20;
    while tokio::time::Instant::now() < until {
        if let Ok(Some(e)) = tokio::time::timeout_at(until, rig.events.next()).await {
            assert!(!matches!(e, Event::NodeLost { .. }), "false loss: {e:?}");
        }
    }
    rig.handle(n).set_silent(true);
    let silent_since = tokio::time::Instant::now();
    let Event::NodeLost {
        node: lost,
        silent_for,
    } = rig
        .wait_for("node loss", |e| matches!(e, Event::NodeLost { .. }))
        .await
    else {
        unreachable!()
    };
    let detected = silent_since.elapsed();
    assert_eq!(lost, n, "only the silent node is lost");
    assert!(silent_for >= period * 3 / 2, "{silent_for:?}");
    rig.handle(n).set_silent(false);
    rig.wait_for(
        "heartbeat resumed",
        |e| matches!(e, Event::NodeResumed { node, .. } if *node == n),
    )
    .await;
    detected
}

pub async fn reboot_is_seen_as_boot_up<T: CanTransport>(rig: &mut Rig<T>) {
    rig.boot_all().await;
    let n = node(5);
    let sdo = rig.bus.sdo(n);
    let serial = sdo.read_u32(0x1018, 4).await.unwrap().unwrap();
    sdo.write_u16(0x1017, 0, 500).await.unwrap().unwrap();
    rig.bus
        .watch_heartbeat_period(n, Duration::from_millis(500));
    rig.handle(n).power_cycle();
    rig.wait_for(
        "boot-up after power cycle",
        |e| matches!(e, Event::BootUp { node } if *node == n),
    )
    .await;
    let new_serial = sdo.read_u32(0x1018, 4).await.unwrap().unwrap();
    assert_ne!(new_serial, serial, "a swapped unit has a new serial number");
    assert_eq!(
        sdo.read_u16(0x1017, 0).await.unwrap().unwrap(),
        100,
        "factory heartbeat"
    );
    assert_eq!(rig.bus.node_state(n), Some(NmtState::PreOperational));
}
