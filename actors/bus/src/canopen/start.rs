//! Starting a CANopen bus actor: on a SocketCAN interface or an slcan adapter from the config,
//! or on any transport (an in-process virtual CAN bus).

use linevisor_can::TransportKind;
use linevisor_can::slcan::Bitrate;
use linevisor_config::model::{CanAdapter, CanopenBus as CanopenConfig};
use ractor::{Actor, ActorCell};

use super::{CanopenArgs, CanopenBus, CanopenHandle, CanopenSettings};
use crate::BusHandle;
use crate::start::{BusStart, StartFuture, rebind};

/// How a CANopen bus starts.
#[derive(Debug)]
pub struct CanopenStart {
    settings: CanopenSettings,
    transport: TransportKind,
    handle: CanopenHandle,
}

impl CanopenStart {
    /// A bus with `settings` on `transport`.
    pub fn new(settings: CanopenSettings, transport: TransportKind) -> Self {
        Self {
            handle: CanopenHandle::unbound(settings.bus.clone()),
            settings,
            transport,
        }
    }

    /// A bus from its config.
    pub(crate) fn from_config(c: &CanopenConfig) -> Result<Self, &'static str> {
        Ok(Self::new(CanopenSettings::from_config(c), transport(c)?))
    }
}

impl BusStart for CanopenStart {
    fn start(&self, supervisor: ActorCell) -> StartFuture<'_> {
        Box::pin(async move {
            let args = CanopenArgs {
                settings: self.settings.clone(),
                transport: self.transport.clone(),
            };
            let (actor, _) = Actor::spawn_linked(None, CanopenBus, args, supervisor).await?;
            rebind(&self.handle, actor.clone()).await;
            Ok(actor.get_cell())
        })
    }

    fn handle(&self) -> BusHandle {
        self.handle.clone().into()
    }
}

/// The CAN interface of a `type = "canopen"` bus.
fn transport(c: &CanopenConfig) -> Result<TransportKind, &'static str> {
    match c.adapter {
        CanAdapter::Socketcan => Ok(TransportKind::SocketCan {
            iface: c
                .interface
                .clone()
                .ok_or("adapter socketcan needs `interface`")?,
        }),
        CanAdapter::Slcan => {
            let bitrate = (0..=8)
                .filter_map(Bitrate::from_code)
                .find(|b| b.bits_per_second() == c.bitrate)
                .ok_or("the bitrate is not one an slcan adapter offers (S0–S8)")?;
            Ok(TransportKind::Slcan {
                path: c.port.clone().ok_or("adapter slcan needs `port`")?,
                // USB-CDC adapters ignore the tty speed.
                serial_baud: c.serial_baud.unwrap_or(115_200),
                bitrate,
            })
        }
    }
}
