//! An emulated RS-485 line between one master and the slaves: two in-memory stream ends joined
//! by a relay that paces every byte at the baud rate (11-bit characters) on tokio's clock, so
//! it runs under paused time, and that spoils frames on demand with a seeded generator: lost
//! and corrupted frames, noise bursts, late answers, the master's own echo.
//!
//! A frame is what one side wrote in one go (the master and the RTU servers write each frame
//! with one `write_all`). The relay is full duplex: a late answer and the next request do not
//! collide as they could on a 2-wire line.

mod rng;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, duplex};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};

use crate::serve::DUPLEX_BUFFER;
use rng::Rng;

/// What the line does to frames. Probabilities are per frame and per direction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WireFaults {
    /// A frame arrives with one byte changed (noise inside the frame).
    pub corrupt: f64,
    /// A frame never arrives (the receiver missed its start).
    pub drop: f64,
    /// A burst of 1–8 noise bytes runs into the front of the frame.
    pub garbage: f64,
    /// Extra time before a slave's answer reaches the master.
    pub delay: Duration,
    /// The master reads back its own requests (a 2-wire adapter without echo suppression).
    pub echo: bool,
}

impl WireFaults {
    /// Noise: `corrupt` and `drop` per frame, nothing else.
    pub fn noise(corrupt: f64, drop: f64) -> Self {
        Self {
            corrupt,
            drop,
            ..Self::default()
        }
    }
}

/// What the line did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireStats {
    /// Frames written by the master, and by the slaves.
    pub requests: u64,
    pub answers: u64,
    pub corrupted: u64,
    pub dropped: u64,
    pub garbage: u64,
    pub echoed: u64,
}

#[derive(Debug)]
struct State {
    faults: WireFaults,
    rng: Rng,
    stats: WireStats,
}

/// A paced, fault-injecting RTU line; [`RtuWire::ends`] gives a new pair of ends (one per
/// open of the port), all sharing the faults, the generator and the counters.
#[derive(Debug, Clone)]
pub struct RtuWire {
    char_time: Duration,
    state: Arc<Mutex<State>>,
    cut: Arc<watch::Sender<u64>>,
    /// Bursts to put on the wire toward the slaves of every pair of ends.
    bursts: Arc<watch::Sender<Vec<u8>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    ToSlaves,
    ToMaster,
}

struct Frame {
    bytes: Vec<u8>,
    not_before: Instant,
}

