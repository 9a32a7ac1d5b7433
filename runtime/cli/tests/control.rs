//! The client subcommands against a running `linevisor run` on the embedded demo line, on a
//! port the OS picks, with tokens and a journal: each answers or fails with one line.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
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

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linevisor-cli-control-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn linevisor(api: &str, token: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_linevisor"));
    c.args(args)
        .env("LINEVISOR_API", api)
        .env_remove("LINEVISOR_TOKEN");
    if let Some(t) = token {
        c.env("LINEVISOR_TOKEN", t);
    }
    c.output().expect("run linevisor")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Fails with exactly one line on stderr.
fn assert_fails(o: &Output, needle: &str) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
}

#[test]
fn refuses_a_public_address_without_tokens() {
    let o = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .args(["run", "--logs", "--listen", "0.0.0.0:0"])
        .env_remove("LINEVISOR_TOKENS_FILE")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("refusing to serve the API on 0.0.0.0:0"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn unreachable_api_is_one_line() {
    // Port 1 on loopback: nothing listens there in a test environment.
    assert_fails(
        &linevisor("127.0.0.1:1", None, &["status"]),
        "cannot reach the API",
    );
    assert_fails(
        &linevisor("not an address", None, &["status"]),
        "is not host:port",
    );
}

#[test]
fn client_subcommands_against_a_running_instance() {
    let dir = scratch();
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
    // Secrets: readable by their owner only (linevisor refuses a world-readable file).
    std::fs::set_permissions(&tokens, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let journal = dir.join("journal.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .args(["run", "--logs", "--listen", "127.0.0.1:0"])
        .arg("--tokens")
        .arg(&tokens)
        .arg("--journal")
        .arg(&journal)
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
    let follower = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .args(["events", "--follow", "--api", &api, "--token", VIEWER])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn follower");

    let o = linevisor(&api, Some(VIEWER), &["status", "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("status JSON");
    let demo_drives = linevisor_config::DEMO_LINE.matches("[[drive]]").count();
    assert_eq!(v["drives"].as_array().map(Vec::len), Some(demo_drives));
    let o = linevisor(&api, Some(VIEWER), &["status"]);
    assert!(text(&o.stdout).contains("labeler"), "{}", text(&o.stdout));
    assert_fails(&linevisor(&api, None, &["status"]), "401");

    let o = linevisor(&api, Some(OPERATOR), &["drive", "labeler", "enable"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("labeler: enable acknowledged; state operation_enabled"));
    let o = linevisor(
        &api,
        Some(OPERATOR),
        &["drive", "labeler", "set_velocity", "100"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_fails(
        &linevisor(
            &api,
            Some(OPERATOR),
            &["drive", "labeler", "set_velocity", "99999"],
        ),
        "1500",
    );
    assert_fails(
        &linevisor(&api, Some(VIEWER), &["drive", "labeler", "stop"]),
        "403",
    );
    assert_fails(
        &linevisor(&api, Some(OPERATOR), &["drive", "labeler", "launch"]),
        "unknown command",
    );
    assert_fails(
        &linevisor(&api, Some(OPERATOR), &["drive", "ghost", "stop"]),
        "no drive \"ghost\"",
    );

    assert_fails(
        &linevisor(&api, Some(OPERATOR), &["restart", "labeler"]),
        "403",
    );
    let o = linevisor(&api, Some(ADMIN), &["restart", "labeler"]);
    assert_eq!(
        text(&o.stdout).trim(),
        "drive labeler restarted",
        "{}",
        text(&o.stderr)
    );
    let o = linevisor(&api, Some(ADMIN), &["restart", "sim-modbus"]);
    assert_eq!(
        text(&o.stdout).trim(),
        "bus sim-modbus restarted",
        "{}",
        text(&o.stderr)
    );
    assert_fails(
        &linevisor(&api, Some(ADMIN), &["restart", "ghost"]),
        "no drive or bus \"ghost\"",
    );

    let o = linevisor(&api, Some(VIEWER), &["events"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("\"command_completed\""),
        "{}",
        text(&o.stdout)
    );

    // SIGTERM: the line stops cleanly, the event stream ends, the journal tells the story.
    let pid = running.0.id().to_string();
    let term = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(term.success());
    let mut running = running;
    let status = running.0.wait().expect("wait");
    let logs = logs.join().unwrap_or_default();
    assert!(status.success(), "{logs}");
    let followed = follower.wait_with_output().expect("follower");
    assert!(followed.status.success(), "{}", text(&followed.stderr));
    let followed = text(&followed.stdout);
    assert!(followed.contains("\"command_completed\""), "{followed}");
    assert!(followed.contains("\"source\":\"supervisor\""), "{followed}");

    let records: Vec<serde_json::Value> = std::fs::read_to_string(&journal)
        .expect("journal")
        .lines()
        .filter_map(|l| {
            l.splitn(3, ' ')
                .nth(2)
                .and_then(|j| serde_json::from_str(j).ok())
        })
        .collect();
    let kinds: Vec<&str> = records.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"stopped"), "{kinds:?}");
    let commands = records.iter().filter(|r| r["kind"] == "command").count();
    assert_eq!(
        commands, 3,
        "enable, set_velocity, refused set_velocity: {kinds:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "restart" && r["by"] == "maint")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
