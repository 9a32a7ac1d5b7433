//! Modbus RTU and TCP buses: the Modbus bus actor on the serial port or TCP address of the
//! config (or, on a simulated segment, on an in-process link: see `simulated.rs`).

use std::sync::Arc;

use linevisor_bus::{BusHandle, BusOptions, BusSpec, ModbusArgs, ModbusBus, ModbusHandle, Opener};
use linevisor_config::model::BusConfig;
use linevisor_supervisor::ActorProcessingErr;
use ractor::{Actor, ActorCell};

use super::{StartBus, StartFuture, rebind};

/// Makes a new opener for each bus instance (a port is reopened by every new actor).
pub(super) type OpenerFactory =
    Arc<dyn Fn() -> Result<Box<dyn Opener>, ActorProcessingErr> + Send + Sync>;

pub(super) struct ModbusStart {
    pub(super) spec: BusSpec,
    pub(super) opener: OpenerFactory,
    pub(super) handle: ModbusHandle,
}

/// A Modbus bus from its config: the serial port or the TCP address.
pub(super) fn start(config: &BusConfig) -> Result<ModbusStart, &'static str> {
    let spec = BusSpec::from_config(config).map_err(|_| "not a Modbus bus")?;
    let s = spec.clone();
    Ok(ModbusStart {
        handle: ModbusHandle::unbound(spec.id()),
        spec,
        opener: Arc::new(move || Ok(s.opener()?)),
    })
}

impl StartBus for ModbusStart {
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
