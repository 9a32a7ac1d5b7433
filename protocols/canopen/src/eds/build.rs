//! From INI sections to the object dictionary: `[1000]` objects, `[1018sub1]` sub-objects,
//! `CompactSubObj` with `[1003Name]`/`[1003Value]`, `[DeviceInfo]` and the DCF's
//! `[DeviceComissioning]`. Which sections exist decides what is read; the object lists
//! (`[OptionalObjects]` …) only produce warnings when they name a missing object.

use std::collections::BTreeMap;

use super::ini::{Entry, Section, shorten};
use super::object::{AccessType, DataType, DeviceInfo, Eds, Object, ObjectKind, SubObject, Value};
use super::{EdsError, Number};

/// What a section header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Name {
    Object(u16),
    Sub(u16, u8),
    CompactNames(u16),
    CompactValues(u16),
    Other,
}

fn classify(name: &str) -> Name {
    let lower = name.to_ascii_lowercase();
    let hex16 = |s: &str| (1..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit());
    let index = |s: &str| u16::from_str_radix(s, 16).ok().filter(|_| hex16(s));
    if let Some(i) = index(&lower) {
        return Name::Object(i);
    }
    if let Some((i, s)) = lower.split_once("sub")
        && let Some(i) = index(i)
        && (1..=2).contains(&s.len())
        && let Ok(s) = u8::from_str_radix(s, 16)
    {
        return Name::Sub(i, s);
    }
    if let Some(i) = lower.strip_suffix("name").and_then(index) {
        return Name::CompactNames(i);
    }
    if let Some(i) = lower.strip_suffix("value").and_then(index) {
        return Name::CompactValues(i);
    }
    Name::Other
}

/// Builds the dictionary from the sections of one file.
pub(crate) fn build(sections: &[Section]) -> Result<Eds, EdsError> {
    let mut eds = Eds::default();
    let mut named: BTreeMap<Name, &Section> = BTreeMap::new();
    let mut others: BTreeMap<String, &Section> = BTreeMap::new();
    for s in sections {
        check_keys(s)?;
        match classify(&s.name) {
            Name::Other => {
                let key = s.name.to_ascii_lowercase();
                if let Some(first) = others.get(&key) {
                    let what =
                        format!("[{}] again (first at line {}); ignored", s.name, first.line);
                    eds.warnings.push((s.line, what));
                } else {
                    others.insert(key, s);
                }
            }
            n => {
                if let Some(first) = named.insert(n, s) {
                    return Err(EdsError::Duplicate {
                        line: s.line,
                        section: s.name.clone(),
                        first: first.line,
                    });
                }
            }
        }
    }
    if let Some(s) = others.get("deviceinfo") {
        eds.device = device_info(s)?;
    }
    eds.file_name = others
        .get("fileinfo")
        .and_then(|s| s.value("FileName"))
        .map(|e| e.value.clone());
    if let Some(s) = others.get("devicecomissioning")
        && let Some(e) = s.value("NodeID")
    {
        eds.node_id = Some(unsigned(s, e, 127)? as u8);
    }
    for (name, s) in &named {
        match *name {
            Name::Object(index) => {
                let object = object(index, s, &named)?;
                eds.objects.insert(index, object);
            }
            Name::Sub(index, _) if !named.contains_key(&Name::Object(index)) => {
                let what = format!("[{}] has no object section [{index:04X}]; ignored", s.name);
                eds.warnings.push((s.line, what));
            }
            _ => {}
        }
    }
    for list in ["mandatoryobjects", "optionalobjects", "manufacturerobjects"] {
        if let Some(s) = others.get(list) {
            listed(
                s,
                &eds.objects.keys().copied().collect::<Vec<_>>(),
                &mut eds.warnings,
            );
        }
    }
    eds.warnings.sort_by_key(|w| w.0);
    Ok(eds)
}

/// A key repeated with another value is ambiguous; repeated as is, harmless.
fn check_keys(s: &Section) -> Result<(), EdsError> {
    for (i, e) in s.entries.iter().enumerate() {
        if let Some(first) = s.entries[..i]
            .iter()
            .find(|f| f.key.eq_ignore_ascii_case(&e.key))
            && first.value != e.value
            && classify(&s.name) != Name::Other
        {
            return Err(EdsError::DuplicateKey {
                line: e.line,
                section: s.name.clone(),
                key: e.key.clone(),
                first: first.line,
            });
        }
    }
    Ok(())
}

