//! Frames and lines from the manuals, and one test per error kind.

mod common;

use common::{fields, point, scl, tmcl};
use linevisor_core::profile::{DataType, FieldName, NumberFormat};
use linevisor_serial::{Codec, ErrorKind, Op, Reply, SerialError};

/// TMCM-6212 TMCL firmware manual (V1.11, rev. 1.07), "Binary Form of CALC MUL, -5000": the
/// request to module 1 and its reply to host 2, each with its sum checksum.
const CALC_MUL: [u8; 9] = [0x01, 0x13, 0x02, 0x00, 0xFF, 0xFF, 0xEC, 0x78, 0x78];
const CALC_MUL_REPLY: [u8; 9] = [0x02, 0x01, 0x64, 0x13, 0xFF, 0xFF, 0xEC, 0x78, 0xDC];

fn calc_mul() -> linevisor_core::profile::Point {
    let req = fields(&[
        (FieldName::Command, 0x13),
        (FieldName::Type, 2),
        (FieldName::Bank, 0),
    ]);
    point(DataType::I32, Some(req.clone()), Some(req))
}

#[test]
fn tmcl_manual_frame_and_reply() {
    let codec = Codec::new(&tmcl(), 1).unwrap();
    let pt = calc_mul();
    let write = codec.request(&pt, Op::Write(-5000)).unwrap();
    assert_eq!(write.bytes, CALC_MUL);
    assert_eq!(codec.reply(&pt, &write, &CALC_MUL_REPLY), Ok(Reply::Ack));
    let read = codec.request(&pt, Op::Read).unwrap();
    assert_eq!(
        codec.reply(&pt, &read, &CALC_MUL_REPLY),
        Ok(Reply::Value(-5000))
    );
}

#[test]
fn tmcl_errors_are_typed() {
    let codec = Codec::new(&tmcl(), 1).unwrap();
    let pt = calc_mul();
    let req = codec.request(&pt, Op::Read).unwrap();
    let mut bad_sum = CALC_MUL_REPLY;
    bad_sum[8] = 0xDD;
    let e = codec.reply(&pt, &req, &bad_sum).unwrap_err();
    assert_eq!(
        e,
        SerialError::Checksum {
            expected: 0xDC,
            got: 0xDD
        }
    );
    assert_eq!(e.kind(), ErrorKind::Link);

    let e = codec.reply(&pt, &req, &CALC_MUL_REPLY[..5]).unwrap_err();
    assert_eq!(
        e,
        SerialError::Truncated {
            expected: 9,
            got: 5
        }
    );

    let mut refused = CALC_MUL_REPLY;
    refused[2] = 2; // invalid command
    refused[8] = refused[8].wrapping_sub(100 - 2);
    let e = codec.reply(&pt, &req, &refused).unwrap_err();
    assert_eq!(
        e,
        SerialError::Status {
            command: 0x13,
            status: 2
        }
    );
    assert!(e.is_refusal());

    let mut other = CALC_MUL_REPLY;
    other[1] = 3;
    other[8] = other[8].wrapping_add(2);
    let e = codec.reply(&pt, &req, &other).unwrap_err();
    assert_eq!(
        e,
        SerialError::OtherAddress {
            expected: "1".into(),
            got: "3".into()
        }
    );

    let mut stale = CALC_MUL_REPLY;
    stale[3] = 6;
    stale[8] = stale[8].wrapping_sub(0x13 - 6);
    let e = codec.reply(&pt, &req, &stale).unwrap_err();
    assert_eq!(
        e,
        SerialError::OtherCommand {
            expected: 0x13,
            got: 6
        }
    );
}

