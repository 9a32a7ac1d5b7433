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
