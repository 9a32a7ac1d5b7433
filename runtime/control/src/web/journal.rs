//! `GET /api/v1/journal`: the journal, newest first, a page at a time, filtered. Read from the
//! files (the current one, then `.1`, `.2`, … as far as the page needs) with the journal's own
//! parser, one record line at a time from the end, on the blocking pool, one read at a time.

use std::path::{Path, PathBuf};

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;

/// Records per page unless asked; at most [`MAX_LIMIT`].
const LIMIT: usize = 100;
const MAX_LIMIT: usize = 500;
/// Records looked at per request at most (a filter that matches little on a large journal).
const SCAN_MAX: usize = 200_000;
/// Rotated files looked at, at most.
const FILES_MAX: usize = 64;

/// The query: every filter is optional and they all must match.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filter {
    /// Records per page.
    limit: Option<usize>,
    /// Only records older than this `ts_ms-seq` (the `next_before` of the previous page).
    before: Option<String>,
    /// Kinds, comma-separated (`command,restart,apply`).
    kind: Option<String>,
    /// A drive: its own records, restarts of it, changes that touched it.
    drive: Option<String>,
    /// Who asked (token name, `local`, `SIGHUP`).
    by: Option<String>,
    /// `ok` or `failed`.
    outcome: Option<String>,
    /// Text anywhere in the record, any case.
    text: Option<String>,
}

impl Filter {
    fn matches(&self, r: &Value) -> bool {
        let field = |k: &str| r.get(k).and_then(Value::as_str);
        let kind_ok = self
            .kind
            .as_deref()
            .is_none_or(|ks| ks.split(',').any(|k| Some(k.trim()) == field("kind")));
        let drive_ok = self.drive.as_deref().is_none_or(|d| {
            field("drive") == Some(d)
                || field("child") == Some(d)
                || (field("id") == Some(d) && field("target") != Some("bus"))
                || r["touched"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|x| x["drive"] == d))
        });
        let by_ok = self.by.as_deref().is_none_or(|b| field("by") == Some(b));
        let outcome_ok = self
            .outcome
            .as_deref()
            .is_none_or(|o| field("outcome") == Some(o));
        let text_ok = self
            .text
            .as_deref()
            .is_none_or(|t| r.to_string().to_lowercase().contains(&t.to_lowercase()));
        kind_ok && drive_ok && by_ok && outcome_ok && text_ok
    }
}

/// `(ts_ms, seq)` of a record: the order of the journal, across restarts and files.
fn position(r: &Value) -> (u64, u64) {
    (
        r["ts_ms"].as_u64().unwrap_or(0),
        r["seq"].as_u64().unwrap_or(0),
    )
}

fn parse_before(b: &str) -> Result<(u64, u64), ApiError> {
    let bad = || ApiError::BadRequest(format!("before \"{b}\" is not <ts_ms>-<seq>"));
    let (ts, seq) = b.split_once('-').ok_or_else(bad)?;
    Ok((
        ts.parse().map_err(|_| bad())?,
        seq.parse().map_err(|_| bad())?,
    ))
}

/// `GET /api/v1/journal` (viewer).
pub(crate) async fn journal(
    caller: Caller,
    State(s): State<AppState>,
    Query(filter): Query<Filter>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Viewer, "read the journal")?;
    let Some(j) = s.journal.as_ref() else {
        return Ok(Json(json!({
            "journal": false, "records": [], "next_before": null, "rejected": 0,
            "message": "this line keeps no journal (control.journal or --journal)",
        })));
    };
    let before = filter.before.as_deref().map(parse_before).transpose()?;
    let path = j.path();
    let _one = s
        .web
        .journal_reads
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(format!("journal reader: {e}")))?;
    let page = tokio::task::spawn_blocking(move || read_page(&path, &filter, before))
        .await
        .map_err(|e| ApiError::Internal(format!("journal reader: {e}")))?;
    Ok(Json(page))
}

