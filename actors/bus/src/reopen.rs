//! When a request/response bus's port or connection is down: why, and when the next open
//! attempt is, with backoff. The backoff resets only once the link has answered after an open,
//! so a port that opens but fails at once still backs off.

use tokio::time::{Duration, Instant};

use linevisor_modbus::Retry;

use crate::BusError;

#[derive(Debug)]
pub(crate) struct Reopen {
    /// Port path or peer address, for errors and logs.
    pub(crate) link: String,
    backoff: Retry,
    pub(crate) next_open: Instant,
    reason: String,
    answered_since_open: bool,
}

impl Reopen {
    pub(crate) fn new(link: String, backoff: Retry) -> Self {
        Self {
            link,
            backoff,
            next_open: Instant::now(),
            reason: "not opened yet".into(),
            answered_since_open: false,
        }
    }

    pub(crate) fn opened(&mut self) {
        self.answered_since_open = false;
    }

    /// The link answered (a reply, a refusal or an exception).
    pub(crate) fn answered(&mut self) {
        self.answered_since_open = true;
    }

    /// An open attempt failed; returns the delay to the next one.
    pub(crate) fn open_failed(&mut self, why: &dyn std::fmt::Display, now: Instant) -> Duration {
        self.down(format!("open failed: {why}"), now)
    }

    /// The open link was lost; returns the delay to the next open attempt.
    pub(crate) fn lost(&mut self, why: &dyn std::fmt::Display, now: Instant) -> Duration {
        if self.answered_since_open {
            self.backoff.reset();
        }
        self.down(why.to_string(), now)
    }

    fn down(&mut self, reason: String, now: Instant) -> Duration {
        let delay = self.backoff.next_delay();
        self.next_open = now + delay;
        self.reason = reason;
        delay
    }

    /// Why requests fail while the link is down.
    pub(crate) fn error(&self, bus: &str, now: Instant) -> BusError {
        BusError::LinkDown {
            bus: bus.to_owned(),
            link: self.link.clone(),
            reason: self.reason.clone(),
            retry_in: self.next_open.saturating_duration_since(now),
        }
    }
}
