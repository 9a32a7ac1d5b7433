//! Frames per second through slcan against the serial line's limit (protocols.md §4.1).
//!
//! The host side is the production path: `SlcanTransport` over a real pseudo-terminal
//! (tokio-serial). A pty has no baud rate, so between the pty and the emulated adapter sits a
//! relay that paces each direction at `baud` with 8N1 characters (10 bits), as a UART-bound
//! adapter's serial line would: chunk by chunk, each released when its last character would
//! have finished (the timer adds latency, and a late wake-up after an idle moment loses up to 1 ms of line time). The limit is the
//! line's: an 8-byte standard frame is 22 ASCII characters (`t` + 3 id + 1 DLC + 16 data + CR),
//! so 115 200 baud carries 115 200 / 10 / 22 = 523.6 frames/s per direction. Measured: host →
//! bus (frames the adapter puts on the virtual CAN bus) and bus → host (frames the host
//! receives), each over a fixed count after a warm-up; and, as the reference of the software's
//! own ceiling, the same over the bare pty with no pacing.
//!
//! Run: `cargo bench -p linevisor-can --bench slcan`. One JSON object per figure on stdout.

use std::io;
use std::time::{Duration, Instant};

use linevisor_can::slcan::{Bitrate, EmulatorConfig, SlcanConfig, SlcanTransport, emulator};
use linevisor_can::{CanFrame, CanId, CanTransport, VirtualBus};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio_serial::SerialStream;

/// ASCII characters of an 8-byte standard data frame without timestamp.
const FRAME_CHARS: f64 = 22.0;

fn emit(metric: &str, value: f64, unit: &str) {
    println!(r#"{{"bench":"slcan","metric":"{metric}","value":{value:.1},"unit":"{unit}"}}"#);
}

/// Copies `from` to `to`, releasing each chunk when a `baud` 8N1 line would have carried it.
async fn pace<R, W>(mut from: R, mut to: W, baud: u32)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let char_time = Duration::from_secs_f64(10.0 / f64::from(baud));
    // Large chunks: a late timer wake-up (≤ 1 ms) then costs little of the line's time.
    let mut buf = [0u8; 4096];
    let mut wire_free = tokio::time::Instant::now();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        wire_free = wire_free.max(tokio::time::Instant::now()) + char_time * n as u32;
        tokio::time::sleep_until(wire_free).await;
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// host ↔ pty ↔ (paced relay, or none) ↔ emulated adapter ↔ virtual CAN bus.
async fn rig(baud: Option<u32>) -> io::Result<(SlcanTransport, VirtualBus)> {
    let vbus = VirtualBus::new();
    // As the pty test of the transport does: the host takes the first end directly.
    let (host_end, adapter_end) = SerialStream::pair().map_err(io::Error::from)?;
    let config = EmulatorConfig::default();
    match baud {
        None => {
            emulator::spawn(adapter_end, vbus.endpoint(), config);
        }
        Some(baud) => {
            let (relay_end, emulator_end): (DuplexStream, DuplexStream) = tokio::io::duplex(4096);
            emulator::spawn(emulator_end, vbus.endpoint(), config);
            let (pty_rd, pty_wr) = tokio::io::split(adapter_end);
            let (relay_rd, relay_wr) = tokio::io::split(relay_end);
            tokio::spawn(pace(pty_rd, relay_wr, baud));
            tokio::spawn(pace(relay_rd, pty_wr, baud));
        }
    }
    let mut host = Some(host_end);
    let opener = move || std::future::ready(host.take().ok_or_else(|| io::Error::other("gone")));
    let transport = SlcanTransport::open(opener, SlcanConfig::new("bench", Bitrate::K500))
        .await
        .map_err(|e| io::Error::other(format!("open: {e:?}")))?;
    Ok((transport, vbus))
}

fn frame(i: u32) -> CanFrame {
    let id = CanId::standard_masked(0x200 + (i % 0x100) as u16);
    CanFrame::new(id, &u64::from(i).to_le_bytes()).unwrap_or_else(|_| unreachable!())
}

/// Host → bus: frames/s arriving on the virtual bus.
async fn host_to_bus(baud: Option<u32>, count: u32) -> io::Result<f64> {
    let (host, vbus) = rig(baud).await?;
    let sink = vbus.endpoint();
    let warm = count / 10;
    let sender = tokio::spawn(async move {
        for i in 0..count + warm {
            if host.send(&frame(i)).await.is_err() {
                return host;
            }
        }
        host
    });
    for _ in 0..warm {
        sink.recv()
            .await
            .map_err(|e| io::Error::other(format!("warm sink: {e:?}")))?;
    }
    let start = Instant::now();
    for _ in 0..count {
        sink.recv().await.map_err(io::Error::other)?;
    }
    let rate = f64::from(count) / start.elapsed().as_secs_f64();
    let _ = sender.await;
    Ok(rate)
}

/// Bus → host: frames/s the host receives while a node floods the bus. The node sends at the
/// pace the host drains (the emulator's queue stays bounded), so nothing is dropped.
async fn bus_to_host(baud: Option<u32>, count: u32) -> io::Result<f64> {
    let (host, vbus) = rig(baud).await?;
    let node = vbus.endpoint();
    let warm = count / 10;
    let (credit_tx, mut credit_rx) = tokio::sync::mpsc::channel::<()>(64);
    for _ in 0..64 {
        let _ = credit_tx.try_send(());
    }
    tokio::spawn(async move {
        for i in 0..count + warm {
            if credit_rx.recv().await.is_none() || node.send(&frame(i)).await.is_err() {
                return;
            }
        }
    });
    for _ in 0..warm {
        host.recv().await.map_err(io::Error::other)?;
        let _ = credit_tx.try_send(());
    }
    let start = Instant::now();
    for _ in 0..count {
        host.recv().await.map_err(io::Error::other)?;
        let _ = credit_tx.try_send(());
    }
    Ok(f64::from(count) / start.elapsed().as_secs_f64())
}

fn main() -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        for baud in [115_200u32, 1_000_000] {
            let limit = f64::from(baud) / 10.0 / FRAME_CHARS;
            // About 10 s of traffic per direction at the limit.
            let count = (limit * 10.0) as u32;
            emit(
                &format!("line_limit_{baud}_frames_per_s"),
                limit,
                "frames/s",
            );
            let tx = host_to_bus(Some(baud), count).await?;
            emit(&format!("host_to_bus_{baud}_frames_per_s"), tx, "frames/s");
            emit(
                &format!("host_to_bus_{baud}_percent_of_limit"),
                tx / limit * 100.0,
                "%",
            );
            let rx = bus_to_host(Some(baud), count).await?;
            emit(&format!("bus_to_host_{baud}_frames_per_s"), rx, "frames/s");
            emit(
                &format!("bus_to_host_{baud}_percent_of_limit"),
                rx / limit * 100.0,
                "%",
            );
        }
        // Reference: the bare pty, no baud: the driver's and emulator's own ceiling.
        let tx = host_to_bus(None, 50_000).await?;
        emit("host_to_bus_unpaced_pty_frames_per_s", tx, "frames/s");
        let rx = bus_to_host(None, 50_000).await?;
        emit("bus_to_host_unpaced_pty_frames_per_s", rx, "frames/s");
        Ok(())
    })
}