/// The current file, then its rotated predecessors that exist.
fn files(path: &Path) -> Vec<PathBuf> {
    let numbered = |i: usize| {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(".{i}"));
        PathBuf::from(p)
    };
    std::iter::once(path.to_owned())
        .chain((1..=FILES_MAX).map(numbered).take_while(|p| p.exists()))
        .collect()
}

/// One page: the newest matching records older than `before`.
pub(crate) fn read_page(path: &Path, filter: &Filter, before: Option<(u64, u64)>) -> Value {
    let limit = filter.limit.unwrap_or(LIMIT).clamp(1, MAX_LIMIT);
    let (mut records, mut rejected, mut scanned) = (Vec::new(), 0usize, 0usize);
    let mut more = false;
    'files: for file in files(path) {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        // A last piece without its end of line is a torn record.
        if !bytes.ends_with(b"\n") && !bytes.is_empty() {
            rejected += 1;
        }
        let lines = body.split(|b| *b == b'\n').rev();
        let lines = lines.skip(usize::from(!bytes.ends_with(b"\n") && !bytes.is_empty()));
        for line in lines.filter(|l| !l.is_empty()) {
            let mut framed = line.to_vec();
            framed.push(b'\n');
            let c = crate::journal::parse(&framed);
            rejected += c.rejected.len();
            for r in c.records {
                scanned += 1;
                if before.is_some_and(|b| position(&r) >= b) || !filter.matches(&r) {
                    continue;
                }
                if records.len() == limit {
                    more = true;
                    break 'files;
                }
                records.push(r);
            }
            if scanned >= SCAN_MAX {
                more = true;
                break 'files;
            }
        }
    }
    let next = records.last().filter(|_| more).map(|r| {
        let (ts, seq) = position(r);
        format!("{ts}-{seq}")
    });
    json!({
        "journal": true, "records": records, "next_before": next,
        "rejected": rejected, "scanned": scanned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Journal, JournalLimits};

    #[test]
    fn pages_newest_first_across_rotated_files_with_filters() {
        let dir =
            std::env::temp_dir().join(format!("linevisor-web-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("journal.jsonl");
        let limits = JournalLimits {
            max_bytes: 2000,
            keep: 8,
        };
        let j = Journal::open(&path, limits).expect("open");
        for i in 0..60u64 {
            let who = if i % 3 == 0 { "maint" } else { "scada" };
            j.append(
                json!({"kind": "command", "drive": format!("d{}", i % 4), "by": who,
                            "outcome": "ok", "n": i}),
            )
            .expect("append");
        }
        assert!(files(&path).len() > 2, "the journal rotated");
        // A torn last record, as a crash leaves it.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"0000002a 00000000 {\"kin"))
            .expect("torn");

        let all = |f: &Filter, before| read_page(&path, f, before);
        let f = Filter {
            limit: Some(7),
            ..Filter::default()
        };
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = all(&f, before);
            assert_eq!(page["rejected"], 1, "{page}");
            seen.extend(
                page["records"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| r["n"].clone()),
            );
            match page["next_before"].as_str() {
                Some(b) => before = Some(parse_before(b).expect("cursor")),
                None => break,
            }
        }
        let kept: Vec<u64> = seen.iter().filter_map(Value::as_u64).collect();
        assert!(
            kept.len() >= 20 && kept.windows(2).all(|w| w[0] == w[1] + 1),
            "{kept:?}"
        );
        assert_eq!(kept.first(), Some(&59));

        let f = Filter {
            drive: Some("d1".into()),
            by: Some("maint".into()),
            ..Filter::default()
        };
        let page = all(&f, None);
        let recs = page["records"].as_array().expect("records");
        assert!(!recs.is_empty());
        assert!(
            recs.iter()
                .all(|r| r["drive"] == "d1" && r["by"] == "maint"),
            "{page}"
        );
        let f = Filter {
            text: Some("SCADA".into()),
            kind: Some("restart, command".into()),
            limit: Some(1),
            ..Filter::default()
        };
        assert_eq!(all(&f, None)["records"][0]["by"], "scada");
        assert!(parse_before("12").is_err() && parse_before("a-1").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
