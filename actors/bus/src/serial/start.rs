//! Starting a serial bus actor: on the config's port, or on any opener (an in-process
//! simulator, a test's pseudo-terminal).

use std::sync::Arc;

use linevisor_config::model::SerialBus as SerialBusConfig;
use ractor::{Actor, ActorCell};

use super::{SerialArgs, SerialBus, SerialHandle};
use crate::link::SerialOpener;
use crate::modbus::{BusOptions, OpenerFactory};
use crate::start::{BusStart, StartFuture, rebind};
use crate::{BusError, BusHandle};

/// How a serial bus starts.
pub struct SerialStart {
    config: SerialBusConfig,
    opener: OpenerFactory,
    handle: SerialHandle,
}

impl std::fmt::Debug for SerialStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialStart")
            .field("config", &self.config)
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl SerialStart {
    /// A bus of `config` whose port each new actor gets from `opener`.
    pub fn new(config: SerialBusConfig, opener: OpenerFactory) -> Self {
        Self {
            handle: SerialHandle::unbound(config.id.clone()),
            config,
            opener,
        }
    }

    /// A bus on the config's serial port; bad line settings are config errors.
    pub fn from_config(config: &SerialBusConfig) -> Result<Self, BusError> {
        let opener = SerialOpener::from_serial(config)?;
        Ok(Self::new(
            config.clone(),
            Arc::new(move || Ok(Box::new(opener.clone()) as _)),
        ))
    }

    /// The typed handle (tests, the in-process simulator).
    pub fn serial_handle(&self) -> SerialHandle {
        self.handle.clone()
    }
}

impl BusStart for SerialStart {
    fn start(&self, supervisor: ActorCell) -> StartFuture<'_> {
        Box::pin(async move {
            let args = SerialArgs {
                config: self.config.clone(),
                opener: (self.opener)()?,
                options: BusOptions::default(),
            };
            let (actor, _) = Actor::spawn_linked(None, SerialBus, args, supervisor).await?;
            rebind(&self.handle, actor.clone()).await;
            Ok(actor.get_cell())
        })
    }

    fn handle(&self) -> BusHandle {
        self.handle.clone().into()
    }
}
