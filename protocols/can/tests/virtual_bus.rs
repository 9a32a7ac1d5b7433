//! The in-memory bus: broadcast to every other endpoint, fault injection, close.

use linevisor_can::{CanError, CanFrame, CanId, CanTransport, TransportKind, VirtualBus, open};

fn frame(id: u16, data: &[u8]) -> CanFrame {
    CanFrame::new(CanId::standard(id).unwrap(), data).unwrap()
}

async fn nothing_pending(t: &impl CanTransport) -> bool {
    tokio::time::timeout(std::time::Duration::from_secs(1), t.recv())
        .await
        .is_err()
}

#[tokio::test(start_paused = true)]
async fn every_frame_reaches_every_other_endpoint_in_order() {
    let bus = VirtualBus::new();
    let (a, b, c) = (bus.endpoint(), bus.endpoint(), bus.endpoint());
    a.send(&frame(0x100, &[1])).await.unwrap();
    b.send(&frame(0x200, &[2])).await.unwrap();
    assert_eq!(b.recv().await.unwrap(), frame(0x100, &[1]));
    assert_eq!(c.recv().await.unwrap(), frame(0x100, &[1]));
    assert_eq!(c.recv().await.unwrap(), frame(0x200, &[2]));
    assert_eq!(a.recv().await.unwrap(), frame(0x200, &[2]));
    assert!(nothing_pending(&a).await, "no echo of own frames");
    assert_eq!(bus.counts(), (4, 0));
}

#[tokio::test(start_paused = true)]
async fn dropped_ids_and_disconnected_endpoints() {
    let bus = VirtualBus::new();
    let (a, b) = (bus.endpoint(), bus.endpoint());
    let id = CanId::standard(0x705).unwrap();
    bus.drop_frames(id);
    a.send(&frame(0x705, &[5])).await.unwrap();
    a.send(&frame(0x706, &[5])).await.unwrap();
    assert_eq!(b.recv().await.unwrap(), frame(0x706, &[5]));
    bus.restore_frames(id);
    a.send(&frame(0x705, &[5])).await.unwrap();
    assert_eq!(b.recv().await.unwrap(), frame(0x705, &[5]));

    bus.disconnect(b.id());
    assert!(matches!(
        b.send(&frame(1, &[])).await,
        Err(CanError::Disconnected)
    ));
    a.send(&frame(0x181, &[])).await.unwrap();
    assert!(nothing_pending(&b).await);
    bus.reconnect(b.id());
    a.send(&frame(0x182, &[])).await.unwrap();
    assert_eq!(b.recv().await.unwrap(), frame(0x182, &[]));
    assert_eq!(bus.counts().1, 1);

    b.close().await.unwrap();
    assert!(matches!(b.recv().await, Err(CanError::Closed)));
    assert_eq!(bus.endpoint_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_registration_point_opens_a_virtual_endpoint() {
    let bus = VirtualBus::new();
    let peer = bus.endpoint();
    let t = open(&TransportKind::Virtual(bus.clone())).await.unwrap();
    t.send(&frame(0x080, &[])).await.unwrap();
    assert_eq!(peer.recv().await.unwrap(), frame(0x080, &[]));
    let e = open(&TransportKind::Slcan {
        path: "/nonexistent/ttyACM9".into(),
        serial_baud: 115_200,
        bitrate: linevisor_can::slcan::Bitrate::K500,
    })
    .await
    .err()
    .unwrap();
    assert!(
        matches!(e, CanError::Open { ref what, .. } if what.contains("ttyACM9")),
        "{e}"
    );
}
