//! `linevisor profile from-eds`: a CANopen profile skeleton from a vendor's EDS or DCF file.
//! Exit status: 0 written, 1 the file cannot be read or is no CiA 402 drive, 2 usage error.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use linevisor_canopen::eds::{Eds, ProfileOptions, to_profile};

#[derive(Debug, Subcommand)]
pub(crate) enum ProfileCommand {
    /// Write a CANopen profile skeleton from a vendor EDS or DCF file: every CiA 402 object as
    /// a point, the default PDO mapping (and whether the drive lets a master write it),
    /// identity and device type. Fill in what an EDS cannot know (units, scaling, limits,
    /// homing method), then `linevisor check` a line that uses it.
    FromEds {
        /// The EDS or DCF file.
        eds: PathBuf,
        /// Profile name (letters, digits, '-', '_', '.'). Default: vendor and product from
        /// the EDS.
        #[arg(long)]
        name: Option<String>,
        /// Profile version, MAJOR[.MINOR[.PATCH]].
        #[arg(long, default_value = "1.0")]
        version: String,
        /// Write the profile here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Overwrite FILE if it exists.
        #[arg(long)]
        force: bool,
    },
}

pub(crate) fn run(command: ProfileCommand) -> ExitCode {
    match command {
        ProfileCommand::FromEds {
            eds,
            name,
            version,
            out,
            force,
        } => from_eds(&eds, name, version, out.as_deref(), force),
    }
}

fn from_eds(
    path: &Path,
    name: Option<String>,
    version: String,
    out: Option<&Path>,
    force: bool,
) -> ExitCode {
    if let Some(n) = &name
        && (n.is_empty()
            || n.chars()
                .any(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(c))))
    {
        eprintln!("error: invalid profile name \"{n}\": use letters, digits, '-', '_' or '.'");
        return ExitCode::from(2);
    }
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        eprintln!("error: invalid version \"{version}\": use MAJOR[.MINOR[.PATCH]], e.g. \"1.0\"");
        return ExitCode::from(2);
    }
    if let Some(o) = out
        && o.exists()
        && !force
    {
        eprintln!(
            "error: {} exists; pass --force to overwrite it",
            o.display()
        );
        return ExitCode::from(2);
    }
    let shown = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {shown}: {e}");
            return ExitCode::from(1);
        }
    };
    let source = path
        .file_name()
        .map_or_else(|| shown.clone(), |f| f.to_string_lossy().into_owned());
    let options = ProfileOptions {
        name,
        version,
        source,
    };
    let skeleton = match Eds::parse(&bytes).and_then(|eds| {
        for (line, what) in &eds.warnings {
            eprintln!("{shown}:{line}: warning: {what}");
        }
        to_profile(&eds, &options)
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}", e.located(&shown));
            return ExitCode::from(1);
        }
    };
    for note in skeleton.notes() {
        eprintln!("note: {note}");
    }
    let text = skeleton.to_toml();
    match out {
        Some(o) => {
            if let Err(e) = std::fs::write(o, &text) {
                eprintln!("error: cannot write {}: {e}", o.display());
                return ExitCode::from(1);
            }
            eprintln!(
                "wrote profile \"{}\" to {}{}; fill in what is marked FILL IN, then `linevisor check` a line that uses it",
                skeleton.name(),
                o.display(),
                if skeleton.mapping_fixed() {
                    " (its PDO mapping is fixed: pdo_mapping = \"verify\")"
                } else {
                    ""
                }
            );
        }
        // A closed pipe (`… | head`) is not an error worth a panic.
        None => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
    }
    ExitCode::SUCCESS
}
