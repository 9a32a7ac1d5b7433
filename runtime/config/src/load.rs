//! Loading a line: the config file, the profile files it can use, every check, and the
//! diagnostics resolved to file, line and column.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path as FsPath, PathBuf};

use toml::Spanned;
use toml::de::DeValue;

use crate::builtin::BUILTIN_PROFILES;
use crate::check;
use crate::diag::{Diagnostic, Finding, Path, Severity};
use crate::feasibility::{self, BusLoad};
use crate::model::{
    BusConfig, BusType, ControlSection, DriveConfig, LineConfig, LineSection, NorthboundSection,
    Profile, RealtimeSection,
};
use crate::source::{Doc, decode};

/// A file that took part in a check, kept for source snippets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceText {
    /// Name as shown in diagnostics.
    pub name: String,
    /// Full text.
    pub text: String,
}

/// A profile known to the line, with the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedProfile {
    /// The decoded profile.
    pub profile: Profile,
    /// File name as shown in diagnostics.
    pub file: String,
}

/// Profiles by (name, version).
pub type ProfileSet = BTreeMap<(String, String), LoadedProfile>;

/// A line that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidLine {
    /// The config.
    pub config: LineConfig,
    /// Every profile available to it.
    pub profiles: ProfileSet,
    /// The computed load of each bus.
    pub loads: Vec<BusLoad>,
}

/// The outcome of checking a config.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The line, when there is no error (warnings allowed).
    pub line: Option<ValidLine>,
    /// Every error and warning, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// The files read, for source snippets.
    pub sources: Vec<SourceText>,
}

impl Checked {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Checks a config file on disk; profile folders are relative to its folder.
pub fn check_file(path: &FsPath) -> Checked {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => check_text(&name, &text, path.parent()),
        Err(e) => Checked {
            line: None,
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                file: name,
                line: 0,
                column: 0,
                span: None,
                path: String::new(),
                message: format!("cannot read the config file: {e}"),
                hint: None,
            }],
            sources: Vec::new(),
        },
    }
}

/// Checks config text. `base_dir` anchors `profile_dirs`; with `None` only the shipped profiles
/// are available (the embedded demo line).
pub fn check_text(name: &str, text: &str, base_dir: Option<&FsPath>) -> Checked {
    let mut sources = vec![SourceText {
        name: name.to_owned(),
        text: text.to_owned(),
    }];
    let mut findings = Vec::new();
    for (name, text) in BUILTIN_PROFILES {
        sources.push(SourceText {
            name: format!("<shipped>/{name}"),
            text: (*text).to_owned(),
        });
    }
    if let Some(dir) = base_dir {
        read_profile_dirs(text, dir, &mut sources, &mut findings);
    }
    let mut docs = Vec::new();
    let mut syntax = false;
    for (i, s) in sources.iter().enumerate() {
        let (doc, errs) = Doc::parse(s.name.clone(), &s.text);
        for (span, msg) in errs {
            syntax = true;
            let mut f = Finding::error(i, Path::root(), format!("TOML syntax: {msg}"));
            f.span = Some(span);
            findings.push(f);
        }
        docs.push(doc);
    }
    let mut line = None;
    if !syntax {
        let mut decoded = decode_line(&docs[0], &mut findings);
        let profiles = decode_profiles(&docs, &mut decoded, &mut findings);
        check::line::check(&decoded, &profiles, &mut findings);
        check::control::check(&decoded, &mut findings);
        check::northbound::check(&decoded, &mut findings);
        check::realtime::check(&decoded, &mut findings);
        if let (true, Some(section)) = (decoded.complete, decoded.line.take()) {
            let config = LineConfig {
                line: section,
                bus: decoded.buses.into_iter().map(|(_, b)| b).collect(),
                drive: decoded.drives.into_iter().map(|(_, d)| d).collect(),
                control: decoded.control.unwrap_or_default(),
                northbound: decoded.northbound.unwrap_or_default(),
                realtime: decoded.realtime.unwrap_or_default(),
            };
            let loads = feasibility::compute(&config, &profiles);
            feasibility::judge(&config, &loads, &mut findings);
            line = Some(ValidLine {
                config,
                profiles,
                loads,
            });
        }
    }
    let mut diagnostics: Vec<Diagnostic> = findings.iter().map(|f| resolve(&docs, f)).collect();
    // Stable order: file by file as read, then by position.
    let order: BTreeMap<&str, usize> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    diagnostics.sort_by_key(|d| (order.get(d.file.as_str()).copied(), d.line, d.column));
    let failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    Checked {
        line: if failed { None } else { line },
        diagnostics,
        sources,
    }
}