impl RtuWire {
    /// A clean line at `baud`; faults drawn from `seed`.
    pub fn new(baud: u32, seed: u64) -> Self {
        Self {
            char_time: Duration::from_nanos(11_000_000_000 / u64::from(baud.max(1))),
            state: Arc::new(Mutex::new(State {
                faults: WireFaults::default(),
                rng: Rng::new(seed),
                stats: WireStats::default(),
            })),
            cut: Arc::new(watch::channel(0).0),
            bursts: Arc::new(watch::channel(Vec::new()).0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Faults from now on.
    pub fn set_faults(&self, faults: WireFaults) {
        self.lock().faults = faults;
    }

    /// A clean line again.
    pub fn clear_faults(&self) {
        self.set_faults(WireFaults::default());
    }

    pub fn stats(&self) -> WireStats {
        self.lock().stats
    }

    /// Cuts every pair of ends handed out so far: both sides see EOF.
    pub fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// Puts `noise` on the wire toward the slaves now, as a burst of its own (e.g. bytes a
    /// slave's framer reads as the header of a long write).
    pub fn burst_to_slaves(&self, noise: &[u8]) {
        self.bursts.send_replace(noise.to_vec());
    }

    /// A new (master, slaves) pair of ends; the relay runs on the current runtime until either
    /// end is dropped or the line is cut.
    pub fn ends(&self) -> (DuplexStream, DuplexStream) {
        let (master, relay_m) = duplex(DUPLEX_BUFFER);
        let (slaves, relay_s) = duplex(DUPLEX_BUFFER);
        let (m_read, m_write) = tokio::io::split(relay_m);
        let (s_read, s_write) = tokio::io::split(relay_s);
        let (to_master, master_q) = mpsc::unbounded_channel();
        let (to_slaves, slaves_q) = mpsc::unbounded_channel();
        let mut cut = self.cut.subscribe();
        let mut bursts = self.bursts.subscribe();
        bursts.mark_unchanged();
        let me = self.clone();
        tokio::spawn(async move {
            let echo = to_master.clone();
            let noise = to_slaves.clone();
            let burst = async move {
                while bursts.changed().await.is_ok() {
                    let bytes = bursts.borrow_and_update().clone();
                    let not_before = Instant::now();
                    if noise.send(Frame { bytes, not_before }).is_err() {
                        return;
                    }
                }
                std::future::pending().await
            };
            tokio::select! {
                () = burst => {}
                () = me.relay(m_read, Dir::ToSlaves, to_slaves, Some(echo)) => {}
                () = me.relay(s_read, Dir::ToMaster, to_master, None) => {}
                () = me.deliver(master_q, m_write) => {}
                () = me.deliver(slaves_q, s_write) => {}
                _ = cut.changed() => {}
            }
        });
        (master, slaves)
    }

    /// Takes each frame one side writes, spoils it as the faults say, and queues it.
    async fn relay<R: AsyncRead + Unpin>(
        &self,
        mut from: R,
        dir: Dir,
        to: mpsc::UnboundedSender<Frame>,
        echo: Option<mpsc::UnboundedSender<Frame>>,
    ) {
        let mut buf = vec![0u8; DUPLEX_BUFFER];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let now = Instant::now();
            let (frame, echoed) = self.spoil(&buf[..n], dir);
            if let (Some(echo), Some(bytes)) = (&echo, echoed) {
                let _ = echo.send(Frame {
                    bytes,
                    not_before: now,
                });
            }
            if let Some((bytes, delay)) = frame {
                let not_before = now + delay;
                if to.send(Frame { bytes, not_before }).is_err() {
                    return;
                }
            }
        }
    }

    /// The frame as it arrives (or `None` if lost) with its extra delay, and the echo.
    #[allow(clippy::type_complexity)]
    fn spoil(&self, frame: &[u8], dir: Dir) -> (Option<(Vec<u8>, Duration)>, Option<Vec<u8>>) {
        let mut s = self.lock();
        let f = s.faults.clone();
        let echo = (dir == Dir::ToSlaves && f.echo).then(|| {
            s.stats.echoed += 1;
            frame.to_vec()
        });
        match dir {
            Dir::ToSlaves => s.stats.requests += 1,
            Dir::ToMaster => s.stats.answers += 1,
        }
        if s.rng.chance(f.drop) {
            s.stats.dropped += 1;
            return (None, echo);
        }
        let mut bytes = Vec::with_capacity(frame.len() + 8);
        if s.rng.chance(f.garbage) {
            s.stats.garbage += 1;
            let n = 1 + s.rng.below(8);
            bytes.extend((0..n).map(|_| s.rng.nonzero_byte()));
        }
        let start = bytes.len();
        bytes.extend_from_slice(frame);
        if s.rng.chance(f.corrupt) && !frame.is_empty() {
            s.stats.corrupted += 1;
            let i = start + s.rng.below(frame.len());
            bytes[i] ^= s.rng.nonzero_byte();
        }
        let delay = if dir == Dir::ToMaster {
            f.delay
        } else {
            Duration::ZERO
        };
        (Some((bytes, delay)), echo)
    }

    /// Puts queued frames on the wire, one character time per byte.
    async fn deliver<W: AsyncWrite + Unpin>(
        &self,
        mut q: mpsc::UnboundedReceiver<Frame>,
        mut to: W,
    ) {
        let mut wire_free = Instant::now();
        while let Some(frame) = q.recv().await {
            wire_free = wire_free.max(frame.not_before).max(Instant::now());
            for b in frame.bytes {
                wire_free += self.char_time;
                sleep_until(wire_free).await;
                if to.write_all(&[b]).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
