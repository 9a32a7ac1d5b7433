//! Jittered exponential backoff for reopening a lost port or connection (protocols.md §2.4:
//! reconnect with backoff on EOF/EPIPE; §4.1: reopen an slcan adapter that disappeared).

use std::fmt;
use std::time::Duration;

/// Delays `initial · 2ⁿ` capped at `max`, each shortened by a random share of up to `jitter`
/// (0.0–1.0) so that many clients do not reconnect in step. The random source is injectable
/// for tests.
pub struct Backoff {
    initial: Duration,
    max: Duration,
    jitter: f64,
    attempt: u32,
    source: Box<dyn FnMut() -> f64 + Send>,
}

impl Backoff {
    /// Backoff from `initial` to `max` with 50 % jitter from a fast non-cryptographic RNG.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max: max.max(initial),
            jitter: 0.5,
            attempt: 0,
            source: Box::new(fastrand::f64),
        }
    }

    /// Uses `ratio` (clamped to 0.0–1.0) of jitter drawn from `source`, which returns values in
    /// 0.0..1.0 (others are clamped; NaN counts as 0).
    #[must_use]
    pub fn with_jitter(mut self, ratio: f64, source: impl FnMut() -> f64 + Send + 'static) -> Self {
        self.jitter = if ratio.is_nan() {
            0.0
        } else {
            ratio.clamp(0.0, 1.0)
        };
        self.source = Box::new(source);
        self
    }

    /// The delay before the next attempt; each call doubles the base.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(31));
        let base = self.initial.saturating_mul(factor).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let r = (self.source)();
        let r = if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
        base.mul_f64(1.0 - self.jitter * r)
    }

    /// Back to the initial delay (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Attempts since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backoff")
            .field("initial", &self.initial)
            .field("max", &self.max)
            .field("jitter", &self.jitter)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1))
            .with_jitter(0.5, || 0.0);
        let got: Vec<u128> = (0..6).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn jitter_shortens_within_its_ratio() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1))
            .with_jitter(0.5, || 0.999_999);
        let d = b.next_delay().as_secs_f64();
        assert!((0.05..0.0501).contains(&d), "{d}");
        let mut wild = Backoff::new(Duration::from_millis(100), Duration::from_secs(1))
            .with_jitter(f64::NAN, || f64::INFINITY);
        assert_eq!(wild.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn many_attempts_do_not_overflow() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        for _ in 0..100 {
            assert!(b.next_delay() <= Duration::from_secs(30));
        }
    }
}
