//! The `linevisor` binary. Thin: parses arguments and hands off to the library crates; anyhow is
//! used only here, at the edge.

mod change;
mod check;
mod client;
mod profile;
mod run;
mod signals;
mod sim;
mod systemd;
mod table;

use std::io::Write as _;
use std::net::SocketAddr;
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
    /// safe state, then exits; SIGHUP re-reads the config file. Under systemd (Type=notify) it
    /// reports readiness, watchdog and stopping. The API settings come from `[control]`; the
    /// flags below override them.
    Run {
        /// The line config (TOML). Default: the embedded demo line.
        config: Option<PathBuf>,
        /// Structured logs even on a terminal (no live table).
        #[arg(long)]
        logs: bool,
        /// Stop by itself after this many seconds (for scripted demos and smoke tests).
        #[arg(long, value_name = "SECONDS")]
        duration: Option<u64>,
        /// Serve the API here instead of `control.listen` (port 0: any free port; the address
        /// is printed on stderr).
        #[arg(long, value_name = "IP:PORT")]
        listen: Option<SocketAddr>,
        /// Tokens file (TOML `[[token]] name, value, role`) instead of `control.tokens_file`.
        /// Without any, the API is open and refuses any address but loopback.
        #[arg(long, value_name = "FILE", env = "LINEVISOR_TOKENS_FILE")]
        tokens: Option<PathBuf>,
        /// Journal file (JSON lines, crash-safe framing) instead of `control.journal`.
        #[arg(long, value_name = "FILE", env = "LINEVISOR_JOURNAL")]
        journal: Option<PathBuf>,
        /// Rotate the journal at this many bytes, instead of `control.journal_max_bytes`
        /// (default 16 MiB).
        #[arg(long, value_name = "BYTES")]
        journal_max_bytes: Option<u64>,
        /// Rotated journal files kept, instead of `control.journal_keep` (default 4).
        #[arg(long, value_name = "N")]
        journal_keep: Option<usize>,
    },
    /// Show a running instance's line: drives with state and counters, buses with comm counters.
    Status {
        #[command(flatten)]
        target: client::ApiTarget,
        /// The full JSON of GET /api/v1/line.
        #[arg(long)]
        json: bool,
    },
    /// Send a command to one drive of a running instance and wait for its acknowledgement:
    /// enable [reverse], disable, stop, quick_stop, fault_reset, home, set_velocity <v>,
    /// move_to <position> [velocity].
    Drive {
        #[command(flatten)]
        target: client::ApiTarget,
        /// Drive id.
        id: String,
        /// The command.
        command: String,
        /// Its values.
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
    },
    /// Restart one drive (or, if no drive has the id, one bus) of a running instance.
    Restart {
        #[command(flatten)]
        target: client::ApiTarget,
        /// Drive or bus id.
        id: String,
    },
    /// Print a running instance's recent events, or follow them live with --follow.
    Events {
        #[command(flatten)]
        target: client::ApiTarget,
        /// Keep printing new events until interrupted.
        #[arg(long)]
        follow: bool,
    },
    /// Print the config a running instance runs now (TOML): edit it, then `plan` and `apply`.
    Config {
        #[command(flatten)]
        target: client::ApiTarget,
    },
    /// Show what applying a config to a running instance would touch (the blast radius):
    /// per bus and drive added, removed, upgraded, reconfigured, restarted or untouched.
    Plan {
        #[command(flatten)]
        target: client::ApiTarget,
        /// The new line config (TOML).
        config: PathBuf,
        /// The full JSON answer.
        #[arg(long)]
        json: bool,
    },
    /// Apply a config to a running instance: checked, only the difference applied, everything
    /// rolled back on any failure. Untouched drives keep their cycle.
    Apply {
        #[command(flatten)]
        target: client::ApiTarget,
        /// The new line config (TOML).
        config: PathBuf,
    },
    /// Run one drive on another profile version (name@version) with state hand-over; the old
    /// version runs again if the new one fails its first cycles.
    Upgrade {
        #[command(flatten)]
        target: client::ApiTarget,
        /// Drive id.
        id: String,
        /// New profile, as name@version (e.g. linevisor-sim-servo@1.1).
        profile: String,
    },
    /// Add a drive to a running instance from a file holding one [[drive]] table.
    Add {
        #[command(flatten)]
        target: client::ApiTarget,
        /// TOML file with the drive's keys (id, bus, address, profile, ...).
        file: PathBuf,
    },
    /// Remove a drive from a running instance (it goes to its on_stop safe state first).
    Remove {
        #[command(flatten)]
        target: client::ApiTarget,
        /// Drive id.
        id: String,
    },
    /// Serve simulated drives on Modbus TCP ports and/or pseudo-terminals (printed on start),
    /// so a line can be tried before the hardware arrives. Runs until Ctrl-C or SIGTERM.
    Sim {
        /// The sim config (TOML), e.g. configs/sim/three-servos.toml.
        config: PathBuf,
    },
    /// Drive profiles: `from-eds` writes a CANopen profile skeleton from a vendor EDS/DCF file.
    Profile {
        #[command(subcommand)]
        command: profile::ProfileCommand,
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
            listen,
            tokens,
            journal,
            journal_max_bytes,
            journal_keep,
        } => run::run(
            config.as_deref(),
            logs,
            duration,
            &run::ApiArgs {
                listen,
                tokens,
                journal,
                journal_max_bytes,
                journal_keep,
            },
        ),
        Command::Status { target, json } => client::run(&target, client::Call::Status { json }),
        Command::Drive {
            target,
            id,
            command,
            args,
        } => client::run(&target, client::Call::Drive { id, command, args }),
        Command::Restart { target, id } => client::run(&target, client::Call::Restart { id }),
        Command::Events { target, follow } => client::run(&target, client::Call::Events { follow }),
        Command::Plan {
            target,
            config,
            json,
        } => client::run(&target, client::Call::Plan { config, json }),
        Command::Apply { target, config } => client::run(&target, client::Call::Apply { config }),
        Command::Upgrade {
            target,
            id,
            profile,
        } => client::run(&target, client::Call::Upgrade { id, profile }),
        Command::Add { target, file } => client::run(&target, client::Call::Add { file }),
        Command::Remove { target, id } => client::run(&target, client::Call::Remove { id }),
        Command::Config { target } => client::run(&target, client::Call::Config),
        Command::Sim { config } => sim::run(&config),
        Command::Profile { command } => profile::run(command),
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
