//! PDO mapping policies against simulated nodes whose PDOs are fixed (every PDO object
//! read-only, as many CiA 402 drives ship): `auto` and `verify` boot a node whose fixed mapping
//! is the profile's without writing it, `configure` fails with a one-line reason, and a fixed
//! mapping that differs fails with the object, the expected and the found entries. A writable
//! node is written once by `auto`, and not again at its next boot. Paused time.

use std::time::Duration;

use linevisor_bus::{
    Attach, BusEvent, CanopenArgs, CanopenBus, CanopenHandle, CanopenSettings, PdoBlock,
};
use linevisor_can::{TransportKind, VirtualBus};
use linevisor_canopen::sim::{self, NodeConfig, SimNodeHandle};
use linevisor_canopen::{MappingEntry, MappingPolicy, NodeId, PdoKind};
use ractor::Actor;
use tokio::sync::mpsc;
use tokio::time::timeout;

const SYNC: Duration = Duration::from_millis(10);

fn mapping() -> Vec<(PdoKind, u8, Vec<MappingEntry>)> {
    let e = MappingEntry::new;
    vec![
        (PdoKind::Rpdo, 1, vec![e(0x6040, 0, 16), e(0x60FF, 0, 32)]),
        (PdoKind::Tpdo, 1, vec![e(0x6041, 0, 16), e(0x606C, 0, 32)]),
    ]
}

fn blocks(policy: MappingPolicy) -> Vec<PdoBlock> {
    mapping()
        .into_iter()
        .map(|(kind, number, entries)| PdoBlock {
            kind,
            number,
            entries,
            policy,
        })
        .collect()
}

struct Rig {
    handle: CanopenHandle,
    node: SimNodeHandle,
    _vbus: VirtualBus,
}

/// A bus with node 3, fixed to `fixed` (empty: writable PDOs).
async fn rig(fixed: Vec<(PdoKind, u8, Vec<MappingEntry>)>) -> Rig {
    let vbus = VirtualBus::new();
    let mut config = NodeConfig::new(NodeId::new(3).unwrap());
    config.fixed_pdo = fixed;
    let node = sim::spawn(vbus.endpoint(), config);
    let settings = CanopenSettings {
        bus: "can-a".into(),
        sync_period: SYNC,
        node_heartbeat: Duration::from_millis(100),
        heartbeat_timeout: Duration::from_millis(150),
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
        node,
        _vbus: vbus,
    }
}

/// Attaches node 3 with `policy`: the boot's outcome (`Ok` booted, `Err` the reason).
async fn boot(rig: &Rig, policy: MappingPolicy) -> (Result<(), String>, mpsc::Receiver<BusEvent>) {
    let (tx, mut rx) = mpsc::channel(4096);
    rig.handle
        .attach(Attach {
            unit: 3,
            blocks: blocks(policy),
            period: SYNC,
            sink: tx,
        })
        .await
        .unwrap();
    loop {
        let ev = timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("a boot outcome")
            .expect("open");
        match ev {
            BusEvent::CommRestored { unit: 3 } => return (Ok(()), rx),
            BusEvent::CommLost { unit: 3, error } => return (Err(error.to_string()), rx),
            _ => {}
        }
    }
}

async fn writes(rig: &Rig) -> Vec<u16> {
    all_writes(rig)
        .await
        .into_iter()
        .filter(|i| (0x1400..0x1C00).contains(i))
        .collect()
}

/// Every object the node was written (heartbeat period included).
async fn all_writes(rig: &Rig) -> Vec<u16> {
    let s = rig.node.status().await.expect("node");
    s.sdo_writes.iter().map(|(i, _, _)| *i).collect()
}

#[tokio::test(start_paused = true)]
async fn a_matching_fixed_mapping_boots_under_auto_and_verify_without_a_write() {
    for policy in [MappingPolicy::Auto, MappingPolicy::Verify] {
        let rig = rig(mapping()).await;
        let (outcome, _rx) = boot(&rig, policy).await;
        assert_eq!(outcome, Ok(()), "{policy:?}");
        assert_eq!(
            writes(&rig).await,
            Vec::<u16>::new(),
            "{policy:?} wrote PDO objects"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn configure_on_a_fixed_mapping_fails_with_one_line() {
    let rig = rig(mapping()).await;
    let (outcome, _rx) = boot(&rig, MappingPolicy::Configure).await;
    let reason = outcome.expect_err("configure cannot write a read-only mapping");
    assert!(!reason.contains('\n'), "{reason}");
    assert!(
        reason.contains("0x1400:01") && reason.contains("0x06010002"),
        "{reason}"
    );
    assert_eq!(
        reason
            .matches("attempt to write a read-only object")
            .count(),
        1,
        "the abort's meaning once: {reason}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_fixed_mapping_that_differs_names_the_object_expected_and_found() {
    let e = MappingEntry::new;
    let other = vec![
        (PdoKind::Rpdo, 1, vec![e(0x6040, 0, 16), e(0x60FF, 0, 32)]),
        (PdoKind::Tpdo, 1, vec![e(0x6041, 0, 16), e(0x6064, 0, 32)]),
    ];
    for policy in [MappingPolicy::Auto, MappingPolicy::Verify] {
        let rig = rig(other.clone()).await;
        let (outcome, _rx) = boot(&rig, policy).await;
        let reason = outcome.expect_err("a differing fixed mapping");
        assert!(
            reason.contains(
                "TPDO 1 (0x1A00): expected [0x6041:00/16, 0x606C:00/32], found [0x6041:00/16, 0x6064:00/32]"
            ),
            "{policy:?}: {reason}"
        );
        assert!(!reason.contains('\n'), "{reason}");
        if policy == MappingPolicy::Auto {
            assert!(reason.contains("the node refused the write"), "{reason}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn auto_writes_a_writable_node_once_and_not_at_its_next_boot() {
    let rig = rig(Vec::new()).await;
    let (outcome, rx) = boot(&rig, MappingPolicy::Auto).await;
    assert_eq!(outcome, Ok(()));
    let first = writes(&rig).await;
    assert!(
        first.contains(&0x1600) && first.contains(&0x1A00),
        "{first:x?}"
    );
    let everything = all_writes(&rig).await;
    // The drive detaches and attaches again (a restart): the node keeps its mapping.
    drop(rx);
    rig.handle.detach(3).unwrap();
    let (outcome, _rx) = boot(&rig, MappingPolicy::Auto).await;
    assert_eq!(outcome, Ok(()));
    assert_eq!(
        writes(&rig).await,
        first,
        "the second boot wrote PDO objects"
    );
    assert_eq!(
        all_writes(&rig).await,
        everything,
        "the second boot wrote something (the heartbeat period?)"
    );
}
