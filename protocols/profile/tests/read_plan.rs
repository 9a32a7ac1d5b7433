//! Read plans of a holed status map (issue 15): the blocks a drive attaches and decodes stay one
//! per run of touching points; the reads of a cycle span the gaps `[modbus] span_gaps` allows,
//! in the same numbers the bus-load check computes; coils are bit blocks of their own.

use linevisor_config::model::{PointTable, Profile};
use linevisor_profile::ProfileCodec;

const PROFILE: &str = r#"
[profile]
name = "holed"
version = "1.0"
protocol = "modbus"

[units]
position = "mm"
velocity = "rpm"
acceleration = "rpm/s"

[modbus]
address_base = 1
span_gaps = 2

[points]
statusword = { register = 2, type = "u16" }
modes_display = { register = 4, type = "i16" }
current_actual = { register = 6, type = "i16", scale = 0.01 }
velocity_actual = { register = 9, type = "i32", scale = 0.1 }
error_code = { register = 11, type = "u16" }
brake_released = { table = "coil", register = 5, type = "u16" }
controlword = { register = 101, type = "u16", access = "rw" }

[command]
encoding = "cia402"
point = "controlword"

[status]
point = "statusword"
states = [
    { state = "operation_enabled", mask = 0x006F, value = 0x0027 },
    { state = "fault", mask = 0x004F, value = 0x0008 },
]

[fault]
code = "error_code"
reset = { method = "controlword_edge" }

[poll]
points = ["statusword", "modes_display", "current_actual", "velocity_actual", "error_code", "brake_released"]
"#;

#[test]
fn blocks_stay_unpadded_and_reads_span_the_gaps() {
    let profile: Profile = toml::from_str(PROFILE).expect("profile");
    let codec = ProfileCodec::new(&profile).expect("codec");
    let plan = codec.poll_plan();
    let blocks: Vec<(PointTable, u16, u16)> = plan
        .blocks()
        .iter()
        .map(|b| (b.table, b.address, b.count))
        .collect();
    assert_eq!(
        blocks,
        [
            (PointTable::Holding, 1, 1),
            (PointTable::Holding, 3, 1),
            (PointTable::Holding, 5, 1),
            (PointTable::Holding, 8, 3),
            (PointTable::Coil, 4, 1),
        ]
    );
    let reads = plan.reads();
    assert_eq!(reads.len(), 2);
    assert_eq!((reads[0].start, reads[0].len, reads[0].padding), (1, 10, 4));
    assert_eq!(reads[0].parts, [(0, 0), (2, 1), (4, 2), (7, 3)]);
    assert_eq!(plan.counts(), [10, 1]);
    assert_eq!(
        plan.counts().into_iter().map(u32::from).collect::<Vec<_>>(),
        linevisor_config::modbus_reads(&profile),
        "what the bus-load check computes"
    );

    // The drive decodes the blocks as before: the bus slices them out of the spanned read.
    let words = vec![vec![0x0027], vec![3], vec![150], vec![0, 1234, 7], vec![1]];
    let sample = plan.decode(&words).expect("decode");
    assert_eq!(sample.require("statusword").unwrap().raw, 0x0027);
    assert_eq!(sample.require("error_code").unwrap().raw, 7);
    assert!((sample.require("velocity_actual").unwrap().value - 123.4).abs() < 1e-9);
    assert_eq!(sample.require("brake_released").unwrap().raw, 1);

    // Without spanning the reads are the blocks.
    let mut plain = profile.clone();
    plain.modbus.as_mut().unwrap().span_gaps = 0;
    let codec = ProfileCodec::new(&plain).expect("codec");
    assert_eq!(codec.poll_plan().counts(), [1, 1, 1, 3, 1]);
}
