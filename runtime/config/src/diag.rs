//! Config diagnostics: every problem carries its file, line, column, field path, message and,
//! where one exists, a hint. Checks produce path + message; `source.rs` resolves the location.

use std::fmt;
use std::ops::Range;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The config cannot run.
    Error,
    /// The config runs, but something deserves a look (e.g. a bus over the load threshold).
    Warning,
}

/// One problem found in a config or profile file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// File name as given by the user (or `<embedded demo-line.toml>`).
    pub file: String,
    /// 1-based line, 0 when the problem has no place in a file (e.g. a missing file).
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Byte range in the file, for source snippets.
    pub span: Option<Range<usize>>,
    /// Field path such as `drive[3].bus`; empty for whole-file problems.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, where we know.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    /// The plain one-line form: `file:line:col: error: path: message (hint: ...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}:{}: {sev}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

/// A problem before its location is resolved: a field path in a file, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub(crate) severity: Severity,
    /// Index into the loader's file list.
    pub(crate) file: usize,
    pub(crate) path: Path,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    /// An exact byte span, when the parser knew better than the path.
    pub(crate) span: Option<std::ops::Range<usize>>,
}

impl Finding {
    pub(crate) fn error(file: usize, path: Path, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            file,
            path,
            message: message.into(),
            hint: None,
            span: None,
        }
    }
    pub(crate) fn warning(file: usize, path: Path, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(file, path, message)
        }
    }
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Adds a "did you mean" hint when a candidate is close enough.
    pub(crate) fn suggest<'a>(
        self,
        got: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        match did_you_mean(got, candidates) {
            Some(s) => self.hint(format!("did you mean \"{s}\"?")),
            None => self,
        }
    }
}

/// The closest candidate by Jaro-Winkler similarity, if it is close enough to be a typo.
pub(crate) fn did_you_mean<'a>(
    got: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(got, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A field path: keys and array indices, printed as `drive[3].limits.velocity_max`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Path(pub(crate) Vec<Seg>);

/// One path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

impl Path {
    pub(crate) fn root() -> Self {
        Self(Vec::new())
    }
    pub(crate) fn key(&self, k: impl Into<String>) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.into()));
        p
    }
    pub(crate) fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if n == 0 => write!(f, "{k}")?,
                Seg::Key(k) if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    write!(f, ".{k}")?
                }
                Seg::Key(k) => write!(f, ".\"{k}\"")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_prints_like_the_docs() {
        let p = Path::root().key("drive").index(3).key("bus");
        assert_eq!(p.to_string(), "drive[3].bus");
        let p = Path::root()
            .key("drive")
            .index(0)
            .key("parameters")
            .key("max current");
        assert_eq!(p.to_string(), "drive[0].parameters.\"max current\"");
    }

    #[test]
    fn suggests_close_names_only() {
        let ids = ["rs485-a", "can-a"];
        assert_eq!(did_you_mean("rs485-b", ids), Some("rs485-a"));
        assert_eq!(did_you_mean("ethernet", ids), None);
    }
}
