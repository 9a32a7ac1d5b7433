//! The curves as an SVG, written by hand (three panels of polylines need no plotting crate):
//! the line's CPU per drive and cycle, its missed cycles and its RSS against the number of
//! drives (log scale), one series per bus kind and cycle.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::Outcome;

const WIDTH: f64 = 760.0;
const PANEL_HEIGHT: f64 = 230.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 70.0;
const GAP: f64 = 70.0;
/// Where a missed share of 0 is drawn on the log axis (%).
const LOG_FLOOR: f64 = 0.001;

struct Panel {
    title: &'static str,
    metric: &'static str,
    log: bool,
}

const PANELS: [Panel; 3] = [
    Panel {
        title: "line CPU per drive and nominal cycle (µs; falls where cycles are missed)",
        metric: "cpu_us_per_drive_cycle",
        log: false,
    },
    Panel {
        title: "missed cycles (%, log scale; 0 drawn at 0.001 %)",
        metric: "missed_cycles_percent",
        log: true,
    },
    Panel {
        title: "line RSS (MiB, max over the window)",
        metric: "rss_window_max_mib",
        log: false,
    },
];

/// A round grid step (1, 2 or 5 × 10ⁿ) giving about five steps up to `max`.
fn nice_step(max: f64) -> f64 {
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
}

fn color(kind: &str) -> &'static str {
    match kind {
        "modbus_tcp" => "#1f77b4",
        "canopen" => "#d62728",
        _ => "#2ca02c",
    }
}

/// (kind, cycle) → [(drives, outcome)], for the outcomes that ran.
type Series<'a> = BTreeMap<(&'static str, u32), Vec<(f64, &'a Outcome)>>;

pub(crate) fn svg(outcomes: &[Outcome]) -> String {
    let mut series: Series<'_> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.figures.is_some()) {
        series
            .entry((o.sc.kind.name(), o.sc.cycle_ms))
            .or_default()
            .push((o.sc.drives as f64, o));
    }
    let xs: Vec<f64> = series.values().flatten().map(|(x, _)| *x).collect();
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min).max(1.0);
    let hi = xs.iter().copied().fold(0.0, f64::max).max(lo * 10.0);
    let (lx, hx) = (lo.log10(), hi.log10());
    let plot_w = WIDTH - LEFT - RIGHT;
    let x_of = |d: f64| LEFT + (d.log10() - lx) / (hx - lx) * plot_w;
    let height = TOP + PANELS.len() as f64 * (PANEL_HEIGHT + GAP);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="20" font-size="14">linevisor scale benchmark: one gateway, simulated drives</text>
<text x="{LEFT}" y="38">2 shared vCPUs; the simulators run in another process on the same vCPUs</text>
"#
    );
    let mut ticks: Vec<f64> = xs.clone();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    for (i, p) in PANELS.iter().enumerate() {
        let top = TOP + i as f64 * (PANEL_HEIGHT + GAP);
        let bottom = top + PANEL_HEIGHT;
        let value = |o: &Outcome| {
            let v = o.get(p.metric)?;
            Some(if p.log { v.max(LOG_FLOOR).log10() } else { v })
        };
        let vals: Vec<f64> = series
            .values()
            .flatten()
            .filter_map(|(_, o)| value(o))
            .collect();
        let (y0, y1) = if p.log {
            let top_decade = vals.iter().copied().fold(0.0, f64::max).ceil().max(0.0);
            (LOG_FLOOR.log10(), top_decade)
        } else {
            let max = vals.iter().copied().fold(0.0, f64::max).max(1e-9);
            (0.0, (max / nice_step(max)).ceil() * nice_step(max))
        };
        let y_of = |v: f64| bottom - (v - y0) / (y1 - y0) * PANEL_HEIGHT;
        let _ = writeln!(
            s,
            r#"<text x="{LEFT}" y="{}" font-size="12">{}</text>"#,
            top - 8.0,
            p.title
        );
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL_HEIGHT}" fill="none" stroke="#999"/>"##
        );
        // y grid: five steps, or one per decade.
        let steps: Vec<f64> = if p.log {
            (y0 as i32..=y1 as i32).map(f64::from).collect()
        } else {
            let step = nice_step(y1);
            (0..=(y1 / step).round() as i32)
                .map(|k| f64::from(k) * step)
                .collect()
        };
        for v in steps {
            let y = y_of(v);
            let label = if p.log {
                format!("{}", 10f64.powf(v))
            } else {
                format!("{}", (v * 1e6).round() / 1e6)
            };
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                y + 4.0
            );
        }
        for &t in &ticks {
            let x = x_of(t);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="#eee"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{t}</text>"##,
                bottom + 14.0
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">drives</text>"#,
            LEFT + plot_w / 2.0,
            bottom + 30.0
        );
        for ((kind, cycle), points) in &series {
            let dash = if *cycle >= 100 {
                r#" stroke-dasharray="6,4""#
            } else {
                ""
            };
            let pts: Vec<(f64, f64)> = points
                .iter()
                .filter_map(|(x, o)| Some((x_of(*x), y_of(value(o)?))))
                .collect();
            let path: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let c = color(kind);
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"{dash}/>"#,
                path.join(" ")
            );
            for (x, y) in pts {
                let _ = writeln!(s, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{c}"/>"#);
            }
        }
    }
    for (k, (kind, cycle)) in series.keys().enumerate() {
        let y = TOP + 10.0 + k as f64 * 18.0;
        let x = WIDTH - RIGHT + 15.0;
        let dash = if *cycle >= 100 {
            r#" stroke-dasharray="6,4""#
        } else {
            ""
        };
        let _ = writeln!(
            s,
            r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="2"{dash}/><text x="{}" y="{}">{kind} {cycle} ms</text>"#,
            x + 28.0,
            color(kind),
            x + 34.0,
            y + 4.0
        );
    }
    s.push_str("</svg>\n");
    s
}
