//! The slcan transport against a scripted adapter and the emulator, over in-memory duplex
//! streams (paused time) and over a pseudo-terminal pair (real time, outcomes only).

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use linevisor_can::slcan::emulator::{self, AckStyle, EmulatorConfig};
use linevisor_can::slcan::{Bitrate, LinkState, SlcanConfig, SlcanTransport};
use linevisor_can::{CanError, CanFrame, CanId, CanTransport, VirtualBus};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

fn frame(id: u16, data: &[u8]) -> CanFrame {
    CanFrame::new(CanId::standard(id).unwrap(), data).unwrap()
}

/// Reads one CR-terminated command from the host side.
async fn read_line(s: &mut DuplexStream) -> String {
    let mut line = Vec::new();
    loop {
        let b = s.read_u8().await.unwrap();
        if b == b'\r' {
            return String::from_utf8(line).unwrap();
        }
        line.push(b);
    }
}

/// An opener handing out the given streams, one per open.
fn opener(
    streams: Vec<DuplexStream>,
) -> impl FnMut() -> std::future::Ready<io::Result<DuplexStream>> + Send + 'static {
    let streams = Arc::new(Mutex::new(streams.into_iter()));
    move || {
        let next = streams.lock().unwrap().next();
        std::future::ready(next.ok_or_else(|| io::Error::from(io::ErrorKind::NotFound)))
    }
}

fn config() -> SlcanConfig {
    SlcanConfig::new("test", Bitrate::K500)
}

