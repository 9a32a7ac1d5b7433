//! The blast radius of a new config: what `apply` would add, remove, replace or restart, and
//! what it leaves untouched. Pure: computed from the running config and the new one.

use std::collections::{BTreeMap, BTreeSet};

use linevisor_config::ValidLine;
use linevisor_config::model::{DriveConfig, LineConfig, Profile};
use serde::Serialize;
use serde_json::Value;

/// What happens to a bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BusAction {
    /// New bus: started.
    Add,
    /// Gone from the config: stopped after its drives.
    Remove,
    /// Settings changed: stopped and started with the new ones; its drives restart.
    Replace,
    /// Not touched.
    Untouched,
}

/// What happens to a drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriveAction {
    /// New drive: started; it must show good samples or the change rolls back.
    Add,
    /// Gone from the config: brought to its `on_stop` safe state and stopped.
    Remove,
    /// New profile or profile version: hand-over to the new version, which must show good
    /// samples, else the previous version runs again.
    Upgrade,
    /// Same profile, other settings (limits, cycle, parameters, safe states, restart policy):
    /// hand-over to a new version, as an upgrade.
    Reconfigure,
    /// Bus or address changed, or its bus is replaced: stopped and started afresh.
    Restart,
    /// Not touched: its actor, its cycle and its state stay as they are.
    Untouched,
}

/// One bus in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusStep {
    pub id: String,
    /// What happens.
    pub action: BusAction,
    /// The keys that differ.
    pub changes: Vec<String>,
}

/// One drive in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriveStep {
    pub id: String,
    /// What happens.
    pub action: DriveAction,
    /// The keys that differ (`limits.velocity_max`, `profile`, ...), or why it is touched.
    pub changes: Vec<String>,
    /// Running `profile@version` (none for an added drive).
    pub from: Option<String>,
    /// New `profile@version` (none for a removed drive).
    pub to: Option<String>,
}

/// The difference between the running line and a new config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Every bus of either config, by id.
    pub buses: Vec<BusStep>,
    /// Every drive of either config, by id.
    pub drives: Vec<DriveStep>,
    /// Changes that cannot be applied to a running line (they need a restart of linevisor).
    pub refused: Vec<String>,
}

/// Line keys a running line takes over live (they only matter when a drive is built).
const LIVE_LINE_KEYS: &[&str] = &[
    "cycle_ms",
    "safe_state",
    "profile_dirs",
    "load_warn_percent",
];

impl Plan {
    /// The plan that turns `old` into `new`.
    pub fn between(old: &ValidLine, new: &ValidLine) -> Plan {
        let (o, n) = (&old.config, &new.config);
        // By id, so a line of thousands of drives is diffed in n log n, not n².
        let (o_buses, n_buses) = (by_id(&o.bus, |b| b.id()), by_id(&n.bus, |b| b.id()));
        let (o_drives, n_drives) = (
            by_id(&o.drive, |d| d.id.as_str()),
            by_id(&n.drive, |d| d.id.as_str()),
        );
        let mut buses = Vec::new();
        for id in ids(o.bus.iter().map(|b| b.id()), n.bus.iter().map(|b| b.id())) {
            let (before, after) = (o_buses.get(id).copied(), n_buses.get(id).copied());
            let (action, changes) = match (before, after) {
                (None, _) => (BusAction::Add, Vec::new()),
                (_, None) => (BusAction::Remove, Vec::new()),
                (Some(b), Some(a)) => {
                    let changes = diff(&json(b), &json(a), "", 1);
                    let action = if changes.is_empty() {
                        BusAction::Untouched
                    } else {
                        BusAction::Replace
                    };
                    (action, changes)
                }
            };
            buses.push(BusStep {
                id: id.to_owned(),
                action,
                changes,
            });
        }
        let replaced: BTreeSet<&str> = buses
            .iter()
            .filter(|b| b.action == BusAction::Replace)
            .map(|b| b.id.as_str())
            .collect();
        let mut drives = Vec::new();
        for id in ids(
            o.drive.iter().map(|d| d.id.as_str()),
            n.drive.iter().map(|d| d.id.as_str()),
        ) {
            let (before, after) = (o_drives.get(id).copied(), n_drives.get(id).copied());
            drives.push(drive_step(old, new, id, before, after, &replaced));
        }
        Plan {
            buses,
            drives,
            refused: refused(o, n),
        }
    }

