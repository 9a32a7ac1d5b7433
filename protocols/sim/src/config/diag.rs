//! Diagnostics of the sim config file, in `linevisor check`'s style.

use std::ops::Range;

use linevisor_config::{Diagnostic, Severity};

use super::SimConfigError;

/// Diagnostics of one file, located from byte spans.
pub(super) struct Diags<'a> {
    file: String,
    text: &'a str,
    pub(super) list: Vec<Diagnostic>,
}

impl<'a> Diags<'a> {
    pub(super) fn new(file: &str, text: &'a str) -> Self {
        Self {
            file: file.to_owned(),
            text,
            list: Vec::new(),
        }
    }

    pub(super) fn error(
        &mut self,
        span: Range<usize>,
        path: &str,
        message: String,
        hint: Option<String>,
    ) {
        let (line, column) = if span.is_empty() && span.start == 0 {
            (
                usize::from(!self.text.is_empty()),
                usize::from(!self.text.is_empty()),
            )
        } else {
            let before = self.text.get(..span.start).unwrap_or(self.text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, column)
        };
        self.list.push(Diagnostic {
            severity: Severity::Error,
            file: self.file.clone(),
            line,
            column,
            span: Some(span),
            path: path.to_owned(),
            message,
            hint,
        });
    }

    /// The diagnostics in file order: this file first, then profile files.
    pub(super) fn into_error(mut self) -> SimConfigError {
        let own = self.file.clone();
        self.list.sort_by(|a, b| {
            (a.file != own, &a.file, a.line, a.column).cmp(&(
                b.file != own,
                &b.file,
                b.line,
                b.column,
            ))
        });
        SimConfigError {
            diagnostics: self.list,
        }
    }
}
