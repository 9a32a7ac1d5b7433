//! A simulated drive's point image: Modbus points live in registers laid out by the profile,
//! other points (serial ones) in a raw value by name. Both are read and written by point name.
//!
//! Register reads may cover holes between mapped registers (they read 0, as on many drives;
//! with [`PointImage::refuse_holes`], as on others, they are refused with exception 0x02) but not
//! run outside the lowest..highest mapped register of the table (0x02). Coils and discrete
//! inputs are kept as words of 0 or 1. Writes must land on registers of writable holding points
//! only (0x02 otherwise).

use std::collections::{BTreeMap, BTreeSet};

use linevisor_core::profile::PointTable;
use linevisor_modbus::ExceptionCode;
use linevisor_profile::{PointCodec, ProfileCodec};

#[derive(Debug, Clone)]
struct Layout {
    table: PointTable,
    address: u16,
    registers: u16,
}

/// Register (bit) values of the four tables, the raw values of points without registers, and
/// where each point lives.
#[derive(Debug, Clone)]
pub(crate) struct PointImage {
    tables: [BTreeMap<u16, u16>; 4],
    /// Reads covering an unmapped register are refused (0x02) instead of reading 0.
    pub(crate) refuse_holes: bool,
    writable: BTreeSet<u16>,
    points: BTreeMap<String, (Layout, PointCodec)>,
    named: BTreeMap<String, (u32, PointCodec)>,
}

impl PointImage {
    /// Every point at 0.
    pub(crate) fn new(codec: &ProfileCodec) -> Self {
        let mut image = Self {
            tables: Default::default(),
            refuse_holes: false,
            writable: BTreeSet::new(),
            points: BTreeMap::new(),
            named: BTreeMap::new(),
        };
        for p in codec.points() {
            let Some(address) = p.address() else {
                image.named.insert(p.name().to_owned(), (0, p.clone()));
                continue;
            };
            let layout = Layout {
                table: p.table(),
                address,
                registers: p.registers(),
            };
            for a in address..=address.saturating_add(p.registers() - 1) {
                image.table_mut(p.table()).insert(a, 0);
                if p.access().writable() && p.table() == PointTable::Holding {
                    image.writable.insert(a);
                }
            }
            image
                .points
                .insert(p.name().to_owned(), (layout, p.clone()));
        }
        image
    }

    fn slot(t: PointTable) -> usize {
        match t {
            PointTable::Holding => 0,
            PointTable::Input => 1,
            PointTable::Coil => 2,
            PointTable::DiscreteInput => 3,
        }
    }

    fn table(&self, t: PointTable) -> &BTreeMap<u16, u16> {
        &self.tables[Self::slot(t)]
    }

    fn table_mut(&mut self, t: PointTable) -> &mut BTreeMap<u16, u16> {
        &mut self.tables[Self::slot(t)]
    }

    /// True if the profile maps anything in `t`.
    pub(crate) fn maps(&self, t: PointTable) -> bool {
        !self.table(t).is_empty()
    }

    /// Zeroes every register and named value.
    pub(crate) fn clear(&mut self) {
        for t in &mut self.tables {
            t.values_mut().for_each(|v| *v = 0);
        }
        self.named.values_mut().for_each(|(v, _)| *v = 0);
    }

    fn codec(&self, point: &str) -> Option<&PointCodec> {
        match self.points.get(point) {
            Some((_, c)) => Some(c),
            None => self.named.get(point).map(|(_, c)| c),
        }
    }

    /// FC3/FC4 (FC1/FC2: words of 0 or 1).
    pub(crate) fn read(
        &self,
        table: PointTable,
        address: u16,
        quantity: u16,
    ) -> Result<Vec<u16>, ExceptionCode> {
        let t = self.table(table);
        let (lo, hi) = match (t.keys().next(), t.keys().next_back()) {
            (Some(lo), Some(hi)) => (u32::from(*lo), u32::from(*hi)),
            _ => return Err(ExceptionCode::IllegalDataAddress),
        };
        let (start, end) = (u32::from(address), u32::from(address) + u32::from(quantity));
        if quantity == 0 || start < lo || end - 1 > hi {
            return Err(ExceptionCode::IllegalDataAddress);
        }
        if self.refuse_holes && (start..end).any(|a| !t.contains_key(&(a as u16))) {
            return Err(ExceptionCode::IllegalDataAddress);
        }
        Ok((start..end)
            .map(|a| t.get(&(a as u16)).copied().unwrap_or(0))
            .collect())
    }

    /// Checks that `len` registers from `address` are all writable.
    pub(crate) fn check_writable(&self, address: u16, len: usize) -> Result<(), ExceptionCode> {
        let end = u32::from(address) + len as u32;
        let ok = len > 0
            && end <= 0x1_0000
            && (u32::from(address)..end).all(|a| self.writable.contains(&(a as u16)));
        if ok {
            Ok(())
        } else {
            Err(ExceptionCode::IllegalDataAddress)
        }
    }

    /// The holding points a write of `len` registers from `address` touches, in address order.
    pub(crate) fn touched(&self, address: u16, len: usize) -> Vec<String> {
        let (start, end) = (u32::from(address), u32::from(address) + len as u32);
        let mut v: Vec<(u16, &String)> = self
            .points
            .iter()
            .filter(|(_, (l, _))| {
                let (a, b) = (
                    u32::from(l.address),
                    u32::from(l.address) + u32::from(l.registers),
                );
                l.table == PointTable::Holding && a < end && start < b
            })
            .map(|(n, (l, _))| (l.address, n))
            .collect();
        v.sort();
        v.into_iter().map(|(_, n)| n.clone()).collect()
    }

    /// Stores words from `address` (callers checked [`PointImage::check_writable`]).
    pub(crate) fn store(&mut self, address: u16, words: &[u16]) {
        let holding = self.table_mut(PointTable::Holding);
        for (i, w) in words.iter().enumerate() {
            holding.insert(address.wrapping_add(i as u16), *w);
        }
    }

    /// A point's raw value (0 for an unknown point).
    pub(crate) fn raw(&self, point: &str) -> u32 {
        let Some((l, codec)) = self.points.get(point) else {
            return self.named.get(point).map_or(0, |(raw, _)| *raw);
        };
        let t = self.table(l.table);
        let words: Vec<u16> = (0..l.registers)
            .map(|i| t.get(&(l.address + i)).copied().unwrap_or(0))
            .collect();
        codec.words_to_raw(&words).unwrap_or(0)
    }

    /// A point's engineering value.
    pub(crate) fn value(&self, point: &str) -> Option<f64> {
        Some(self.codec(point)?.decode_raw(self.raw(point)))
    }

    /// Sets a point's raw value.
    pub(crate) fn set_raw(&mut self, point: &str, raw: u32) {
        let Some((l, codec)) = self.points.get(point) else {
            if let Some((v, _)) = self.named.get_mut(point) {
                *v = raw;
            }
            return;
        };
        let (table, address) = (l.table, l.address);
        let words = codec.raw_to_words(raw);
        let t = self.table_mut(table);
        for (i, w) in words.into_iter().enumerate() {
            t.insert(address + i as u16, w);
        }
    }

    /// Sets a point to an engineering value, saturating at the point's range (an unsigned
    /// point shows the magnitude of a negative value, as a VFD shows frequency).
    pub(crate) fn set_value(&mut self, point: &str, value: f64) {
        let Some(codec) = self.codec(point) else {
            return;
        };
        let v = if codec.is_unsigned() {
            value.abs()
        } else {
            value
        };
        let raw = codec.encode_saturating(v);
        self.set_raw(point, raw);
    }
}
