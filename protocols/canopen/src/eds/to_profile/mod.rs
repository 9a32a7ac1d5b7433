//! From a CiA 402 drive's dictionary to a linevisor profile skeleton (TOML text): every CiA 402
//! object as a point, the default PDO sets, identity and device type, the standard CiA 402
//! command/status/fault sections, and comments where the integrator must fill in what an EDS
//! cannot know (units, scaling, limits, homing method).

mod cia402;
mod pdo;
mod points;
mod render;
mod roles;
mod slot;

use crate::eds::EdsError;
use crate::eds::object::Eds;
use crate::pdo::PdoKind;
use points::{PointSpec, Points};
use roles::Roles;

/// What the caller decides rather than the EDS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileOptions {
    /// `[profile] name`; default: vendor and product from the EDS, else `source`'s stem.
    pub name: Option<String>,
    /// `[profile] version`.
    pub version: String,
    /// The EDS file name, shown in comments.
    pub source: String,
}

/// A profile skeleton; [`Skeleton::to_toml`] writes it.
#[derive(Debug, Clone)]
pub struct Skeleton {
    name: String,
    version: String,
    /// Vendor, product, revision.
    device: String,
    description: String,
    source: String,
    points: Vec<PointSpec>,
    skipped: Vec<String>,
    identity: Vec<String>,
    device_type: Option<u32>,
    rpdo: pdo::PdoSet,
    tpdo: pdo::PdoSet,
    roles: Roles,
    notes: Vec<String>,
}

impl Skeleton {
    /// `[profile] name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether some PDO mapping cannot be written by a master (a `ro`/`const` object).
    pub fn mapping_fixed(&self) -> bool {
        self.rpdo.positional || self.tpdo.positional
    }

    /// What the integrator should know: PDO entries a profile cannot express, roles left
    /// unset, points added to the default mapping. Also written as comments.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The profile file.
    pub fn to_toml(&self) -> String {
        render::render(self)
    }
}

/// Builds the skeleton of a CiA 402 drive; fails when the dictionary has no usable
/// controlword (0x6040) or statusword (0x6041).
pub fn to_profile(eds: &Eds, options: &ProfileOptions) -> Result<Skeleton, EdsError> {
    let mut notes = Vec::new();
    let mut points = Points::default();
    for (index, name) in [(0x6040u16, "controlword"), (0x6041, "statusword")] {
        if let Err(why) = points.add(eds, index, 0) {
            return Err(EdsError::NotADrive {
                line: eds.objects.get(&index).map(|o| o.line),
                what: format!("no usable {name} 0x{index:04X} ({why}): not a CiA 402 drive"),
            });
        }
    }
    let controlword = points.at(0x6040, 0).map(|p| p.access);
    if !controlword.is_some_and(|a| a.writable()) {
        return Err(EdsError::NotADrive {
            line: eds.objects.get(&0x6040).map(|o| o.line),
            what: "the controlword 0x6040 is not writable in the EDS".into(),
        });
    }
    let mut skipped = Vec::new();
    for sub in 1..=4 {
        if eds.sub(0x1018, sub).is_some()
            && let Err(why) = points.add(eds, 0x1018, sub)
        {
            skipped.push(why);
        }
    }
    for (index, object) in eds.objects.range(cia402::RANGE) {
        for sub in object.subs.keys() {
            if *sub == 0 && !object.kind.single() {
                continue; // the number of entries
            }
            if let Err(why) = points.add(eds, *index, *sub) {
                skipped.push(why);
            }
        }
    }
    let rpdo = pdo::PdoSet::read(eds, PdoKind::Rpdo, &mut points, &mut notes);
    let mut tpdo = pdo::PdoSet::read(eds, PdoKind::Tpdo, &mut points, &mut notes);
    let roles = Roles::choose(eds, &points, &mut tpdo, &mut notes);
    let identity = [1, 2, 4]
        .into_iter()
        .filter_map(|sub| points.at(0x1018, sub).map(|p| p.name.clone()))
        .collect();
    let device_type = eds
        .sub(0x1000, 0)
        .and_then(|s| s.number()?.fixed())
        .and_then(|v| u32::try_from(v).ok());
    Ok(Skeleton {
        name: options
            .name
            .clone()
            .unwrap_or_else(|| default_name(eds, &options.source)),
        version: options.version.clone(),
        device: device(eds),
        description: match &eds.file_name {
            Some(f) => format!("{}; imported from {f}", device(eds)),
            None => format!("{}; imported from an EDS", device(eds)),
        },
        source: options.source.clone(),
        points: points.all().cloned().collect(),
        skipped,
        identity,
        device_type,
        rpdo,
        tpdo,
        roles,
        notes,
    })
}

/// `vendor-product` from `[DeviceInfo]`, else the file's stem, as a valid profile name.
fn default_name(eds: &Eds, source: &str) -> String {
    let d = &eds.device;
    let vendor = d
        .vendor_name
        .as_deref()
        .and_then(|v| v.split_whitespace().next());
    let parts: Vec<&str> = vendor
        .into_iter()
        .chain(d.product_name.as_deref())
        .collect();
    let stem = std::path::Path::new(source)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("");
    let text = if parts.is_empty() {
        stem.to_owned()
    } else {
        parts.join(" ")
    };
    match points::snake(&text) {
        Some(s) => s.replace('_', "-"),
        None => "imported-drive".into(),
    }
}

fn device(eds: &Eds) -> String {
    let d = &eds.device;
    let mut parts: Vec<String> = Vec::new();
    parts.extend(d.vendor_name.clone());
    parts.extend(d.product_name.clone());
    if let Some(o) = d.order_code.as_deref().filter(|o| o.len() > 1) {
        parts.push(format!("order code {o}"));
    }
    if let Some(r) = d.revision_number {
        parts.push(format!("revision 0x{r:08X}"));
    }
    if parts.is_empty() {
        "CiA 402 drive".to_owned()
    } else {
        parts.join(", ")
    }
}
