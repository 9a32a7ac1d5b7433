//! Starting a Modbus bus actor: on the config's serial port or TCP address, or on any opener
//! (an in-process simulator, a test's pseudo-terminal).

use std::sync::Arc;

use linevisor_config::model::BusConfig;
use ractor::{Actor, ActorCell, ActorProcessingErr};

use super::{BusOptions, BusSpec, ModbusArgs, ModbusBus, ModbusHandle, Opener};
use crate::BusHandle;
use crate::start::{BusStart, StartFuture, rebind};

/// Makes a new opener for each bus instance (every new actor opens the port again).
pub type OpenerFactory = Arc<dyn Fn() -> Result<Box<dyn Opener>, ActorProcessingErr> + Send + Sync>;

/// How a Modbus bus starts.
pub struct ModbusStart {
    spec: BusSpec,
    opener: OpenerFactory,
    handle: ModbusHandle,
}

impl std::fmt::Debug for ModbusStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModbusStart")
            .field("spec", &self.spec)
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl ModbusStart {
    /// A bus of `spec` whose link each new actor gets from `opener`.
    pub fn new(spec: BusSpec, opener: OpenerFactory) -> Self {
        Self {
            handle: ModbusHandle::unbound(spec.id()),
            spec,
            opener,
        }
    }

    /// A bus from its config: the serial port or the TCP address.
    pub(crate) fn from_config(config: &BusConfig) -> Result<Self, &'static str> {
        let spec = BusSpec::from_config(config).map_err(|_| "not a Modbus bus")?;
        let s = spec.clone();
        Ok(Self::new(spec, Arc::new(move || Ok(s.opener()?))))
    }
}

impl BusStart for ModbusStart {
    fn start(&self, supervisor: ActorCell) -> StartFuture<'_> {
        Box::pin(async move {
            let args = ModbusArgs {
                spec: self.spec.clone(),
                opener: (self.opener)()?,
                options: BusOptions::default(),
            };
            let (actor, _) = Actor::spawn_linked(None, ModbusBus, args, supervisor).await?;
            rebind(&self.handle, actor.clone()).await;
            Ok(actor.get_cell())
        })
    }

    fn handle(&self) -> BusHandle {
        self.handle.clone().into()
    }
}
