//! The skeleton as a profile file: the sections `configs/profiles/*.toml` use, in their order,
//! with comments saying where each value came from and what to fill in.

use super::Skeleton;
use super::pdo::PdoSet;
use super::roles::Role;

/// Placeholder units: CiA 402 values are raw increments until the integrator says otherwise.
const UNITS: [(&str, &str); 3] = [
    ("position", "counts"),
    ("velocity", "counts/s"),
    ("acceleration", "counts/s^2"),
];

#[derive(Default)]
struct Out(String);

impl Out {
    fn line(&mut self, text: impl AsRef<str>) {
        self.0.push_str(text.as_ref());
        self.0.push('\n');
    }
    fn comment(&mut self, text: &str) {
        if text.is_empty() {
            self.line("#");
        } else {
            self.line(format!("# {}", clean(text)));
        }
    }
}

pub(super) fn render(s: &Skeleton) -> String {
    let mut o = Out::default();
    header(&mut o, s);
    if !s.identity.is_empty() {
        o.comment("Identity 0x1018: a different value means the unit was swapped.");
        o.line(format!("identity = [{}]", list(&s.identity)));
        o.line("");
    }
    o.line("[profile]");
    o.line(format!("name = {}", quote(&s.name)));
    o.line(format!("version = {}", quote(&s.version)));
    o.line("protocol = \"canopen\"");
    o.line(format!("description = {}", quote(&s.description)));
    o.line("");
    o.line("[units]");
    o.comment("FILL IN: the drive's user units (its manual, CiA 402 factor group 0x608F–0x60A4).");
    o.comment("Until then every motion value is the raw CiA 402 value.");
    for (k, v) in UNITS {
        o.line(format!("{k} = {}", quote(v)));
    }
    o.line("");
    points(&mut o, s);
    canopen(&mut o, s);
    command_status_fault(&mut o, s);
    roles(&mut o, "setpoints", &s.roles.setpoints);
    roles(&mut o, "telemetry", &s.roles.telemetry);
    parameters(&mut o, s);
    if let Some(method) = &s.roles.homing {
        o.line("[homing]");
        o.line("mode = 6");
        o.line(format!("method_point = {}", quote(method)));
        o.comment("method = 35   FILL IN the homing method the machine uses (drive manual);");
        o.comment("without it the method stored in the drive runs.");
    }
    o.0
}

fn header(o: &mut Out, s: &Skeleton) {
    o.comment(&format!("CANopen profile skeleton of {},", s.device));
    o.comment(&format!(
        "written by `linevisor profile from-eds` from {}.",
        s.source
    ));
    o.comment("");
    o.comment("FILL IN what an EDS cannot know (marked below): [units] and the `scale` of the");
    o.comment("motion points, parameter min/max the EDS does not give, the homing method.");
    o.comment("Then reference the profile from a drive and run `linevisor check` (see");
    o.comment("docs/config.md, \"Importing an EDS\"). Any later change needs a new version.");
    if !s.notes.is_empty() {
        o.comment("");
        o.comment("Import notes:");
        for n in &s.notes {
            o.comment(&format!("  - {n}"));
        }
    }
    o.line("");
}

fn points(o: &mut Out, s: &Skeleton) {
    o.line("[points]");
    o.comment("Raw values. FILL IN `scale` (engineering = raw × scale + offset) on the motion");
    o.comment("points: position_actual, target_position (position unit), velocity_actual,");
    o.comment(
        "target_velocity, profile_velocity (velocity unit), profile_acceleration … (acceleration).",
    );
    for p in &s.points {
        let mut fields = format!("index = 0x{:04X}", p.index);
        if p.subindex != 0 {
            fields.push_str(&format!(", subindex = {}", p.subindex));
        }
        fields.push_str(&format!(", type = {}", quote(p.ty)));
        if p.profile_access() != "r" {
            fields.push_str(&format!(", access = {}", quote(p.profile_access())));
        }
        let comment = if p.comment.is_empty() {
            String::new()
        } else {
            format!("   # {}", clean(&p.comment))
        };
        o.line(format!("{} = {{ {fields} }}{comment}", p.name));
    }
    if !s.skipped.is_empty() {
        o.comment("Not points (no profile type holds them):");
        for why in &s.skipped {
            o.comment(&format!("  {why}"));
        }
    }
    o.line("");
}

