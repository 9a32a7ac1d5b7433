//! `[realtime]` checks: the priority's range, CPU lists without repeats and within what Linux
//! can address, settings that need cycle threads when there are none, and a warning when the
//! cycle threads share CPUs with everything else. Whether this machine grants the priority is
//! only known at start; `linevisor run` refuses to start, naming the capability, if not.

use std::collections::BTreeSet;

use super::range;
use crate::diag::{Finding, Path};
use crate::load::Decoded;
use crate::model::CycleThreads;

/// CPUs a Linux CPU set can name (`CPU_SETSIZE`).
const MAX_CPUS: usize = 1024;

pub(crate) fn check(d: &Decoded, f: &mut Vec<Finding>) {
    let Some(r) = d.realtime.as_ref() else {
        return;
    };
    let p = Path::root().key("realtime");
    if let Some(priority) = r.priority {
        range(f, 0, p.key("priority"), priority, 1, 99, "");
    }
    let here = std::thread::available_parallelism().map_or(0, usize::from);
    for (key, cpus) in [("cpus", &r.cpus), ("other_cpus", &r.other_cpus)] {
        let mut seen = BTreeSet::new();
        for (i, &cpu) in cpus.iter().enumerate() {
            let at = p.key(key).index(i);
            if cpu >= MAX_CPUS {
                f.push(Finding::error(
                    0,
                    at,
                    format!("CPU {cpu} is out of range; allowed 0–{}", MAX_CPUS - 1),
                ));
            } else if !seen.insert(cpu) {
                f.push(Finding::error(0, at, format!("CPU {cpu} is listed twice")));
            } else if here > 0 && cpu >= here {
                f.push(
                    Finding::warning(0, at, format!("this machine has no CPU {cpu}")).hint(
                        format!(
                            "it has {here} (0–{}); `linevisor run` refuses a CPU it does not have",
                            here - 1
                        ),
                    ),
                );
            }
        }
    }
    if r.cycle_threads == CycleThreads::Off {
        for (key, set) in [
            ("priority", r.priority.is_some()),
            ("cpus", !r.cpus.is_empty()),
        ] {
            if set {
                f.push(
                    Finding::error(0, p.key(key), format!("{key} needs cycle threads"))
                        .hint("set cycle_threads = \"per_bus\" or \"shared\", or remove it"),
                );
            }
        }
    }
    let shared: Vec<usize> = r
        .cpus
        .iter()
        .filter(|c| r.other_cpus.contains(c))
        .copied()
        .collect();
    if !shared.is_empty() {
        f.push(
            Finding::warning(
                0,
                p.key("other_cpus"),
                format!("CPUs {shared:?} carry both the cycle threads and everything else"),
            )
            .hint("give the cycle threads CPUs of their own, or rely on priority alone"),
        );
    }
}
