//! `[control]` checks: the API address and who may reach it, TLS files given in pairs, journal
//! retention. Files are not opened here (a config is often checked away from the gateway);
//! `linevisor run` reports an unreadable file by name before any drive is touched.

use std::net::SocketAddr;

use super::range;
use crate::diag::{Finding, Path};
use crate::load::Decoded;
use crate::model::ControlSection;
use crate::model::control::{DEFAULT_JOURNAL_KEEP, DEFAULT_JOURNAL_MAX_BYTES};

/// Runs every `[control]` check, including the listen rule, which also covers `line.api_listen`.
pub(crate) fn check(d: &Decoded, f: &mut Vec<Finding>) {
    let default = ControlSection::default();
    let c = d.control.as_ref().unwrap_or(&default);
    let p = Path::root().key("control");
    if let Some(listen) = &c.listen {
        if d.api_listen_given {
            f.push(
                Finding::error(
                    0,
                    p.key("listen"),
                    "the API address is set twice: control.listen and line.api_listen",
                )
                .hint("keep control.listen and remove line.api_listen"),
            );
        }
        if listen.parse::<SocketAddr>().is_err() {
            f.push(
                Finding::error(0, p.key("listen"), format!("\"{listen}\" is not ip:port"))
                    .hint("e.g. \"127.0.0.1:7010\"; host names are not resolved"),
            );
        }
    }
    for (key, value) in [
        ("tokens_file", &c.tokens_file),
        ("tls_cert", &c.tls_cert),
        ("tls_key", &c.tls_key),
        ("journal", &c.journal),
        ("tls_client_ca", &c.tls_client_ca),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            f.push(
                Finding::error(0, p.key(key), "the path is empty")
                    .hint("give a file path, relative to this config file, or leave the key out"),
            );
        }
    }
    match (&c.tls_cert, &c.tls_key) {
        (Some(_), None) => f.push(
            Finding::error(0, p.key("tls_cert"), "tls_cert is set but tls_key is not")
                .hint("HTTPS needs both: add tls_key = \"<private key PEM>\""),
        ),
        (None, Some(_)) => f.push(
            Finding::error(0, p.key("tls_key"), "tls_key is set but tls_cert is not")
                .hint("HTTPS needs both: add tls_cert = \"<certificate PEM>\""),
        ),
        _ => {}
    }
    range(
        f,
        0,
        p.key("journal_max_bytes"),
        c.journal_max_bytes,
        4096,
        16 << 30,
        "bytes",
    );
    range(f, 0, p.key("journal_keep"), c.journal_keep, 0, 1000, "");
    range(f, 0, p.key("recent_events"), c.recent_events, 1, 10_000, "");
    range(
        f,
        0,
        p.key("max_connections"),
        c.max_connections,
        8,
        65_536,
        "",
    );
    range(
        f,
        0,
        p.key("max_event_streams"),
        c.max_event_streams,
        1,
        1024,
        "",
    );
    if c.tls_client_ca.is_some() && c.tls_cert.is_none() {
        f.push(
            Finding::error(0, p.key("tls_client_ca"), "tls_client_ca needs TLS").hint(
                "set tls_cert and tls_key: client certificates are checked in the TLS handshake",
            ),
        );
    }
    for (i, h) in c.allowed_hosts.iter().enumerate() {
        let ok = !h.is_empty()
            && h.len() <= 253
            && h.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '.');
        if !ok {
            f.push(
                Finding::error(
                    0,
                    p.key("allowed_hosts").index(i),
                    format!("\"{h}\" is not a host name"),
                )
                .hint("a DNS name without port or scheme, e.g. \"gateway-7.plant.local\""),
            );
        }
    }
    if c.journal.is_none() {
        for (key, set) in [
            (
                "journal_max_bytes",
                c.journal_max_bytes != DEFAULT_JOURNAL_MAX_BYTES,
            ),
            ("journal_keep", c.journal_keep != DEFAULT_JOURNAL_KEEP),
        ] {
            if set {
                f.push(
                    Finding::warning(
                        0,
                        p.key(key),
                        format!("{key} has no effect without journal"),
                    )
                    .hint("add journal = \"<file>\" to [control], or remove the key"),
                );
            }
        }
    }
    check_exposure(d, c, f);
}

/// An open API (no tokens) may only listen on loopback: anyone on the plant network could
/// otherwise command the drives.
fn check_exposure(d: &Decoded, c: &ControlSection, f: &mut Vec<Finding>) {
    let (path, listen) = match (&c.listen, &d.line) {
        (Some(l), _) => (Path::root().key("control").key("listen"), l.as_str()),
        (None, Some(line)) => (
            Path::root().key("line").key("api_listen"),
            line.api_listen.as_str(),
        ),
        (None, None) => return,
    };
    let Ok(addr) = listen.parse::<SocketAddr>() else {
        return; // reported as not ip:port
    };
    if !addr.ip().is_loopback() && c.tokens_file.is_none() {
        f.push(
            Finding::error(
                0,
                path,
                format!("the API on {addr} is not loopback, and control.tokens_file is not set"),
            )
            .hint(
                "an open API may only listen on 127.0.0.1 or ::1: add tokens_file = \"tokens.toml\" to [control]",
            ),
        );
    } else if !addr.ip().is_loopback() && c.tls_cert.is_none() && !c.insecure_http {
        f.push(
            Finding::error(
                0,
                path,
                format!("the API on {addr} would send its tokens in clear text over the plant network"),
            )
            .hint(
                "set tls_cert and tls_key in [control]; on a network that is already encrypted (a VPN), insecure_http = true",
            ),
        );
    }
}
