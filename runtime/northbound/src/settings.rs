//! `[northbound.sparkplug]` made ready to run: broker addresses, the password read from its
//! file, the edge node's identity and publish policy.

use std::path::Path;
use std::time::Duration;

use linevisor_config::model::{CommandRole, SparkplugSection, resolve};
use linevisor_sparkplug::NodeConfig;

use crate::NorthboundError;
use crate::device::Layout;

/// One broker to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Broker {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: bool,
}

impl std::fmt::Display for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// What the publisher runs with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) brokers: Vec<Broker>,
    pub(crate) client_id: String,
    /// Who the broker knows us as (`username`, else the client id), and that identity's role.
    pub(crate) identity: String,
    pub(crate) role: CommandRole,
    pub(crate) credentials: Option<(String, String)>,
    /// The TLS client config of `mqtts://` brokers.
    pub(crate) tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    pub(crate) keep_alive: Duration,
    pub(crate) node: NodeConfig,
    pub(crate) layout: Layout,
    pub(crate) data_qos: u8,
    pub(crate) allow_commands: bool,
    pub(crate) primary_host: Option<String>,
    /// Store and forward bounds.
    pub(crate) buffer_bytes: usize,
    pub(crate) buffer_age_ms: u64,
    /// Keep the backlog in this file too.
    pub(crate) buffer_path: Option<std::path::PathBuf>,
}

impl Settings {
    /// Settings for the line `line_name`; paths are relative to `base` (the config's folder).
    pub(crate) fn new(
        s: &SparkplugSection,
        line_name: &str,
        base: Option<&Path>,
    ) -> Result<Self, NorthboundError> {
        let mut brokers = Vec::new();
        for url in &s.brokers {
            let (rest, tls) = match url.strip_prefix("mqtts://") {
                Some(r) => (r, true),
                None => (url.strip_prefix("mqtt://").unwrap_or(url), false),
            };
            let (host, port) = rest
                .rsplit_once(':')
                .ok_or_else(|| NorthboundError::Config {
                    key: "brokers",
                    reason: format!("{url} needs host:port"),
                })?;
            let port = port.parse().map_err(|_| NorthboundError::Config {
                key: "brokers",
                reason: format!("{url}: bad port"),
            })?;
            brokers.push(Broker {
                host: host.to_owned(),
                port,
                tls,
            });
        }
        let tls = if brokers.iter().any(|b| b.tls) {
            Some(crate::tls::client_config(s, base)?)
        } else {
            None
        };
        let edge_node = s.edge_node(line_name).to_owned();
        let credentials = match (&s.username, &s.password_file) {
            (Some(user), Some(file)) => {
                let path = resolve(base, file);
                let text = std::fs::read_to_string(&path).map_err(|e| NorthboundError::Config {
                    key: "password_file",
                    reason: format!("{}: {e}", path.display()),
                })?;
                let password = text.lines().next().unwrap_or("").to_owned();
                Some((user.clone(), password))
            }
            (Some(user), None) => Some((user.clone(), String::new())),
            _ => None,
        };
        Ok(Self {
            brokers,
            client_id: s.client_id(line_name),
            identity: s.identity(line_name),
            role: s.role,
            credentials,
            tls,
            keep_alive: Duration::from_secs(u64::from(s.keep_alive_s)),
            node: NodeConfig {
                group: s.group_id.clone(),
                edge_node,
                max_interval_ms: u64::from(s.max_interval_ms),
            },
            layout: Layout {
                section: std::sync::Arc::new(s.clone()),
                commands: s.allow_commands && s.role == CommandRole::Operator,
            },
            data_qos: s.data_qos,
            allow_commands: s.allow_commands,
            primary_host: s.primary_host.clone(),
            buffer_bytes: usize::try_from(s.buffer_max_bytes).unwrap_or(usize::MAX),
            buffer_age_ms: u64::from(s.buffer_max_age_s) * 1000,
            buffer_path: None,
        })
    }
}
