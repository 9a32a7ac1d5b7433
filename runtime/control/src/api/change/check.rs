//! Checking the config text of a request as `linevisor check` does, under the control plane's
//! rules: its profile folders resolve (symlinks followed) inside the running config's folder or
//! are the running config's own; an applied config's folders are not writable by every user;
//! and one check runs at a time, on the blocking pool, never on the threads that carry the
//! drives' cycles.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use linevisor_config::ValidLine;
use linevisor_line::ChangeError;

use crate::error::ApiError;
use crate::state::AppState;

/// How long a check waits for the one before it; then it is refused as `busy`.
pub(crate) const CHECK_WAIT: Duration = Duration::from_secs(10);

/// What the checked config is for: an applied one must also keep its profiles safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    Plan,
    Apply,
}

/// Checks `text`, then runs `then` on the line and its warnings in the same blocking job and
/// under the same permit (the plan's diff). The permit is held until the job ends, even when
/// the caller has gone, so clients that hang up cannot pile up checks.
pub(super) async fn check<T: Send + 'static>(
    s: &AppState,
    text: Arc<str>,
    purpose: Purpose,
    then: impl FnOnce(ValidLine, Vec<String>) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let permit = tokio::time::timeout(CHECK_WAIT, s.changes.checks.clone().acquire_owned())
        .await
        .map_err(|_| ApiError::Change(ChangeError::Busy))?
        .map_err(|e| ApiError::Internal(format!("config check: {e}")))?;
    let dir = s.config_dir.clone();
    let running = s.line.config();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        if let Some(dir) = dir.as_deref() {
            let own = &running.config.line.profile_dirs;
            vet_folders(&text, dir, own, purpose).map_err(ApiError::InvalidConfig)?;
        }
        let checked = linevisor_config::check_text("<request>", &text, dir.as_deref());
        let lines = checked
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect();
        match checked.line {
            Some(line) => Ok(then(line, lines)),
            None => Err(ApiError::InvalidConfig(lines)),
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("config check: {e}")))?
}

