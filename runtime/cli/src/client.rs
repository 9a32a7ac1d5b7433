//! The client subcommands: `status`, `drive`, `restart`, `events`, talking to a running
//! `linevisor run` through its API. Every failure is one line on stderr and exit status 1.

use std::io::Write as _;
use std::process::ExitCode;

use linevisor_control::client::{Client, ClientError};

use crate::change;
use serde_json::{Value, json};

/// Where the API is and who is asking.
#[derive(Debug, clap::Args)]
pub(crate) struct ApiTarget {
    /// API address (host:port, http://host:port or https://host:port).
    #[arg(long, env = "LINEVISOR_API", default_value = "127.0.0.1:7010")]
    api: String,
    /// Bearer token (needed when the instance has a tokens file).
    #[arg(long, env = "LINEVISOR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// CA certificate (PEM) to trust for an https:// API address; nothing else is trusted.
    #[arg(long, env = "LINEVISOR_CA", value_name = "FILE")]
    ca: Option<std::path::PathBuf>,
}

/// What the client subcommands do.
#[derive(Debug)]
pub(crate) enum Call {
    Status {
        json: bool,
    },
    Drive {
        id: String,
        command: String,
        args: Vec<String>,
    },
    Restart {
        id: String,
    },
    Events {
        follow: bool,
    },
    Plan {
        config: std::path::PathBuf,
        json: bool,
    },
    Apply {
        config: std::path::PathBuf,
    },
    Upgrade {
        id: String,
        profile: String,
    },
    Add {
        file: std::path::PathBuf,
    },
    Remove {
        id: String,
    },
    Config,
}

