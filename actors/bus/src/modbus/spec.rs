//! What a bus is started with: its config section, an opener and a few runtime knobs, turned
//! into the line's settings.

use std::fmt;
use std::time::Duration;

use linevisor_config::model::{BusConfig, ModbusRtuBus, ModbusTcpBus};
use linevisor_modbus::timing::RtuTiming;
use linevisor_modbus::{Retry, RtuConfig, TcpConfig};

use crate::BusError;
use crate::link::{Opener, SerialOpener, TcpOpener};

/// The config of one Modbus bus.
#[derive(Debug, Clone, PartialEq)]
pub enum BusSpec {
    /// An RTU line (serial port).
    Rtu(ModbusRtuBus),
    /// A TCP connection.
    Tcp(ModbusTcpBus),
}

impl BusSpec {
    /// The Modbus part of a `[[bus]]` section; other kinds are refused.
    pub fn from_config(config: &BusConfig) -> Result<Self, BusError> {
        match config {
            BusConfig::ModbusRtu(b) => Ok(BusSpec::Rtu(b.clone())),
            BusConfig::ModbusTcp(b) => Ok(BusSpec::Tcp(b.clone())),
            other => Err(BusError::Config {
                bus: other.id().to_owned(),
                field: "type",
                value: other.bus_type().name().to_owned(),
                reason: "the Modbus bus actor takes modbus_rtu and modbus_tcp buses",
            }),
        }
    }

    pub fn id(&self) -> &str {
        match self {
            BusSpec::Rtu(b) => &b.id,
            BusSpec::Tcp(b) => &b.id,
        }
    }

    /// The production opener: the serial port, or the TCP address.
    pub fn opener(&self) -> Result<Box<dyn Opener>, BusError> {
        Ok(match self {
            BusSpec::Rtu(b) => Box::new(SerialOpener::from_config(b)?),
            BusSpec::Tcp(b) => Box::new(TcpOpener::from_config(b)),
        })
    }
}

/// Runtime knobs that are not in the config file.
pub struct BusOptions {
    /// Acyclic requests that may wait for the line; more are refused with `QueueFull`.
    pub queue_capacity: usize,
    /// Delay between reopen attempts after the link is lost.
    pub reopen_backoff: Retry,
    /// Spread the units' polls over the period instead of polling all at its start.
    pub stagger: bool,
}

impl Default for BusOptions {
    /// 64 queued requests; reopen backoff 100 ms doubling to 10 s, 50 % jitter; staggered polls.
    fn default() -> Self {
        Self {
            queue_capacity: 64,
            reopen_backoff: Retry::new(Duration::from_millis(100), Duration::from_secs(10)),
            stagger: true,
        }
    }
}

impl fmt::Debug for BusOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusOptions")
            .field("queue_capacity", &self.queue_capacity)
            .field("reopen_backoff", &self.reopen_backoff)
            .field("stagger", &self.stagger)
            .finish()
    }
}

/// The transport-specific client config.
#[derive(Debug, Clone)]
pub(crate) enum Transport {
    Rtu(RtuConfig),
    Tcp(TcpConfig),
}

/// Everything the port task and the actor need to know, derived once.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) bus: String,
    pub(crate) transport: Transport,
    pub(crate) response_timeout: Duration,
    pub(crate) retries: u8,
    pub(crate) window: usize,
    pub(crate) demote_after: u32,
    pub(crate) probe_interval: Duration,
    pub(crate) queue_capacity: usize,
}

fn ms(v: u32) -> Duration {
    Duration::from_millis(u64::from(v))
}

