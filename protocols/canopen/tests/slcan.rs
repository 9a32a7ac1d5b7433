//! The master reaching simulated nodes "through a USB adapter": slcan transport ↔ slcan
//! emulator ↔ virtual bus. Over an in-memory duplex stream in paused time, and over a
//! `tokio_serial::SerialStream::pair()` pseudo-terminal pair in real time (outcomes only).

mod common;

use std::time::Duration;

use common::{scenarios, slcan_duplex_rig, slcan_pty_rig};

#[tokio::test(start_paused = true)]
async fn duplex_boot_up_and_nmt() {
    scenarios::boot_and_nmt(&mut slcan_duplex_rig(&[5, 6]).await).await;
}

#[tokio::test(start_paused = true)]
async fn duplex_sdo_expedited_segmented_and_aborts() {
    scenarios::sdo_transfers_and_aborts(&mut slcan_duplex_rig(&[5, 6]).await).await;
}

#[tokio::test(start_paused = true)]
async fn duplex_pdo_remap_then_sync_cycle() {
    scenarios::pdo_remap_then_cyclic_enable(&mut slcan_duplex_rig(&[5, 6]).await).await;
}

#[tokio::test(start_paused = true)]
async fn duplex_emcy_on_fault_and_reset() {
    scenarios::emcy_fault_and_reset(&mut slcan_duplex_rig(&[5]).await).await;
}

#[tokio::test(start_paused = true)]
async fn duplex_heartbeat_loss_within_one_and_a_half_periods() {
    let detected = scenarios::heartbeat_loss_and_resume(&mut slcan_duplex_rig(&[5, 6]).await).await;
    assert!(detected <= Duration::from_millis(150), "{detected:?}");
}

#[tokio::test(start_paused = true)]
async fn duplex_reboot_seen_as_boot_up() {
    scenarios::reboot_is_seen_as_boot_up(&mut slcan_duplex_rig(&[5]).await).await;
}

#[tokio::test]
async fn pty_boot_up_and_nmt() {
    scenarios::boot_and_nmt(&mut slcan_pty_rig(&[5, 6]).await).await;
}

#[tokio::test]
async fn pty_sdo_expedited_segmented_and_aborts() {
    scenarios::sdo_transfers_and_aborts(&mut slcan_pty_rig(&[5, 6]).await).await;
}

#[tokio::test]
async fn pty_pdo_remap_then_sync_cycle() {
    scenarios::pdo_remap_then_cyclic_enable(&mut slcan_pty_rig(&[5, 6]).await).await;
}

#[tokio::test]
async fn pty_emcy_on_fault_and_reset() {
    scenarios::emcy_fault_and_reset(&mut slcan_pty_rig(&[5]).await).await;
}

#[tokio::test]
async fn pty_heartbeat_loss_detected() {
    // Real time: the loss and its reported silence are asserted, not the wall-clock latency.
    scenarios::heartbeat_loss_and_resume(&mut slcan_pty_rig(&[5, 6]).await).await;
}

#[tokio::test]
async fn pty_reboot_seen_as_boot_up() {
    scenarios::reboot_is_seen_as_boot_up(&mut slcan_pty_rig(&[5]).await).await;
}
