//! Serial profile checks: ASCII templates and patterns use known placeholders in the right
//! places; binary layouts fit their frame, do not overlap, and checksums cover bytes that exist.

use std::ops::Range;

use linevisor_core::profile::{
    FieldName, FrameLayout, NumberFormat, PLACEHOLDERS, Point, SerialFraming, SerialRequest,
    SerialSection, placeholders,
};

use crate::diag::{Finding, Path};
use crate::model::Profile;

/// Checks `[serial]` and the serial fields of every point.
pub(crate) fn check(pr: &Profile, file: usize, f: &mut Vec<Finding>) {
    let Some(s) = &pr.serial else { return };
    let sp = Path::root().key("serial");
    match s.framing {
        SerialFraming::Ascii => ascii_section(s, &sp, file, f),
        SerialFraming::Binary => binary_section(s, &sp, file, f),
    }
    for (name, pt) in &pr.points {
        let p = Path::root().key("points").key(name.clone());
        match s.framing {
            SerialFraming::Ascii => ascii_point(pt, &p, file, f),
            SerialFraming::Binary => binary_point(s, pt, &p, file, f),
        }
    }
}

fn ascii_section(s: &SerialSection, sp: &Path, file: usize, f: &mut Vec<Finding>) {
    for (key, text) in [("terminator", &s.terminator), ("nak", &s.nak)] {
        if text.is_empty() {
            f.push(Finding::error(file, sp.key(key), format!("{key} is empty")));
        }
    }
    let max = s.max_reply_bytes;
    super::range(f, file, sp.key("max_reply_bytes"), max, 1, 1024, "bytes");
}

fn ascii_point(pt: &Point, p: &Path, file: usize, f: &mut Vec<Finding>) {
    if pt.access.readable() && pt.read.is_some() && pt.response_bytes.is_none() {
        f.push(
            Finding::error(
                file,
                p.clone(),
                "a readable serial point needs response_bytes",
            )
            .hint("the typical reply length, terminator included; the load model uses it"),
        );
    }
    for (key, req, value_wanted) in [("read", &pt.read, false), ("write", &pt.write, true)] {
        let Some(req) = req else { continue };
        let mut with_value = 0;
        for (rp, part) in parts(req, &p.key(key), key == "write", file, f) {
            let Some(t) = ascii_template(part, &rp, file, f) else {
                continue;
            };
            template(t, &rp, &PLACEHOLDERS, file, f);
            if placeholders(t).is_ok_and(|v| v.contains(&"value")) {
                with_value += 1;
                if !value_wanted {
                    f.push(
                        Finding::error(file, rp, "a read template cannot use {value}")
                            .hint("the value comes back in the reply; see pattern"),
                    );
                }
            }
        }
        if value_wanted && with_value == 0 {
            f.push(
                Finding::error(file, p.key(key), "a write template needs {value}")
                    .hint("e.g. \"{address}VE{value}\", or in one request of a sequence"),
            );
        }
    }
    for (code, req) in &pt.write_values {
        let vp = p.key("write_values").key(code.clone());
        code_ok(code, &vp, file, f);
        for (rp, part) in parts(req, &vp, true, file, f) {
            if let Some(t) = ascii_template(part, &rp, file, f) {
                template(t, &rp, &PLACEHOLDERS, file, f);
            }
        }
    }
    if let Some(pat) = &pt.pattern {
        template(pat, &p.key("pattern"), &["value"], file, f);
        let n = placeholders(pat).map_or(0, |v| v.iter().filter(|n| **n == "value").count());
        if n != 1 {
            f.push(
                Finding::error(
                    file,
                    p.key("pattern"),
                    "a pattern needs exactly one {value}",
                )
                .hint("e.g. \"IP={value}\""),
            );
        }
    }
    if pt.decimals.is_some() {
        if !pt.data_type.integer() {
            f.push(
                Finding::error(file, p.key("decimals"), "decimals needs an integer type")
                    .hint("fixed-point text maps to a raw integer; use i32 or u32"),
            );
        } else if pt.format == NumberFormat::Hex {
            f.push(Finding::error(
                file,
                p.key("decimals"),
                "decimals needs format decimal",
            ));
        }
    }
}