    /// Drives the plan touches.
    pub fn touched_drives(&self) -> impl Iterator<Item = &DriveStep> {
        self.drives
            .iter()
            .filter(|d| d.action != DriveAction::Untouched)
    }

    /// Whether applying it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.touched_drives().next().is_none()
            && self.buses.iter().all(|b| b.action == BusAction::Untouched)
    }
}

fn drive_step(
    old: &ValidLine,
    new: &ValidLine,
    id: &str,
    before: Option<&DriveConfig>,
    after: Option<&DriveConfig>,
    replaced: &BTreeSet<&str>,
) -> DriveStep {
    let version = |d: &DriveConfig| format!("{}@{}", d.profile.name, d.profile.version);
    let (from, to) = (before.map(version), after.map(version));
    let (action, changes) = match (before, after) {
        (None, _) => (DriveAction::Add, Vec::new()),
        (_, None) => (DriveAction::Remove, Vec::new()),
        (Some(b), Some(a)) => {
            let mut changes = diff(&effective(old, b), &effective(new, a), "", 2);
            if b.profile == a.profile && profile_of(old, b) != profile_of(new, a) {
                changes.push("profile content (same name and version)".to_owned());
            }
            let action = if b.bus != a.bus || b.address != a.address {
                DriveAction::Restart
            } else if replaced.contains(a.bus.as_str()) {
                changes.push(format!("bus \"{}\" is replaced", a.bus));
                DriveAction::Restart
            } else if b.profile != a.profile {
                DriveAction::Upgrade
            } else if changes.is_empty() {
                DriveAction::Untouched
            } else {
                DriveAction::Reconfigure
            };
            (action, changes)
        }
    };
    DriveStep {
        id: id.to_owned(),
        action,
        changes,
        from,
        to,
    }
}

/// The profile a drive uses in `line`.
fn profile_of<'a>(line: &'a ValidLine, d: &DriveConfig) -> Option<&'a Profile> {
    line.profiles
        .get(&(d.profile.name.clone(), d.profile.version.clone()))
        .map(|p| &p.profile)
}

/// A drive's settings with the line defaults it inherits filled in.
fn effective(line: &ValidLine, d: &DriveConfig) -> Value {
    let l = &line.config.line;
    let mut d = d.clone();
    d.cycle_ms = Some(d.cycle_ms.unwrap_or(l.cycle_ms));
    let s = &mut d.safe_state;
    s.on_stop = Some(s.on_stop.unwrap_or(l.safe_state));
    s.on_crash = Some(s.on_crash.unwrap_or(l.safe_state));
    s.on_comm_loss = Some(s.on_comm_loss.unwrap_or(l.safe_state));
    json(&d)
}

/// Keys outside buses and drives whose change a running line cannot take.
fn refused(o: &LineConfig, n: &LineConfig) -> Vec<String> {
    let strip = |c: &LineConfig| {
        let mut v = json(c);
        if let Value::Object(m) = &mut v {
            m.remove("bus");
            m.remove("drive");
            if let Some(Value::Object(line)) = m.get_mut("line") {
                for k in LIVE_LINE_KEYS {
                    line.remove(*k);
                }
            }
        }
        v
    };
    diff(&strip(o), &strip(n), "", 2)
        .into_iter()
        .map(|k| format!("{k} cannot change while the line runs (restart linevisor)"))
        .collect()
}

fn json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Keys (dotted, up to `depth` levels) whose values differ.
fn diff(a: &Value, b: &Value, prefix: &str, depth: usize) -> Vec<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if depth > 0 => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .flat_map(|k| {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    let null = Value::Null;
                    let (u, v) = (x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null));
                    diff(u, v, &path, depth - 1)
                })
                .collect()
        }
        _ if a == b => Vec::new(),
        _ => vec![prefix.to_owned()],
    }
}

/// Ids of both sides, old order first, then the new ones in their order.
fn ids<'a>(old: impl Iterator<Item = &'a str>, new: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = old.collect();
    let mut seen: BTreeSet<&str> = out.iter().copied().collect();
    for id in new {
        if seen.insert(id) {
            out.push(id);
        }
    }
    out
}

/// The first element of each id (as a `find` would), by id.
fn by_id<'a, T>(items: &'a [T], id: impl Fn(&'a T) -> &'a str) -> BTreeMap<&'a str, &'a T> {
    let mut out = BTreeMap::new();
    for item in items {
        out.entry(id(item)).or_insert(item);
    }
    out
}
