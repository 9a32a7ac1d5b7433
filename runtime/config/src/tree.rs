//! The supervision tree a valid line would build, as text for `linevisor check`.

use std::fmt::Write as _;

use crate::load::ValidLine;

/// Renders line → buses → drives with each bus's load.
pub fn render(v: &ValidLine) -> String {
    let c = &v.config;
    let mut s = String::new();
    let _ = writeln!(s, "line \"{}\" (cycle {} ms)", c.line.name, c.line.cycle_ms);
    let _ = writeln!(s, "├─ buses supervisor");
    for (i, bus) in c.bus.iter().enumerate() {
        let last = i + 1 == c.bus.len();
        let branch = if last { "└─" } else { "├─" };
        let load = v.loads.iter().find(|l| l.bus == bus.id());
        let pct = match load.and_then(|l| l.percent) {
            Some(p) => format!("load {p:.1}%"),
            None => "load n/a".to_owned(),
        };
        let serial = load
            .and_then(|l| l.serial_percent)
            .map(|p| format!(", serial line {p:.1}%"))
            .unwrap_or_default();
        let mut detail = load.map(|l| l.detail.clone()).unwrap_or_default();
        if let Some(h) = load.and_then(|l| l.silent_hold.as_ref()) {
            let _ = write!(
                detail,
                "; silent, drive {} would hold the line {} ms a cycle",
                h.drive, h.ms
            );
        }
        let _ = writeln!(
            s,
            "│  {branch} bus {} [{}] {pct}{serial} ({detail})",
            bus.id(),
            bus.options().describe()
        );
    }
    let _ = writeln!(s, "├─ drives supervisor");
    for (i, d) in c.drive.iter().enumerate() {
        let last = i + 1 == c.drive.len();
        let branch = if last { "└─" } else { "├─" };
        let cycle = d.cycle_ms.unwrap_or(c.line.cycle_ms);
        let _ = writeln!(
            s,
            "│  {branch} drive {} on {} @{} [{} {}] cycle {cycle} ms, restart {}",
            d.id,
            d.bus,
            d.address,
            d.profile.name,
            d.profile.version,
            match d.restart {
                crate::model::RestartPolicy::Adopt => "adopt",
                crate::model::RestartPolicy::Reinit => "reinit",
            }
        );
    }
    let scheme = if c.control.tls(None).is_some() {
        "https"
    } else {
        "http"
    };
    let _ = writeln!(s, "└─ control plane (API on {scheme}://{})", c.api_listen());
    s
}
