//! Merging a unit's register blocks into as few Modbus reads as possible.

use linevisor_config::{RegisterRun, merge_register_runs};
use linevisor_modbus::Request;
use linevisor_modbus::frame::limits::READ_REGISTERS;

use super::Modbus;
use crate::scheduler::{PlannedRead, PollPlan};
use crate::{ReadBlock, RegisterTable};

/// One request of a cycle and where its words go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MergedRead {
    pub(crate) block: ReadBlock,
    /// (attached block index, offset of that block in this read).
    pub(crate) parts: Vec<(usize, usize)>,
}

/// Merges overlapping or adjacent blocks of one table into reads of at most 125 registers.
pub(crate) fn merge(blocks: &[ReadBlock]) -> Vec<MergedRead> {
    let runs = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| RegisterRun {
            input: b.table == RegisterTable::Input,
            start: u32::from(b.address),
            len: u32::from(b.count),
            key: i,
        })
        .collect();
    merge_register_runs(runs, u32::from(READ_REGISTERS))
        .into_iter()
        .map(|r| MergedRead {
            block: ReadBlock {
                table: if r.input {
                    RegisterTable::Input
                } else {
                    RegisterTable::Holding
                },
                // Addresses are u16 and a read is at most 125 registers.
                address: r.start as u16,
                count: r.len as u16,
            },
            parts: r
                .parts
                .into_iter()
                .map(|(off, i)| (i, off as usize))
                .collect(),
        })
        .collect()
}

impl PollPlan for Modbus {
    type Block = ReadBlock;
    type Request = Request;

    fn plan(blocks: &[ReadBlock]) -> Vec<PlannedRead<Request>> {
        merge(blocks)
            .into_iter()
            .map(|r| PlannedRead {
                request: r.block.request(),
                parts: r.parts,
            })
            .collect()
    }

    fn words(block: &ReadBlock) -> usize {
        usize::from(block.count)
    }
}
