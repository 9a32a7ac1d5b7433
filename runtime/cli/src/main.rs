//! The `linevisor` binary. Thin: parses arguments and hands off to the library crates; anyhow is
//! used only here, at the edge.

mod check;
mod run;
mod signals;
mod sim;
mod table;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// linevisor: a supervision tree for a production line's motor drives.
#[derive(Debug, Parser)]
#[command(name = "linevisor", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a line config and its profiles; print every problem, or the supervision tree and
    /// each bus's load. Without a file, checks the embedded demo line.
    /// Exit status: 0 valid, 1 invalid, 2 usage error.
    Check {
        /// The line config (TOML). Default: the embedded demo line.
        config: Option<PathBuf>,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
        /// Plain one-line diagnostics even on a terminal.
        #[arg(long)]
        plain: bool,
    },
    /// Run a line: one supervised actor per bus and per drive. Without a file, runs the
    /// embedded demo line on simulated drives. On a terminal it shows a live table of the
    /// drives; otherwise it writes structured logs. Ctrl-C or SIGTERM brings every drive to its
    /// safe state, then exits.
    Run {
        /// The line config (TOML). Default: the embedded demo line.
        config: Option<PathBuf>,
        /// Structured logs even on a terminal (no live table).
        #[arg(long)]
        logs: bool,
        /// Stop by itself after this many seconds (for scripted demos and smoke tests).
        #[arg(long, value_name = "SECONDS")]
        duration: Option<u64>,
    },
    /// Serve simulated drives on Modbus TCP ports and/or pseudo-terminals (printed on start),
    /// so a line can be tried before the hardware arrives. Runs until Ctrl-C or SIGTERM.
    Sim {
        /// The sim config (TOML), e.g. configs/sim/three-servos.toml.
        config: PathBuf,
    },
    /// Print the JSON Schema of the config language (or of drive profiles with --profile).
    Schema {
        /// Print the profile file schema instead.
        #[arg(long)]
        profile: bool,
    },
}

/// Structured logs on stderr, filtered by RUST_LOG (default: info).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn main() -> ExitCode {
    // clap exits with status 2 on usage errors, as `check` promises.
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            config,
            deny_warnings,
            plain,
        } => check::run(config.as_deref(), deny_warnings, plain),
        Command::Run {
            config,
            logs,
            duration,
        } => run::run(config.as_deref(), logs, duration),
        Command::Sim { config } => sim::run(&config),
        Command::Schema { profile } => {
            let schema = if profile {
                linevisor_config::profile_schema()
            } else {
                linevisor_config::line_schema()
            };
            match serde_json::to_string_pretty(&schema) {
                Ok(s) => {
                    // A closed pipe (`linevisor schema | head`) is not an error worth a panic.
                    let _ = writeln!(std::io::stdout().lock(), "{s}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: cannot render the schema: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