/// The profile folders of `text` against the rules; one line per refused folder. The lines
/// name the folder as written, never what the file system said (a viewer may plan).
pub(super) fn vet_folders(
    text: &str,
    base: &Path,
    own: &[String],
    purpose: Purpose,
) -> Result<(), Vec<String>> {
    // A text that does not parse, or lists no strings, is for the check to report.
    let Ok(doc) = toml_edit::Document::parse(text) else {
        return Ok(());
    };
    let listed = doc
        .get("line")
        .and_then(|l| l.get("profile_dirs"))
        .and_then(toml_edit::Item::as_array);
    let dirs: Vec<(String, Option<usize>)> = match listed {
        Some(a) => a
            .iter()
            .filter_map(|v| {
                v.as_str()
                    .map(|s| (s.to_owned(), v.span().map(|r| r.start)))
            })
            .collect(),
        None => vec![("profiles".to_owned(), None)],
    };
    let problem = |i: usize, dir: &str, at: Option<usize>, what: &str| {
        let (line, col) = at.map_or((0, 0), |at| line_col(text, at));
        format!(
            "<request>:{line}:{col}: error: line.profile_dirs[{i}]: profile folder \"{dir}\" {what}"
        )
    };
    let Ok(root) = base.canonicalize() else {
        return Err(vec![
            "<request>: error: the running config's folder cannot be read; profile folders cannot be resolved".into(),
        ]);
    };
    let own: Vec<PathBuf> = own
        .iter()
        .filter_map(|d| base.join(d).canonicalize().ok())
        .collect();
    let mut problems = Vec::new();
    for (i, (dir, at)) in dirs.iter().enumerate() {
        const OUTSIDE: &str = "is outside the running config's folder; profile folders must be \
                               inside it (symlinks are followed) or be the running config's own";
        let Ok(real) = base.join(dir).canonicalize() else {
            // Outside by its spelling: said so whether it exists or not (no probing).
            if !lexical(&root, dir).starts_with(&root) {
                problems.push(problem(i, dir, *at, OUTSIDE));
            } else if listed.is_some() {
                // Only a folder named explicitly must exist (the default may be absent).
                problems.push(problem(i, dir, *at, "does not exist or cannot be read"));
            }
            continue;
        };
        if !(real.starts_with(&root) || own.contains(&real)) {
            problems.push(problem(i, dir, *at, OUTSIDE));
        } else if !real.is_dir() {
            problems.push(problem(i, dir, *at, "is not a folder"));
        } else if purpose == Purpose::Apply && writable_by_all(&real) {
            problems.push(problem(
                i,
                dir,
                *at,
                "(or a profile in it) is writable by every user, so anyone could change the \
                 drives' profiles; remove that permission (chmod o-w)",
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Whether `dir` or a `*.toml` file in it is writable by every user.
#[cfg(unix)]
fn writable_by_all(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    let open = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o002 != 0);
    if open(dir) {
        return true;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .any(|p| open(&p))
}

#[cfg(not(unix))]
fn writable_by_all(_dir: &Path) -> bool {
    false
}

/// `dir` resolved against `root` by its spelling alone (`..` and `.` taken away).
fn lexical(root: &Path, dir: &str) -> PathBuf {
    use std::path::Component;
    let mut out = root.to_path_buf();
    for c in Path::new(dir).components() {
        match c {
            Component::Prefix(_) | Component::RootDir => out = PathBuf::from(c.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
        }
    }
    out
}

/// 1-based line and column of byte `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |n| before.len() - n - 1)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use linevisor_config::{DEMO_LINE, DEMO_LINE_NAME, check_text};
    use linevisor_line::{ChangeError, LineOptions, RunningLine};

    use super::{CHECK_WAIT, Purpose, check};
    use crate::error::ApiError;
    use crate::{ControlOptions, ControlPlane};

    /// A refusal points at the folder's place in the text, as `linevisor check` lines do.
    #[test]
    fn a_refused_folder_is_located_and_named_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[line]\nname = \"x\"\nprofile_dirs = [\"profiles\", \"../elsewhere\"]\n";
        std::fs::create_dir(dir.path().join("profiles")).unwrap();
        let lines = super::vet_folders(text, dir.path(), &[], Purpose::Plan).unwrap_err();
        assert_eq!(
            lines,
            [
                "<request>:3:29: error: line.profile_dirs[1]: profile folder \"../elsewhere\" is \
              outside the running config's folder; profile folders must be inside it (symlinks \
              are followed) or be the running config's own"
            ]
        );
        let text = text.replace("../elsewhere", "nowhere");
        let lines = super::vet_folders(&text, dir.path(), &[], Purpose::Plan).unwrap_err();
        assert!(lines[0].contains("\"nowhere\" does not exist"), "{lines:?}");
    }

    /// One check at a time: the next waits for it up to `CHECK_WAIT`, then is refused `busy`.
    #[tokio::test(start_paused = true)]
    async fn checks_run_one_at_a_time_and_wait_bounded() {
        let line = check_text(DEMO_LINE_NAME, DEMO_LINE, None).line.unwrap();
        let running = RunningLine::start(&line, LineOptions::default()).await;
        let control = ControlPlane::new(Arc::new(running.unwrap()), ControlOptions::default());
        let s = &control.state;
        let text: Arc<str> = DEMO_LINE.into();

        let first = s.changes.checks.clone().acquire_owned().await.unwrap();
        let waited = check(s, text.clone(), Purpose::Plan, |_, _| ()).await;
        assert!(
            matches!(waited, Err(ApiError::Change(ChangeError::Busy))),
            "{waited:?}"
        );
        // The first ends within the wait: the next one goes ahead.
        let first_ends = async {
            tokio::time::sleep(CHECK_WAIT / 2).await;
            drop(first);
        };
        let (next, ()) = tokio::join!(check(s, text, Purpose::Plan, |_, w| w), first_ends);
        assert!(next.is_ok(), "{next:?}");
    }
}
