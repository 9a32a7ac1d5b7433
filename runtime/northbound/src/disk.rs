//! The store-and-forward backlog on disk (`buffer_path`), so samples kept while the broker is
//! unreachable survive a restart of linevisor: an append-only file of JSON lines, one kept
//! sample each, read back into the backlog at start (the bounds applied again), emptied once
//! replayed, and compacted when it grows past twice the byte bound (dropped samples go then).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use linevisor_sparkplug::{Backlog, Kept, MetricValue};
use serde_json::{Value, json};
use tracing::warn;

/// The backlog's file.
#[derive(Debug)]
pub(crate) struct DiskLog {
    path: PathBuf,
    file: Option<File>,
    written: u64,
    max_bytes: u64,
}

fn encode(k: &Kept) -> Value {
    let values: Vec<Value> = k
        .values
        .iter()
        .map(|(n, v)| {
            let (t, x) = match v {
                MetricValue::Int32(x) => ("i32", json!(x)),
                MetricValue::Int64(x) => ("i64", json!(x)),
                MetricValue::UInt32(x) => ("u32", json!(x)),
                MetricValue::UInt64(x) => ("u64", json!(x)),
                MetricValue::Float(x) => ("f32", json!(x)),
                MetricValue::Double(x) => ("f64", json!(x)),
                MetricValue::Boolean(x) => ("bool", json!(x)),
                MetricValue::String(x) => ("str", json!(x)),
            };
            json!([n, t, x])
        })
        .collect();
    json!({ "d": k.device, "t": k.sample_ms, "v": values })
}

fn decode(v: &Value) -> Option<Kept> {
    let mut values = Vec::new();
    for e in v["v"].as_array()? {
        let (n, t, x) = (e[0].as_str()?, e[1].as_str()?, &e[2]);
        let value = match t {
            "i32" => MetricValue::Int32(i32::try_from(x.as_i64()?).ok()?),
            "i64" => MetricValue::Int64(x.as_i64()?),
            "u32" => MetricValue::UInt32(u32::try_from(x.as_u64()?).ok()?),
            "u64" => MetricValue::UInt64(x.as_u64()?),
            "f32" => MetricValue::Float(x.as_f64()? as f32),
            "f64" => MetricValue::Double(x.as_f64()?),
            "bool" => MetricValue::Boolean(x.as_bool()?),
            "str" => MetricValue::String(x.as_str()?.to_owned()),
            _ => return None,
        };
        values.push((n.to_owned(), value));
    }
    Some(Kept {
        device: v["d"].as_str()?.to_owned(),
        sample_ms: v["t"].as_u64()?,
        values,
    })
}

impl DiskLog {
    /// Opens `path` and reads what it kept into `backlog` (a torn or unreadable line is
    /// skipped with a warning: it is the end of a file cut by a crash).
    pub(crate) fn open(path: &Path, max_bytes: u64, backlog: &mut Backlog, now_ms: u64) -> Self {
        if let Ok(f) = File::open(path) {
            for (i, line) in BufReader::new(f).lines().enumerate() {
                let kept = line
                    .ok()
                    .and_then(|l| serde_json::from_str::<Value>(&l).ok())
                    .and_then(|v| decode(&v));
                match kept {
                    Some(k) => backlog.restore(k, now_ms),
                    None => {
                        warn!(path = %path.display(), line = i + 1, "Skipped an unreadable kept sample.")
                    }
                }
            }
        }
        let mut log = Self {
            path: path.to_owned(),
            file: None,
            written: 0,
            max_bytes,
        };
        log.rewrite(backlog);
        log
    }

    /// Appends a newly kept sample.
    pub(crate) fn append(&mut self, k: &Kept, backlog: &Backlog) {
        let mut line = encode(k).to_string();
        line.push('\n');
        let ok = self
            .file
            .as_mut()
            .is_some_and(|f| f.write_all(line.as_bytes()).is_ok());
        if !ok {
            warn!(path = %self.path.display(), "Cannot append to the store-and-forward file.");
        }
        self.written += line.len() as u64;
        if self.written > 2 * self.max_bytes {
            self.rewrite(backlog);
        }
    }

    /// Replaces the file with what the backlog holds now (empty after a replay).
    pub(crate) fn rewrite(&mut self, backlog: &Backlog) {
        let tmp = self.path.with_extension("tmp");
        let written = (|| -> std::io::Result<u64> {
            let mut f = File::create(&tmp)?;
            let mut n = 0;
            for k in backlog.iter() {
                let mut line = encode(k).to_string();
                line.push('\n');
                f.write_all(line.as_bytes())?;
                n += line.len() as u64;
            }
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            Ok(n)
        })();
        match written {
            Ok(n) => self.written = n,
            Err(e) => {
                warn!(path = %self.path.display(), error = %e, "Cannot write the store-and-forward file.")
            }
        }
        self.file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_samples_survive_a_restart_within_the_bounds() {
        let dir = std::env::temp_dir().join(format!("linevisor-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("buffer.jsonl");
        let _ = std::fs::remove_file(&path);
        let mut b = Backlog::new(1 << 20, 60_000);
        let mut log = DiskLog::open(&path, 1 << 20, &mut b, 0);
        for t in 0..50u64 {
            let values = [
                ("Velocity", MetricValue::Double(t as f64)),
                ("State", MetricValue::String(format!("s{t}"))),
                ("Cycles", MetricValue::UInt64(t)),
            ];
            if let Some(k) = b.keep(&format!("d{}", t % 3), &values, 1000 + t, |_| 0.0) {
                log.append(&k, &b);
            }
        }
        let before: Vec<Kept> = b.iter().cloned().collect();
        assert_eq!(before.len(), 50);
        // A restart: a new backlog reads the file back, in order.
        let mut again = Backlog::new(1 << 20, 60_000);
        let _log = DiskLog::open(&path, 1 << 20, &mut again, 2000);
        assert_eq!(again.iter().cloned().collect::<Vec<_>>(), before);
        // Too old by then: the age bound applies on reading too.
        let mut late = Backlog::new(1 << 20, 500);
        let _log = DiskLog::open(&path, 1 << 20, &mut late, 1540);
        assert!(late.iter().all(|k| k.sample_ms >= 1040) && late.dropped > 0);
        // A torn last line (a crash mid-write) is skipped, the rest kept.
        std::fs::write(
            &path,
            format!("{}\n{{\"d\": \"x\", \"t\"", encode(&before[0])),
        )
        .unwrap();
        let mut torn = Backlog::new(1 << 20, 60_000);
        let _log = DiskLog::open(&path, 1 << 20, &mut torn, 2000);
        assert_eq!(torn.len(), 1);
        std::fs::remove_dir_all(&dir).ok();
    }
}