/// The requests of `req` with their paths; a sequence only where `sequence_ok` (writes), of
/// one level, not empty.
fn parts<'r>(
    req: &'r SerialRequest,
    p: &Path,
    sequence_ok: bool,
    file: usize,
    f: &mut Vec<Finding>,
) -> Vec<(Path, &'r SerialRequest)> {
    let SerialRequest::Sequence(items) = req else {
        return vec![(p.clone(), req)];
    };
    if !sequence_ok {
        f.push(
            Finding::error(file, p.clone(), "a read is one request, not a sequence")
                .hint("only writes may send several requests in order"),
        );
        return Vec::new();
    }
    if items.is_empty() {
        f.push(Finding::error(
            file,
            p.clone(),
            "an empty sequence sends nothing",
        ));
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if matches!(item, SerialRequest::Sequence(_)) {
            f.push(Finding::error(
                file,
                p.index(i),
                "a sequence cannot contain a sequence",
            ));
        } else {
            out.push((p.index(i), item));
        }
    }
    out
}

fn ascii_template<'r>(
    part: &'r SerialRequest,
    p: &Path,
    file: usize,
    f: &mut Vec<Finding>,
) -> Option<&'r str> {
    let t = part.template();
    if t.is_none() {
        f.push(
            Finding::error(
                file,
                p.clone(),
                "an ascii profile's requests are text templates",
            )
            .hint("write e.g. \"{address}IP\", or set [serial] framing = \"binary\""),
        );
    }
    t
}

/// A `write_values` key is the raw value it stands for.
fn code_ok(code: &str, p: &Path, file: usize, f: &mut Vec<Finding>) {
    if code.parse::<i64>().is_err() {
        f.push(
            Finding::error(
                file,
                p.clone(),
                format!("\"{code}\" is not an integer value"),
            )
            .hint("write_values keys are the raw values written, e.g. 1 = \"{address}ME\""),
        );
    }
}

/// Reports unknown placeholders and an unclosed `{` in a template.
fn template(t: &str, p: &Path, known: &[&str], file: usize, f: &mut Vec<Finding>) {
    match placeholders(t) {
        Err(at) => f.push(
            Finding::error(file, p.clone(), format!("unclosed {{ at character {at}"))
                .hint("placeholders are {address} and {value}"),
        ),
        Ok(names) => {
            for n in names.into_iter().filter(|n| !known.contains(n)) {
                f.push(
                    Finding::error(file, p.clone(), format!("unknown placeholder {{{n}}}"))
                        .suggest(n, known.iter().copied()),
                );
            }
        }
    }
}

fn binary_section(s: &SerialSection, sp: &Path, file: usize, f: &mut Vec<Finding>) {
    let Some(frame) = s.frame_bytes else {
        f.push(
            Finding::error(file, sp.clone(), "binary framing needs frame_bytes")
                .hint("e.g. frame_bytes = 9 (TMCL)"),
        );
        return;
    };
    super::range(f, file, sp.key("frame_bytes"), frame, 1, 256, "bytes");
    for (key, layout) in [("request", &s.request), ("reply", &s.reply)] {
        match layout {
            None => f.push(
                Finding::error(
                    file,
                    sp.clone(),
                    format!("binary framing needs [serial.{key}]"),
                )
                .hint("fields = [{ name = \"value\", offset = 4, width = 4 }, ...]"),
            ),
            Some(l) => {
                layout_checks(l, u64::from(frame), &sp.key(key), file, f);
                if l.field(FieldName::Value).is_none() {
                    f.push(Finding::error(
                        file,
                        sp.key(key).key("fields"),
                        "the layout has no value field",
                    ));
                }
            }
        }
    }
}