impl Settings {
    pub(crate) fn new(spec: &BusSpec, options: &BusOptions) -> Self {
        let queue_capacity = options.queue_capacity.max(1);
        match spec {
            BusSpec::Rtu(b) => {
                let mut rtu = RtuConfig::new(b.baud);
                rtu.bus = b.id.clone();
                rtu.t35 = b
                    .inter_frame_gap_us
                    .map(|us| Duration::from_micros(u64::from(us)));
                rtu.response_timeout = ms(b.response_timeout_ms);
                rtu.retries = b.retries;
                rtu.broadcast_turnaround = ms(b.broadcast_turnaround_ms);
                rtu.local_echo = b.echo_suppression;
                Self {
                    bus: b.id.clone(),
                    transport: Transport::Rtu(rtu),
                    response_timeout: ms(b.response_timeout_ms),
                    retries: b.retries,
                    window: 1,
                    demote_after: b.demote_after_timeouts,
                    probe_interval: ms(b.probe_interval_ms),
                    queue_capacity,
                }
            }
            BusSpec::Tcp(b) => {
                let tcp = TcpConfig {
                    bus: b.id.clone(),
                    connect_timeout: ms(b.connect_timeout_ms),
                    response_timeout: ms(b.response_timeout_ms),
                    retries: b.retries,
                    window: usize::from(b.max_in_flight.max(1)),
                    ..TcpConfig::default()
                };
                Self {
                    bus: b.id.clone(),
                    window: tcp.window,
                    transport: Transport::Tcp(tcp),
                    response_timeout: ms(b.response_timeout_ms),
                    retries: b.retries,
                    demote_after: b.demote_after_timeouts,
                    probe_interval: ms(b.probe_interval_ms),
                    queue_capacity,
                }
            }
        }
    }

    /// The highest unit id: 247 on an RTU line, 255 on TCP (direct devices answer on 255).
    pub(crate) fn max_unit(&self) -> u8 {
        if self.is_rtu() { 247 } else { 255 }
    }

    pub(crate) fn is_rtu(&self) -> bool {
        matches!(self.transport, Transport::Rtu(_))
    }

    /// RTU timing and local echo, for utilisation.
    pub(crate) fn rtu_timing(&self) -> Option<(RtuTiming, bool)> {
        match &self.transport {
            Transport::Rtu(c) => Some((c.timing(), c.local_echo)),
            Transport::Tcp(_) => None,
        }
    }

    /// Longest a batch in flight can take (what a clean stop waits for before giving up).
    pub(crate) fn drain_bound(&self) -> Duration {
        let extra = match &self.transport {
            Transport::Rtu(c) => c.broadcast_turnaround + c.response_timeout,
            Transport::Tcp(c) => c.connect_timeout,
        };
        self.response_timeout * 2 + extra + Duration::from_secs(1)
    }
}

#[cfg(test)]
mod tests {
    use linevisor_config::model::{CanAdapter, CanopenBus, ModbusRtuBus, Parity};

    use super::*;

    fn rtu() -> ModbusRtuBus {
        ModbusRtuBus {
            id: "line1".into(),
            port: "/dev/ttyUSB0".into(),
            baud: 19_200,
            parity: Parity::Even,
            data_bits: 8,
            stop_bits: 1,
            response_timeout_ms: 100,
            retries: 1,
            inter_frame_gap_us: Some(3000),
            echo_suppression: true,
            broadcast_turnaround_ms: 50,
            demote_after_timeouts: 3,
            probe_interval_ms: 1000,
        }
    }

    #[test]
    fn settings_come_from_the_config() {
        let s = Settings::new(&BusSpec::Rtu(rtu()), &BusOptions::default());
        assert_eq!((s.window, s.retries, s.demote_after), (1, 1, 3));
        let Transport::Rtu(c) = &s.transport else {
            panic!("not RTU")
        };
        assert_eq!(c.t35, Some(Duration::from_micros(3000)));
        assert!(c.local_echo);
        assert_eq!(c.broadcast_turnaround, Duration::from_millis(50));
    }

    #[test]
    fn bad_serial_settings_and_other_bus_kinds_are_config_errors() {
        let mut bad = rtu();
        bad.data_bits = 9;
        let e = BusSpec::Rtu(bad).opener().unwrap_err();
        assert!(
            matches!(
                e,
                BusError::Config {
                    field: "data_bits",
                    ..
                }
            ),
            "{e}"
        );
        let can = BusConfig::Canopen(CanopenBus {
            id: "can0".into(),
            adapter: CanAdapter::Socketcan,
            interface: Some("can0".into()),
            port: None,
            serial_baud: None,
            bitrate: 500_000,
            sync_period_ms: 10,
            node_heartbeat_ms: 100,
            heartbeat_timeout_ms: None,
            master_heartbeat_ms: 0,
            sdo_timeout_ms: 300,
        });
        let e = BusSpec::from_config(&can).unwrap_err();
        assert!(matches!(e, BusError::Config { field: "type", .. }), "{e}");
    }
}
