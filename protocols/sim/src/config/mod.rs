//! The sim config: which drives to simulate (unit, profile, serial number) and where to serve
//! them (TCP addresses, pseudo-terminals). TOML, unknown keys rejected, every problem reported
//! at once as `file:line:col: error: path: message`, like `linevisor check`.

mod check;
mod diag;
mod file;
mod lines;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use linevisor_config::{Diagnostic, Severity};
use linevisor_core::profile::{Profile, Protocol};

use crate::SimDriveOptions;
use check::{drive, endpoint};
use diag::Diags;
use file::SimFile;

/// Default RTU timing of a pty endpoint.
const DEFAULT_BAUD: u32 = 115_200;

/// Where drives are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointConfig {
    /// Modbus TCP on this address.
    Tcp(SocketAddr),
    /// Modbus RTU on a new pseudo-terminal, with the timing of `baud`.
    Pty {
        /// Baud rate for t3.5.
        baud: u32,
    },
    /// One plain serial line (multi-drop) on a new pseudo-terminal.
    SerialPty {
        /// Baud rate set on the line.
        baud: u32,
        /// The serial drives on the line; `None`: every serial drive (all of one framing).
        units: Option<Vec<u8>>,
    },
}

/// One simulated drive: a Modbus drive, a plain serial drive (at address `unit`), or a CANopen
/// node when its profile speaks CANopen.
#[derive(Debug, Clone, PartialEq)]
pub struct SimDriveConfig {
    /// Modbus unit id, serial address, or CANopen node id.
    pub unit: u8,
    /// Its profile.
    pub profile: Profile,
    /// How it is built.
    pub options: SimDriveOptions,
}

/// A checked sim config.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Every Modbus endpoint serves every Modbus drive; a serial endpoint serves its line's
    /// serial drives (CANopen drives are behind the slcan adapter).
    pub endpoints: Vec<EndpointConfig>,
    /// The drives, in file order.
    pub drives: Vec<SimDriveConfig>,
}

/// Every problem found in a sim config (or the profiles it uses).
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfigError {
    /// One per problem, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for SimConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            writeln!(f, "{d}")?;
        }
        write!(f, "invalid: {} errors", self.diagnostics.len())
    }
}

impl std::error::Error for SimConfigError {}

impl SimConfig {
    /// Reads and checks a sim config file; `profile_dirs` are relative to its folder.
    pub fn load(path: &Path) -> Result<Self, SimConfigError> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&name, &text, path.parent()),
            Err(e) => {
                let mut d = Diags::new(&name, "");
                d.error(0..0, "", format!("cannot read the sim config: {e}"), None);
                Err(d.into_error())
            }
        }
    }

    /// Checks sim config text named `name`. Without `base_dir` only the shipped profiles are
    /// available.
    pub fn parse(name: &str, text: &str, base_dir: Option<&Path>) -> Result<Self, SimConfigError> {
        let mut d = Diags::new(name, text);
        let parsed: SimFile = match toml::from_str(text) {
            Ok(p) => p,
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                d.error(span, "", e.message().to_owned(), None);
                return Err(d.into_error());
            }
        };
        let step = match &parsed.sim.step_ms {
            Some(s) if !(1..=100).contains(s.get_ref()) => {
                d.error(
                    s.span(),
                    "sim.step_ms",
                    format!("{} ms is outside 1–100", s.get_ref()),
                    None,
                );
                Duration::from_millis(1)
            }
            Some(s) => Duration::from_millis(*s.get_ref()),
            None => Duration::from_millis(1),
        };
        let profiles = load_profiles(&parsed, base_dir, &mut d);
        let endpoints = parsed
            .endpoint
            .iter()
            .enumerate()
            .filter_map(|(i, e)| endpoint(i, e.get_ref(), e.span(), &mut d))
            .collect::<Vec<_>>();
        // CANopen drives are served on the slcan adapter's pty, which needs no endpoint.
        let only_canopen = !parsed.drive.is_empty()
            && parsed.drive.iter().all(|e| {
                let r = &e.get_ref().profile.get_ref();
                profiles
                    .get(&(r.name.clone(), r.version.clone()))
                    .is_some_and(|p| p.profile.protocol == Protocol::Canopen)
            });
        if parsed.endpoint.is_empty() && !only_canopen {
            d.error(
                0..0,
                "endpoint",
                "no [[endpoint]]: nothing would be served".into(),
                Some(
                    "add `[[endpoint]]` with `tcp = \"127.0.0.1:5020\"`, `pty = true` or `serial_pty = true`"
                        .into(),
                ),
            );
        }
        let mut seen = BTreeSet::new();
        let mut drives = Vec::new();
        for (i, entry) in parsed.drive.iter().enumerate() {
            if let Some(drive) = drive(i, entry.get_ref(), &profiles, step, &mut seen, &mut d) {
                drives.push(drive);
            }
        }
        if d.list.is_empty() {
            lines::serial_lines(&parsed, &drives, &mut d);
        }
        if parsed.drive.is_empty() {
            d.error(
                0..0,
                "drive",
                "no [[drive]]: nothing to simulate".into(),
                None,
            );
        }
        if d.list.is_empty() {
            Ok(Self { endpoints, drives })
        } else {
            Err(d.into_error())
        }
    }
}

/// Shipped profiles plus those in `profile_dirs`, each checked by linevisor-config.
fn load_profiles(
    parsed: &SimFile,
    base_dir: Option<&Path>,
    d: &mut Diags,
) -> BTreeMap<(String, String), Profile> {
    let mut dirs = Vec::new();
    for (i, dir) in parsed.sim.profile_dirs.iter().enumerate() {
        let path = format!("sim.profile_dirs[{i}]");
        match base_dir {
            None => d.error(
                dir.span(),
                &path,
                "profile folders need a config file location".into(),
                None,
            ),
            Some(b) if !b.join(dir.get_ref()).is_dir() => d.error(
                dir.span(),
                &path,
                format!("{:?} is not a readable folder", dir.get_ref()),
                None,
            ),
            Some(_) => dirs.push(toml::Value::String(dir.get_ref().clone()).to_string()),
        }
    }
    // A line config with no drives: linevisor-config loads and checks every profile for us.
    let line = format!(
        "[line]\nname = \"sim\"\nprofile_dirs = [{}]\n",
        dirs.join(", ")
    );
    let checked = linevisor_config::check_text("<sim profiles>", &line, base_dir);
    d.list.extend(
        checked
            .diagnostics
            .into_iter()
            .filter(|x| x.severity == Severity::Error),
    );
    checked
        .line
        .map(|l| {
            l.profiles
                .into_iter()
                .map(|(k, lp)| (k, lp.profile))
                .collect()
        })
        .unwrap_or_default()
}
