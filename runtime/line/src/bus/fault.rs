//! Fault injection into a bus child, for tests and benchmarks only (feature `fault-injection`):
//! crash the bus actor; power-cycle, silence, fault a node of a simulated CANopen segment or
//! make it abort every SDO; take the segment bus-off.

use super::{BusCtl, BusWorker};

#[cfg(feature = "fault-injection")]
impl BusWorker {
    pub(super) fn inject(&self, fault: BusCtl) {
        let node = |id: u8, f: &dyn Fn(&linevisor_canopen::sim::SimNodeHandle)| {
            let done = self.segment.as_ref().is_some_and(|s| s.with_node(id, f));
            if !done {
                tracing::warn!(bus = %self.bus, node = id, "No simulated CANopen node to inject into.");
            }
        };
        match fault {
            BusCtl::Crash => panic!("injected crash of bus {}", self.bus),
            BusCtl::PowerCycleNode(id) => node(id, &|n| n.power_cycle()),
            BusCtl::SilenceNode(id, silent) => node(id, &|n| n.set_silent(silent)),
            BusCtl::FaultNode(id, code) => node(id, &|n| n.inject_fault(code)),
            BusCtl::RefuseSdo(id, refuse) => node(id, &|n| {
                n.refuse_sdo(refuse.then_some(linevisor_canopen::AbortCode::GENERAL));
            }),
            BusCtl::BusOff(off) => match &self.segment {
                Some(s) => s.vbus.set_bus_off(off),
                None => {
                    tracing::warn!(bus = %self.bus, "No simulated CANopen segment to take bus-off.")
                }
            },
        }
    }
}

#[cfg(not(feature = "fault-injection"))]
impl BusWorker {
    pub(super) fn inject(&self, fault: BusCtl) {
        match fault {}
    }
}
