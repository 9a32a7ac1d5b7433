//! `linevisor check`: every diagnostic at once, pretty with source snippets on a terminal and
//! one plain line each otherwise.

use std::io::{IsTerminal, Write as _};
use std::path::Path;
use std::process::ExitCode;

use linevisor_config::{Checked, DEMO_LINE, DEMO_LINE_NAME, Diagnostic, Severity};
use miette::{GraphicalReportHandler, LabeledSpan, MietteDiagnostic, NamedSource};

pub(crate) fn run(config: Option<&Path>, deny_warnings: bool, plain: bool) -> ExitCode {
    let checked = match config {
        Some(p) => linevisor_config::check_file(p),
        None => linevisor_config::check_text(DEMO_LINE_NAME, DEMO_LINE, None),
    };
    let pretty = !plain && std::io::stderr().is_terminal();
    for d in &checked.diagnostics {
        if pretty {
            eprintln!("{}", render_pretty(d, &checked));
        } else {
            eprintln!("{d}");
        }
    }
    let errors = count(&checked, Severity::Error);
    let warnings = count(&checked, Severity::Warning);
    match &checked.line {
        Some(line) if !(deny_warnings && warnings > 0) => {
            let mut out = std::io::stdout().lock();
            // Ignore a closed pipe (`linevisor check | head`): the exit status still tells.
            let _ = write!(out, "{}", linevisor_config::render_tree(line));
            let _ = writeln!(
                out,
                "ok: {} buses, {} drives, {} profiles, {warnings} warnings",
                line.config.bus.len(),
                line.config.drive.len(),
                line.profiles.len()
            );
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("invalid: {errors} errors, {warnings} warnings");
            ExitCode::from(1)
        }
    }
}

fn count(c: &Checked, s: Severity) -> usize {
    c.diagnostics.iter().filter(|d| d.severity == s).count()
}

fn render_pretty(d: &Diagnostic, checked: &Checked) -> String {
    let source = checked.sources.iter().find(|s| s.name == d.file);
    let mut diag = MietteDiagnostic::new(if d.path.is_empty() {
        d.message.clone()
    } else {
        format!("{}: {}", d.path, d.message)
    })
    .with_severity(match d.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    });
    if let Some(h) = &d.hint {
        diag = diag.with_help(h.clone());
    }
    if let (Some(span), Some(_)) = (&d.span, source) {
        let len = span.end.saturating_sub(span.start).max(1);
        diag = diag.with_label(LabeledSpan::at(span.start..span.start + len, "here"));
    }
    let report = match source {
        Some(s) => miette::Report::new(diag)
            .with_source_code(NamedSource::new(s.name.clone(), s.text.clone())),
        None => miette::Report::new(diag),
    };
    let mut out = String::new();
    match GraphicalReportHandler::new().render_report(&mut out, report.as_ref()) {
        Ok(()) => out,
        Err(_) => d.to_string(),
    }
}
