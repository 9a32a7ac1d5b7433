//! RTU character and silence times (protocols.md §2.1).

use std::time::Duration;

use tokio::time::Instant;

/// Bits per RTU character on the wire: start + 8 data + parity or 2nd stop + stop.
pub const BITS_PER_CHAR: u64 = 11;
/// Above this baud rate the spec fixes t1.5 and t3.5.
pub const FIXED_TIMING_ABOVE_BAUD: u32 = 19_200;
/// t1.5 above 19 200 baud.
pub const FIXED_T15: Duration = Duration::from_micros(750);
/// t3.5 above 19 200 baud.
pub const FIXED_T35: Duration = Duration::from_micros(1_750);

/// Character time and the two silence timers of an RTU line.
///
/// | baud | char | t1.5 | t3.5 |
/// |---|---|---|---|
/// | 9 600 | 1.146 ms | 1.719 ms | 4.010 ms |
/// | 19 200 | 0.573 ms | 0.859 ms | 2.005 ms |
/// | 38 400 | 0.286 ms | 0.750 ms | 1.750 ms |
/// | 115 200 | 0.095 ms | 0.750 ms | 1.750 ms |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtuTiming {
    /// One 11-bit character.
    pub char_time: Duration,
    /// Longest gap allowed inside a frame.
    pub t15: Duration,
    /// Shortest silence between frames.
    pub t35: Duration,
}

impl RtuTiming {
    /// Timing for `baud` (0 is treated as 1 so the arithmetic stays defined; configs reject 0).
    pub fn from_baud(baud: u32) -> Self {
        let baud = u64::from(baud.max(1));
        let char_time = Duration::from_nanos(BITS_PER_CHAR * 1_000_000_000 / baud);
        if baud > u64::from(FIXED_TIMING_ABOVE_BAUD) {
            Self {
                char_time,
                t15: FIXED_T15,
                t35: FIXED_T35,
            }
        } else {
            Self {
                char_time,
                t15: char_time * 3 / 2,
                t35: char_time * 7 / 2,
            }
        }
    }

    /// Wire time of `bytes` characters.
    pub fn frame_time(&self, bytes: usize) -> Duration {
        self.char_time
            .saturating_mul(u32::try_from(bytes).unwrap_or(u32::MAX))
    }
}

/// The coarse timer sleep ends this long before a precise deadline: tokio's timer has a 1 ms
/// tick and rounds up, so anything closer could overshoot.
const TIMER_SLACK: Duration = Duration::from_millis(2);

/// Sleeps until `deadline` with sub-millisecond precision.
///
/// tokio's timer rounds up to its 1 ms tick, so a 1.75 ms t3.5 gap becomes 2–3 ms: at 115200
/// baud that alone costs a quarter of the line's capacity. The coarse part is slept on the
/// timer; the last stretch yields to the runtime until the deadline (other tasks keep running;
/// the cost is CPU on an RTU line's gaps). Under a paused test clock `Instant::now()` does not
/// move while yielding, so after a short real-time budget it falls back to the timer, which
/// then advances the paused clock exactly to `deadline`.
pub async fn sleep_until_precise(deadline: Instant) {
    if let Some(coarse) = deadline.checked_sub(TIMER_SLACK) {
        tokio::time::sleep_until(coarse).await;
    }
    let budget = std::time::Instant::now() + TIMER_SLACK + TIMER_SLACK / 4;
    while Instant::now() < deadline {
        if std::time::Instant::now() > budget {
            tokio::time::sleep_until(deadline).await;
            return;
        }
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> f64 {
        d.as_secs_f64() * 1e3
    }

    #[test]
    fn matches_the_reference_table() {
        let t = RtuTiming::from_baud(9_600);
        assert!((ms(t.char_time) - 1.146).abs() < 0.001);
        assert!((ms(t.t15) - 1.719).abs() < 0.001);
        assert!((ms(t.t35) - 4.010).abs() < 0.001);
        let t = RtuTiming::from_baud(19_200);
        assert!((ms(t.t35) - 2.005).abs() < 0.001);
        let t = RtuTiming::from_baud(38_400);
        assert_eq!((t.t15, t.t35), (FIXED_T15, FIXED_T35));
        // §2.3: 33 characters of a 10-register read at 19 200 baud take 18.91 ms.
        assert!((ms(RtuTiming::from_baud(19_200).frame_time(33)) - 18.91).abs() < 0.01);
    }
}
