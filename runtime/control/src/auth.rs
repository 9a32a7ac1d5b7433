//! Roles and bearer tokens. Without a tokens file the API is open but bound to loopback only
//! ([`check_listen`]); with one, every request needs `Authorization: Bearer <value>`, or the
//! session cookie a browser got by logging in with a token (see `web::session`).
//!
//! Tokens file (TOML):
//! ```toml
//! [[token]]
//! name = "scada"      # who asked, in the journal
//! value = "…"         # the secret
//! role = "operator"   # viewer | operator | admin
//! ```

use std::net::SocketAddr;
use std::path::Path;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

/// What a caller may do; each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read: GET endpoints and the event stream.
    Viewer,
    /// Drive commands.
    Operator,
    /// Restarts (and later upgrade, add/remove, apply).
    Admin,
}

impl Role {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// One token of the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// Who holds it (journal, logs).
    pub name: String,
    /// The secret.
    pub value: String,
    /// Its role.
    pub role: Role,
}

/// The tokens file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tokens {
    /// `[[token]]` tables.
    #[serde(default)]
    pub token: Vec<Token>,
}

/// Why the tokens file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// Not readable.
    #[error("tokens file {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML of the expected shape.
    #[error("tokens file {path}: {message}")]
    Parse {
        /// The path.
        path: String,
        /// What the parser reported (with line and column).
        message: String,
    },
    /// Every user of the machine can read (or write) the secrets.
    #[error(
        "tokens file {path}: mode {mode:04o} lets every user of the machine {what} it (chmod 0640 or 0600)"
    )]
    Mode {
        /// The path.
        path: String,
        /// Its permission bits.
        mode: u32,
        /// `read` or `change`.
        what: &'static str,
    },
    /// A token breaks a rule.
    #[error("tokens file {path}: token {index} (\"{name}\"): {problem}")]
    Invalid {
        /// The path.
        path: String,
        /// 1-based position in the file.
        index: usize,
        /// Its name.
        name: String,
        /// What is wrong.
        problem: &'static str,
    },
}

/// Shortest accepted token value: guessable secrets are refused at start.
pub const MIN_TOKEN_LEN: usize = 16;

impl Tokens {
    /// Parses and checks a tokens file.
    pub fn parse(path: &str, text: &str) -> Result<Self, TokensError> {
        // The parser's own message quotes the offending line, which may hold a secret: only
        // its position and what is wrong go to the log.
        let tokens: Tokens = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(String::new(), |sp| {
                let before = &text[..sp.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("line {line}, column {col}: ")
            });
            TokensError::Parse {
                path: path.to_owned(),
                message: format!("{at}{}", e.message().trim()),
            }
        })?;
        for (i, t) in tokens.token.iter().enumerate() {
            let distinct: std::collections::BTreeSet<char> = t.value.chars().collect();
            let problem = if t.value.len() < MIN_TOKEN_LEN {
                Some("value shorter than 16 characters")
            } else if distinct.len() < 8 {
                Some(
                    "value too easy to guess (fewer than 8 different characters); use e.g. `openssl rand -hex 24`",
                )
            } else if tokens.token[..i].iter().any(|o| o.value == t.value) {
                Some("value used by an earlier token")
            } else if t.name.is_empty() {
                Some("empty name")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(TokensError::Invalid {
                    path: path.to_owned(),
                    index: i + 1,
                    name: t.name.clone(),
                    problem,
                });
            }
        }
        Ok(tokens)
    }

    /// Reads and checks a tokens file.
    pub fn load(path: &Path) -> Result<Self, TokensError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TokensError::Read {
            path: shown.clone(),
            source,
        })?;
        check_mode(path, &shown)?;
        Self::parse(&shown, &text)
    }

    pub(crate) fn find(&self, presented: &str) -> Option<&Token> {
        // Compare every token in full so the time taken does not tell which prefix matched.
        let mut found = None;
        for t in &self.token {
            if constant_time_eq(t.value.as_bytes(), presented.as_bytes()) {
                found = Some(t);
            }
        }
        found
    }
}

/// Refuses a tokens file other users may read or write (group access is the service's).
fn check_mode(path: &Path, shown: &str) -> Result<(), TokensError> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(()); // read just succeeded; a race is not worth a second error here
    };
    let mode = meta.permissions().mode() & 0o7777;
    let what = if mode & 0o002 != 0 {
        "change"
    } else if mode & 0o004 != 0 {
        "read"
    } else {
        return Ok(());
    };
    Err(TokensError::Mode {
        path: shown.to_owned(),
        mode,
        what,
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why the API may not listen where asked.
#[derive(Debug, thiserror::Error)]
pub enum ListenRefused {
    /// An open API off loopback: anyone on the network could command the drives.
    #[error(
        "refusing to serve the API on {addr}: not a loopback address and no tokens file \
         (give --tokens or LINEVISOR_TOKENS_FILE, or listen on 127.0.0.1)"
    )]
    Open {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// Tokens in clear text over the plant network.
    #[error(
        "refusing to serve the API on {addr} over plain HTTP: its tokens would cross the network \
         in clear text (set control.tls_cert and tls_key, or control.insecure_http = true on an \
         already encrypted network)"
    )]
    Plain {
        /// The address asked for.
        addr: SocketAddr,
    },
}

