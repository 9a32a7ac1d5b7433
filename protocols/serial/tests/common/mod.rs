//! Profiles and points the tests share.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use linevisor_core::profile::{
    Access, Checksum, ChecksumAlgorithm, DataType, Endian, FieldName, FrameField, FrameLayout,
    NumberFormat, Point, PointTable, SerialFraming, SerialRequest, SerialSection,
};

pub fn point(
    data_type: DataType,
    read: Option<SerialRequest>,
    write: Option<SerialRequest>,
) -> Point {
    Point {
        register: None,
        table: PointTable::Holding,
        readable_gap: true,
        index: None,
        subindex: 0,
        data_type,
        scale: 1.0,
        offset: 0.0,
        word_order: None,
        access: Access::Rw,
        read,
        write,
        response_bytes: Some(12),
        write_values: Default::default(),
        pattern: None,
        format: NumberFormat::Decimal,
        decimals: None,
    }
}

/// Applied Motion SCL conventions: CR, address echoed in the reply, `%`/`*`/`?`.
pub fn scl() -> SerialSection {
    SerialSection {
        reply_address: true,
        ..SerialSection::default()
    }
}

pub fn field(name: FieldName, offset: u32, width: u8, signed: bool) -> FrameField {
    FrameField {
        name,
        offset,
        width,
        endian: Endian::Big,
        signed,
    }
}

/// Trinamic TMCL: 9-byte frames, sum8 over the first 8 bytes, success 100 and 101.
pub fn tmcl() -> SerialSection {
    let sum = Some(Checksum {
        algorithm: ChecksumAlgorithm::Sum8,
        over: [0, 8],
        at: 8,
    });
    SerialSection {
        framing: SerialFraming::Binary,
        frame_bytes: Some(9),
        request: Some(FrameLayout {
            fields: vec![
                field(FieldName::Address, 0, 1, false),
                field(FieldName::Command, 1, 1, false),
                field(FieldName::Type, 2, 1, false),
                field(FieldName::Bank, 3, 1, false),
                field(FieldName::Value, 4, 4, true),
            ],
            checksum: sum.clone(),
        }),
        reply: Some(FrameLayout {
            fields: vec![
                field(FieldName::ReplyAddress, 0, 1, false),
                field(FieldName::Address, 1, 1, false),
                field(FieldName::Status, 2, 1, false),
                field(FieldName::Command, 3, 1, false),
                field(FieldName::Value, 4, 4, true),
            ],
            checksum: sum,
        }),
        success: vec![100, 101],
        ..SerialSection::default()
    }
}

pub fn fields(pairs: &[(FieldName, i64)]) -> SerialRequest {
    SerialRequest::Fields(pairs.iter().copied().collect::<BTreeMap<_, _>>())
}
