//! The master against simulated CiA 402 nodes on the in-memory bus, in paused time.

mod common;

use std::time::Duration;

use common::{scenarios, virtual_rig};

#[tokio::test(start_paused = true)]
async fn boot_up_and_nmt() {
    scenarios::boot_and_nmt(&mut virtual_rig(&[5, 6])).await;
}

#[tokio::test(start_paused = true)]
async fn sdo_expedited_segmented_and_aborts() {
    scenarios::sdo_transfers_and_aborts(&mut virtual_rig(&[5, 6])).await;
}

#[tokio::test(start_paused = true)]
async fn pdo_remap_then_sync_cycle_reaches_operation_enabled_and_velocity() {
    scenarios::pdo_remap_then_cyclic_enable(&mut virtual_rig(&[5, 6])).await;
}

#[tokio::test(start_paused = true)]
async fn emcy_on_fault_and_reset() {
    scenarios::emcy_fault_and_reset(&mut virtual_rig(&[5])).await;
}

#[tokio::test(start_paused = true)]
async fn heartbeat_loss_detected_within_one_and_a_half_periods() {
    let detected = scenarios::heartbeat_loss_and_resume(&mut virtual_rig(&[5, 6])).await;
    assert!(detected <= Duration::from_millis(150), "{detected:?}");
}

#[tokio::test(start_paused = true)]
async fn reboot_seen_as_boot_up() {
    scenarios::reboot_is_seen_as_boot_up(&mut virtual_rig(&[5])).await;
}

/// A node that floods 0x580+n between transfers cannot grow the master's memory: the queue per
/// node is bounded, the excess is dropped and counted, and the next transfer with that node
/// still gets its own answer.
#[tokio::test(start_paused = true)]
async fn an_sdo_response_storm_is_bounded_and_the_next_transfer_works() {
    use linevisor_can::{CanFrame, CanId, CanTransport};
    let rig = virtual_rig(&[5]);
    let sdo = rig.bus.sdo(common::node(5));
    assert!(sdo.read_u32(0x1000, 0).await.unwrap().is_ok());
    let rogue = rig.vbus.endpoint();
    let frame = CanFrame::new(
        CanId::standard(0x585).unwrap(),
        &[0x43, 0x00, 0x10, 0x00, 1, 2, 3, 4],
    )
    .unwrap();
    for _ in 0..10_000 {
        rogue.send(&frame).await.unwrap();
    }
    // Every frame handled by the dispatcher: the received count covers the storm.
    while rig.bus.stats().frames_received < 10_000 {
        tokio::task::yield_now().await;
    }
    let stats = rig.bus.stats();
    assert!(
        stats.sdo_unsolicited_dropped >= 10_000 - linevisor_canopen::SDO_QUEUE as u64,
        "{stats:?}"
    );
    // The stale answers are dropped before the transfer: it reads the node's real value.
    let device_type = sdo.read_u32(0x1000, 0).await.unwrap().unwrap();
    assert_ne!(device_type, 0x0403_0201, "a stale flood answer was taken");
}
