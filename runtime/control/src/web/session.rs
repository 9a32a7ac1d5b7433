//! Browser sessions: a token given once at login becomes a random session id in an `HttpOnly`,
//! `SameSite=Strict` cookie, plus a CSRF token the page sends in `X-CSRF-Token` with every
//! state-changing request. A session keeps the token it was opened with and the token is looked
//! up again on every request, so revoking it (SIGHUP) ends its sessions at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use tokio::time::Instant;

/// The cookie's name over plain HTTP (loopback, or `insecure_http` on a VPN).
pub(crate) const COOKIE_HTTP: &str = "linevisor_session";
/// Over HTTPS: the `__Host-` prefix makes the browser refuse it without `Secure`, a path of `/`
/// and no domain, so no other site or subdomain can plant one.
pub(crate) const COOKIE_HTTPS: &str = "__Host-linevisor_session";
/// The header carrying the session's CSRF token.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// Sessions open at once; a new login beyond this ends the least recently used one.
pub(crate) const MAX_SESSIONS: usize = 64;
/// A session unused this long ends (a shift's break).
pub(crate) const IDLE: Duration = Duration::from_secs(4 * 3600);
/// A session ends this long after login, used or not (a shift).
pub(crate) const LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// One logged-in browser.
#[derive(Debug)]
struct Session {
    /// The token value given at login, looked up again on every request.
    token: String,
    csrf: String,
    created: Instant,
    used: Instant,
}

/// What a request's session cookie stands for.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) token: String,
    pub(crate) csrf: String,
}

/// The open sessions, by id.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    open: Mutex<HashMap<String, Session>>,
}

/// 32 bytes from the operating system's CSPRNG, as hex.
fn random_hex() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a session for `token`: its id and CSRF token.
    pub(crate) fn open(&self, token: &str) -> Result<(String, String), String> {
        let id = random_hex().map_err(|e| format!("no random numbers for a session id: {e}"))?;
        let csrf = random_hex().map_err(|e| format!("no random numbers for a CSRF token: {e}"))?;
        let now = Instant::now();
        let mut open = self.lock();
        open.retain(|_, s| alive(s, now));
        if open.len() >= MAX_SESSIONS
            && let Some(oldest) = open
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| k.clone())
        {
            open.remove(&oldest);
        }
        open.insert(
            id.clone(),
            Session {
                token: token.to_owned(),
                csrf: csrf.clone(),
                created: now,
                used: now,
            },
        );
        Ok((id, csrf))
    }

    /// The live session `id` stands for (and marks it used), or `None`.
    pub(crate) fn find(&self, id: &str) -> Option<Found> {
        let now = Instant::now();
        let mut open = self.lock();
        let s = open.get_mut(id)?;
        if !alive(s, now) {
            open.remove(id);
            return None;
        }
        s.used = now;
        Some(Found {
            token: s.token.clone(),
            csrf: s.csrf.clone(),
        })
    }

    /// Ends session `id`; true if it was open.
    pub(crate) fn close(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    /// Sessions open now (expired ones not counted).
    #[cfg(test)]
    fn count(&self) -> usize {
        let now = Instant::now();
        self.lock().values().filter(|s| alive(s, now)).count()
    }
}

fn alive(s: &Session, now: Instant) -> bool {
    now.duration_since(s.used) < IDLE && now.duration_since(s.created) < LIFETIME
}

/// The session id in the request's cookies, if any.
pub(crate) fn cookie(headers: &HeaderMap, https: bool) -> Option<String> {
    let name = if https { COOKIE_HTTPS } else { COOKIE_HTTP };
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// `Set-Cookie` for a new session: the browser sends it back only to this origin, never to
/// scripts, and never with a request another site started.
pub(crate) fn set_cookie(id: &str, https: bool) -> String {
    if https {
        format!("{COOKIE_HTTPS}={id}; HttpOnly; SameSite=Strict; Path=/; Secure")
    } else {
        format!("{COOKIE_HTTP}={id}; HttpOnly; SameSite=Strict; Path=/")
    }
}

/// `Set-Cookie` that removes the session cookie.
pub(crate) fn clear_cookie(https: bool) -> String {
    let name = if https { COOKIE_HTTPS } else { COOKIE_HTTP };
    let secure = if https { "; Secure" } else { "" };
    format!("{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
}

/// Equal without telling how long a prefix matched.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sessions_expire_when_idle_or_old_and_are_bounded() {
        let s = Sessions::default();
        let (a, csrf) = s.open("token-a").expect("random");
        assert_eq!(a.len(), 64);
        assert_ne!(a, csrf);
        assert_eq!(s.find(&a).map(|f| f.token).as_deref(), Some("token-a"));
        // Used every hour: idle never runs out, the lifetime does.
        for _ in 0..11 {
            tokio::time::advance(Duration::from_secs(3600)).await;
            assert!(s.find(&a).is_some());
        }
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(s.find(&a).is_none(), "past its lifetime");
        let (b, _) = s.open("token-b").expect("random");
        tokio::time::advance(IDLE).await;
        assert!(s.find(&b).is_none(), "idle too long");

        let mut ids = Vec::new();
        for i in 0..MAX_SESSIONS + 3 {
            tokio::time::advance(Duration::from_millis(1)).await;
            ids.push(s.open(&format!("t{i}")).expect("random").0);
        }
        assert_eq!(s.count(), MAX_SESSIONS);
        assert!(
            s.find(&ids[0]).is_none(),
            "the least recently used went first"
        );
        assert!(s.find(&ids[MAX_SESSIONS + 2]).is_some());
        assert!(s.close(&ids[MAX_SESSIONS + 2]));
        assert!(s.find(&ids[MAX_SESSIONS + 2]).is_none());
    }

    #[test]
    fn the_cookie_is_found_among_others_and_by_its_scheme() {
        let mut h = HeaderMap::new();
        let v = "a=1; linevisor_session=abc ; __Host-linevisor_session=def";
        h.insert(COOKIE, v.parse().expect("header"));
        assert_eq!(cookie(&h, false).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, true).as_deref(), Some("def"));
        assert!(set_cookie("x", true).contains("; Secure"));
        assert!(!set_cookie("x", false).contains("Secure"));
        assert!(set_cookie("x", false).contains("HttpOnly; SameSite=Strict; Path=/"));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("a", "ab"));
    }
}
