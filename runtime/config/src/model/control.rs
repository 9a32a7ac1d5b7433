use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `[control]`: the HTTP API (address, tokens, TLS) and the journal. Optional; every key has a
/// default. File paths are relative to the config file. `linevisor run --listen`, `--tokens` and
/// `--journal` override the matching keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlSection {
    /// Address the API listens on, `ip:port`. Default: `line.api_listen` (the older spelling of
    /// this key, still accepted), itself `127.0.0.1:7010`. Anything but loopback needs
    /// `tokens_file`.
    pub listen: Option<String>,
    /// Tokens file (TOML `[[token]]` tables with `name`, `value`, `role` = viewer | operator |
    /// admin). Without it the API is open and loopback only.
    pub tokens_file: Option<String>,
    /// TLS certificate chain (PEM, leaf first). With `tls_key`, the API is served over HTTPS.
    pub tls_cert: Option<String>,
    /// TLS private key (PEM: PKCS#8, PKCS#1 or SEC1) of `tls_cert`.
    pub tls_key: Option<String>,
    /// Journal file: an append-only, crash-safe record of every command, fault, restart and
    /// config change. Default: no journal.
    pub journal: Option<String>,
    /// Rotate the journal when it would grow past this many bytes (4096–17179869184).
    /// Default 16777216 (16 MiB).
    #[serde(default = "default_journal_max_bytes")]
    #[schemars(range(min = 4096, max = 17_179_869_184_u64))]
    pub journal_max_bytes: u64,
    /// Rotated journal files kept (`journal.1` … `journal.N`; 0–1000); older ones are deleted.
    /// Default 4.
    #[serde(default = "default_journal_keep")]
    #[schemars(range(max = 1000))]
    pub journal_keep: u32,
    /// Recent events kept per drive for `GET /api/v1/drives/{id}` (1–10000). Default 64.
    #[serde(default = "default_recent_events")]
    #[schemars(range(min = 1, max = 10000))]
    pub recent_events: u32,
    /// With TLS: clients must present a certificate signed by this CA (PEM), besides a token.
    pub tls_client_ca: Option<String>,
    /// Host names the API answers to besides IP addresses and `localhost` (DNS rebinding: any
    /// other `Host` is refused).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Open API connections at most (8–65536); more are closed on accept. Default 128.
    #[serde(default = "default_max_connections")]
    #[schemars(range(min = 8, max = 65536))]
    pub max_connections: u32,
    /// Open event streams (SSE) at most (1–1024). Default 32.
    #[serde(default = "default_max_event_streams")]
    #[schemars(range(min = 1, max = 1024))]
    pub max_event_streams: u32,
    /// Serve tokens over plain HTTP on an address other than loopback (only on a network that
    /// is already encrypted, e.g. a VPN). Default false: such an address needs TLS.
    #[serde(default)]
    pub insecure_http: bool,
}

impl Default for ControlSection {
    fn default() -> Self {
        Self {
            listen: None,
            tokens_file: None,
            tls_cert: None,
            tls_key: None,
            journal: None,
            journal_max_bytes: default_journal_max_bytes(),
            journal_keep: default_journal_keep(),
            recent_events: default_recent_events(),
            tls_client_ca: None,
            allowed_hosts: Vec::new(),
            max_connections: default_max_connections(),
            max_event_streams: default_max_event_streams(),
            insecure_http: false,
        }
    }
}

impl ControlSection {
    /// Both TLS files, when the API is to be served over HTTPS (the checks ensure both or
    /// neither), resolved against `base` (the config file's folder).
    pub fn tls(&self, base: Option<&Path>) -> Option<(PathBuf, PathBuf)> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Some((resolve(base, c), resolve(base, k))),
            _ => None,
        }
    }
}

/// A path from the config, relative to the config file's folder `base` (absolute paths stay).
pub fn resolve(base: Option<&Path>, path: &str) -> PathBuf {
    match base {
        Some(b) => b.join(path),
        None => PathBuf::from(path),
    }
}

pub(crate) const DEFAULT_JOURNAL_MAX_BYTES: u64 = 16 << 20;
pub(crate) const DEFAULT_JOURNAL_KEEP: u32 = 4;

fn default_max_connections() -> u32 {
    128
}

fn default_max_event_streams() -> u32 {
    32
}

fn default_journal_max_bytes() -> u64 {
    DEFAULT_JOURNAL_MAX_BYTES
}
fn default_journal_keep() -> u32 {
    DEFAULT_JOURNAL_KEEP
}
fn default_recent_events() -> u32 {
    64
}
