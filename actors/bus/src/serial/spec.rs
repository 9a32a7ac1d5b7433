//! What a serial bus runs with, derived once from its `[[bus]]` section.

use std::time::Duration;

use linevisor_config::model::{Parity, SerialBus as SerialBusConfig};
use linevisor_modbus::timing::RtuTiming;

use crate::modbus::BusOptions;

/// Everything the actor and the port task need to know.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) bus: String,
    pub(crate) response_timeout: Duration,
    pub(crate) retries: u8,
    /// Idle time between a reply (or a timeout) and the next request.
    pub(crate) gap: Duration,
    /// Our own request comes back first on a 2-wire line without echo suppression.
    pub(crate) echo: bool,
    pub(crate) demote_after: u32,
    pub(crate) probe_interval: Duration,
    pub(crate) queue_capacity: usize,
    /// The line's character time, for utilisation.
    pub(crate) timing: RtuTiming,
}

fn ms(v: u32) -> Duration {
    Duration::from_millis(u64::from(v))
}

impl Settings {
    pub(crate) fn new(c: &SerialBusConfig, options: &BusOptions) -> Self {
        let gap = Duration::from_micros(u64::from(c.inter_request_gap_us));
        // Start bit, data bits, parity, stop bits.
        let parity = u64::from(c.parity != Parity::None);
        let bits = 1 + u64::from(c.data_bits) + parity + u64::from(c.stop_bits);
        let char_time = Duration::from_nanos(bits * 1_000_000_000 / u64::from(c.baud.max(1)));
        // Utilisation counts the configured gap per frame, not Modbus's t3.5.
        let timing = RtuTiming {
            char_time,
            t15: Duration::ZERO,
            t35: gap,
        };
        Self {
            bus: c.id.clone(),
            response_timeout: ms(c.response_timeout_ms),
            retries: c.retries,
            gap,
            echo: c.echo_suppression,
            demote_after: c.demote_after_timeouts,
            probe_interval: ms(c.probe_interval_ms),
            queue_capacity: options.queue_capacity.max(1),
            timing,
        }
    }

    /// Longest one transaction can take with its retries (what a clean stop waits for).
    pub(crate) fn drain_bound(&self) -> Duration {
        (self.response_timeout + self.gap) * (u32::from(self.retries) + 1) + Duration::from_secs(1)
    }
}
