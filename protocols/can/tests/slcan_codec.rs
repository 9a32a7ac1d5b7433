//! The slcan codec: fixed cases from protocols.md §4.1 and property tests (round trips,
//! arbitrary bytes never panic and the decoder recovers on the next valid frame).

use linevisor_can::slcan::codec::{
    BELL, encode_command, encode_frame, encode_reply, parse_command, parse_frame, parse_reply,
};
use linevisor_can::slcan::{Bitrate, Command, Decoder, Reply};
use linevisor_can::{CanFrame, CanId, MAX_EXTENDED_ID};
use proptest::prelude::*;

fn std_frame(id: u16, data: &[u8]) -> CanFrame {
    CanFrame::new(CanId::standard(id).unwrap(), data).unwrap()
}

fn replies(bytes: &[u8]) -> Vec<Result<Reply, String>> {
    let mut d = Decoder::new();
    d.push(bytes);
    std::iter::from_fn(|| d.next_reply())
        .map(|r| r.map_err(|e| e.reason.to_owned()))
        .collect()
}

#[test]
fn bitrate_codes_follow_lawicel_not_python_can() {
    assert_eq!(Bitrate::K800.code(), 7);
    assert_eq!(Bitrate::from_code(7).unwrap().bits_per_second(), 800_000);
    assert_eq!(Bitrate::from_code(8), Some(Bitrate::M1));
    assert_eq!(Bitrate::from_code(9), None);
    assert_eq!(Bitrate::from_bits_per_second(750_000), None);
    assert_eq!(Bitrate::from_bits_per_second(125_000), Some(Bitrate::K125));
    let mut out = Vec::new();
    encode_command(&Command::Bitrate(Bitrate::K500), &mut out);
    encode_command(&Command::Open, &mut out);
    encode_command(&Command::Close, &mut out);
    assert_eq!(out, b"S6\rO\rC\r");
    assert_eq!(parse_command(b"S7"), Ok(Command::Bitrate(Bitrate::K800)));
    assert!(parse_command(b"S9").is_err());
}

#[test]
fn frames_encode_as_lawicel_text() {
    let mut out = Vec::new();
    encode_frame(&std_frame(0x181, &[0x27, 0x06]), None, &mut out);
    assert_eq!(out, b"t18122706");
    out.clear();
    let ext = CanFrame::new(CanId::extended(0x1ABC_DEF0).unwrap(), &[1]).unwrap();
    encode_frame(&ext, Some(0xEA5F), &mut out);
    assert_eq!(out, b"T1ABCDEF0101EA5F");
    out.clear();
    let rtr = CanFrame::remote(CanId::standard(0x705).unwrap(), 1).unwrap();
    encode_command(&Command::Transmit(rtr), &mut out);
    assert_eq!(out, b"r7051\r");
    // Lower-case hex is accepted too.
    let (f, ts) = parse_frame(b"t7ff2abcd0010", true).unwrap();
    assert_eq!((f, ts), (std_frame(0x7FF, &[0xAB, 0xCD]), Some(0x0010)));
}

#[test]
fn both_acknowledgement_forms_and_bell() {
    let got = replies(b"z\r\rZ\r\x07t0010\r");
    assert_eq!(
        got,
        vec![
            Ok(Reply::TxAck { extended: false }),
            Ok(Reply::Ok),
            Ok(Reply::TxAck { extended: true }),
            Ok(Reply::Error),
            Ok(Reply::Frame {
                frame: std_frame(1, &[]),
                timestamp: None
            }),
        ]
    );
}

#[test]
fn garbage_is_skipped_up_to_the_next_cr_or_bell() {
    let got = replies(b"\xff\xfe!!\rt12X1\rQ\x07t1231AA\r");
    assert_eq!(got.len(), 5, "{got:?}");
    assert!(got[0].is_err() && got[1].is_err() && got[2].is_err());
    assert_eq!(got[3], Ok(Reply::Error));
    assert_eq!(
        got[4],
        Ok(Reply::Frame {
            frame: std_frame(0x123, &[0xAA]),
            timestamp: None
        })
    );
    // A line that never ends is dropped once it exceeds the limit, then decoding resumes.
    let mut d = Decoder::new();
    d.push(&[b'x'; 500]);
    assert!(matches!(d.next_reply(), Some(Err(_))));
    assert!(d.next_reply().is_none());
    d.push(b"yyy\rt0010\r");
    assert!(matches!(d.next_reply(), Some(Ok(Reply::Frame { .. }))));
    assert!(d.pending() == 0);
}

#[test]
fn wrong_lengths_and_ids_are_rejected() {
    for bad in [
        &b"t1232AA"[..], // data shorter than the DLC
        b"t1231AABB",    // data longer than the DLC, not a timestamp
        b"t1239",        // DLC 9
        b"T2000000010",  // 30-bit id
        b"t12",          // truncated id
        b"r1231AA",      // remote frame with data
    ] {
        assert!(
            parse_reply(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // Timestamps are for received frames only: a command with one is refused.
    assert!(parse_command(b"t12300010").is_err());
    assert!(parse_reply(b"t12300010").is_ok());
}

fn any_frame() -> impl Strategy<Value = CanFrame> {
    (
        any::<bool>(),
        any::<u32>(),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..=8),
        0u8..=8,
    )
        .prop_map(|(extended, raw, remote, data, dlc)| {
            let id = if extended {
                CanId::extended(raw & MAX_EXTENDED_ID).unwrap()
            } else {
                CanId::standard_masked(raw as u16)
            };
            if remote {
                CanFrame::remote(id, dlc).unwrap()
            } else {
                CanFrame::new(id, &data).unwrap()
            }
        })
}

proptest! {
    #[test]
    fn frames_round_trip_as_replies(frame in any_frame(), ts in proptest::option::of(0u16..=0xEA5F)) {
        let mut out = Vec::new();
        encode_reply(&Reply::Frame { frame, timestamp: ts }, &mut out);
        let mut d = Decoder::new();
        d.push(&out);
        prop_assert_eq!(d.next_reply(), Some(Ok(Reply::Frame { frame, timestamp: ts })));
        prop_assert!(d.next_reply().is_none());
    }

    #[test]
    fn frames_round_trip_as_commands(frame in any_frame()) {
        let mut out = Vec::new();
        encode_command(&Command::Transmit(frame), &mut out);
        let mut d = Decoder::new();
        d.push(&out);
        prop_assert_eq!(d.next_command(), Some(Ok(Command::Transmit(frame))));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_the_next_frame_decodes(
        junk in prop::collection::vec(any::<u8>(), 0..300),
        split in 0usize..300,
        frame in any_frame(),
    ) {
        let mut bytes = junk.clone();
        bytes.push(b'\r');
        encode_reply(&Reply::Frame { frame, timestamp: None }, &mut bytes);
        // Fed in two arbitrary pieces, as a serial port delivers them.
        let split = split.min(bytes.len());
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for piece in [&bytes[..split], &bytes[split..]] {
            d.push(piece);
            while let Some(r) = d.next_reply() {
                got.push(r);
            }
        }
        let last = got.pop();
        prop_assert_eq!(last, Some(Ok(Reply::Frame { frame, timestamp: None })));
        let mut d = Decoder::new();
        d.push(&junk);
        while d.next_command().is_some() {}
    }

    #[test]
    fn lines_parse_without_panic(line in prop::collection::vec(any::<u8>(), 0..40)) {
        let _ = parse_reply(&line);
        let _ = parse_command(&line);
        let _ = parse_frame(&line, true);
        prop_assert!(!line.contains(&BELL) || parse_reply(&line).is_err());
    }
}
