//! The INI layer of an EDS/DCF (CiA 306 §4): `[section]` headers, `key=value` lines and `;`
//! comments, each kept with its line number. Hand-written because no maintained INI crate
//! reports lines, and a located error is the point of this parser.
//!
//! Lenient where real files differ: any case in names, a UTF-8 BOM, CRLF line ends,
//! Windows-1252/Latin-1 bytes (vendor names with umlauts), `#` comments, comments after a
//! value when preceded by white space (as python-canopen reads them), blank lines of spaces.

use super::EdsError;

/// One `key=value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) line: usize,
}

/// One `[section]` with its entries in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    pub(crate) name: String,
    pub(crate) line: usize,
    pub(crate) entries: Vec<Entry>,
}

impl Section {
    /// The entry named `key` (any case).
    pub(crate) fn get(&self, key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.key.eq_ignore_ascii_case(key))
    }

    /// The non-empty value of `key`.
    pub(crate) fn value(&self, key: &str) -> Option<&Entry> {
        self.get(key).filter(|e| !e.value.is_empty())
    }
}

/// Splits `bytes` into sections. Errors name the 1-based line.
pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<Section>, EdsError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut sections: Vec<Section> = Vec::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = i + 1;
        let text = decode(raw);
        let text = text.trim();
        if text.is_empty() || text.starts_with(';') || text.starts_with('#') {
            continue;
        }
        if let Some(rest) = text.strip_prefix('[') {
            sections.push(section(rest, line)?);
            continue;
        }
        let Some((key, value)) = text.split_once('=') else {
            return Err(EdsError::Syntax {
                line,
                what: format!(
                    "\"{}\" is not a [section], a key=value line or a ; comment",
                    shorten(text)
                ),
            });
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(EdsError::Syntax {
                line,
                what: "a line starts with '=': the key is missing".into(),
            });
        }
        let Some(current) = sections.last_mut() else {
            return Err(EdsError::Syntax {
                line,
                what: format!("key \"{}\" stands before the first [section]", shorten(key)),
            });
        };
        current.entries.push(Entry {
            key: key.to_owned(),
            value: strip_comment(value).trim().to_owned(),
            line,
        });
    }
    Ok(sections)
}

fn section(rest: &str, line: usize) -> Result<Section, EdsError> {
    let Some((name, after)) = rest.split_once(']') else {
        return Err(EdsError::Syntax {
            line,
            what: "a section header has no closing ']'".into(),
        });
    };
    let after = after.trim();
    if !(after.is_empty() || after.starts_with(';') || after.starts_with('#')) {
        return Err(EdsError::Syntax {
            line,
            what: format!("text after the section header: \"{}\"", shorten(after)),
        });
    }
    let name = name.trim();
    if name.is_empty() || name.contains('[') {
        return Err(EdsError::Syntax {
            line,
            what: format!("invalid section name \"[{}]\"", shorten(name)),
        });
    }
    Ok(Section {
        name: name.to_owned(),
        line,
        entries: Vec::new(),
    })
}

/// UTF-8 if it is, else Latin-1 (a superset of what vendor tools write besides UTF-8).
fn decode(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_owned(),
        Err(_) => raw.iter().map(|b| char::from(*b)).collect(),
    }
}

/// Cuts a `;` comment that follows white space (`DefaultValue=0x10 ; ten`).
fn strip_comment(value: &str) -> &str {
    let mut prev_space = false;
    for (i, c) in value.char_indices() {
        if c == ';' && prev_space {
            return &value[..i];
        }
        prev_space = c.is_whitespace();
    }
    value
}

/// Keeps quoted file text short in messages.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.chars().count() > MAX {
        let head: String = clean.chars().take(MAX).collect();
        format!("{head}…")
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_keys_and_comments_keep_their_lines() {
        let text = b"\xEF\xBB\xBF; header\r\n[FileInfo]\r\nFileName=a.eds ; name\r\n  \r\n# other\n[1000]\nDefaultValue=\nParameterName=x;y\n";
        let s = parse(text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].name.as_str(), s[0].line), ("FileInfo", 2));
        assert_eq!(s[0].entries[0].value, "a.eds");
        assert_eq!(s[0].entries[0].line, 3);
        assert_eq!(s[1].get("defaultvalue").unwrap().value, "");
        assert!(s[1].value("DefaultValue").is_none());
        // A ';' without white space before it is part of the value.
        assert_eq!(s[1].get("PARAMETERNAME").unwrap().value, "x;y");
    }

    #[test]
    fn latin1_bytes_decode() {
        let s = parse(b"[DeviceInfo]\nVendorName=M\xFCller\n").unwrap();
        assert_eq!(s[0].entries[0].value, "Müller");
    }

    #[test]
    fn malformed_lines_are_located() {
        let e = parse(b"[A]\nok=1\njunk line\n").unwrap_err();
        assert_eq!(e.line(), Some(3));
        assert!(e.to_string().contains("junk line"), "{e}");
        assert_eq!(parse(b"x=1\n").unwrap_err().line(), Some(1));
        assert_eq!(parse(b"[A]\n[B\n").unwrap_err().line(), Some(2));
        assert_eq!(parse(b"[A]\n=3\n").unwrap_err().line(), Some(2));
        assert_eq!(parse(b"[ ]\n").unwrap_err().line(), Some(1));
        assert_eq!(parse(b"[A] x\n").unwrap_err().line(), Some(1));
    }
}