#[tokio::test(start_paused = true)]
async fn start_up_sends_close_bitrate_open_and_ignores_the_close_answer() {
    let (host, mut adapter) = tokio::io::duplex(4096);
    let script = tokio::spawn(async move {
        let mut seen = Vec::new();
        seen.push(read_line(&mut adapter).await);
        adapter.write_all(b"\x07").await.unwrap(); // C while closed: BELL
        seen.push(read_line(&mut adapter).await);
        adapter.write_all(b"\r").await.unwrap();
        seen.push(read_line(&mut adapter).await);
        adapter.write_all(b"\r").await.unwrap();
        (seen, adapter)
    });
    let t = SlcanTransport::open(opener(vec![host]), config())
        .await
        .unwrap();
    let (seen, mut adapter) = script.await.unwrap();
    assert_eq!(seen, ["C", "S6", "O"]);
    assert_eq!(t.link_state(), LinkState::Up);

    // Received frames, with and without timestamps, around garbage.
    adapter
        .write_all(b"t18122706\r\xff\xffjunk\rt70110501F4\r")
        .await
        .unwrap();
    assert_eq!(t.recv().await.unwrap(), frame(0x181, &[0x27, 0x06]));
    assert_eq!(t.recv().await.unwrap(), frame(0x701, &[0x05]));
    assert_eq!(t.stats().garbage, 1);

    // Acknowledgements: z, plain CR, BELL, and none at all.
    let confirm = |f| {
        let t = &t;
        async move { t.send_confirmed(&f).await }
    };
    let (r, line) = tokio::join!(confirm(frame(0x601, &[0x40])), async {
        let l = read_line(&mut adapter).await;
        adapter.write_all(b"z\r").await.unwrap();
        l
    });
    assert_eq!((r.is_ok(), line.as_str()), (true, "t601140"));
    let (r, _) = tokio::join!(confirm(frame(0x602, &[])), async {
        read_line(&mut adapter).await;
        adapter.write_all(b"\r").await.unwrap();
    });
    assert!(r.is_ok());
    let (r, _) = tokio::join!(confirm(frame(0x603, &[])), async {
        read_line(&mut adapter).await;
        adapter.write_all(b"\x07").await.unwrap();
    });
    assert!(
        matches!(r, Err(CanError::Rejected { ref command }) if command == "t6030"),
        "{r:?}"
    );
    let (r, _) = tokio::join!(confirm(frame(0x604, &[])), read_line(&mut adapter));
    assert!(matches!(r, Err(CanError::TxTimeout { .. })), "{r:?}");
    let s = t.stats();
    assert_eq!(
        (s.tx_frames, s.tx_acked, s.tx_rejected, s.tx_ack_timeouts),
        (4, 2, 1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn a_bitrate_refusal_fails_the_open() {
    let (host, mut adapter) = tokio::io::duplex(4096);
    tokio::spawn(async move {
        read_line(&mut adapter).await;
        adapter.write_all(b"\r").await.unwrap();
        read_line(&mut adapter).await;
        adapter.write_all(b"\x07").await.unwrap();
        read_line(&mut adapter).await;
    });
    let e = SlcanTransport::open(opener(vec![host]), config())
        .await
        .unwrap_err();
    assert!(
        matches!(e, CanError::Rejected { ref command } if command == "S6"),
        "{e}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_lost_adapter_is_reopened_with_backoff_and_frames_flow_again() {
    let bus = VirtualBus::new();
    let node = bus.endpoint();
    let (host1, adapter1) = tokio::io::duplex(4096);
    let (host2, adapter2) = tokio::io::duplex(4096);
    let first = emulator::spawn(adapter1, bus.endpoint(), EmulatorConfig::default());
    // The second adapter appears only after two failed opens (the USB device re-enumerating).
    let streams = Arc::new(Mutex::new(
        vec![Some(host1), None, None, Some(host2)].into_iter(),
    ));
    let opener = move || {
        let next = streams.lock().unwrap().next().flatten();
        std::future::ready(next.ok_or_else(|| io::Error::from(io::ErrorKind::NotFound)))
    };
    let t = SlcanTransport::open(opener, config()).await.unwrap();
    let mut states = t.link_states();

    node.send(&frame(0x701, &[0x7F])).await.unwrap();
    assert_eq!(t.recv().await.unwrap(), frame(0x701, &[0x7F]));

    first.unplug();
    assert!(matches!(t.recv().await, Err(CanError::Disconnected)));
    states
        .wait_for(|s| matches!(s, LinkState::Down { attempt: 2, .. }))
        .await
        .unwrap();
    let e = t.send(&frame(0x000, &[1, 0])).await.unwrap_err();
    assert!(matches!(e, CanError::NotOpen { .. }), "{e}");
    let second = emulator::spawn(
        adapter2,
        bus.endpoint(),
        EmulatorConfig {
            ack: AckStyle::CanHacker,
            ..EmulatorConfig::default()
        },
    );
    states.wait_for(|s| *s == LinkState::Up).await.unwrap();
    assert_eq!(t.stats().opens, 2);
    t.send_confirmed(&frame(0x000, &[1, 0])).await.unwrap();
    assert_eq!(node.recv().await.unwrap(), frame(0x000, &[1, 0]));
    node.send(&frame(0x702, &[0x05])).await.unwrap();
    assert_eq!(t.recv().await.unwrap(), frame(0x702, &[0x05]));

    t.close().await.unwrap();
    assert!(matches!(t.recv().await, Err(CanError::Closed)));
    assert!(matches!(
        t.send(&frame(1, &[])).await,
        Err(CanError::Closed)
    ));
    second.unplug();
}

#[tokio::test(start_paused = true)]
async fn a_flood_in_both_directions_does_not_deadlock() {
    let bus = VirtualBus::new();
    let node = bus.endpoint();
    let (host, adapter) = tokio::io::duplex(64);
    let _emu = emulator::spawn(adapter, bus.endpoint(), EmulatorConfig::default());
    let t = Arc::new(
        SlcanTransport::open(opener(vec![host]), config())
            .await
            .unwrap(),
    );
    let n = 2000u16;
    let tx = {
        let t = t.clone();
        tokio::spawn(async move {
            for i in 0..n {
                t.send(&frame(0x200, &i.to_le_bytes())).await.unwrap();
            }
        })
    };
    let from_node = tokio::spawn(async move {
        for i in 0..n {
            node.send(&frame(0x180, &i.to_le_bytes())).await.unwrap();
            tokio::task::yield_now().await;
        }
        let mut got = 0;
        while got < n {
            let f = node.recv().await.unwrap();
            assert_eq!(f.data(), got.to_le_bytes());
            got += 1;
        }
    });
    for i in 0..n {
        assert_eq!(t.recv().await.unwrap().data(), i.to_le_bytes());
    }
    tx.await.unwrap();
    from_node.await.unwrap();
}

#[tokio::test]
async fn frames_cross_a_pseudo_terminal_pair_both_ways() {
    let bus = VirtualBus::new();
    let node = bus.endpoint();
    let (host, adapter) = tokio_serial::SerialStream::pair().expect("pseudo-terminal pair");
    let emu = emulator::spawn(
        adapter,
        bus.endpoint(),
        EmulatorConfig {
            timestamps: true,
            ..EmulatorConfig::default()
        },
    );
    let mut host = Some(host);
    let opener = move || std::future::ready(host.take().ok_or_else(|| io::Error::other("gone")));
    let mut cfg = config();
    cfg.reply_timeout = Duration::from_secs(2);
    let t = SlcanTransport::open(opener, cfg).await.unwrap();
    for i in 0..50u8 {
        t.send_confirmed(&frame(0x600 + u16::from(i), &[i; 8]))
            .await
            .unwrap();
        let got = node.recv().await.unwrap();
        assert_eq!(got, frame(0x600 + u16::from(i), &[i; 8]));
        let ext = CanFrame::new(CanId::extended(0x1000 + u32::from(i)).unwrap(), &[i]).unwrap();
        node.send(&ext).await.unwrap();
        assert_eq!(t.recv().await.unwrap(), ext);
    }
    emu.unplug();
    assert!(matches!(t.recv().await, Err(CanError::Disconnected)));
}
