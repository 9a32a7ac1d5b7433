//! The Modbus adapter: the only file that knows registers. Read plans become [`ReadBlock`]s,
//! point writes become register writes (FC6/FC16 as the profile says), and a bus answer becomes
//! a [`LinkError`]. A CANopen link is a second file of the same shape.

use std::sync::Arc;
use std::time::Duration;

use linevisor_bus::{Attach, BusEvent, BusHandle, ReadBlock, RegisterTable, Write};
use linevisor_config::model::{PointTable, WriteFunction};
use linevisor_modbus::Exception;
use linevisor_profile::{PointWrite, ProfileCodec, ReadPlan, Sample};
use tokio::sync::mpsc;

use super::LinkError;
use crate::DeviceRefusal;

/// Most registers in one FC16 write.
const MAX_WRITE_REGISTERS: usize = 123;

/// One drive's unit on a Modbus bus.
#[derive(Debug, Clone)]
pub(crate) struct ModbusLink {
    pub(crate) codec: Arc<ProfileCodec>,
    pub(crate) bus: BusHandle,
    pub(crate) unit: u8,
}

fn block(b: &linevisor_profile::Block) -> ReadBlock {
    let table = match b.table {
        PointTable::Holding => RegisterTable::Holding,
        PointTable::Input => RegisterTable::Input,
    };
    ReadBlock {
        table,
        address: b.address,
        count: b.count,
    }
}

fn refusal(e: Exception) -> LinkError {
    LinkError::Device(DeviceRefusal {
        code: u32::from(e.code.code()),
        meaning: e.to_string(),
    })
}

impl ModbusLink {
    /// Attaches the profile's poll plan at `period`; events go to `sink`.
    pub(crate) async fn attach(
        &self,
        sink: mpsc::Sender<BusEvent>,
        period: Duration,
    ) -> Result<(), linevisor_bus::BusError> {
        let blocks = self.codec.poll_plan().blocks().iter().map(block).collect();
        let attach = Attach {
            unit: self.unit,
            blocks,
            period,
            sink,
        };
        self.bus.attach(attach).await
    }

    /// Decodes one cycle's words (one vector per poll block).
    pub(crate) fn decode(&self, blocks: &[Vec<u16>]) -> Result<Sample, LinkError> {
        Ok(self.codec.poll_plan().decode(blocks)?)
    }

    /// Reads `points` acyclically.
    pub(crate) async fn read(&self, points: &[&str]) -> Result<Sample, LinkError> {
        let plan: ReadPlan = self.codec.read_plan(points)?;
        let bus = &self.bus;
        let mut words = Vec::with_capacity(plan.blocks().len());
        for b in plan.blocks() {
            words.push(bus.read(self.unit, block(b)).await?.map_err(refusal)?);
        }
        Ok(plan.decode(&words)?)
    }

    /// Writes `writes` in order; contiguous FC16 writes are merged into one request.
    pub(crate) async fn write(&self, writes: &[PointWrite]) -> Result<(), LinkError> {
        let bus = &self.bus;
        for w in self.requests(writes)? {
            bus.write(self.unit, w).await?.map_err(refusal)?;
        }
        Ok(())
    }

    fn requests(&self, writes: &[PointWrite]) -> Result<Vec<Write>, LinkError> {
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
