//! `[homing]`: how a drive starts homing must fit its command encoding — a homing mode (and
//! method) on CiA 402 drives, a command code on enumerated ones.

use linevisor_core::profile::{CommandEncoding, Protocol};

use crate::diag::{Finding, Path};
use crate::model::Profile;

pub(crate) fn check(pr: &Profile, file: usize, f: &mut Vec<Finding>) {
    let Some(h) = &pr.homing else { return };
    let hp = Path::root().key("homing");
    match pr.command.encoding {
        CommandEncoding::Cia402 => {
            if h.mode.is_none() {
                f.push(
                    Finding::error(file, hp.clone(), "homing on a cia402 drive needs a mode")
                        .hint("mode = 6 (CiA 402 homing mode), with method_point and method"),
                );
            }
            if h.code.is_some() {
                f.push(
                    Finding::error(
                        file,
                        hp.key("code"),
                        "code is for enumerated command encoding",
                    )
                    .hint("a cia402 drive starts homing by mode and controlword bit 4"),
                );
            }
        }
        CommandEncoding::Enumerated => match h.code {
            None => f.push(
                Finding::error(file, hp, "homing on an enumerated drive needs a code")
                    .hint("the command code that starts homing, e.g. code = 9"),
            ),
            Some(code) => {
                let command = pr.points.get(&pr.command.point);
                // A serial command point sends one request per code: it must have one.
                let serial = pr.profile.protocol == Protocol::Serial;
                let sendable = command.is_some_and(|p| {
                    p.write.is_some() || p.write_values.contains_key(&code.to_string())
                });
                if serial && command.is_some() && !sendable {
                    f.push(
                        Finding::error(
                            file,
                            hp.key("code"),
                            format!(
                                "point \"{}\" has no request for code {code}",
                                pr.command.point
                            ),
                        )
                        .hint("add it to the command point's write_values, e.g. 9 = \"{address}SH3F\""),
                    );
                }
            }
        },
    }
}
