//! Starting a bus actor from its `[[bus]]` config: what the bus's supervisor runs for each new
//! instance. [`start`] is the registry of bus kinds at run time, one arm per kind; each kind's
//! [`BusStart`] lives in its folder.

use std::sync::Arc;

use linevisor_config::model::BusConfig;
use ractor::{ActorCell, ActorProcessingErr, ActorRef};
use tracing::warn;

use crate::handle::{BoxFuture, BusKind, Handle};
use crate::{BusError, BusHandle, canopen, modbus, serial};

/// A started bus actor (linked to its supervisor's instance), or why not.
pub type StartFuture<'a> = BoxFuture<'a, Result<ActorCell, ActorProcessingErr>>;

/// How one bus starts its actor, again after every crash.
pub trait BusStart: Send + Sync {
    /// Spawns a new bus actor linked to `supervisor` and points the bus handle at it, which
    /// attaches the drives again.
    fn start(&self, supervisor: ActorCell) -> StartFuture<'_>;
    /// The handle drives and the control plane hold, stable across restarts.
    fn handle(&self) -> BusHandle;
}

/// A bus this build cannot run.
#[derive(Debug, Clone, thiserror::Error)]
#[error("bus {bus} (type {kind}) cannot run: {why}")]
pub struct Unsupported {
    pub bus: String,
    /// Its `type`.
    pub kind: &'static str,
    pub why: &'static str,
}

/// The start of the bus `config` describes. `simulated` buses are the runtime's (they need its
/// simulator) and are refused here.
pub fn start(config: &BusConfig) -> Result<Arc<dyn BusStart>, Unsupported> {
    let unsupported = |why| Unsupported {
        bus: config.id().to_owned(),
        kind: config.bus_type().name(),
        why,
    };
    Ok(match config {
        BusConfig::ModbusRtu(_) | BusConfig::ModbusTcp(_) => {
            Arc::new(modbus::ModbusStart::from_config(config).map_err(unsupported)?)
        }
        BusConfig::Canopen(c) => {
            Arc::new(canopen::CanopenStart::from_config(c).map_err(unsupported)?)
        }
        BusConfig::Serial(c) => Arc::new(serial::SerialStart::from_config(c).map_err(|e| {
            // `linevisor check` rejects bad line settings first.
            unsupported(match e {
                BusError::Config { reason, .. } => reason,
                _ => "its serial line settings are not usable",
            })
        })?),
        BusConfig::Simulated(_) => return Err(unsupported("simulated buses are run by the line")),
    })
}

/// Points `handle` at its new actor; the drives' attachments are made again. A failure is
/// logged: the attachments are kept and the bus retries its link by itself.
pub(crate) async fn rebind<K: BusKind>(handle: &Handle<K>, actor: ActorRef<K::Msg>) {
    if let Err(e) = handle.rebind(actor).await {
        warn!(bus = %handle.bus(), error = %e, "Re-attaching drives after a bus start failed.");
    }
}
