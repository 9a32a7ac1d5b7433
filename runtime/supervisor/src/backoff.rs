//! Exponential backoff with jitter between restarts of the same child.
//!
//! For the n-th restart of a child in one streak (n = 1, 2, ...):
//!
//! ```text
//! delay(1) = 0                                        (a single glitch recovers at once, as in OTP)
//! base(n)  = min(max, initial * 2^(n-2))              for n >= 2
//! delay(n) = base(n) * (1 - jitter * u),  u in [0, 1) from the jitter source
//! ```
//!
//! So `base(n) * (1 - jitter) < delay(n) <= base(n) <= max`. A streak ends (n starts again at 1)
//! once the child has run for `reset_after` since its last start. Delays are tokio timers, so
//! paused-time tests see them exactly.

use std::fmt;
use std::time::Duration;

/// Backoff settings of a supervisor (applied per child).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the second restart of a streak.
    pub initial: Duration,
    /// Upper bound of any delay.
    pub max: Duration,
    /// Fraction in [0, 1] of the delay that jitter may take away.
    pub jitter: f64,
    /// Running this long since the last start ends a streak.
    pub reset_after: Duration,
}

impl Backoff {
    /// No delay at all (OTP behaviour; restart intensity still bounds a crash loop).
    pub const NONE: Backoff = Backoff {
        initial: Duration::ZERO,
        max: Duration::ZERO,
        jitter: 0.0,
        reset_after: Duration::ZERO,
    };

    /// Exponential from `initial` up to `max`, 20 % jitter, streak reset after 30 s.
    pub fn exponential(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            jitter: 0.2,
            reset_after: Duration::from_secs(30),
        }
    }

    /// Same with another jitter fraction (clamped to [0, 1]).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        self
    }

    /// Same with another streak reset time.
    pub fn with_reset_after(mut self, reset_after: Duration) -> Self {
        self.reset_after = reset_after;
        self
    }

    /// The un-jittered delay for the n-th restart of a streak.
    pub fn base(&self, n: u32) -> Duration {
        if n <= 1 {
            return Duration::ZERO;
        }
        let factor = 2u32.saturating_pow(n - 2);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The delay for the n-th restart of a streak, drawing one number from `jitter`.
    pub fn delay(&self, n: u32, jitter: &mut dyn Jitter) -> Duration {
        let base = self.base(n);
        if base.is_zero() {
            return base;
        }
        let u = jitter.unit();
        let u = if (0.0..1.0).contains(&u) { u } else { 0.0 };
        base.mul_f64(1.0 - self.jitter.clamp(0.0, 1.0) * u)
    }
}

impl Default for Backoff {
    /// 10 ms doubling up to 10 s.
    fn default() -> Self {
        Backoff::exponential(Duration::from_millis(10), Duration::from_secs(10))
    }
}

/// Source of jitter numbers in [0, 1). Inject a seeded one for deterministic tests.
pub trait Jitter: Send + 'static {
    /// The next number in [0, 1).
    fn unit(&mut self) -> f64;
}

impl<F: FnMut() -> f64 + Send + 'static> Jitter for F {
    fn unit(&mut self) -> f64 {
        self()
    }
}

/// A seeded pseudo-random jitter source.
pub struct SeededJitter(fastrand::Rng);

impl SeededJitter {
    /// Deterministic sequence for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(fastrand::Rng::with_seed(seed))
    }

    /// Seeded from the OS (production default).
    pub fn from_entropy() -> Self {
        Self(fastrand::Rng::new())
    }
}

impl Jitter for SeededJitter {
    fn unit(&mut self) -> f64 {
        self.0.f64()
    }
}

impl fmt::Debug for SeededJitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SeededJitter")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn first_restart_is_immediate_then_doubles_up_to_max() {
        let b = Backoff::exponential(ms(10), ms(100)).with_jitter(0.0);
        let mut j = SeededJitter::new(1);
        let got: Vec<_> = (1..=7).map(|n| b.delay(n, &mut j)).collect();
        assert_eq!(
            got,
            vec![ms(0), ms(10), ms(20), ms(40), ms(80), ms(100), ms(100)]
        );
    }

    #[test]
    fn no_backoff_is_always_zero() {
        let mut j = SeededJitter::new(7);
        for n in 0..100 {
            assert_eq!(Backoff::NONE.delay(n, &mut j), Duration::ZERO);
        }
    }

    #[test]
    fn huge_streaks_saturate_at_max() {
        let b = Backoff::exponential(ms(10), Duration::from_secs(10)).with_jitter(0.0);
        let mut j = SeededJitter::new(1);
        assert_eq!(b.delay(u32::MAX, &mut j), Duration::from_secs(10));
    }

    #[test]
    fn jitter_stays_within_bounds_and_varies() {
        let b = Backoff::exponential(ms(100), Duration::from_secs(5)).with_jitter(0.5);
        let mut j = SeededJitter::new(42);
        for n in 2..12 {
            let base = b.base(n);
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..200 {
                let d = b.delay(n, &mut j);
                assert!(d <= base, "n={n}: {d:?} > base {base:?}");
                assert!(d > base.mul_f64(0.5), "n={n}: {d:?} <= half of {base:?}");
                seen.insert(d);
            }
            assert!(
                seen.len() > 100,
                "jitter should spread delays, got {}",
                seen.len()
            );
        }
    }

    #[test]
    fn same_seed_same_delays() {
        let b = Backoff::default();
        let run = |seed| {
            let mut j = SeededJitter::new(seed);
            (1..20).map(|n| b.delay(n, &mut j)).collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }

    #[test]
    fn out_of_range_jitter_numbers_are_ignored() {
        let b = Backoff::exponential(ms(10), ms(100)).with_jitter(1.0);
        let mut bad = || 7.5;
        assert_eq!(b.delay(2, &mut bad), ms(10));
        let mut nan = || f64::NAN;
        assert_eq!(b.delay(3, &mut nan), ms(20));
        assert_eq!(Backoff::default().with_jitter(f64::NAN).jitter, 0.0);
    }
}
