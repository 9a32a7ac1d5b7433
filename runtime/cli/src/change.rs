//! The change subcommands: `plan`, `apply`, `upgrade`, `add`, `remove`. Each sends a config
//! (or a derived one) to the running instance, which checks it, applies only the difference
//! and rolls back on failure; this prints what was (or would be) touched.

use std::path::Path;

use linevisor_control::client::{Client, ClientError};
use serde_json::Value;

use crate::client::out;

fn read(path: &Path) -> Result<String, ClientError> {
    std::fs::read_to_string(path)
        .map_err(|e| ClientError::Request(format!("cannot read {}: {e}", path.display())))
}

/// One line per bus and drive that is touched, then the count of untouched drives.
fn print_plan(plan: &Value) {
    let row = |kind: &str, r: &Value| {
        let changes: Vec<&str> = r["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let versions = match (r["from"].as_str(), r["to"].as_str()) {
            (Some(f), Some(t)) if f != t => format!(" {f} -> {t}"),
            _ => String::new(),
        };
        let detail = if changes.is_empty() {
            String::new()
        } else {
            format!(" ({})", changes.join(", "))
        };
        out(&format!(
            "{kind} {:<20} {}{versions}{detail}",
            r["id"].as_str().unwrap_or("?"),
            r["action"].as_str().unwrap_or("?")
        ));
    };
    let touched = |v: &Value| v["action"] != "untouched";
    for b in plan["buses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| touched(b))
    {
        row("bus  ", b);
    }
    let drives = plan["drives"].as_array().cloned().unwrap_or_default();
    for d in drives.iter().filter(|d| touched(d)) {
        row("drive", d);
    }
    let untouched = drives.iter().filter(|d| !touched(d)).count();
    out(&format!("{untouched} drive(s) untouched"));
    for r in plan["refused"].as_array().into_iter().flatten() {
        out(&format!("refused: {}", r.as_str().unwrap_or("?")));
    }
}

fn print_warnings(v: &Value) {
    for w in v["warnings"].as_array().into_iter().flatten() {
        eprintln!("{}", w.as_str().unwrap_or("?"));
    }
}

pub(crate) async fn plan(client: &Client, config: &Path, json: bool) -> Result<(), ClientError> {
    let v = client
        .post_toml("/api/v1/config/plan", read(config)?)
        .await?;
    if json {
        out(&serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string()));
        return Ok(());
    }
    print_warnings(&v);
    print_plan(&v["plan"]);
    Ok(())
}

fn print_applied(v: &Value) {
    print_warnings(v);
    print_plan(&v["plan"]);
    out(&format!(
        "applied in {:.0} ms",
        v["took_ms"].as_f64().unwrap_or(0.0)
    ));
}

pub(crate) async fn apply(client: &Client, config: &Path) -> Result<(), ClientError> {
    let v = client
        .post_toml("/api/v1/config/apply", read(config)?)
        .await?;
    print_applied(&v);
    Ok(())
}

/// `profile` is `name@version`.
pub(crate) async fn upgrade(client: &Client, id: &str, profile: &str) -> Result<(), ClientError> {
    let (name, version) = profile.rsplit_once('@').ok_or_else(|| {
        ClientError::Request(format!(
            "profile {profile:?} must be name@version (e.g. linevisor-sim-servo@1.1)"
        ))
    })?;
    let body = serde_json::json!({ "profile": name, "version": version });
    let v = client
        .post(&format!("/api/v1/drives/{id}/upgrade"), Some(&body))
        .await?;
    print_applied(&v);
    Ok(())
}

/// `file` holds one drive: its keys at the top level, or one `[[drive]]` table.
pub(crate) async fn add(client: &Client, file: &Path) -> Result<(), ClientError> {
    let text = read(file)?;
    let bad = |m: String| ClientError::Request(format!("{}: {m}", file.display()));
    let mut table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.to_string()))?;
    let drive = match table.remove("drive") {
        Some(toml::Value::Array(mut a)) if a.len() == 1 && table.is_empty() => a.remove(0),
        Some(_) => return Err(bad("expected exactly one [[drive]] table".into())),
        None => toml::Value::Table(table),
    };
    let body = serde_json::to_value(drive).map_err(|e| bad(e.to_string()))?;
    let v = client.post("/api/v1/drives", Some(&body)).await?;
    print_applied(&v);
    Ok(())
}

pub(crate) async fn remove(client: &Client, id: &str) -> Result<(), ClientError> {
    let v = client.delete(&format!("/api/v1/drives/{id}")).await?;
    print_applied(&v);
    Ok(())
}
