//! The object dictionary an EDS/DCF describes: objects, their sub-objects, types, access and
//! values, each with the line it was read from.

use std::collections::BTreeMap;

use super::Number;

/// A parsed EDS or DCF file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Eds {
    /// `[DeviceInfo]`.
    pub device: DeviceInfo,
    /// `[FileInfo] FileName`, when given.
    pub file_name: Option<String>,
    /// DCF `[DeviceComissioning] NodeID`, which resolves `$NODEID`.
    pub node_id: Option<u8>,
    /// Objects by index.
    pub objects: BTreeMap<u16, Object>,
    /// Oddities that did not stop the parse, each with its line.
    pub warnings: Vec<(usize, String)>,
}

impl Eds {
    /// The sub-object `index:sub`.
    pub fn sub(&self, index: u16, sub: u8) -> Option<&SubObject> {
        self.objects.get(&index)?.subs.get(&sub)
    }
}

/// `[DeviceInfo]`: who made the device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceInfo {
    /// `VendorName`.
    pub vendor_name: Option<String>,
    /// `VendorNumber` (as 0x1018:1).
    pub vendor_number: Option<u32>,
    /// `ProductName`.
    pub product_name: Option<String>,
    /// `ProductNumber` (as 0x1018:2).
    pub product_number: Option<u32>,
    /// `RevisionNumber` (as 0x1018:3).
    pub revision_number: Option<u32>,
    /// `OrderCode`.
    pub order_code: Option<String>,
}

/// One object (`[6041]`), with its sub-objects: a VAR has only sub-index 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Index.
    pub index: u16,
    /// `ParameterName`.
    pub name: String,
    /// `ObjectType`.
    pub kind: ObjectKind,
    /// Sub-objects by sub-index.
    pub subs: BTreeMap<u8, SubObject>,
    /// Line of the section header.
    pub line: usize,
}

/// CiA 306 object codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// 0x0: no data.
    Null,
    /// 0x2: a large block of data.
    Domain,
    /// 0x5: a type definition.
    DefType,
    /// 0x6: a record type definition.
    DefStruct,
    /// 0x7: one value.
    Var,
    /// 0x8: sub-objects of one type.
    Array,
    /// 0x9: sub-objects of several types.
    Record,
}

impl ObjectKind {
    /// From a code (`0x7`) or a name (`VAR`), as some tools write it.
    pub fn parse(text: &str) -> Option<Self> {
        let by_name = match text.to_ascii_uppercase().as_str() {
            "NULL" => Some(Self::Null),
            "DOMAIN" => Some(Self::Domain),
            "DEFTYPE" => Some(Self::DefType),
            "DEFSTRUCT" => Some(Self::DefStruct),
            "VAR" => Some(Self::Var),
            "ARRAY" => Some(Self::Array),
            "RECORD" => Some(Self::Record),
            _ => None,
        };
        by_name.or_else(|| match Number::parse(text).ok()?.fixed()? {
            0 => Some(Self::Null),
            2 => Some(Self::Domain),
            5 => Some(Self::DefType),
            6 => Some(Self::DefStruct),
            7 => Some(Self::Var),
            8 => Some(Self::Array),
            9 => Some(Self::Record),
            _ => None,
        })
    }

    /// Whether the value sits in the object's own section (not in `sub` sections).
    pub fn single(self) -> bool {
        matches!(self, Self::Var | Self::Domain | Self::DefType)
    }
}

/// One sub-object (or the value of a VAR, at sub-index 0).
#[derive(Debug, Clone, PartialEq)]
pub struct SubObject {
    /// `ParameterName`.
    pub name: String,
    /// `DataType`.
    pub data_type: DataType,
    /// `AccessType`.
    pub access: AccessType,
    /// `DefaultValue`, when not empty.
    pub default: Option<Value>,
    /// DCF `ParameterValue`: the value configured in this device, when not empty.
    pub parameter_value: Option<Value>,
    /// `LowLimit`.
    pub low_limit: Option<Number>,
    /// `HighLimit`.
    pub high_limit: Option<Number>,
    /// `PDOMapping`: may be mapped into a PDO.
    pub pdo_mapping: bool,
    /// Line of the section the value was read from.
    pub line: usize,
}

impl SubObject {
    /// The configured value (DCF) if any, else the default.
    pub fn value(&self) -> Option<&Value> {
        self.parameter_value.as_ref().or(self.default.as_ref())
    }

    /// The value as an integer, when it is one.
    pub fn number(&self) -> Option<Number> {
        match self.value()? {
            Value::Int(n) => Some(*n),
            Value::Text(_) => None,
        }
    }
}

