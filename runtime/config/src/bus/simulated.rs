//! `type = "simulated"`: drives simulated in-process, for trying a line before the hardware.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::rc;
use super::modbus::transactions_load;
use super::{AddressRange, BusKindConfig, DriveLoad, DriveOnBus};
use crate::diag::{Finding, Path};
use crate::feasibility::BusLoad;
use crate::model::Protocol;

/// `type = "simulated"`: drives simulated in-process, for trying a line before the hardware.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulatedBus {
    /// Unique bus id.
    pub id: String,
    /// Which protocol's profiles the simulated drives speak: `modbus`, `canopen` or `serial`.
    pub protocol: Protocol,
    /// Simulated response latency per transaction in microseconds (0–100000). Default 0.
    /// Emulated in whole milliseconds (the timer's resolution): values under 1000 add nothing.
    #[serde(default)]
    pub latency_us: u32,
}

impl BusKindConfig for SimulatedBus {
    fn id(&self) -> &str {
        &self.id
    }

    fn protocol(&self) -> Protocol {
        self.protocol
    }

    fn addresses(&self) -> AddressRange {
        match self.protocol {
            Protocol::Canopen => AddressRange {
                lo: 1,
                hi: 127,
                what: "CANopen node id",
            },
            Protocol::Serial => AddressRange {
                lo: 1,
                hi: 255,
                what: "serial address",
            },
            Protocol::Modbus => AddressRange {
                lo: 1,
                hi: 247,
                what: "Modbus unit id",
            },
        }
    }

    fn check(&self, p: &Path, f: &mut Vec<Finding>) {
        rc(f, p, "latency_us", self.latency_us, 0, 100_000, "µs");
    }

    /// A simulated serial segment is one serial line: one framing.
    fn check_drive(&self, drive: &DriveOnBus<'_>, p: &Path, f: &mut Vec<Finding>) {
        if self.protocol == Protocol::Serial
            && let Some(finding) = super::serial::framing_conflict(drive, p)
        {
            f.push(finding);
        }
    }

    fn load(&self, drives: &[DriveLoad<'_>], out: &mut BusLoad) {
        transactions_load(drives, out);
    }

    /// A simulated Modbus segment runs the Modbus bus actor.
    fn unit_response_timeout(&self) -> bool {
        self.protocol == Protocol::Modbus
    }

    fn describe(&self) -> String {
        format!("simulated {}", self.protocol.name())
    }

    fn label(&self) -> Option<String> {
        Some(format!("simulated {}", self.protocol.name()))
    }
}
