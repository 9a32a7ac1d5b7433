//! Jittered exponential backoff: one law for every "try again later" in linevisor — a
//! supervisor restarting a crashed child, a transport reopening a lost port or connection
//! (protocols.md §2.4, §4.1).
//!
//! After the k-th consecutive failure (k = 1, 2, …):
//!
//! ```text
//! base(k)  = min(max, initial · 2^(k−1))
//! delay(k) = base(k) · (1 − jitter · u),   u in [0, 1) from the jitter source
//! ```
//!
//! so `base(k) · (1 − jitter) < delay(k) ≤ base(k) ≤ max`. A number outside [0, 1) from the
//! source (or NaN) counts as 0: never a longer delay than the law allows. [`Backoff`] is the
//! law (plain settings); [`Retry`] counts failures against it for a reconnecting transport.
//! Supervisors apply it per child restart streak (see `linevisor-supervisor`).

use std::fmt;
use std::time::Duration;

/// Backoff settings. `Copy`; the failure count lives with the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub initial: Duration,
    /// Upper bound of any delay.
    pub max: Duration,
    /// Fraction in [0, 1] of the delay that jitter may take away, so that many clients do not
    /// retry in step.
    pub jitter: f64,
    /// Succeeding this long after a retry ends a streak of failures (used by supervisors).
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

    /// Same with another jitter fraction (clamped to [0, 1]; NaN is 0).
    #[must_use]
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        self
    }

    /// Same with another streak reset time.
    #[must_use]
    pub fn with_reset_after(mut self, reset_after: Duration) -> Self {
        self.reset_after = reset_after;
        self
    }

    /// The un-jittered delay after `failures` consecutive failures (0 → no delay).
    pub fn base(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let factor = 2u32.saturating_pow((failures - 1).min(31));
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The delay after `failures` consecutive failures, drawing one number from `jitter`.
    pub fn delay(&self, failures: u32, jitter: &mut dyn Jitter) -> Duration {
        let base = self.base(failures);
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

/// Consecutive failures of one link counted against a [`Backoff`]: how long a transport waits
/// before reopening its port or connection.
pub struct Retry {
    backoff: Backoff,
    failures: u32,
    jitter: Box<dyn Jitter>,
}

impl Retry {
    /// Retries from `initial` to `max` with 50 % jitter from a fast non-cryptographic RNG.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            backoff: Backoff::exponential(initial, max.max(initial)).with_jitter(0.5),
            failures: 0,
            jitter: Box::new(SeededJitter::from_entropy()),
        }
    }

    /// Uses `ratio` of jitter drawn from `source` (numbers in 0.0..1.0; others count as 0).
    #[must_use]
    pub fn with_jitter(mut self, ratio: f64, source: impl Jitter) -> Self {
        self.backoff = self.backoff.with_jitter(ratio);
        self.jitter = Box::new(source);
        self
    }

    /// The delay before the next attempt; each call counts one more failure.
    pub fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.backoff.delay(self.failures, &mut *self.jitter)
    }

    /// Back to the initial delay (after a success).
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures since the last reset.
    pub fn attempt(&self) -> u32 {
        self.failures
    }
}

impl fmt::Debug for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("backoff", &self.backoff)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