#[test]
fn scl_requests_and_replies() {
    // Host Command Reference (920-0002): `1IP` answers `1IP=<position>`; `SC` a hex word.
    let codec = Codec::new(&scl(), 1).unwrap();
    let mut ip = point(DataType::I32, Some("{address}IP".into()), None);
    ip.pattern = Some("IP={value}".into());
    let req = codec.request(&ip, Op::Read).unwrap();
    assert_eq!(req.bytes, b"1IP\r");
    assert_eq!(
        codec.reply(&ip, &req, b"1IP=12345\r"),
        Ok(Reply::Value(12345))
    );
    assert_eq!(codec.reply(&ip, &req, b"1IP=-7"), Ok(Reply::Value(-7)));

    let mut sc = point(DataType::U16, Some("{address}SC".into()), None);
    sc.pattern = Some("SC={value}".into());
    sc.format = NumberFormat::Hex;
    let req = codec.request(&sc, Op::Read).unwrap();
    assert_eq!(
        codec.reply(&sc, &req, b"1SC=0209\r"),
        Ok(Reply::Value(0x0209))
    );

    let mut ve = point(DataType::U32, None, Some("{address}VE{value}".into()));
    ve.decimals = Some(4);
    let req = codec.request(&ve, Op::Write(102_500)).unwrap();
    assert_eq!(req.bytes, b"1VE10.2500\r");
    assert_eq!(codec.reply(&ve, &req, b"1%\r"), Ok(Reply::Ack));
    assert_eq!(codec.reply(&ve, &req, b"1*\r"), Ok(Reply::Buffered));
    let e = codec.reply(&ve, &req, b"1?4\r").unwrap_err();
    assert_eq!(e, SerialError::Nak { code: Some(4) });
    assert_eq!(e.kind(), ErrorKind::Refused);
    assert_eq!(
        codec.reply(&ve, &req, b"1?\r"),
        Err(SerialError::Nak { code: None })
    );
}

#[test]
fn scl_link_errors_are_typed() {
    let codec = Codec::new(&scl(), 1).unwrap();
    let mut ip = point(DataType::I16, Some("{address}IP".into()), None);
    ip.pattern = Some("IP={value}".into());
    let req = codec.request(&ip, Op::Read).unwrap();
    let other = codec.reply(&ip, &req, b"2IP=5\r").unwrap_err();
    assert_eq!(
        other,
        SerialError::OtherAddress {
            expected: "1".into(),
            got: "2".into()
        }
    );
    let garbage = codec.reply(&ip, &req, b"1XY=5\r").unwrap_err();
    assert!(
        matches!(garbage, SerialError::Garbage { .. }),
        "{garbage:?}"
    );
    let range = codec.reply(&ip, &req, b"1IP=40000\r").unwrap_err();
    assert!(matches!(range, SerialError::Number { .. }), "{range:?}");
    let long = vec![b'1'; 65];
    assert_eq!(
        codec.reply(&ip, &req, &long),
        Err(SerialError::OverLong { limit: 64 })
    );
    // An acknowledgement where a value was expected is not a value.
    assert!(codec.reply(&ip, &req, b"1%\r").is_err());
    assert_eq!(
        codec.request(&ip, Op::Write(1)).unwrap_err().kind(),
        ErrorKind::Request
    );
}

#[test]
fn value_out_of_the_type_is_refused_before_sending() {
    let codec = Codec::new(&scl(), 1).unwrap();
    let pt = point(DataType::U16, None, Some("{address}CC{value}".into()));
    let e = codec.request(&pt, Op::Write(70_000)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Request);
}

/// A value field wider or of another sign than its point: the point's type decides. TMCL's
/// value field is a signed 32-bit number; a `u32` bit field read through it keeps bit 31.
#[test]
fn a_field_is_read_at_its_points_type() {
    use linevisor_core::profile::DataType;
    use linevisor_serial::number::as_type;
    assert_eq!(as_type(-1_933_951_034, DataType::U32), 2_361_016_262);
    assert_eq!(as_type(2_361_016_262, DataType::I32), -1_933_951_034);
    assert_eq!(as_type(-1, DataType::U16), 0xFFFF);
    assert_eq!(as_type(0xFFFF, DataType::I16), -1);
    assert_eq!(as_type(-100, DataType::I32), -100);
    assert_eq!(as_type(200, DataType::U8), 200);
}