/// Loopback is always allowed; any other address only with tokens, and over TLS unless
/// `insecure_http`.
pub fn check_listen(
    addr: SocketAddr,
    tokens: Option<&Tokens>,
    tls: bool,
    insecure_http: bool,
) -> Result<(), ListenRefused> {
    if addr.ip().is_loopback() {
        Ok(())
    } else if tokens.is_none_or(|t| t.token.is_empty()) {
        Err(ListenRefused::Open { addr })
    } else if !tls && !insecure_http {
        Err(ListenRefused::Plain { addr })
    } else {
        Ok(())
    }
}

/// Who is calling, from the bearer token (or the local operator when no tokens are configured).
#[derive(Debug, Clone)]
pub struct Caller {
    /// Token name (`local` without tokens).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The address the request came from (journal records carry it).
    pub peer: Option<SocketAddr>,
}

impl Caller {
    /// `Ok` when the caller's role is at least `needed`.
    pub fn require(&self, needed: Role, action: &'static str) -> Result<(), ApiError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                role: self.role.name(),
                needed: needed.name(),
                action,
            })
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(tokens) = state.tokens.as_ref().map(|t| t.load()) else {
            return Ok(Caller {
                name: "local".into(),
                role: Role::Admin,
                peer: crate::server::peer_of(parts),
            });
        };
        // A bearer token wins; a browser without one shows its session cookie instead.
        let t = match parts.headers.get(AUTHORIZATION) {
            Some(header) => {
                let presented = header
                    .to_str()
                    .ok()
                    .and_then(|h| h.strip_prefix("Bearer "))
                    .map(str::trim)
                    .ok_or_else(|| {
                        ApiError::Unauthenticated(
                            "Authorization header is not `Bearer <token>`".into(),
                        )
                    })?;
                tokens
                    .find(presented)
                    .ok_or_else(|| ApiError::Unauthenticated("unknown token".into()))?
            }
            None => {
                let (id, token) = crate::web::session_token(parts, state)?;
                // The token is looked up again: a revoked token ends its sessions at once.
                tokens.find(&token).ok_or_else(|| {
                    state.web.sessions.close(&id);
                    ApiError::Unauthenticated(
                        "the token of this session is no longer valid; log in again".into(),
                    )
                })?
            }
        };
        Ok(Caller {
            name: t.name.clone(),
            role: t.role,
            peer: crate::server::peer_of(parts),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_file_rules() {
        let ok = "[[token]]\nname = \"a\"\nvalue = \"0123456789abcdef\"\nrole = \"admin\"\n";
        assert_eq!(
            Tokens::parse("t.toml", ok).map(|t| t.token.len()).ok(),
            Some(1)
        );
        let short = ok.replace("0123456789abcdef", "short");
        let e = Tokens::parse("t.toml", &short).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("token 1 (\"a\")") && e.contains("16")));
        let bad_role = ok.replace("admin", "root");
        let e = Tokens::parse("t.toml", &bad_role)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("t.toml") && e.contains("root")));
    }

    #[test]
    fn a_parse_error_names_the_place_but_never_echoes_the_secret() {
        let text =
            "[[token]]\nname = \"a\"\nvalue = \"s3cr3t-v4lue-0123456789\" oops\nrole = \"admin\"\n";
        let e = Tokens::parse("t.toml", text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("t.toml") && e.contains("line 3"), "{e}");
        assert!(!e.contains("s3cr3t"), "the secret was echoed: {e}");
    }

    #[test]
    fn guessable_values_are_refused() {
        for weak in [
            "aaaaaaaaaaaaaaaaaaaa",
            "0000000000000000",
            "abababababababababab",
        ] {
            let text = format!("[[token]]\nname = \"a\"\nvalue = \"{weak}\"\nrole = \"admin\"\n");
            let e = Tokens::parse("t.toml", &text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("too easy to guess"), "{weak}: {e}");
            assert!(!e.contains(weak), "the secret was echoed: {e}");
        }
    }

    #[test]
    fn a_tokens_file_other_users_can_read_or_change_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir =
            std::env::temp_dir().join(format!("linevisor-tokens-mode-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("tokens.toml");
        let ok = "[[token]]\nname = \"a\"\nvalue = \"0123456789abcdef\"\nrole = \"admin\"\n";
        std::fs::write(&path, ok).expect("write");
        for (mode, want) in [
            (0o644, Some("read")),
            (0o602, Some("change")),
            (0o640, None),
            (0o600, None),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let got = Tokens::load(&path).err().map(|e| e.to_string());
            match want {
                Some(w) => assert!(
                    got.as_deref()
                        .is_some_and(|e| e.contains(&format!("every user of the machine {w}"))),
                    "{mode:o}: {got:?}"
                ),
                None => assert!(got.is_none(), "{mode:o}: {got:?}"),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn listen_needs_tokens_off_loopback() {
        let any: SocketAddr = "0.0.0.0:7010".parse().unwrap_or_else(|_| unreachable!());
        let lo: SocketAddr = "127.0.0.1:7010".parse().unwrap_or_else(|_| unreachable!());
        assert!(check_listen(lo, None, false, false).is_ok());
        assert!(check_listen(any, None, true, false).is_err());
        let t = Tokens::parse(
            "t",
            "[[token]]\nname = \"a\"\nvalue = \"0123456789abcdef\"\nrole = \"viewer\"\n",
        );
        let t = t.expect("tokens");
        assert!(check_listen(any, Some(&t), true, false).is_ok());
        let plain = check_listen(any, Some(&t), false, false).map_err(|e| e.to_string());
        assert!(plain.is_err_and(|e| e.contains("clear text")));
        assert!(check_listen(any, Some(&t), false, true).is_ok());
    }
}
