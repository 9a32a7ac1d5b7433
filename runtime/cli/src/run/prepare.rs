//! Everything `linevisor run` checks before a drive is touched: tokens, the API address and the
//! rule that guards it, TLS files, the journal, the listening socket. `[control]` keys give the
//! values, command-line flags override them, and config paths are relative to the config file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use linevisor_config::ValidLine;
use linevisor_config::model::resolve;
use linevisor_control::tls::TlsSetup;
use linevisor_control::{ControlOptions, Journal, JournalLimits, Tokens};

/// Control-plane flags of `linevisor run`; each overrides its `[control]` key.
#[derive(Debug, Default)]
pub(crate) struct ApiArgs {
    /// Overrides `control.listen` / `line.api_listen`.
    pub(crate) listen: Option<SocketAddr>,
    /// Overrides `control.tokens_file`.
    pub(crate) tokens: Option<PathBuf>,
    /// Overrides `control.journal`.
    pub(crate) journal: Option<PathBuf>,
    /// Overrides `control.journal_max_bytes`.
    pub(crate) journal_max_bytes: Option<u64>,
    /// Overrides `control.journal_keep`.
    pub(crate) journal_keep: Option<usize>,
}

/// What the API needs, checked and opened.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) listener: tokio::net::TcpListener,
    /// HTTPS when `control.tls_cert` and `tls_key` are set.
    pub(crate) tls: Option<TlsSetup>,
    pub(crate) control: ControlOptions,
    /// The server's limits (`control.max_connections`).
    pub(crate) limits: linevisor_control::server::Limits,
    /// The tokens file, re-read on SIGHUP.
    pub(crate) tokens_file: Option<PathBuf>,
}

/// `config`: the file the line came from (`None`: the embedded demo).
pub(crate) async fn prepare(
    line: &ValidLine,
    config: Option<&Path>,
    api: &ApiArgs,
) -> Result<Prepared, String> {
    let c = &line.config.control;
    let base = config.and_then(Path::parent);
    let file = |p: &Option<String>| p.as_deref().map(|p| resolve(base, p));
    let tokens_file = api.tokens.clone().or_else(|| file(&c.tokens_file));
    let tokens = match &tokens_file {
        Some(p) => Some(Tokens::load(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let addr = match api.listen {
        Some(a) => a,
        None => line.config.api_listen().parse().map_err(|_| {
            format!(
                "the API address \"{}\" is not ip:port",
                line.config.api_listen()
            )
        })?,
    };
    let tls = match c.tls(base) {
        Some((cert, key)) => {
            let ca = file(&c.tls_client_ca);
            Some(TlsSetup::load(&cert, &key, ca.as_deref()).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    linevisor_control::check_listen(addr, tokens.as_ref(), tls.is_some(), c.insecure_http)
        .map_err(|e| e.to_string())?;
    let limits = JournalLimits {
        max_bytes: api.journal_max_bytes.unwrap_or(c.journal_max_bytes),
        keep: api
            .journal_keep
            .unwrap_or_else(|| usize::try_from(c.journal_keep).unwrap_or(usize::MAX)),
    };
    let journal = match api.journal.clone().or_else(|| file(&c.journal)) {
        Some(p) => Some(Journal::open(&p, limits).map_err(|e| e.to_string())?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} for the API: {e}"))?;
    Ok(Prepared {
        listener,
        control: ControlOptions {
            tokens,
            journal,
            recent_events: usize::try_from(c.recent_events).ok(),
            config_file: config.map(Path::to_owned),
            allowed_hosts: c.allowed_hosts.clone(),
            https: tls.is_some(),
            max_event_streams: usize::try_from(c.max_event_streams).ok(),
        },
        tls,
        limits: linevisor_control::server::Limits {
            max_connections: usize::try_from(c.max_connections).unwrap_or(128),
            ..Default::default()
        },
        tokens_file,
    })
}
