//! SDO abort codes and their meanings (protocols.md §3.3, after canopen-python's table).

use std::fmt;

/// An SDO abort code. Unknown codes are kept raw: [`AbortCode::meaning`] then says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbortCode(pub u32);

/// The §3.3 table.
const TABLE: &[(u32, &str)] = &[
    (0x0503_0000, "toggle bit not alternated"),
    (0x0504_0000, "SDO protocol timed out"),
    (0x0504_0001, "command specifier invalid/unknown"),
    (0x0504_0005, "out of memory"),
    (0x0601_0000, "unsupported access to an object"),
    (0x0601_0001, "attempt to read a write-only object"),
    (0x0601_0002, "attempt to write a read-only object"),
    (0x0602_0000, "object does not exist in the dictionary"),
    (0x0604_0041, "object cannot be mapped to a PDO"),
    (0x0604_0042, "PDO length exceeded"),
    (0x0604_0043, "general parameter incompatibility"),
    (0x0604_0047, "general internal incompatibility"),
    (0x0606_0000, "access failed due to hardware error"),
    (0x0607_0010, "data type / length mismatch"),
    (0x0607_0012, "data type mismatch, length too high"),
    (0x0607_0013, "data type mismatch, length too low"),
    (0x0609_0011, "sub-index does not exist"),
    (0x0609_0030, "value range exceeded"),
    (0x0609_0031, "value too high"),
    (0x0609_0032, "value too low"),
    (0x0609_0036, "maximum < minimum"),
    (0x060A_0023, "resource not available (SDO connection)"),
    (0x0800_0000, "general error"),
    (0x0800_0020, "data cannot be transferred or stored"),
    (
        0x0800_0021,
        "data cannot be transferred or stored because of local control",
    ),
    (
        0x0800_0022,
        "data cannot be transferred or stored because of the present device state",
    ),
    (
        0x0800_0023,
        "object dictionary generation failed or no object dictionary present",
    ),
    (0x0800_0024, "no data available"),
];

impl AbortCode {
    /// 0x05030000.
    pub const TOGGLE_BIT: AbortCode = AbortCode(0x0503_0000);
    /// 0x05040000.
    pub const TIMEOUT: AbortCode = AbortCode(0x0504_0000);
    /// 0x05040001.
    pub const INVALID_COMMAND: AbortCode = AbortCode(0x0504_0001);
    /// 0x06010001.
    pub const WRITE_ONLY: AbortCode = AbortCode(0x0601_0001);
    /// 0x06010000.
    pub const UNSUPPORTED_ACCESS: AbortCode = AbortCode(0x0601_0000);
    /// 0x06010002.
    pub const READ_ONLY: AbortCode = AbortCode(0x0601_0002);
    /// 0x06020000.
    pub const NO_OBJECT: AbortCode = AbortCode(0x0602_0000);
    /// 0x06040041.
    pub const NOT_MAPPABLE: AbortCode = AbortCode(0x0604_0041);
    /// 0x06040042.
    pub const PDO_LENGTH: AbortCode = AbortCode(0x0604_0042);
    /// 0x06070010.
    pub const LENGTH_MISMATCH: AbortCode = AbortCode(0x0607_0010);
    /// 0x06070012.
    pub const LENGTH_TOO_HIGH: AbortCode = AbortCode(0x0607_0012);
    /// 0x06070013.
    pub const LENGTH_TOO_LOW: AbortCode = AbortCode(0x0607_0013);
    /// 0x06090011.
    pub const NO_SUBINDEX: AbortCode = AbortCode(0x0609_0011);
    /// 0x06090030.
    pub const VALUE_RANGE: AbortCode = AbortCode(0x0609_0030);
    /// 0x08000000.
    pub const GENERAL: AbortCode = AbortCode(0x0800_0000);
    /// 0x08000022.
    pub const DEVICE_STATE: AbortCode = AbortCode(0x0800_0022);

    /// The meaning from the §3.3 table, `None` for a code not in it.
    pub fn known_meaning(self) -> Option<&'static str> {
        TABLE
            .iter()
            .find(|(code, _)| *code == self.0)
            .map(|(_, m)| *m)
    }

    /// The meaning, or "unknown abort code" for codes outside the table.
    pub fn meaning(self) -> &'static str {
        self.known_meaning().unwrap_or("unknown abort code")
    }

    /// Every code of the table (for tests and documentation).
    pub fn all_known() -> impl Iterator<Item = AbortCode> {
        TABLE.iter().map(|(c, _)| AbortCode(*c))
    }
}

impl fmt::Display for AbortCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010X} ({})", self.0, self.meaning())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete_and_unknown_codes_stay_raw() {
        assert_eq!(AbortCode::all_known().count(), 28);
        assert_eq!(
            AbortCode(0x0602_0000).meaning(),
            "object does not exist in the dictionary"
        );
        assert_eq!(AbortCode::TOGGLE_BIT.meaning(), "toggle bit not alternated");
        let odd = AbortCode(0x1234_5678);
        assert_eq!(odd.known_meaning(), None);
        assert_eq!(odd.to_string(), "0x12345678 (unknown abort code)");
    }
}
