//! Merging a unit's blocks into as few Modbus reads as possible, under the rules the drive
//! attached with: its profile's most registers per read, the gaps a read may span and the
//! points it must not span. A plan with padded reads keeps its unpadded twin for the fallback.

use linevisor_config::model::PointTable;
use linevisor_config::{ReadRules, RegisterRun, merge_runs};
use linevisor_modbus::Request;

use super::{Modbus, UnitOptions};
use crate::scheduler::{PlannedRead, PollPlan};
use crate::{ReadBlock, RegisterTable};

/// One request of a cycle and where its words go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MergedRead {
    pub(crate) block: ReadBlock,
    /// (attached block index, offset of that block in this read).
    pub(crate) parts: Vec<(usize, usize)>,
    /// Registers (bits) read only to span gaps.
    pub(crate) padding: u32,
}

pub(crate) fn point_table(t: RegisterTable) -> PointTable {
    match t {
        RegisterTable::Holding => PointTable::Holding,
        RegisterTable::Input => PointTable::Input,
        RegisterTable::Coil => PointTable::Coil,
        RegisterTable::DiscreteInput => PointTable::DiscreteInput,
    }
}

pub(crate) fn register_table(t: PointTable) -> RegisterTable {
    match t {
        PointTable::Holding => RegisterTable::Holding,
        PointTable::Input => RegisterTable::Input,
        PointTable::Coil => RegisterTable::Coil,
        PointTable::DiscreteInput => RegisterTable::DiscreteInput,
    }
}

/// Merges the blocks of each table into reads under `rules` (at most 125 registers or 2000
/// bits a read whatever the rules say).
pub(crate) fn merge(blocks: &[ReadBlock], rules: &ReadRules) -> Vec<MergedRead> {
    let runs = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| RegisterRun {
            table: point_table(b.table),
            start: u32::from(b.address),
            len: u32::from(b.count),
            key: i,
        })
        .collect();
    merge_runs(runs, rules)
        .into_iter()
        .map(|r| MergedRead {
            block: ReadBlock {
                table: register_table(r.table),
                // Addresses are u16 and a read is at most 2000 long.
                address: r.start as u16,
                count: r.len as u16,
            },
            parts: r
                .parts
                .into_iter()
                .map(|(off, i)| (i, off as usize))
                .collect(),
            padding: r.padding,
        })
        .collect()
}

fn planned(reads: Vec<MergedRead>) -> Vec<PlannedRead<Request>> {
    reads
        .into_iter()
        .map(|r| PlannedRead {
            request: r.block.request(),
            parts: r.parts,
            padded: r.padding > 0,
        })
        .collect()
}

impl PollPlan for Modbus {
    type Block = ReadBlock;
    type Request = Request;
    type Options = UnitOptions;

    fn plan(blocks: &[ReadBlock], options: &UnitOptions) -> Vec<PlannedRead<Request>> {
        planned(merge(blocks, &options.reads))
    }

    fn unpadded(blocks: &[ReadBlock], options: &UnitOptions) -> Vec<PlannedRead<Request>> {
        planned(merge(blocks, &options.reads.unpadded()))
    }

    fn words(block: &ReadBlock) -> usize {
        usize::from(block.count)
    }
}
