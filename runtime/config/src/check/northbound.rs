//! `[northbound.sparkplug]` checks: broker URLs, Sparkplug ids, TLS files only for `mqtts` and
//! in pairs, QoS, intervals, deadbands and metric names, per-drive tables naming drives of the
//! line, and a warning when the role refuses what `allow_commands` offers. Files are not opened here; `linevisor
//! run` reports an unreadable one by name.

use super::range;
use crate::diag::{Finding, Path};
use crate::load::Decoded;
use std::collections::BTreeMap;

use crate::model::{CommandRole, DRIVE_METRICS, SparkplugSection};

/// A Sparkplug id element: not empty, no `/`, `+` or `#` (Sparkplug 3.0 §4.1.1).
fn id_ok(id: &str) -> bool {
    !id.is_empty() && !id.contains(['/', '+', '#'])
}

pub(crate) fn check(d: &Decoded, f: &mut Vec<Finding>) {
    let Some(s) = d.northbound.as_ref().and_then(|n| n.sparkplug.as_ref()) else {
        return;
    };
    let p = Path::root().key("northbound").key("sparkplug");
    brokers(s, &p, f);
    let line = d.line.as_ref().map_or("", |l| l.name.as_str());
    let ids = [
        ("group_id", Some(s.group_id.as_str())),
        ("edge_node_id", Some(s.edge_node(line))),
        ("primary_host", s.primary_host.as_deref()),
    ];
    for (key, id) in ids {
        if let Some(id) = id.filter(|id| !id_ok(id)) {
            let at = if key == "edge_node_id" && s.edge_node_id.is_none() {
                Path::root().key("line").key("name")
            } else {
                p.key(key)
            };
            f.push(
                Finding::error(0, at, format!("\"{id}\" is not a Sparkplug {key}"))
                    .hint("not empty, and without '/', '+' or '#'"),
            );
        }
    }
    if s.client_cert.is_some() != s.client_key.is_some() {
        f.push(
            Finding::error(0, p.clone(), "client_cert and client_key go together")
                .hint("give both (mutual TLS) or neither"),
        );
    }
    let tls = s.brokers.iter().any(|b| b.starts_with("mqtts://"));
    if tls && s.ca_file.is_none() {
        f.push(
            Finding::error(0, p.key("brokers"), "mqtts:// brokers need ca_file")
                .hint("the CA (PEM) the broker's certificate is checked against; system roots are not read"),
        );
    }
    for (key, set) in [
        ("ca_file", s.ca_file.is_some()),
        ("client_cert", s.client_cert.is_some()),
        ("client_key", s.client_key.is_some()),
    ] {
        if set && !tls {
            f.push(
                Finding::error(0, p.key(key), format!("{key} is for mqtts:// brokers"))
                    .hint("use mqtts://host:port, or remove the key"),
            );
        }
    }
    range(f, 0, p.key("data_qos"), s.data_qos, 0, 1, "");
    range(f, 0, p.key("keep_alive_s"), s.keep_alive_s, 5, 3600, "s");
    if s.max_interval_ms != 0 {
        range(
            f,
            0,
            p.key("max_interval_ms"),
            s.max_interval_ms,
            100,
            86_400_000,
            "ms",
        );
    }
    range(
        f,
        0,
        p.key("buffer_max_bytes"),
        s.buffer_max_bytes,
        4096,
        1 << 30,
        "bytes",
    );
    range(
        f,
        0,
        p.key("buffer_max_age_s"),
        s.buffer_max_age_s,
        1,
        604_800,
        "s",
    );
    metrics(&s.metrics, &s.deadband, &p, f);
    let ids: Vec<&str> = d.drives.iter().map(|(_, dr)| dr.id.as_str()).collect();
    for (id, drive) in &s.drives {
        let at = p.key("drives").key(id.clone());
        if d.complete && !ids.contains(&id.as_str()) {
            f.push(
                Finding::error(0, at.clone(), format!("no drive \"{id}\" on this line"))
                    .suggest(id, ids.iter().copied()),
            );
        }
        metrics(
            drive.metrics.as_deref().unwrap_or(&[]),
            &drive.deadband,
            &at,
            f,
        );
    }
    if s.role == CommandRole::Viewer && s.allow_commands {
        f.push(
            Finding::warning(
                0,
                p.key("role"),
                "role viewer: every DCMD is refused although allow_commands = true",
            )
            .hint("role = \"operator\" lets the plant command the drives"),
        );
    }
}

/// Metric names and their deadbands, at `p` (the section or one drive's table).
fn metrics(names: &[String], deadband: &BTreeMap<String, f64>, p: &Path, f: &mut Vec<Finding>) {
    for (i, m) in names.iter().enumerate() {
        if !DRIVE_METRICS.contains(&m.as_str()) {
            f.push(
                Finding::error(
                    0,
                    p.key("metrics").index(i),
                    format!("unknown metric \"{m}\""),
                )
                .suggest(m, DRIVE_METRICS),
            );
        }
    }
    for (m, band) in deadband {
        let at = p.key("deadband").key(m.clone());
        if !DRIVE_METRICS.contains(&m.as_str()) {
            f.push(
                Finding::error(0, at, format!("unknown metric \"{m}\"")).suggest(m, DRIVE_METRICS),
            );
        } else if !(band.is_finite() && *band >= 0.0) {
            f.push(Finding::error(
                0,
                at,
                format!("deadband {band} is not a number ≥ 0"),
            ));
        }
    }
}

fn brokers(s: &SparkplugSection, p: &Path, f: &mut Vec<Finding>) {
    if s.brokers.is_empty() {
        f.push(
            Finding::error(0, p.key("brokers"), "no broker")
                .hint("e.g. brokers = [\"mqtt://127.0.0.1:1883\"]"),
        );
    }
    for (i, b) in s.brokers.iter().enumerate() {
        let at = p.key("brokers").index(i);
        let rest = b
            .strip_prefix("mqtt://")
            .or_else(|| b.strip_prefix("mqtts://"));
        let Some(rest) = rest else {
            f.push(
                Finding::error(0, at, format!("\"{b}\" is not an mqtt:// or mqtts:// URL"))
                    .hint("e.g. \"mqtt://broker.plant:1883\""),
            );
            continue;
        };
        let port_ok = rest.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !port_ok {
            f.push(
                Finding::error(0, at, format!("\"{b}\" needs host:port"))
                    .hint("e.g. \"mqtt://broker.plant:1883\" (8883 for mqtts)"),
            );
        }
    }
}
