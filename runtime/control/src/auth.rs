//! Roles and bearer tokens. Without a tokens file the API is open but bound to loopback only
//! ([`check_listen`]); with one, every request needs `Authorization: Bearer <value>`.
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
        let tokens: Tokens = toml::from_str(text).map_err(|e| TokensError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        for (i, t) in tokens.token.iter().enumerate() {
            let problem = if t.value.len() < MIN_TOKEN_LEN {
                Some("value shorter than 16 characters")
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
        Self::parse(&shown, &text)
    }

    fn find(&self, presented: &str) -> Option<&Token> {
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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why the API may not listen where asked.
#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to serve the API on {addr}: not a loopback address and no tokens file \
     (give --tokens or LINEVISOR_TOKENS_FILE, or listen on 127.0.0.1)"
)]
pub struct ListenRefused {
    /// The address asked for.
    pub addr: SocketAddr,
}

/// Loopback is always allowed; any other address only with tokens.
pub fn check_listen(addr: SocketAddr, tokens: Option<&Tokens>) -> Result<(), ListenRefused> {
    if addr.ip().is_loopback() || tokens.is_some_and(|t| !t.token.is_empty()) {
        Ok(())
    } else {
        Err(ListenRefused { addr })
    }
}

/// Who is calling, from the bearer token (or the local operator when no tokens are configured).
#[derive(Debug, Clone)]
pub struct Caller {
    /// Token name (`local` without tokens).
    pub name: String,
    /// Its role.
    pub role: Role,
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
        let Some(tokens) = state.tokens.as_deref() else {
            return Ok(Caller {
                name: "local".into(),
                role: Role::Admin,
            });
        };
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::Unauthenticated("missing Authorization: Bearer token".into())
        })?;
        let presented = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::Unauthenticated("Authorization header is not `Bearer <token>`".into())
            })?;
        let t = tokens
            .find(presented)
            .ok_or_else(|| ApiError::Unauthenticated("unknown token".into()))?;
        Ok(Caller {
            name: t.name.clone(),
            role: t.role,
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
    fn listen_needs_tokens_off_loopback() {
        let any: SocketAddr = "0.0.0.0:7010".parse().unwrap_or_else(|_| unreachable!());
        let lo: SocketAddr = "127.0.0.1:7010".parse().unwrap_or_else(|_| unreachable!());
        assert!(check_listen(lo, None).is_ok());
        assert!(check_listen(any, None).is_err());
        let t = Tokens::parse(
            "t",
            "[[token]]\nname = \"a\"\nvalue = \"0123456789abcdef\"\nrole = \"viewer\"\n",
        );
        assert!(t.as_ref().is_ok_and(|t| check_listen(any, Some(t)).is_ok()));
    }
}