pub(crate) fn run(target: &ApiTarget, call: Call) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async {
        let mut client = Client::new(&target.api, target.token.clone())?;
        if let Some(ca) = &target.ca {
            client = client.with_ca(ca)?;
        }
        match call {
            Call::Status { json } => status(&client, json).await,
            Call::Drive { id, command, args } => drive(&client, &id, &command, &args).await,
            Call::Restart { id } => restart(&client, &id).await,
            Call::Events { follow } => events(&client, follow).await,
            Call::Plan { config, json } => change::plan(&client, &config, json).await,
            Call::Apply { config } => change::apply(&client, &config).await,
            Call::Upgrade { id, profile } => change::upgrade(&client, &id, &profile).await,
            Call::Add { file } => change::add(&client, &file).await,
            Call::Remove { id } => change::remove(&client, &id).await,
            Call::Config => client
                .get_text("/api/v1/config")
                .await
                .map(|t| out(t.trim_end())),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

pub(crate) fn out(line: &str) {
    // A closed pipe (`linevisor events --follow | head`) is not worth a panic.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn num(v: &Value) -> String {
    v.as_u64().map_or_else(|| "-".into(), |n| n.to_string())
}

async fn status(client: &Client, as_json: bool) -> Result<(), ClientError> {
    let v = client.get("/api/v1/line").await?;
    if as_json {
        out(&serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string()));
        return Ok(());
    }
    out(&format!("line {}", v["line"].as_str().unwrap_or("?")));
    out(&format!(
        "{:<20} {:<12} {:<24} {:>10} {:>8} {:>9}  {}",
        "drive", "bus", "state", "cycles", "missed", "restarts", "profile"
    ));
    for d in v["drives"].as_array().into_iter().flatten() {
        out(&format!(
            "{:<20} {:<12} {:<24} {:>10} {:>8} {:>9}  {}",
            d["id"].as_str().unwrap_or("?"),
            d["bus"].as_str().unwrap_or("?"),
            d["state"].as_str().unwrap_or("?"),
            num(&d["cycles"]),
            num(&d["missed"]),
            num(&d["restarts"]),
            d["version"].as_str().unwrap_or("?"),
        ));
    }
    out(&format!(
        "{:<20} {:<8} {:>12} {:>9} {:>10}",
        "bus", "link", "transactions", "timeouts", "demotions"
    ));
    for b in v["buses"].as_array().into_iter().flatten() {
        let c = &b["comm"]["counters"];
        out(&format!(
            "{:<20} {:<8} {:>12} {:>9} {:>10}",
            b["id"].as_str().unwrap_or("?"),
            match b["link_up"].as_bool() {
                Some(true) => "up",
                Some(false) => "down",
                None => "?",
            },
            num(&c["transactions"]),
            num(&c["timeouts"]),
            num(&c["demotions"]),
        ));
    }
    Ok(())
}

/// Builds the command body from `linevisor drive <id> <command> [args]`.
pub(crate) fn command_body(command: &str, args: &[String]) -> Result<Value, String> {
    let name = command.replace('-', "_");
    let number = |i: usize, what: &str| -> Result<f64, String> {
        let a = args
            .get(i)
            .ok_or_else(|| format!("{name} needs a {what} (e.g. `{name} 120`)"))?;
        a.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{what} {a:?} is not a number"))
    };
    let (body, max_args) = match name.as_str() {
        "enable" => match args.first().map(String::as_str) {
            None | Some("forward") => (json!({"command": "enable"}), 1),
            Some("reverse") => (json!({"command": "enable", "direction": "reverse"}), 1),
            Some(other) => {
                return Err(format!(
                    "enable direction {other:?} is not forward or reverse"
                ));
            }
        },
        "disable" | "stop" | "quick_stop" | "fault_reset" | "home" => (json!({"command": name}), 0),
        "set_velocity" => (json!({"command": name, "value": number(0, "velocity")?}), 1),
        "move_to" => {
            let mut b = json!({"command": name, "position": number(0, "position")?});
            if args.len() > 1 {
                b["velocity"] = json!(number(1, "velocity")?);
            }
            (b, 2)
        }
        other => {
            return Err(format!(
                "unknown command {other:?}: expected enable, disable, stop, quick_stop, \
                 fault_reset, home, set_velocity <v>, move_to <position> [velocity]"
            ));
        }
    };
    if args.len() > max_args {
        return Err(format!(
            "{name} takes at most {max_args} value(s), got {}",
            args.len()
        ));
    }
    Ok(body)
}

async fn drive(
    client: &Client,
    id: &str,
    command: &str,
    args: &[String],
) -> Result<(), ClientError> {
    let body = command_body(command, args).map_err(ClientError::Request)?;
    let v = client
        .post(&format!("/api/v1/drives/{id}/commands"), Some(&body))
        .await?;
    out(&format!(
        "{id}: {} acknowledged; state {} ({:.1} ms)",
        v["command"].as_str().unwrap_or(command),
        v["state"].as_str().unwrap_or("?"),
        v["took_ms"].as_f64().unwrap_or(0.0)
    ));
    Ok(())
}

/// A drive id first; if no drive has it, a bus id.
async fn restart(client: &Client, id: &str) -> Result<(), ClientError> {
    match client
        .post(&format!("/api/v1/drives/{id}/restart"), None)
        .await
    {
        Ok(_) => {
            out(&format!("drive {id} restarted"));
            Ok(())
        }
        Err(ClientError::Api { status, .. }) if status.as_u16() == 404 => {
            match client
                .post(&format!("/api/v1/buses/{id}/restart"), None)
                .await
            {
                Ok(_) => {
                    out(&format!("bus {id} restarted"));
                    Ok(())
                }
                Err(ClientError::Api { status, .. }) if status.as_u16() == 404 => {
                    Err(ClientError::Api {
                        status,
                        message: format!("no drive or bus \"{id}\" on this line"),
                    })
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Without `--follow`: the recent events of every drive, oldest first. With it: the live stream.
async fn events(client: &Client, follow: bool) -> Result<(), ClientError> {
    if follow {
        return client
            .follow(|e| {
                out(e);
                true
            })
            .await;
    }
    let line = client.get("/api/v1/line").await?;
    let mut all = Vec::new();
    for d in line["drives"].as_array().into_iter().flatten() {
        let id = d["id"].as_str().unwrap_or_default();
        let v = client.get(&format!("/api/v1/drives/{id}")).await?;
        all.extend(v["recent_events"].as_array().cloned().unwrap_or_default());
    }
    all.sort_by_key(|e| e["ts_ms"].as_u64().unwrap_or(0));
    for e in all {
        out(&e.to_string());
    }
    Ok(())
}
