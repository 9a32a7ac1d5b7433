//! A drive's unit on a Modbus bus: the only code that knows registers. Read plans become
//! [`ReadBlock`]s, point writes become register writes (FC6/FC16 as the profile says), and an
//! exception becomes the device's [`Refusal`].

use std::sync::Arc;
use std::time::Duration;

use linevisor_config::model::WriteFunction;
use linevisor_modbus::Exception;
use linevisor_profile::{PointWrite, ProfileCodec, ReadPlan, Sample as Points};
use tokio::sync::mpsc;

use super::merge::register_table;
use super::{ModbusHandle, ReadBlock, UnitOptions, Write};
use crate::drive_link::{DriveLink, PointError};
use crate::handle::BoxFuture;
use crate::{Attach, BusError, BusEvent};

/// Most registers in one FC16 write.
const MAX_WRITE_REGISTERS: usize = 123;

#[derive(Debug, Clone)]
pub(super) struct ModbusLink {
    pub(super) codec: Arc<ProfileCodec>,
    pub(super) bus: ModbusHandle,
    pub(super) unit: u8,
    pub(super) response_timeout: Option<Duration>,
}

fn block(b: &linevisor_profile::Block) -> ReadBlock {
    ReadBlock {
        table: register_table(b.table),
        address: b.address,
        count: b.count,
    }
}

fn refusal(e: Exception) -> PointError {
    PointError::Device(super::refusal(&e))
}

impl ModbusLink {
    async fn read_points(&self, points: &[&str]) -> Result<Points, PointError> {
        let plan: ReadPlan = self.codec.read_plan(points)?;
        let mut words = Vec::with_capacity(plan.blocks().len());
        for b in plan.blocks() {
            words.push(self.bus.read(self.unit, block(b)).await?.map_err(refusal)?);
        }
        Ok(plan.decode(&words)?)
    }

    async fn write_points(&self, writes: &[PointWrite]) -> Result<(), PointError> {
        for w in self.requests(writes)? {
            self.bus.write(self.unit, w).await?.map_err(refusal)?;
        }
        Ok(())
    }

    /// Register writes in order; contiguous FC16 writes are merged into one request.
    fn requests(&self, writes: &[PointWrite]) -> Result<Vec<Write>, PointError> {
        let mut out: Vec<Write> = Vec::new();
        for w in writes {
            let r = self.codec.register_write(w)?;
            if r.function == WriteFunction::Single && r.words.len() == 1 {
                out.push(Write::Single {
                    address: r.address,
                    value: r.words[0],
                });
                continue;
            }
            if let Some(Write::Multiple { address, values }) = out.last_mut()
                && usize::from(*address) + values.len() == usize::from(r.address)
                && values.len() + r.words.len() <= MAX_WRITE_REGISTERS
            {
                values.extend_from_slice(&r.words);
                continue;
            }
            out.push(Write::Multiple {
                address: r.address,
                values: r.words,
            });
        }
        Ok(out)
    }
}

impl DriveLink for ModbusLink {
    fn unit(&self) -> u8 {
        self.unit
    }

    fn attach(
        &self,
        sink: mpsc::Sender<BusEvent>,
        period: Duration,
    ) -> BoxFuture<'_, Result<(), BusError>> {
        let blocks = self.codec.poll_plan().blocks().iter().map(block).collect();
        let attach = Attach {
            unit: self.unit,
            blocks,
            period,
            sink,
        };
        let options = UnitOptions {
            reads: self.codec.poll_plan().rules().clone(),
            response_timeout: self.response_timeout,
        };
        Box::pin(self.bus.attach_with(attach, options))
    }

    fn decode(&self, blocks: &[Vec<u16>]) -> Result<Points, PointError> {
        Ok(self.codec.poll_plan().decode(blocks)?)
    }

    fn read<'a>(&'a self, points: &'a [&'a str]) -> BoxFuture<'a, Result<Points, PointError>> {
        Box::pin(self.read_points(points))
    }

    fn write<'a>(&'a self, writes: &'a [PointWrite]) -> BoxFuture<'a, Result<(), PointError>> {
        Box::pin(self.write_points(writes))
    }
}
