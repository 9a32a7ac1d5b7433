//! Store and forward: samples kept while the broker is unreachable (bounded by bytes and age,
//! also on disk with `buffer_path`), and the queue of those still to replay after the next
//! session's births.

use std::collections::VecDeque;

use linevisor_sparkplug::{Backlog, Kept, MetricValue};
use tracing::info;

use crate::disk::DiskLog;
use crate::settings::Settings;

#[derive(Debug)]
pub(crate) struct Store {
    backlog: Backlog,
    /// The backlog's file, with `buffer_path`.
    disk: Option<DiskLog>,
    /// Kept samples still to replay after the births.
    replay: VecDeque<Kept>,
    /// Every sample left waits for a device not born yet.
    blocked: bool,
}

impl Store {
    /// The store of `s`; samples a previous run kept on disk are replayed after the first
    /// births.
    pub(crate) fn open(s: &Settings, now_ms: u64) -> Self {
        let mut backlog = Backlog::new(s.buffer_bytes, s.buffer_age_ms);
        let disk = s
            .buffer_path
            .as_deref()
            .map(|p| DiskLog::open(p, s.buffer_bytes as u64, &mut backlog, now_ms));
        Self {
            backlog,
            disk,
            replay: VecDeque::new(),
            blocked: false,
        }
    }

    /// Keeps what a live session would have published of a sample (report by exception);
    /// returns the samples dropped so far to stay within the bounds.
    pub(crate) fn keep(
        &mut self,
        device: &str,
        values: &[(&str, MetricValue)],
        sample_ms: u64,
        deadband: impl Fn(&str) -> f64,
    ) -> u64 {
        let was_empty = self.backlog.is_empty();
        let kept = self.backlog.keep(device, values, sample_ms, deadband);
        if kept.is_some() && was_empty {
            info!(
                on_disk = self.disk.is_some(),
                "Not publishing (broker unreachable, or the primary host offline): keeping samples to replay."
            );
        }
        if let (Some(k), Some(disk)) = (kept, self.disk.as_mut()) {
            disk.append(&k, &self.backlog);
        }
        self.backlog.dropped
    }

    /// The session is up: everything kept goes to the replay queue, in order, except samples of
    /// drives no longer on the line (counted as dropped). Returns how many samples. The file
    /// keeps them until the replay is done: a crash mid-replay replays them again (at least
    /// once, never lost).
    pub(crate) fn start_replay(&mut self, now_ms: u64, on_line: impl Fn(&str) -> bool) -> usize {
        for k in self.backlog.drain(now_ms) {
            if on_line(&k.device) {
                self.replay.push_back(k);
            } else {
                self.backlog.dropped += 1;
            }
        }
        self.blocked = false;
        self.replay.len()
    }

    /// Samples dropped so far: beyond the bounds, or of drives no longer on the line.
    pub(crate) fn dropped(&self) -> u64 {
        self.backlog.dropped
    }

    /// True while samples wait to be replayed and some may be ready.
    pub(crate) fn replaying(&self) -> bool {
        !self.replay.is_empty() && !self.blocked
    }

    /// Up to `max` samples to replay now, oldest first, of devices `born` already (a device's
    /// history needs the aliases of its birth); the others wait, in order, until
    /// [`Self::device_born`]. The file is emptied once everything is replayed.
    pub(crate) fn take_ready(&mut self, max: usize, born: impl Fn(&str) -> bool) -> Vec<Kept> {
        let mut out = Vec::new();
        let mut waiting = VecDeque::new();
        while out.len() < max {
            let Some(k) = self.replay.pop_front() else {
                break;
            };
            if born(&k.device) {
                out.push(k);
            } else {
                waiting.push_back(k);
            }
        }
        while let Some(k) = waiting.pop_back() {
            self.replay.push_front(k);
        }
        self.blocked = out.is_empty() && !self.replay.is_empty();
        if self.replay.is_empty()
            && let Some(disk) = self.disk.as_mut()
        {
            disk.rewrite(&self.backlog);
        }
        out
    }

    /// Samples taken but not sent (the client's queue stayed full): first again.
    pub(crate) fn put_back(&mut self, samples: Vec<Kept>) {
        for k in samples.into_iter().rev() {
            self.replay.push_front(k);
        }
    }

    /// A device was born: samples waiting for it may go.
    pub(crate) fn device_born(&mut self) {
        self.blocked = false;
    }

    /// The session went down mid-replay: what is left goes back to the backlog, before
    /// anything kept from now on, and the file holds exactly that.
    pub(crate) fn abort_replay(&mut self, now_ms: u64) {
        if self.replay.is_empty() {
            return;
        }
        for k in self.replay.drain(..) {
            self.backlog.restore(k, now_ms);
        }
        if let Some(disk) = self.disk.as_mut() {
            disk.rewrite(&self.backlog);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        let section = serde_json::from_value(serde_json::json!({
            "brokers": ["mqtt://127.0.0.1:1883"], "group_id": "plant",
        }))
        .expect("section");
        let s = Settings::new(&section, "line", None).expect("settings");
        Store::open(&s, 0)
    }

    fn keep(st: &mut Store, device: &str, ms: u64) {
        let v = [("Cycles", MetricValue::UInt64(ms))];
        st.keep(device, &v, ms, |_| 0.0);
    }

    fn order(v: &[Kept]) -> Vec<(String, u64)> {
        v.iter().map(|k| (k.device.clone(), k.sample_ms)).collect()
    }

    #[test]
    fn history_of_a_device_waits_for_its_birth_in_order() {
        let mut st = store();
        for (d, ms) in [("a", 1), ("b", 2), ("a", 3), ("b", 4)] {
            keep(&mut st, d, ms);
        }
        assert_eq!(st.start_replay(10, |_| true), 4);
        let got = st.take_ready(10, |d| d == "a");
        assert_eq!(order(&got), [("a".into(), 1), ("a".into(), 3)]);
        // Only b's left, b not born: blocked, so the run loop does not spin.
        assert!(st.take_ready(10, |d| d == "a").is_empty());
        assert!(!st.replaying());
        st.device_born();
        assert!(st.replaying());
        let got = st.take_ready(10, |_| true);
        assert_eq!(order(&got), [("b".into(), 2), ("b".into(), 4)]);
        assert!(!st.replaying());
    }

    #[test]
    fn an_aborted_replay_goes_back_before_newer_samples() {
        let mut st = store();
        for ms in 1..=4 {
            keep(&mut st, "a", ms);
        }
        st.start_replay(10, |_| true);
        let first = st.take_ready(1, |_| true);
        st.put_back(first);
        st.abort_replay(10);
        keep(&mut st, "a", 20);
        st.start_replay(30, |_| true);
        let got = st.take_ready(10, |_| true);
        let stamps: Vec<u64> = got.iter().map(|k| k.sample_ms).collect();
        assert_eq!(stamps, [1, 2, 3, 4, 20]);
    }

    #[test]
    fn samples_of_drives_no_longer_on_the_line_are_dropped_and_counted() {
        let mut st = store();
        keep(&mut st, "gone", 1);
        keep(&mut st, "here", 2);
        assert_eq!(st.start_replay(10, |d| d == "here"), 1);
        assert_eq!(st.backlog.dropped, 1);
    }
}
