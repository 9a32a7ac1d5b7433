//! Opt-in hardware test: runs when `LINEVISOR_CAN_IFACE` names a SocketCAN interface that is
//! up (`vcan0`, or `can0` on a bus where id 0x7FF is free), otherwise prints that it was
//! skipped. Sends one frame on 0x7FF from one socket and expects it on a second socket (the
//! kernel's local loopback).

#[cfg(target_os = "linux")]
#[tokio::test]
async fn loopback_between_two_sockets_on_a_real_interface() {
    use linevisor_can::{CanFrame, CanId, CanTransport};
    use std::time::Duration;

    let Ok(iface) = std::env::var("LINEVISOR_CAN_IFACE") else {
        println!("skipped: LINEVISOR_CAN_IFACE not set");
        return;
    };
    let tx = linevisor_can::socketcan::open(&iface).expect("open the interface for sending");
    let rx = linevisor_can::socketcan::open(&iface).expect("open the interface for receiving");
    let frame = CanFrame::new(CanId::standard(0x7FF).unwrap(), &[0x4C, 0x56]).unwrap();
    tx.send(&frame).await.expect("send");
    let got = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            let f = rx.recv().await.expect("receive");
            if f.id() == frame.id() {
                return f;
            }
        }
    })
    .await
    .expect("frame looped back within 2 s");
    assert_eq!(got, frame);
    tx.close().await.unwrap();
    assert!(tx.send(&frame).await.is_err());
}