fn layout_checks(l: &FrameLayout, frame: u64, p: &Path, file: usize, f: &mut Vec<Finding>) {
    let mut taken: Vec<(Range<u64>, String)> = Vec::new();
    for (i, fd) in l.fields.iter().enumerate() {
        let fp = p.key("fields").index(i);
        if ![1, 2, 4].contains(&fd.width) {
            f.push(Finding::error(
                file,
                fp.key("width"),
                "width is 1, 2 or 4 bytes",
            ));
            continue;
        }
        let r = fd.range();
        if r.end > frame {
            f.push(
                Finding::error(
                    file,
                    fp.key("offset"),
                    format!(
                        "bytes {}..{} run past the {frame}-byte frame",
                        r.start, r.end
                    ),
                )
                .hint("offsets count from 0; check frame_bytes"),
            );
        }
        if l.fields[..i].iter().any(|o| o.name == fd.name) {
            f.push(Finding::error(
                file,
                fp.key("name"),
                format!("field {} appears twice", fd.name.name()),
            ));
        }
        overlap(&mut taken, r, fd.name.name(), &fp, file, f);
    }
    let Some(c) = &l.checksum else { return };
    let cp = p.key("checksum");
    let [start, end] = c.over.map(u64::from);
    if start >= end || end > frame {
        f.push(
            Finding::error(
                file,
                cp.key("over"),
                format!("checksum over bytes [{start}, {end}) of a {frame}-byte frame"),
            )
            .hint("over = [start, end), end exclusive, within frame_bytes"),
        );
    }
    let at = c.position();
    if at.end > frame {
        f.push(Finding::error(
            file,
            cp.key("at"),
            format!(
                "checksum bytes {}..{} run past the {frame}-byte frame",
                at.start, at.end
            ),
        ));
    }
    if at.start < end && start < at.end {
        f.push(
            Finding::error(file, cp.key("at"), "the checksum covers its own position")
                .hint("e.g. over = [0, 8], at = 8"),
        );
    }
    overlap(&mut taken, at, "checksum", &cp.key("at"), file, f);
}

fn overlap(
    taken: &mut Vec<(Range<u64>, String)>,
    r: Range<u64>,
    name: &str,
    p: &Path,
    file: usize,
    f: &mut Vec<Finding>,
) {
    if let Some((o, other)) = taken
        .iter()
        .find(|(o, _)| o.start < r.end && r.start < o.end)
    {
        f.push(
            Finding::error(
                file,
                p.clone(),
                format!(
                    "{name} (bytes {}..{}) overlaps {other} (bytes {}..{})",
                    r.start, r.end, o.start, o.end
                ),
            )
            .hint("each byte belongs to one field"),
        );
    }
    taken.push((r, name.to_owned()));
}

fn binary_point(s: &SerialSection, pt: &Point, p: &Path, file: usize, f: &mut Vec<Finding>) {
    let mut requests = Vec::new();
    if let Some(r) = &pt.read {
        requests.extend(parts(r, &p.key("read"), false, file, f));
    }
    if let Some(r) = &pt.write {
        requests.extend(parts(r, &p.key("write"), true, file, f));
    }
    for (code, r) in &pt.write_values {
        let vp = p.key("write_values").key(code.clone());
        code_ok(code, &vp, file, f);
        requests.extend(parts(r, &vp, true, file, f));
    }
    for (rp, req) in requests {
        match req {
            SerialRequest::Sequence(_) => {}
            SerialRequest::Template(_) => f.push(
                Finding::error(
                    file,
                    rp.clone(),
                    "a binary profile's requests are field values",
                )
                .hint("write e.g. { command = 6, type = 1, bank = 0 }"),
            ),
            SerialRequest::Fields(values) => {
                for name in values.keys() {
                    let fp = rp.key(name.name());
                    if matches!(name, FieldName::Value | FieldName::Address) {
                        f.push(Finding::error(
                            file,
                            fp,
                            format!("{} is filled in by the bus, not the point", name.name()),
                        ));
                    } else if s.request.as_ref().is_some_and(|l| l.field(*name).is_none()) {
                        f.push(Finding::error(
                            file,
                            fp,
                            format!("the request layout has no {} field", name.name()),
                        ));
                    }
                }
            }
        }
    }
    if pt.pattern.is_some() || pt.decimals.is_some() {
        f.push(Finding::error(
            file,
            p.clone(),
            "pattern and decimals apply to ascii framing only",
        ));
    }
}
