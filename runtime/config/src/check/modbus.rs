//! Modbus profile checks: register types and tables, points sharing a register, and the read
//! options of `[modbus]`.

use super::range;
use crate::diag::{Finding, Path};
use crate::model::{Access, PointTable, Profile, Protocol};

/// Checks what only a Modbus profile has.
pub(crate) fn check(pr: &Profile, file: usize, f: &mut Vec<Finding>) {
    if pr.profile.protocol != Protocol::Modbus {
        return;
    }
    let root = Path::root();
    if let Some(m) = &pr.modbus {
        let p = root.key("modbus");
        let max = m.max_registers_per_read;
        range(f, file, p.key("max_registers_per_read"), max, 1, 125, "");
        range(f, file, p.key("span_gaps"), m.span_gaps, 0, 125, "");
    }
    for (name, pt) in &pr.points {
        let p = root.key("points").key(name.clone());
        if pt.table.holds_bits() {
            check_bit_point(pt.table, pt.data_type, pt.access, &p, file, f);
        } else if pt.data_type.bits() < 16 {
            f.push(Finding::error(
                file,
                p.key("type"),
                "modbus registers are 16 or 32 bit",
            ));
        }
    }
    check_overlaps(pr, file, f);
}

/// A coil or discrete input is one bit, read only (coil writes, FC5/FC15, are not supported).
fn check_bit_point(
    table: PointTable,
    data_type: crate::model::DataType,
    access: Access,
    p: &Path,
    file: usize,
    f: &mut Vec<Finding>,
) {
    let what = if table == PointTable::Coil {
        "a coil"
    } else {
        "a discrete input"
    };
    if !data_type.integer() || data_type.signed() {
        f.push(
            Finding::error(
                file,
                p.key("type"),
                format!("{what} is one bit; its type must be unsigned"),
            )
            .hint("use type = \"u16\" (the raw value is 0 or 1)"),
        );
    }
    if access != Access::R {
        f.push(
            Finding::error(
                file,
                p.key("access"),
                format!("{what} is read here, never written"),
            )
            .hint("use access = \"r\"; writing coils (FC5/FC15) is not supported"),
        );
    }
}

/// Two Modbus points sharing a register (bit) would overwrite each other: a 32-bit point takes
/// two registers.
fn check_overlaps(pr: &Profile, file: usize, f: &mut Vec<Finding>) {
    let mut spans: Vec<(PointTable, u32, u32, &str)> = pr
        .points
        .iter()
        .filter_map(|(n, p)| {
            let r = p.register?;
            Some((p.table, r, r + p.modbus_len(), n.as_str()))
        })
        .collect();
    spans.sort_unstable();
    for pair in spans.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.0 == b.0 && b.1 < a.2 {
            let (msg, hint) = if a.0.holds_bits() {
                (
                    format!(
                        "bit {} (0x{:04X}) of point \"{}\" is also used by point \"{}\"",
                        b.1, b.1, b.3, a.3
                    ),
                    "a coil or discrete input is one bit",
                )
            } else {
                (
                    format!(
                        "register {} (0x{:04X}) of point \"{}\" is also used by point \"{}\" (registers {}–{})",
                        b.1,
                        b.1,
                        b.3,
                        a.3,
                        a.1,
                        a.2 - 1
                    ),
                    "a 32-bit point takes two registers",
                )
            };
            f.push(
                Finding::error(
                    file,
                    Path::root().key("points").key(b.3).key("register"),
                    msg,
                )
                .hint(hint),
            );
        }
    }
}
