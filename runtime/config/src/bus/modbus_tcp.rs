//! `type = "modbus_tcp"`: Modbus TCP to a drive or a gateway.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{default_retries, rc};
use super::modbus::{
    check_breaker, default_demote_after, default_probe_ms, silent_hold, transactions_load,
};
use super::{AddressRange, BusKindConfig, DriveLoad};
use crate::diag::{Finding, Path};
use crate::feasibility::BusLoad;
use crate::model::Protocol;

/// `type = "modbus_tcp"`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModbusTcpBus {
    /// Unique bus id.
    pub id: String,
    /// `host:port` of the drive or gateway, e.g. `192.168.10.20:502`.
    pub address: String,
    /// Connect timeout in milliseconds (1–60000). Default 1000.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u32,
    /// Response timeout in milliseconds (1–10000). Default 200.
    #[serde(default = "default_tcp_response_timeout_ms")]
    pub response_timeout_ms: u32,
    /// Retries after a timeout (0–10). Default 1.
    #[serde(default = "default_retries")]
    pub retries: u8,
    /// Transactions in flight on the connection (1–16). Default 1: many devices cannot do more.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u8,
    /// Consecutive timeouts after which a unit is demoted to probing (1–100). Default 3.
    #[serde(default = "default_demote_after")]
    pub demote_after_timeouts: u32,
    /// How often a demoted unit is probed, in milliseconds (10–600000). Default 1000.
    #[serde(default = "default_probe_ms")]
    pub probe_interval_ms: u32,
}

fn default_connect_timeout_ms() -> u32 {
    1000
}
fn default_tcp_response_timeout_ms() -> u32 {
    200
}
fn default_max_in_flight() -> u8 {
    1
}

fn host_port_ok(s: &str) -> bool {
    match s.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0),
        None => false,
    }
}

impl BusKindConfig for ModbusTcpBus {
    fn id(&self) -> &str {
        &self.id
    }

    fn protocol(&self) -> Protocol {
        Protocol::Modbus
    }

    fn addresses(&self) -> AddressRange {
        // Direct Modbus TCP devices often answer on unit 255.
        AddressRange {
            lo: 1,
            hi: 255,
            what: "Modbus unit id",
        }
    }

    fn check(&self, p: &Path, f: &mut Vec<Finding>) {
        if !host_port_ok(&self.address) {
            f.push(
                Finding::error(
                    0,
                    p.key("address"),
                    format!("\"{}\" is not host:port", self.address),
                )
                .hint("e.g. \"192.168.10.20:502\""),
            );
        }
        let connect = self.connect_timeout_ms;
        rc(f, p, "connect_timeout_ms", connect, 1, 60_000, "ms");
        let timeout = self.response_timeout_ms;
        rc(f, p, "response_timeout_ms", timeout, 1, 10_000, "ms");
        rc(f, p, "retries", self.retries, 0, 10, "");
        rc(f, p, "max_in_flight", self.max_in_flight, 1, 16, "");
        check_breaker(f, p, self.demote_after_timeouts, self.probe_interval_ms);
    }

    fn load(&self, drives: &[DriveLoad<'_>], out: &mut BusLoad) {
        transactions_load(drives, out);
        // With several transactions in flight a silent unit holds only its own slot.
        if self.max_in_flight <= 1 {
            out.silent_hold = silent_hold(drives, self.response_timeout_ms, self.retries);
        }
    }

    fn unit_response_timeout(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        format!("modbus_tcp {}", self.address)
    }
}
