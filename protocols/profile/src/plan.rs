//! Read plans: a set of points as contiguous Modbus register (or bit) blocks, the reads that
//! carry them on the wire (blocks merged over gaps under `[modbus] span_gaps`), and the decoding
//! of the blocks' words into a [`Sample`].
//!
//! The merge rule is `linevisor_core::merge_runs`, the same one the bus-load check and the bus
//! actor use.

use std::collections::BTreeMap;

use linevisor_core::profile::PointTable;
use linevisor_core::{MergedRead, ReadRules, RegisterRun, merge_runs};

use crate::{CodecError, PointCodec};

/// A contiguous run of registers (bits): `count` of `table` from protocol `address`.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Holding (FC3), input (FC4), coils (FC1) or discrete inputs (FC2).
    pub table: PointTable,
    /// Protocol address of the first register (bit).
    pub address: u16,
    /// Number of registers (bits).
    pub count: u16,
    /// The points inside, with their register (bit) offset from `address`.
    pub points: Vec<(u16, PointCodec)>,
}

/// The blocks that hold a set of points, in table and address order, and the rules that merge
/// them into reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReadPlan {
    blocks: Vec<Block>,
    rules: ReadRules,
}

impl ReadPlan {
    /// Plans `points` (Modbus points: each must have an address) under `rules`: blocks of
    /// touching points, never padded; [`ReadPlan::reads`] spans the gaps between them.
    pub(crate) fn build(points: &[&PointCodec], rules: &ReadRules) -> Self {
        // A name listed twice is read once.
        let mut by_name: BTreeMap<&str, &PointCodec> = BTreeMap::new();
        for p in points {
            by_name.entry(p.name()).or_insert(p);
        }
        let runs = by_name
            .iter()
            .filter_map(|(name, p)| {
                Some(RegisterRun {
                    table: p.table(),
                    start: u32::from(p.address()?),
                    len: u32::from(p.registers()),
                    key: *name,
                })
            })
            .collect();
        let blocks = merge_runs(runs, &rules.unpadded())
            .into_iter()
            .map(|r| Block {
                table: r.table,
                // Addresses are u16 and a block is at most 2000 long.
                address: r.start as u16,
                count: r.len as u16,
                points: r
                    .parts
                    .into_iter()
                    .map(|(offset, name)| (offset as u16, by_name[name].clone()))
                    .collect(),
            })
            .collect();
        Self {
            blocks,
            rules: rules.clone(),
        }
    }

    /// The blocks: what a drive attaches, and what [`ReadPlan::decode`] takes.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The profile's read rules (`max_registers_per_read`, `span_gaps`, `readable_gap`).
    pub fn rules(&self) -> &ReadRules {
        &self.rules
    }

    /// The reads of one cycle: the blocks merged over gaps the rules allow, each part tagged
    /// with its block index.
    pub fn reads(&self) -> Vec<MergedRead<usize>> {
        merge_runs(
            self.blocks
                .iter()
                .enumerate()
                .map(|(i, b)| RegisterRun {
                    table: b.table,
                    start: u32::from(b.address),
                    len: u32::from(b.count),
                    key: i,
                })
                .collect(),
            &self.rules,
        )
    }

    /// Register (bit) count of each read of a cycle (what `linevisor_config::modbus_reads`
    /// computes for the bus load).
    pub fn counts(&self) -> Vec<u16> {
        // A read is at most 2000 bits.
        self.reads().iter().map(|r| r.len as u16).collect()
    }

    /// Decodes the words read for each block (same order and lengths as [`ReadPlan::blocks`])
    /// into the value of every planned point.
    pub fn decode(&self, data: &[Vec<u16>]) -> Result<Sample, CodecError> {
        let fits = data.len() == self.blocks.len()
            && self
                .blocks
                .iter()
                .zip(data)
                .all(|(b, d)| d.len() == usize::from(b.count));
        if !fits {
            return Err(CodecError::Blocks {
                expected: self.blocks.len(),
                counts: self.blocks.iter().map(|b| b.count).collect(),
                got: data.iter().map(Vec::len).collect(),
            });
        }
        let mut sample = Sample::default();
        for (block, words) in self.blocks.iter().zip(data) {
            for (offset, point) in &block.points {
                let at = usize::from(*offset);
                let raw = point.words_to_raw(&words[at..at + usize::from(point.registers())])?;
                sample.insert(point.name(), PointValue::new(point, raw));
            }
        }
        Ok(sample)
    }
}

/// A point's value as read: its raw bit pattern and its engineering value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointValue {
    /// Raw bit pattern (see [`crate::point`]).
    pub raw: u32,
    /// raw × scale + offset.
    pub value: f64,
}

impl PointValue {
    /// The value of `raw` for `point`.
    pub fn new(point: &PointCodec, raw: u32) -> Self {
        Self {
            raw,
            value: point.decode_raw(raw),
        }
    }
}

/// Values of points by name: one cycle's poll, a parameter read-back, CANopen PDO contents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    values: BTreeMap<String, PointValue>,
}

impl Sample {
    /// Sets a point's value.
    pub fn insert(&mut self, point: &str, value: PointValue) {
        self.values.insert(point.to_owned(), value);
    }

    /// A point's value.
    pub fn get(&self, point: &str) -> Option<PointValue> {
        self.values.get(point).copied()
    }

    /// A point's value, or [`CodecError::MissingPoint`].
    pub fn require(&self, point: &str) -> Result<PointValue, CodecError> {
        self.get(point).ok_or_else(|| CodecError::MissingPoint {
            point: point.to_owned(),
        })
    }

    /// Every value, by point name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, PointValue)> {
        self.values.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}
