//! Store and forward, sans-IO: while the broker is unreachable, the samples a live session would
//! have published (the same report-by-exception rule) are kept, bounded by bytes and by age,
//! the oldest dropped first and counted; after the next births they are replayed in order as
//! historical data.

use std::collections::{BTreeMap, VecDeque};

use crate::value::MetricValue;

/// One kept sample of a device.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    pub device: String,
    pub sample_ms: u64,
    pub values: Vec<(String, MetricValue)>,
}

impl Kept {
    /// What it costs to keep (an estimate of its encoded size).
    fn bytes(&self) -> usize {
        32 + self.device.len()
            + self
                .values
                .iter()
                .map(|(n, v)| {
                    16 + n.len()
                        + match v {
                            MetricValue::String(s) => s.len(),
                            _ => 8,
                        }
                })
                .sum::<usize>()
    }
}

/// The samples kept while offline.
#[derive(Debug, Clone)]
pub struct Backlog {
    max_bytes: usize,
    max_age_ms: u64,
    kept: VecDeque<Kept>,
    bytes: usize,
    /// Last kept value per (device, metric) and its deadband, for report by exception.
    last: BTreeMap<(String, String), MetricValue>,
    /// Samples dropped to stay within the bounds.
    pub dropped: u64,
}

impl Backlog {
    pub fn new(max_bytes: usize, max_age_ms: u64) -> Self {
        Self {
            max_bytes,
            max_age_ms,
            kept: VecDeque::new(),
            bytes: 0,
            last: BTreeMap::new(),
            dropped: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Bytes kept now (estimate).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Keeps the metrics of a sample that moved beyond `deadband(metric)` since the last kept
    /// value (all of them for the first sample of a device); returns what was kept.
    pub fn keep(
        &mut self,
        device: &str,
        values: &[(&str, MetricValue)],
        sample_ms: u64,
        deadband: impl Fn(&str) -> f64,
    ) -> Option<Kept> {
        let mut changed = Vec::new();
        for (name, v) in values {
            let key = (device.to_owned(), (*name).to_owned());
            let moved = match (self.last.get(&key), v.as_f64()) {
                (Some(old), Some(x)) if old.datatype() == v.datatype() => {
                    old.as_f64().is_none_or(|o| (o - x).abs() > deadband(name))
                }
                (Some(old), _) => old != v,
                (None, _) => true,
            };
            if moved {
                self.last.insert(key, v.clone());
                changed.push(((*name).to_owned(), v.clone()));
            }
        }
        if changed.is_empty() {
            return None;
        }
        let k = Kept {
            device: device.to_owned(),
            sample_ms,
            values: changed,
        };
        self.bytes += k.bytes();
        self.kept.push_back(k.clone());
        self.trim(sample_ms);
        Some(k)
    }

    /// Puts back a sample kept before (read from disk after a restart), bounds applied.
    pub fn restore(&mut self, k: Kept, now_ms: u64) {
        for (name, v) in &k.values {
            self.last
                .insert((k.device.clone(), name.clone()), v.clone());
        }
        self.bytes += k.bytes();
        self.kept.push_back(k);
        self.trim(now_ms);
    }

    /// What is kept now, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Kept> {
        self.kept.iter()
    }

    /// Drops the oldest samples beyond the byte bound or older than the age bound at `now_ms`.
    pub fn trim(&mut self, now_ms: u64) {
        while let Some(front) = self.kept.front() {
            let old = now_ms.saturating_sub(front.sample_ms) > self.max_age_ms;
            if !(old || self.bytes > self.max_bytes) {
                break;
            }
            if let Some(k) = self.kept.pop_front() {
                self.bytes -= k.bytes();
                self.dropped += 1;
            }
        }
    }

    /// Everything kept, oldest first; the backlog is empty afterwards.
    pub fn drain(&mut self, now_ms: u64) -> Vec<Kept> {
        self.trim(now_ms);
        self.bytes = 0;
        self.last.clear();
        self.kept.drain(..).collect()
    }
}
