//! Spanned TOML trees: decoding with every error collected, and mapping between field paths and
//! byte spans so that each problem can be shown at its line and column.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::diag::{Finding, Path, Seg};

/// One parsed file: its name, text and spanned tree.
#[derive(Debug)]
pub(crate) struct Doc<'a> {
    pub(crate) name: String,
    pub(crate) text: &'a str,
    pub(crate) root: Spanned<DeValue<'a>>,
}

impl<'a> Doc<'a> {
    /// Parses a file, returning its syntax errors (all of them) with their spans.
    pub(crate) fn parse(name: String, text: &'a str) -> (Self, Vec<(Range<usize>, String)>) {
        let (table, errors) = DeTable::parse_recoverable(text);
        let span = table.span();
        let root = Spanned::new(span, DeValue::Table(table.into_inner()));
        let errors = errors
            .into_iter()
            .map(|e| (e.span().unwrap_or(0..0), first_line(e.message())))
            .collect();
        (Self { name, text, root }, errors)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// The span of the deepest node of `path` that exists (a missing key points at its table).
    pub(crate) fn span_of(&self, path: &Path) -> Range<usize> {
        let mut node = &self.root;
        let mut span = node.span();
        for seg in &path.0 {
            let next = match (seg, node.get_ref()) {
                (Seg::Key(k), DeValue::Table(t)) => t.get_key_value(k.as_str()).map(|(key, v)| {
                    // Point at the key for tables (their own span can be the whole body).
                    if v.get_ref().is_table() {
                        span = key.span();
                    }
                    v
                }),
                (Seg::Index(i), DeValue::Array(a)) => a.get(*i),
                _ => None,
            };
            match next {
                Some(v) => {
                    node = v;
                    if !v.get_ref().is_table() {
                        span = v.span();
                    }
                }
                None => break,
            }
        }
        span
    }
}

/// The path of the deepest node under `value` whose key or value span contains `offset`.
pub(crate) fn path_at(value: &Spanned<DeValue<'_>>, base: &Path, offset: usize) -> Path {
    let mut path = base.clone();
    let mut node = value;
    loop {
        let next = match node.get_ref() {
            DeValue::Table(t) => t.iter().find_map(|(k, v)| {
                let hit = k.span().contains(&offset) || v.span().contains(&offset);
                hit.then(|| (Seg::Key(k.get_ref().to_string()), v))
            }),
            DeValue::Array(a) => a
                .iter()
                .enumerate()
                .find(|(_, v)| v.span().contains(&offset))
                .map(|(i, v)| (Seg::Index(i), v)),
            _ => None,
        };
        match next {
            Some((seg, v)) => {
                path.0.push(seg);
                node = v;
            }
            None => return path,
        }
    }
}

/// Decodes `value` into `T`, collecting every error instead of stopping at the first: after an
/// error the offending key is removed and decoding is retried. Errors about a key we removed
/// ("missing field") are not reported twice.
pub(crate) fn decode<T: DeserializeOwned>(
    value: &Spanned<DeValue<'_>>,
    file: usize,
    base: &Path,
    findings: &mut Vec<Finding>,
) -> Option<T> {
    let mut work = value.clone();
    let mut removed: Vec<String> = Vec::new();
    // Each round removes one key, so the number of keys bounds the loop; 64 is a safety net.
    for _ in 0..64 {
        let err = match T::deserialize(ValueDeserializer::from(work.clone())) {
            Ok(v) => return Some(v),
            Err(e) => e,
        };
        let msg = first_line(err.message());
        let rel = err.span().map(|s| path_at(&work, &Path::root(), s.start));
        let (message, hint) = humanise(&msg);
        if let Some(missing) = missing_field(&msg)
            && removed.iter().any(|r| r == &missing)
        {
            return None;
        }
        let mut path = base.clone();
        if let Some(rel) = &rel {
            path.0.extend(rel.0.iter().cloned());
        }
        // "unknown field" errors point at the key; for others a key in the message helps.
        let mut f = Finding::error(file, path, message);
        f.span = err.span();
        f.hint = hint;
        findings.push(f);
        match rel.filter(|r| !r.0.is_empty()) {
            Some(rel) if remove_key(&mut work, &rel) => {
                if let Some(Seg::Key(k)) = rel.0.last() {
                    removed.push(k.clone());
                }
            }
            _ => return None,
        }
    }
    None
}

/// Removes the deepest table key on `path` (array elements cannot be removed one by one, so an
/// error inside an array removes the key holding the array).
fn remove_key(value: &mut Spanned<DeValue<'_>>, path: &Path) -> bool {
    let last_key = path.0.iter().rposition(|s| matches!(s, Seg::Key(_)));
    let Some(last_key) = last_key else {
        return false;
    };
    let mut node = value;
    for seg in &path.0[..last_key] {
        node = match (seg, node.get_mut()) {
            (Seg::Key(k), DeValue::Table(t)) => match t.get_mut(k.as_str()) {
                Some(v) => v,
                None => return false,
            },
            (Seg::Index(i), DeValue::Array(a)) => match a.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (&path.0[last_key], node.get_mut()) {
        (Seg::Key(k), DeValue::Table(t)) => t.remove(k.as_str()).is_some(),
        _ => false,
    }
}

/// serde names Rust types ("expected u32"); integrators think in numbers and strings.
fn plain_types(msg: &str) -> String {
    let mut out = msg.to_owned();
    for (rust, plain) in [
        ("expected u8", "expected a whole number (0–255)"),
        ("expected u16", "expected a whole number (0–65535)"),
        ("expected u32", "expected a whole number (0–4294967295)"),
        ("expected i32", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a string", "expected a string in quotes"),
    ] {
        if let Some(rest) = out.strip_suffix(rust) {
            out = format!("{rest}{plain}");
        }
    }
    out
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_owned()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Backtick-quoted words in a serde message.
fn ticked(msg: &str) -> Vec<&str> {
    msg.split('`').skip(1).step_by(2).collect()
}

fn missing_field(msg: &str) -> Option<String> {
    msg.strip_prefix("missing field ").map(|_| {
        ticked(msg)
            .first()
            .map(|s| s.to_string())
            .unwrap_or_default()
    })
}

/// Turns serde's wording into the integrator's: keys and values in quotes, the allowed set as a
/// hint, a "did you mean" when one candidate is close.
pub(crate) fn humanise(msg: &str) -> (String, Option<String>) {
    let words = ticked(msg);
    let (what, got, allowed) = if msg.starts_with("unknown field") {
        (
            "unknown key",
            words.first().copied(),
            &words[1.min(words.len())..],
        )
    } else if msg.starts_with("unknown variant") {
        (
            "unknown value",
            words.first().copied(),
            &words[1.min(words.len())..],
        )
    } else if let Some(k) = missing_field(msg) {
        return (format!("missing required key \"{k}\""), None);
    } else {
        return (plain_types(msg), None);
    };
    let got = got.unwrap_or_default();
    let message = format!("{what} \"{got}\"");
    let hint = match crate::diag::did_you_mean(got, allowed.iter().copied()) {
        Some(s) => Some(format!("did you mean \"{s}\"?")),
        None if allowed.is_empty() => None,
        None => Some(format!("expected one of: {}", allowed.join(", "))),
    };
    (message, hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanises_unknown_keys_and_values() {
        let (m, h) = humanise("unknown field `bauds`, expected one of `id`, `port`, `baud`");
        assert_eq!(m, "unknown key \"bauds\"");
        assert_eq!(h.as_deref(), Some("did you mean \"baud\"?"));
        let (m, h) = humanise("unknown variant `xyz`, expected `none` or `even`");
        assert_eq!(m, "unknown value \"xyz\"");
        assert_eq!(h.as_deref(), Some("expected one of: none, even"));
        let (m, _) = humanise("missing field `port`");
        assert_eq!(m, "missing required key \"port\"");
    }

    #[test]
    fn line_col_counts_characters() {
        let (doc, errs) = Doc::parse("t".into(), "a = \"é\"\nbx = 1\n");
        assert!(errs.is_empty());
        assert_eq!(doc.line_col(0), (1, 1));
        // The closing quote follows a two-byte character: byte 7, column 7.
        assert_eq!(doc.line_col(7), (1, 7));
        assert_eq!(doc.line_col(12), (2, 4));
    }
}
