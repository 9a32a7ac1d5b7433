//! An emulated serial line paced at a baud rate: two in-memory stream ends joined by a relay
//! that delivers each byte one character time (11 bits) after the previous one, as a real
//! RS-485 line would. For benchmarks and simulations that must see wire timing; an unpaced
//! pseudo-terminal delivers a whole frame at once.

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};

/// Returns the two ends of a line paced at `baud`. The relay runs on its own thread (it spins
/// for sub-millisecond precision) and ends when either end is dropped.
pub fn paced_line(baud: u32) -> std::io::Result<(DuplexStream, DuplexStream)> {
    let char_time = Duration::from_secs_f64(11.0 / f64::from(baud.max(1)));
    let (near, relay_a) = tokio::io::duplex(4096);
    let (relay_b, far) = tokio::io::duplex(4096);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name(format!("paced-line-{baud}"))
        .spawn(move || {
            rt.block_on(async move {
                let (a_read, a_write) = tokio::io::split(relay_a);
                let (b_read, b_write) = tokio::io::split(relay_b);
                // Modbus is half duplex: one direction spinning never delays the other.
                tokio::select! {
                    () = pace(a_read, b_write, char_time) => {}
                    () = pace(b_read, a_write, char_time) => {}
                }
            });
        })?;
    Ok((near, far))
}

async fn pace<R, W>(mut from: R, mut to: W, char_time: Duration)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = [0u8; 512];
    // Real time on purpose: this emulates a wire, it is not driven by a (possibly paused) clock.
    let mut wire_free = Instant::now();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            wire_free = wire_free.max(Instant::now()) + char_time;
            while Instant::now() < wire_free {
                std::hint::spin_loop();
            }
            if to.write_all(&[b]).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_arrive_no_faster_than_the_baud_rate() {
        let (mut near, mut far) = paced_line(9600).unwrap();
        let start = Instant::now();
        near.write_all(&[0u8; 20]).await.unwrap();
        let mut got = [0u8; 20];
        far.read_exact(&mut got).await.unwrap();
        // 20 characters of 11 bits at 9600 baud take 22.9 ms on the wire.
        assert!(
            start.elapsed() >= Duration::from_micros(22_900),
            "{:?}",
            start.elapsed()
        );
    }
}