fn device_info(s: &Section) -> Result<DeviceInfo, EdsError> {
    let text = |k: &str| s.value(k).map(|e| e.value.clone());
    let num = |k: &str| {
        s.value(k)
            .map(|e| unsigned(s, e, u32::MAX.into()).map(|v| v as u32))
            .transpose()
    };
    Ok(DeviceInfo {
        vendor_name: text("VendorName"),
        vendor_number: num("VendorNumber")?,
        product_name: text("ProductName"),
        product_number: num("ProductNumber")?,
        revision_number: num("RevisionNumber")?,
        order_code: text("OrderCode"),
    })
}

fn object(index: u16, s: &Section, named: &BTreeMap<Name, &Section>) -> Result<Object, EdsError> {
    let kind = match s.value("ObjectType") {
        None => ObjectKind::Var,
        Some(e) => ObjectKind::parse(&e.value).ok_or_else(|| {
            bad(
                s,
                e,
                "not an object type (0x7 VAR, 0x8 ARRAY, 0x9 RECORD, …)",
            )
        })?,
    };
    let mut subs = BTreeMap::new();
    if kind.single() {
        subs.insert(0, sub_object(s)?);
    } else if kind != ObjectKind::Null {
        let compact = match s.value("CompactSubObj") {
            Some(e) => unsigned(s, e, 254)? as u8,
            None => 0,
        };
        if compact > 0 {
            compact_subs(index, s, compact, named, &mut subs)?;
        }
        for (name, sub_section) in named.range(Name::Sub(index, 0)..=Name::Sub(index, 255)) {
            if let Name::Sub(_, sub) = name {
                subs.insert(*sub, sub_object(sub_section)?);
            }
        }
    }
    Ok(Object {
        index,
        name: s
            .get("ParameterName")
            .map(|e| e.value.clone())
            .unwrap_or_default(),
        kind,
        subs,
        line: s.line,
    })
}

/// `CompactSubObj=n`: sub 0 holds n, subs 1..=n share the object's type, access and mapping;
/// names and values may come from `[xxxxName]` / `[xxxxValue]` (`NrOfEntries`, `1=…`).
fn compact_subs(
    index: u16,
    s: &Section,
    n: u8,
    named: &BTreeMap<Name, &Section>,
    subs: &mut BTreeMap<u8, SubObject>,
) -> Result<(), EdsError> {
    let template = sub_object(s)?;
    subs.insert(
        0,
        SubObject {
            name: "Number of entries".into(),
            data_type: DataType(0x0005),
            access: AccessType::Ro,
            default: Some(Value::Int(Number::plain(n.into()))),
            parameter_value: None,
            low_limit: None,
            high_limit: None,
            pdo_mapping: false,
            line: s.line,
        },
    );
    let names = named.get(&Name::CompactNames(index));
    let values = named.get(&Name::CompactValues(index));
    for i in 1..=n {
        let mut sub = template.clone();
        sub.default = None;
        sub.parameter_value = None;
        sub.name = format!("{}{i}", template.name);
        if let Some(e) = names.and_then(|ns| ns.value(&i.to_string())) {
            sub.name = e.value.clone();
        }
        if let Some(vs) = values
            && let Some(e) = vs.value(&i.to_string())
        {
            sub.default = Some(value(vs, e, template.data_type)?);
            sub.line = e.line;
        }
        subs.insert(i, sub);
    }
    Ok(())
}