fn resolve(docs: &[Doc<'_>], f: &Finding) -> Diagnostic {
    let doc = &docs[f.file];
    let span = f.span.clone().unwrap_or_else(|| doc.span_of(&f.path));
    let (line, column) = doc.line_col(span.start);
    Diagnostic {
        severity: f.severity,
        file: doc.name.clone(),
        line,
        column,
        span: Some(span),
        path: f.path.to_string(),
        message: f.message.clone(),
        hint: f.hint.clone(),
    }
}

/// Reads `*.toml` from each `line.profile_dirs` entry. Only a folder named explicitly must exist.
fn read_profile_dirs(
    text: &str,
    base: &FsPath,
    sources: &mut Vec<SourceText>,
    findings: &mut Vec<Finding>,
) {
    let (doc, _) = Doc::parse(String::new(), text);
    let explicit = doc
        .root
        .get_ref()
        .get("line")
        .and_then(|l| l.get_ref().get("profile_dirs"));
    let dirs: Vec<String> = match explicit.map(|v| v.get_ref()) {
        Some(DeValue::Array(a)) => a
            .iter()
            .filter_map(|v| v.get_ref().as_str().map(str::to_owned))
            .collect(),
        Some(_) => return, // a type error, reported by decoding
        None => vec!["profiles".to_owned()],
    };
    for (i, dir) in dirs.iter().enumerate() {
        let full: PathBuf = base.join(dir);
        let entries = match std::fs::read_dir(&full) {
            Ok(e) => e,
            Err(e) => {
                if explicit.is_some() {
                    let path = Path::root().key("line").key("profile_dirs").index(i);
                    findings.push(Finding::error(
                        0,
                        path,
                        format!("cannot read profile folder {}: {e}", full.display()),
                    ));
                }
                continue;
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for f in files {
            match std::fs::read_to_string(&f) {
                Ok(text) => sources.push(SourceText {
                    name: f.display().to_string(),
                    text,
                }),
                Err(e) => findings.push(Finding::error(
                    0,
                    Path::root().key("line").key("profile_dirs").index(i),
                    format!("cannot read profile {}: {e}", f.display()),
                )),
            }
        }
    }
}

/// What decoded from the config document, with each element's index in its file, plus the ids
/// of elements that did not decode (so that references to them are not reported again).
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    pub(crate) line: Option<LineSection>,
    pub(crate) buses: Vec<(usize, BusConfig)>,
    pub(crate) drives: Vec<(usize, DriveConfig)>,
    pub(crate) control: Option<ControlSection>,
    pub(crate) northbound: Option<NorthboundSection>,
    pub(crate) realtime: Option<RealtimeSection>,
    /// Whether `line.api_listen` is written out (not just defaulted).
    pub(crate) api_listen_given: bool,
    pub(crate) broken_buses: BTreeSet<String>,
    pub(crate) broken_profiles: BTreeSet<String>,
    pub(crate) complete: bool,
}

/// Decodes the config document: `[line]`, `[[bus]]`, `[[drive]]`, `[control]`.
fn decode_line(doc: &Doc<'_>, findings: &mut Vec<Finding>) -> Decoded {
    let mut out = Decoded {
        complete: true,
        ..Decoded::default()
    };
    let DeValue::Table(root) = doc.root.get_ref() else {
        return out;
    };
    for (key, value) in root.iter() {
        let path = Path::root().key(key.get_ref().to_string());
        match key.get_ref().as_ref() {
            "line" => {
                let before = findings.len();
                out.line = decode::<LineSection>(value, 0, &path, findings);
                out.complete &= findings.len() == before;
                out.api_listen_given = value.get_ref().get("api_listen").is_some();
            }
            "control" => {
                let before = findings.len();
                out.control = decode::<ControlSection>(value, 0, &path, findings);
                out.complete &= findings.len() == before && out.control.is_some();
            }
            "northbound" => {
                let before = findings.len();
                out.northbound = decode::<NorthboundSection>(value, 0, &path, findings);
                out.complete &= findings.len() == before && out.northbound.is_some();
            }
            "realtime" => {
                let before = findings.len();
                out.realtime = decode::<RealtimeSection>(value, 0, &path, findings);
                out.complete &= findings.len() == before && out.realtime.is_some();
            }
            "bus" => {
                for (i, v) in array_of_tables(value, &path, "bus", findings) {
                    let before = findings.len();
                    let bus = decode_bus(v, &path.index(i), findings);
                    // A bus decoded after dropping a bad key still gets its checks, but a line
                    // built from it must not be run or load-checked with defaults in its place.
                    out.complete &= findings.len() == before;
                    match bus {
                        Some(b) => out.buses.push((i, b)),
                        None => {
                            out.complete = false;
                            out.broken_buses.extend(raw_str(v, "id"));
                        }
                    }
                }
            }
            "drive" => {
                for (i, v) in array_of_tables(value, &path, "drive", findings) {
                    let before = findings.len();
                    let drive = decode::<DriveConfig>(v, 0, &path.index(i), findings);
                    out.complete &= findings.len() == before;
                    match drive {
                        Some(d) => out.drives.push((i, d)),
                        None => out.complete = false,
                    }
                }
            }
            other => {
                out.complete = false;
                findings.push(
                    Finding::error(0, path.clone(), format!("unknown table \"{other}\"")).suggest(
                        other,
                        ["line", "bus", "drive", "control", "northbound", "realtime"],
                    ),
                );
            }
        }
    }
    if !root.contains_key("line") {
        out.complete = false;
        findings.push(
            Finding::error(0, Path::root(), "missing required table [line]")
                .hint("add [line] with at least name = \"...\""),
        );
    }
    out
}

/// A string value of a key in a raw table, if it is one.
fn raw_str(value: &Spanned<DeValue<'_>>, key: &str) -> Option<String> {
    value
        .get_ref()
        .get(key)?
        .get_ref()
        .as_str()
        .map(str::to_owned)
}

fn array_of_tables<'v, 'a>(
    value: &'v Spanned<DeValue<'a>>,
    path: &Path,
    name: &str,
    findings: &mut Vec<Finding>,
) -> Vec<(usize, &'v Spanned<DeValue<'a>>)> {
    match value.get_ref() {
        DeValue::Array(a) => a.iter().enumerate().collect(),
        _ => {
            findings.push(
                Finding::error(
                    0,
                    path.clone(),
                    format!("\"{name}\" must be an array of tables"),
                )
                .hint(format!("write each one as [[{name}]]")),
            );
            Vec::new()
        }
    }
}

/// Finds the bus kind by its `type`; the kind decodes the rest.
fn decode_bus(
    value: &Spanned<DeValue<'_>>,
    path: &Path,
    findings: &mut Vec<Finding>,
) -> Option<BusConfig> {
    let DeValue::Table(t) = value.get_ref() else {
        findings.push(Finding::error(0, path.clone(), "a bus must be a table"));
        return None;
    };
    let names = BusType::ALL.iter().map(|(n, _)| *n);
    let kind = match t.get("type").map(|v| v.get_ref()) {
        None => {
            let hint = format!(
                "add type = one of: {}",
                names.collect::<Vec<_>>().join(", ")
            );
            findings
                .push(Finding::error(0, path.clone(), "missing required key \"type\"").hint(hint));
            return None;
        }
        Some(DeValue::String(s)) => match BusType::ALL.iter().find(|(n, _)| n == s) {
            Some((_, k)) => *k,
            None => {
                let f = Finding::error(0, path.key("type"), format!("unknown bus type \"{s}\""));
                let hint = format!(
                    "expected one of: {}",
                    names.clone().collect::<Vec<_>>().join(", ")
                );
                let f = f.suggest(s, names);
                findings.push(if f.hint.is_none() { f.hint(hint) } else { f });
                return None;
            }
        },
        Some(_) => {
            findings.push(Finding::error(
                0,
                path.key("type"),
                "\"type\" must be a string",
            ));
            return None;
        }
    };
    let mut body = value.clone();
    if let DeValue::Table(t) = body.get_mut() {
        t.remove("type");
    }
    BusConfig::decode(kind, &body, path, findings)
}

/// Decodes and checks every profile document (all but the first), keyed by name and version.
fn decode_profiles(
    docs: &[Doc<'_>],
    decoded: &mut Decoded,
    findings: &mut Vec<Finding>,
) -> ProfileSet {
    let mut set = ProfileSet::new();
    for (file, doc) in docs.iter().enumerate().skip(1) {
        let Some(profile) = decode::<Profile>(&doc.root, file, &Path::root(), findings) else {
            let header = doc.root.get_ref().get("profile");
            let name = header.and_then(|h| raw_str(h, "name"));
            decoded.broken_profiles.extend(name);
            continue;
        };
        check::profile::check(&profile, file, findings);
        let key = (
            profile.profile.name.clone(),
            profile.profile.version.clone(),
        );
        match set.get(&key) {
            Some(prev) if prev.profile == profile => {}
            Some(prev) => findings.push(
                Finding::error(
                    file,
                    Path::root().key("profile").key("version"),
                    format!(
                        "profile \"{}\" version \"{}\" is also defined, differently, in {}",
                        key.0, key.1, prev.file
                    ),
                )
                .hint("a changed profile needs a new version"),
            ),
            None => {
                set.insert(
                    key,
                    LoadedProfile {
                        profile,
                        file: doc.name.clone(),
                    },
                );
            }
        }
    }
    set
}
