//! What can be wrong with an EDS/DCF file, each with the 1-based line it was found on.

/// A file that cannot be read as an EDS, or a device a profile cannot be made for.
/// The message names the section and key; [`EdsError::located`] prefixes `file:line:`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdsError {
    /// A line that is neither a `[section]`, a `key=value` line nor a comment.
    #[error("{what}")]
    Syntax {
        /// Line.
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// A value that cannot be read for its key and type.
    #[error("[{section}] {key}={value}: {what}")]
    Value {
        /// Line of the key.
        line: usize,
        /// Section.
        section: String,
        /// Key.
        key: String,
        /// The value as written (shortened).
        value: String,
        /// What is wrong.
        what: String,
    },
    /// A key an object section needs.
    #[error("[{section}] has no {key}")]
    Missing {
        /// Line of the section header.
        line: usize,
        /// Section.
        section: String,
        /// The missing key.
        key: String,
    },
    /// An object or sub-object section given twice.
    #[error("[{section}] is defined again (first at line {first})")]
    Duplicate {
        /// Line of the second header.
        line: usize,
        /// Section.
        section: String,
        /// Line of the first header.
        first: usize,
    },
    /// A key given twice in one object section with different values.
    #[error("[{section}] {key} is given again with another value (first at line {first})")]
    DuplicateKey {
        /// Line of the second key.
        line: usize,
        /// Section.
        section: String,
        /// Key.
        key: String,
        /// Line of the first key.
        first: usize,
    },
    /// The dictionary lacks what a linevisor CiA 402 profile needs.
    #[error("{what}")]
    NotADrive {
        /// Line of the offending object, if there is one.
        line: Option<usize>,
        /// What is missing or unusable.
        what: String,
    },
}

impl EdsError {
    /// The 1-based line the problem was found on.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Syntax { line, .. }
            | Self::Value { line, .. }
            | Self::Missing { line, .. }
            | Self::Duplicate { line, .. }
            | Self::DuplicateKey { line, .. } => Some(*line),
            Self::NotADrive { line, .. } => *line,
        }
    }

    /// `file:line: message`, or `file: message` without a line.
    pub fn located(&self, file: &str) -> String {
        match self.line() {
            Some(l) => format!("{file}:{l}: {self}"),
            None => format!("{file}: {self}"),
        }
    }
}
