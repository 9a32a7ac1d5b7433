//! Reply parsing must never panic, whatever arrives on the wire: the first byte picks the
//! framing and the point's type and format, the rest goes through the framer (with a pending
//! echo) and every reply it cuts through the codec, and the whole input straight to the codec.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use linevisor_core::profile::{
    Access, Checksum, ChecksumAlgorithm, DataType, Endian, FieldName, FrameField, FrameLayout,
    NumberFormat, Point, PointTable, SerialFraming, SerialRequest, SerialSection,
};
use linevisor_serial::{Codec, Op};

const TYPES: [DataType; 7] = [
    DataType::U8,
    DataType::I8,
    DataType::U16,
    DataType::I16,
    DataType::U32,
    DataType::I32,
    DataType::F32,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, wire)) = data.split_first() else {
        return;
    };
    let binary = pick & 1 == 1;
    let section = if binary { tmcl(pick) } else { scl(pick) };
    let point = point(binary, pick);
    let Ok(codec) = Codec::new(&section, 1) else {
        return;
    };
    for op in [Op::Read, Op::Write(0)] {
        let Ok(request) = codec.request(&point, op) else {
            continue;
        };
        let _ = codec.reply(&point, &request, wire);
        let mut framer = Codec::framer(&section);
        framer.expect_echo(&request.bytes);
        for chunk in wire.chunks(usize::from(pick % 13) + 1) {
            for reply in framer.push(chunk).into_iter().flatten() {
                let _ = codec.reply(&point, &request, &reply);
            }
        }
        let _ = framer.reset();
    }
});

fn point(binary: bool, pick: u8) -> Point {
    let data_type = TYPES[usize::from(pick >> 1) % TYPES.len()];
    let (read, write) = if binary {
        let fixed = |c| SerialRequest::Fields(BTreeMap::from([(FieldName::Command, c)]));
        (fixed(6), fixed(5))
    } else {
        ("{address}IP".into(), "{address}DI{value}".into())
    };
    let hex = pick & 0x10 != 0;
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
        read: Some(read),
        write: Some(write),
        response_bytes: Some(12),
        write_values: Default::default(),
        pattern: Some("IP={value}".into()),
        format: if hex { NumberFormat::Hex } else { NumberFormat::Decimal },
        decimals: (!hex && data_type != DataType::F32).then_some(pick >> 6),
    }
}

fn scl(pick: u8) -> SerialSection {
    SerialSection {
        reply_address: pick & 0x20 != 0,
        terminator: if pick & 0x40 != 0 { "\r\n" } else { "\r" }.into(),
        max_reply_bytes: 32,
        ..SerialSection::default()
    }
}

fn tmcl(pick: u8) -> SerialSection {
    let algorithm = [
        ChecksumAlgorithm::Sum8,
        ChecksumAlgorithm::Xor8,
        ChecksumAlgorithm::Crc8,
        ChecksumAlgorithm::Crc16Modbus,
    ][usize::from(pick >> 6)];
    let field = |name, offset, width, signed| FrameField {
        name,
        offset,
        width,
        endian: if pick & 0x20 != 0 { Endian::Little } else { Endian::Big },
        signed,
    };
    let frame = 8 + u32::from(algorithm.width());
    let checksum = Some(Checksum {
        algorithm,
        over: [0, 8],
        at: 8,
    });
    SerialSection {
        framing: SerialFraming::Binary,
        frame_bytes: Some(frame),
        request: Some(FrameLayout {
            fields: vec![
                field(FieldName::Address, 0, 1, false),
                field(FieldName::Command, 1, 1, false),
                field(FieldName::Type, 2, 1, false),
                field(FieldName::Bank, 3, 1, false),
                field(FieldName::Value, 4, 4, true),
            ],
            checksum: checksum.clone(),
        }),
        reply: Some(FrameLayout {
            fields: vec![
                field(FieldName::ReplyAddress, 0, 1, false),
                field(FieldName::Address, 1, 1, false),
                field(FieldName::Status, 2, 1, false),
                field(FieldName::Command, 3, 1, false),
                field(FieldName::Value, 4, 4, true),
            ],
            checksum,
        }),
        success: vec![100, 101],
        ..SerialSection::default()
    }
}