fn canopen(o: &mut Out, s: &Skeleton) {
    o.line("[canopen]");
    if s.mapping_fixed() {
        o.comment(
            "mapping is fixed (ro) in the EDS: linevisor reads and compares it, never writes",
        );
        o.comment("(a master cannot write it; the sets below are the drive's own, by PDO number)");
        o.line("pdo_mapping = \"verify\"");
    } else {
        o.comment("The EDS lets a master write every PDO mapping: linevisor maps the sets below");
        o.comment("at boot (the EDS defaults, plus what linevisor reads every cycle).");
    }
    match s.device_type {
        Some(d) if d & 0xFFFF == 0x0192 => {
            o.line(format!(
                "device_type = 0x{d:08X}   # 0x1000 default; low word 0x0192: CiA 402"
            ));
        }
        Some(d) => {
            o.line(format!(
                "device_type = 0x{d:08X}   # 0x1000 default, as the EDS gives it"
            ));
            o.comment("(its low word is not 0x0192: the EDS does not declare CiA 402 here)");
        }
        None => {
            o.comment("device_type = 0x00020192   FILL IN: the EDS gives no default for 0x1000")
        }
    }
    pdo_set(o, "rpdo", &s.rpdo);
    pdo_set(o, "tpdo", &s.tpdo);
    o.line("");
}

fn pdo_set(o: &mut Out, key: &str, set: &PdoSet) {
    let last = set.pdos.iter().rposition(|p| !p.names.is_empty());
    if set.pdos.is_empty() {
        o.line(format!("{key} = []"));
        return;
    }
    o.line(format!("{key} = ["));
    for (i, p) in set.pdos.iter().enumerate() {
        o.line(format!("    # {}", clean(&p.comment)));
        if last.is_some_and(|l| i <= l) {
            o.line(format!("    [{}],", list(&p.names)));
        }
    }
    o.line("]");
}

fn command_status_fault(o: &mut Out, s: &Skeleton) {
    let r = &s.roles;
    o.line("[command]");
    o.line("encoding = \"cia402\"");
    o.line("point = \"controlword\"");
    if let Some(m) = &r.mode_point {
        o.line(format!("mode_point = {}", quote(m)));
    }
    if let Some(m) = r.supported_modes {
        o.comment(&format!("0x6502 supported drive modes: 0x{m:08X}"));
    }
    for (key, mode) in [
        ("velocity_mode", r.velocity_mode),
        ("position_mode", r.position_mode),
    ] {
        if let Some((value, name)) = mode {
            o.line(format!("{key} = {value}   # {name}"));
        }
    }
    o.line("");
    o.line("[status]");
    o.line("point = \"statusword\"");
    o.line("states = [");
    for (state, mask, value) in [
        ("not_ready_to_switch_on", 0x004F, 0x0000),
        ("switch_on_disabled", 0x004F, 0x0040),
        ("ready_to_switch_on", 0x006F, 0x0021),
        ("switched_on", 0x006F, 0x0023),
        ("operation_enabled", 0x006F, 0x0027),
        ("quick_stop_active", 0x006F, 0x0007),
        ("fault_reaction_active", 0x004F, 0x000F),
        ("fault", 0x004F, 0x0008),
    ] {
        o.line(format!(
            "    {{ state = \"{state}\", mask = 0x{mask:04X}, value = 0x{value:04X} }},"
        ));
    }
    o.line("]");
    o.line("");
    o.line("[fault]");
    role_line(o, &r.fault_code);
    o.line("reset = { method = \"controlword_edge\" }");
    o.line("");
}

fn roles(o: &mut Out, table: &str, roles: &[Role]) {
    o.line(format!("[{table}]"));
    for r in roles {
        role_line(o, r);
    }
    o.line("");
}

fn role_line(o: &mut Out, r: &Role) {
    match &r.point {
        Ok(p) => o.line(format!("{} = {}", r.key, quote(p))),
        Err(why) => o.comment(&format!("{}: not set: {why}", r.key)),
    }
}

fn parameters(o: &mut Out, s: &Skeleton) {
    o.line("[parameters]");
    let unit = quote(UNITS[2].1);
    for p in &s.roles.parameters {
        match (p.min, p.max) {
            (Some(lo), Some(hi)) => o.line(format!(
                "{} = {{ point = {}, min = {}, max = {}, unit = {unit} }}   # EDS limits",
                p.point,
                quote(&p.point),
                number(lo),
                number(hi)
            )),
            _ => o.line(format!(
                "{} = {{ point = {}, unit = {unit} }}   # FILL IN min and max (the EDS gives no limits)",
                p.point,
                quote(&p.point)
            )),
        }
    }
    o.line("");
}

/// A TOML integer, or a float beyond its 64-bit range.
fn number(v: i128) -> String {
    match i64::try_from(v) {
        Ok(i) => i.to_string(),
        Err(_) => format!("{:e}", v as f64),
    }
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| quote(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A TOML basic string.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Comment text on one line (TOML comments may not hold control characters).
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
