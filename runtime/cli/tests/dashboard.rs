//! The operator's dashboard in a real browser: `linevisor run` on the demo line with tokens and
//! a journal, on a port the OS picks, and headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven over WebDriver by `tests/peers/dashboard_browser.py` (Selenium). It
//! logs in as viewer, operator and admin, sees every drive, watches values change live, enables
//! a drive and reads the acknowledgement, reads a refused command's reason, applies a plan that
//! touches one drive, restarts a bus, checks the console, and takes the screenshots (into docs/
//! with `LINEVISOR_SCREENSHOTS=docs`). Then the API
//! confirms what the page showed: only the planned drive was touched, and the journal has the
//! session logins and the page's commands with who sent them.
//!
//! Skipped with a message when Chromium, chromedriver or Selenium is missing, except in CI
//! (`CI` set), where `.ci/run` installs them and their absence fails the test.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const VIEWER: &str = "viewer-token-0123456789";
const OPERATOR: &str = "operator-token-0123456789";
const ADMIN: &str = "admin-token-0123456789";

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

fn available() -> bool {
    let browser = chromium().is_some() && Path::new("/usr/bin/chromedriver").exists();
    let selenium = Command::new("python3")
        .args(["-c", "import selenium"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !(browser && selenium) {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium, chromium-driver and Python selenium are missing in CI: .ci/run installs them"
        );
        eprintln!(
            "skipped: the dashboard browser test needs chromium and chromium-driver (apt) and \
             selenium (pip install -r tests/peers/requirements.txt)"
        );
    }
    browser && selenium
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `linevisor <args>` against `api` with `token`.
fn client(api: &str, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .args(args)
        .env("LINEVISOR_API", api)
        .env("LINEVISOR_TOKEN", token)
        .output()
        .expect("run linevisor")
}

fn status(api: &str) -> serde_json::Value {
    let o = client(api, VIEWER, &["status", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("status JSON")
}

/// Starts `linevisor run` on the demo line; its API address once it listens.
fn run(dir: &Path) -> (Running, String, std::thread::JoinHandle<String>) {
    let tokens = dir.join("tokens.toml");
    std::fs::write(
        &tokens,
        format!(
            "[[token]]\nname = \"hmi\"\nvalue = \"{VIEWER}\"\nrole = \"viewer\"\n\
             [[token]]\nname = \"scada\"\nvalue = \"{OPERATOR}\"\nrole = \"operator\"\n\
             [[token]]\nname = \"maint\"\nvalue = \"{ADMIN}\"\nrole = \"admin\"\n"
        ),
    )
    .expect("tokens");
    std::fs::set_permissions(&tokens, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let mut child = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .args(["run", "--logs", "--listen", "127.0.0.1:0"])
        .arg("--tokens")
        .arg(&tokens)
        .arg("--journal")
        .arg(dir.join("journal.jsonl"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let running = Running(child);
    let mut line = String::new();
    let api = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).expect("read") > 0,
            "run ended early"
        );
        if let Some(a) = line.trim().strip_prefix("linevisor: API on http://") {
            break a.to_owned();
        }
    };
    // Keep draining the logs so the instance never blocks on a full pipe.
    let logs = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });
    (running, api, logs)
}

#[test]
fn the_dashboard_in_a_real_browser() {
    if !available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("linevisor-dashboard-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let (running, api, logs) = run(&dir);
    let drives = linevisor_config::DEMO_LINE.matches("[[drive]]").count();
    let before = status(&api);

    // The screenshots in docs/ are refreshed on request (`LINEVISOR_SCREENSHOTS=docs`), so an
    // ordinary test run leaves the tree as it was; otherwise they go to the scratch folder.
    let shots = match std::env::var_os("LINEVISOR_SCREENSHOTS") {
        Some(d) => repo().join(d),
        None => dir.join("shots"),
    };
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let o = Command::new("python3")
        .arg(repo().join("tests/peers/dashboard_browser.py"))
        .args(["--base", &format!("http://{api}")])
        .args(["--viewer", VIEWER, "--operator", OPERATOR, "--admin", ADMIN])
        .args(["--drives", &drives.to_string()])
        .arg("--shots")
        .arg(&shots)
        .env(
            "LINEVISOR_CHROMIUM",
            chromium().unwrap_or("/usr/bin/chromium"),
        )
        .output()
        .expect("run the browser test");
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    println!("{out}");
    assert!(o.status.success(), "browser test failed:\n{out}\n{err}");
    assert!(out.contains(r#"{"check": "all", "ok": true}"#), "{out}");
    for shot in ["dashboard-overview.png", "dashboard-drive.png"] {
        let bytes = std::fs::read(shots.join(shot)).expect("screenshot taken");
        assert!(bytes.starts_with(b"\x89PNG"), "{shot} is a PNG");
    }

    // What the page showed, confirmed through the API: the plan's one drive was handed over,
    // every other drive runs in the generation it started with.
    let after = status(&api);
    let generation = |v: &serde_json::Value, id: &str| {
        v["drives"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["id"] == id))
            .and_then(|d| d["generation"].as_u64())
    };
    for d in before["drives"].as_array().expect("drives") {
        let id = d["id"].as_str().expect("id");
        let (was, now) = (generation(&before, id), generation(&after, id));
        if id == "labeler" {
            assert!(now > was, "labeler was reconfigured: {was:?} -> {now:?}");
        } else {
            assert_eq!(was, now, "{id} untouched");
        }
    }
    let journal = linevisor_control::journal::read(&dir.join("journal.jsonl")).expect("journal");
    let by = |kind: &str, who: &str| {
        journal
            .records
            .iter()
            .filter(|r| r["kind"] == kind && r["by"] == who)
            .count()
    };
    assert_eq!(
        by("session", "hmi"),
        2,
        "viewer login and logout journalled"
    );
    assert!(
        by("command", "scada") >= 3,
        "the page's commands journalled as scada"
    );
    assert_eq!(
        by("apply", "maint"),
        1,
        "the page's apply journalled as maint"
    );
    drop(running);
    let _ = logs.join();
    let _ = std::fs::remove_dir_all(&dir);
}
