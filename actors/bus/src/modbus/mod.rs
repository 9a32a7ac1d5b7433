//! The Modbus bus kinds (`modbus_rtu`, `modbus_tcp`): one actor per RS-485 line or TCP
//! connection, the sole owner of its port. The actor is thin: it validates and hands requests
//! to the port task (`port/`), which owns the client, the scheduler and the per-unit circuit
//! breakers. `drive_link.rs` turns a drive's profile points into register blocks and writes.

mod actor;
mod client;
mod drive_link;
mod merge;
mod port;
mod requests;
mod spec;
mod start;

use std::sync::Arc;

use linevisor_config::model::Protocol;
use linevisor_profile::ProfileCodec;
use ractor::RpcReplyPort;

pub use actor::{ModbusArgs, ModbusBus, ModbusMsg, ModbusState};
#[cfg(test)]
pub(crate) use merge::merge;
// Openers are shared by every byte-stream bus; re-exported where Modbus users found them.
pub use crate::link::{FnOpener, LinkIo, LinkStream, OpenFuture, Opener, SerialOpener, TcpOpener};
pub use requests::{BusResult, ReadBlock, RegisterTable, UnitOptions, Write};
pub(crate) use requests::{check_attach, check_request, check_unit};
pub use spec::{BusOptions, BusSpec};
pub use start::{ModbusStart, OpenerFactory};

use crate::drive_link::{DriveLink, LinkOptions, LinkSetupError, check_link};
use crate::handle::{BusKind, Handle};
use crate::{Attach, BusError, BusMetrics};

/// The Modbus kind, for [`Handle`].
#[derive(Debug)]
pub struct Modbus;

/// A handle on a Modbus bus.
pub type ModbusHandle = Handle<Modbus>;

impl BusKind for Modbus {
    type Msg = ModbusMsg;
    type Block = ReadBlock;
    type Options = UnitOptions;
    const NAME: &'static str = "modbus";

    fn attach(
        attach: Attach,
        options: UnitOptions,
        reply: RpcReplyPort<Result<(), BusError>>,
    ) -> ModbusMsg {
        ModbusMsg::Attach(attach, options, reply)
    }
    fn detach(unit: u8) -> ModbusMsg {
        ModbusMsg::Detach(unit)
    }
    fn metrics(reply: RpcReplyPort<BusMetrics>) -> ModbusMsg {
        ModbusMsg::Metrics(reply)
    }
    fn stop(reply: Option<RpcReplyPort<()>>) -> ModbusMsg {
        ModbusMsg::Stop(reply)
    }
    fn drive_link(
        handle: &ModbusHandle,
        codec: Arc<ProfileCodec>,
        address: u32,
    ) -> Result<Arc<dyn DriveLink>, LinkSetupError> {
        Self::drive_link_with(handle, codec, address, LinkOptions::default())
    }

    fn drive_link_with(
        handle: &ModbusHandle,
        codec: Arc<ProfileCodec>,
        address: u32,
        options: LinkOptions,
    ) -> Result<Arc<dyn DriveLink>, LinkSetupError> {
        // Unit 0 is broadcast, never a drive's own address. 248–255 only on TCP: an RTU bus
        // refuses them at attach (and `linevisor check` before).
        let unit = check_link(
            &codec,
            Protocol::Modbus,
            Self::NAME,
            address,
            (1, 255, "Modbus unit id"),
        )?;
        Ok(Arc::new(drive_link::ModbusLink {
            codec,
            bus: handle.clone(),
            unit,
            response_timeout: options.response_timeout,
        }))
    }
}

/// A Modbus exception as the device's refusal.
pub(crate) fn refusal(e: &linevisor_modbus::Exception) -> crate::Refusal {
    crate::Refusal {
        code: u32::from(e.code.code()),
        meaning: e.to_string(),
    }
}

impl ModbusHandle {
    /// One-off read of `block` from `unit`.
    pub async fn read(&self, unit: u8, block: ReadBlock) -> BusResult<Vec<u16>> {
        self.call(|reply| ModbusMsg::Read { unit, block, reply })
            .await?
    }

    /// Writes registers of `unit`, ahead of any cyclic poll.
    pub async fn write(&self, unit: u8, write: Write) -> BusResult<()> {
        self.call(|reply| ModbusMsg::Write { unit, write, reply })
            .await?
    }

    /// Broadcasts a write to every unit (RTU only).
    pub async fn broadcast(&self, write: Write) -> Result<(), BusError> {
        self.call(|reply| ModbusMsg::Broadcast { write, reply })
            .await?
    }
}
