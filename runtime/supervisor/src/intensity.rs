//! Restart intensity: at most `max_restarts` restarts within `period` per supervisor (OTP's
//! MaxR / MaxT). One more and the supervisor stops all children and escalates.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// OTP `intensity` and `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intensity {
    /// Restarts tolerated within `period`.
    pub max_restarts: u32,
    /// Sliding window.
    pub period: Duration,
}

impl Intensity {
    /// `max_restarts` within `period`.
    pub fn new(max_restarts: u32, period: Duration) -> Self {
        Self {
            max_restarts,
            period,
        }
    }
}

impl Default for Intensity {
    /// OTP's default: 1 restart in 5 s.
    fn default() -> Self {
        Self::new(1, Duration::from_secs(5))
    }
}

/// The supervisor's sliding window of restart times.
#[derive(Debug, Default)]
pub(crate) struct RestartLog {
    times: VecDeque<Instant>,
}

impl RestartLog {
    /// Record a restart at `now`. Returns `Err(count)` when the window now holds more than the
    /// allowed restarts (the restart must not happen).
    pub(crate) fn admit(&mut self, now: Instant, limit: Intensity) -> Result<(), u32> {
        while let Some(&t) = self.times.front() {
            if now.saturating_duration_since(t) >= limit.period {
                self.times.pop_front();
            } else {
                break;
            }
        }
        self.times.push_back(now);
        let count = u32::try_from(self.times.len()).unwrap_or(u32::MAX);
        if count > limit.max_restarts {
            Err(count)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_max_then_refuses_within_period() {
        let start = Instant::now();
        let limit = Intensity::new(3, Duration::from_secs(10));
        let mut log = RestartLog::default();
        for i in 0..3 {
            assert_eq!(log.admit(start + Duration::from_secs(i), limit), Ok(()));
        }
        assert_eq!(log.admit(start + Duration::from_secs(3), limit), Err(4));
    }

    #[test]
    fn old_restarts_leave_the_window() {
        let start = Instant::now();
        let limit = Intensity::new(2, Duration::from_secs(5));
        let mut log = RestartLog::default();
        assert!(log.admit(start, limit).is_ok());
        assert!(log.admit(start + Duration::from_secs(1), limit).is_ok());
        // 5 s after the first one it no longer counts.
        assert!(log.admit(start + Duration::from_secs(5), limit).is_ok());
        assert_eq!(log.admit(start + Duration::from_secs(5), limit), Err(3));
    }

    #[test]
    fn zero_intensity_refuses_the_first_restart() {
        let mut log = RestartLog::default();
        assert_eq!(
            log.admit(Instant::now(), Intensity::new(0, Duration::from_secs(1))),
            Err(1)
        );
    }
}