/// The value part of a section: type, access, values, limits, mapping.
fn sub_object(s: &Section) -> Result<SubObject, EdsError> {
    let missing = |key: &str| EdsError::Missing {
        line: s.line,
        section: s.name.clone(),
        key: key.into(),
    };
    let e = s.value("DataType").ok_or_else(|| missing("DataType"))?;
    let data_type =
        DataType::parse(&e.value).ok_or_else(|| bad(s, e, "not a data type (e.g. 0x0007)"))?;
    let e = s.value("AccessType").ok_or_else(|| missing("AccessType"))?;
    let access = AccessType::parse(&e.value)
        .ok_or_else(|| bad(s, e, "not an access type (ro, wo, rw, rwr, rww, const)"))?;
    let opt_value = |k: &str| s.value(k).map(|e| value(s, e, data_type)).transpose();
    let limit = |k: &str| -> Result<Option<Number>, EdsError> {
        match (s.value(k), data_type.integer_bits()) {
            (Some(e), Some(_)) => match value(s, e, data_type)? {
                Value::Int(n) => Ok(Some(n)),
                Value::Text(_) => Ok(None),
            },
            _ => Ok(None),
        }
    };
    let pdo_mapping = match s.value("PDOMapping") {
        Some(e) => unsigned(s, e, 1)? == 1,
        None => false,
    };
    Ok(SubObject {
        name: s
            .get("ParameterName")
            .map(|e| e.value.clone())
            .unwrap_or_default(),
        data_type,
        access,
        default: opt_value("DefaultValue")?,
        parameter_value: opt_value("ParameterValue")?,
        low_limit: limit("LowLimit")?,
        high_limit: limit("HighLimit")?,
        pdo_mapping,
        line: s.line,
    })
}

/// An integer type's value must be a number that fits its width (hexadecimal two's complement
/// of signed types allowed, as vendors write `0xFFFF` for -1); other types keep their text.
fn value(s: &Section, e: &Entry, data_type: DataType) -> Result<Value, EdsError> {
    let Some(bits) = data_type.integer_bits() else {
        return Ok(Value::Text(e.value.clone()));
    };
    let n = Number::parse(&e.value).map_err(|what| bad(s, e, &what))?;
    let bits = bits.max(8);
    let lo = -(1i128 << (bits - 1));
    let hi = (1i128 << bits) - 1;
    let top = n.resolve(127);
    if n.base < lo || top > hi {
        let what = format!("does not fit {}", data_type.name());
        return Err(bad(s, e, &what));
    }
    Ok(Value::Int(n))
}

/// A plain non-negative number up to `max`.
fn unsigned(s: &Section, e: &Entry, max: i128) -> Result<i128, EdsError> {
    match Number::parse(&e.value)
        .map_err(|what| bad(s, e, &what))?
        .fixed()
    {
        Some(v) if (0..=max).contains(&v) => Ok(v),
        _ => Err(bad(s, e, &format!("expected a number 0–{max}"))),
    }
}

fn bad(s: &Section, e: &Entry, what: &str) -> EdsError {
    EdsError::Value {
        line: e.line,
        section: s.name.clone(),
        key: e.key.clone(),
        value: shorten(&e.value),
        what: what.to_owned(),
    }
}

/// `1=0x1000` entries naming objects the file does not define.
fn listed(s: &Section, defined: &[u16], warnings: &mut Vec<(usize, String)>) {
    for e in &s.entries {
        if e.key.eq_ignore_ascii_case("SupportedObjects") {
            continue;
        }
        let index = Number::parse(&e.value)
            .ok()
            .and_then(Number::fixed)
            .and_then(|v| u16::try_from(v).ok());
        match index {
            Some(i) if defined.contains(&i) => {}
            Some(i) => warnings.push((
                e.line,
                format!("[{}] lists 0x{i:04X}, which has no section", s.name),
            )),
            None => warnings.push((
                e.line,
                format!(
                    "[{}] {}={}: not an object index",
                    s.name,
                    e.key,
                    shorten(&e.value)
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_names_in_any_case() {
        assert_eq!(classify("1018"), Name::Object(0x1018));
        assert_eq!(classify("1a00"), Name::Object(0x1A00));
        assert_eq!(classify("1018sub1"), Name::Sub(0x1018, 1));
        assert_eq!(classify("1018SUB1"), Name::Sub(0x1018, 1));
        assert_eq!(classify("1003subA"), Name::Sub(0x1003, 0x0A));
        assert_eq!(classify("1003sub10"), Name::Sub(0x1003, 0x10));
        assert_eq!(classify("1003Name"), Name::CompactNames(0x1003));
        assert_eq!(classify("1003value"), Name::CompactValues(0x1003));
        assert_eq!(classify("DeviceInfo"), Name::Other);
        assert_eq!(classify("12345"), Name::Other);
        assert_eq!(classify("1003sub100"), Name::Other);
    }
}