/// A value: an integer for integer types, the text otherwise (strings, reals, domains).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An integer type's value.
    Int(Number),
    /// Anything else, as written.
    Text(String),
}

/// `AccessType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessType {
    /// Read only; may change (an actual value).
    Ro,
    /// Write only.
    Wo,
    /// Read and write.
    Rw,
    /// Read and write, mapped into TPDOs.
    Rwr,
    /// Read and write, mapped into RPDOs.
    Rww,
    /// Read only, never changes.
    Const,
}

impl AccessType {
    /// Any case: `ro`, `wo`, `rw`, `rwr`, `rww`, `const`.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.to_ascii_lowercase().as_str() {
            "ro" => Self::Ro,
            "wo" => Self::Wo,
            "rw" => Self::Rw,
            "rwr" => Self::Rwr,
            "rww" => Self::Rww,
            "const" => Self::Const,
            _ => return None,
        })
    }

    /// An SDO may read it.
    pub fn readable(self) -> bool {
        self != Self::Wo
    }

    /// An SDO may write it.
    pub fn writable(self) -> bool {
        matches!(self, Self::Wo | Self::Rw | Self::Rwr | Self::Rww)
    }

    /// As written in the file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ro => "ro",
            Self::Wo => "wo",
            Self::Rw => "rw",
            Self::Rwr => "rwr",
            Self::Rww => "rww",
            Self::Const => "const",
        }
    }
}

/// A CiA 301 data type by its index (0x0001–0x001F standard, others vendor defined).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataType(pub u16);

impl DataType {
    /// The standard types: code, name, bits, signed (`None`: not an integer).
    const TABLE: [(u16, &'static str, u32, Option<bool>); 27] = [
        (0x0001, "BOOLEAN", 1, Some(false)),
        (0x0002, "INTEGER8", 8, Some(true)),
        (0x0003, "INTEGER16", 16, Some(true)),
        (0x0004, "INTEGER32", 32, Some(true)),
        (0x0005, "UNSIGNED8", 8, Some(false)),
        (0x0006, "UNSIGNED16", 16, Some(false)),
        (0x0007, "UNSIGNED32", 32, Some(false)),
        (0x0008, "REAL32", 32, None),
        (0x0009, "VISIBLE_STRING", 0, None),
        (0x000A, "OCTET_STRING", 0, None),
        (0x000B, "UNICODE_STRING", 0, None),
        (0x000C, "TIME_OF_DAY", 48, None),
        (0x000D, "TIME_DIFFERENCE", 48, None),
        (0x000F, "DOMAIN", 0, None),
        (0x0010, "INTEGER24", 24, Some(true)),
        (0x0011, "REAL64", 64, None),
        (0x0012, "INTEGER40", 40, Some(true)),
        (0x0013, "INTEGER48", 48, Some(true)),
        (0x0014, "INTEGER56", 56, Some(true)),
        (0x0015, "INTEGER64", 64, Some(true)),
        (0x0016, "UNSIGNED24", 24, Some(false)),
        (0x0018, "UNSIGNED40", 40, Some(false)),
        (0x0019, "UNSIGNED48", 48, Some(false)),
        (0x001A, "UNSIGNED56", 56, Some(false)),
        (0x001B, "UNSIGNED64", 64, Some(false)),
        (0x0020, "PDO_COMMUNICATION_PARAMETER", 0, None),
        (0x0021, "PDO_MAPPING", 0, None),
    ];

    fn entry(self) -> Option<(u16, &'static str, u32, Option<bool>)> {
        Self::TABLE.iter().copied().find(|t| t.0 == self.0)
    }

    /// From a code (`0x0007`) or a standard name (`UNSIGNED32`).
    pub fn parse(text: &str) -> Option<Self> {
        let named = Self::TABLE
            .iter()
            .find(|t| t.1.eq_ignore_ascii_case(text))
            .map(|t| Self(t.0));
        named.or_else(|| {
            let v = Number::parse(text).ok()?.fixed()?;
            u16::try_from(v).ok().map(Self)
        })
    }

    /// The standard name, or the code.
    pub fn name(self) -> String {
        match self.entry() {
            Some(t) => t.1.to_owned(),
            None => format!("0x{:04X}", self.0),
        }
    }

    /// Bits of an integer type (BOOLEAN: 1); `None` for other types.
    pub fn integer_bits(self) -> Option<u32> {
        self.entry().filter(|t| t.3.is_some()).map(|t| t.2)
    }

    /// Signed integer type.
    pub fn signed(self) -> bool {
        self.entry().and_then(|t| t.3) == Some(true)
    }
}
