//! Coils and discrete inputs in read blocks (issue 15): merged like registers, spanning gaps in
//! bits, each block's bits back as words of 0 or 1; acyclic bit reads too.

mod common;

use std::time::Duration;

use common::{
    DuplexLine, TestService, coil, discrete_input, expected, options, register_map, rtu_spec,
    sample_of, spawn,
};
use linevisor_bus::{Attach, BusSpec, ReadBlock, UnitOptions};
use linevisor_config::ReadRules;
use linevisor_modbus::Request;
use tokio::sync::mpsc;

#[tokio::test(start_paused = true)]
async fn bit_blocks_are_merged_over_gaps_in_bits_and_come_back_as_words() {
    let service = TestService::new(register_map(&[1]));
    let line = DuplexLine::default();
    let opener = line.opener(service.clone(), 19_200, None);
    let (bus, _join) = spawn(BusSpec::Rtu(rtu_spec(19_200)), opener, options(100)).await;
    let blocks = vec![
        ReadBlock::coils(0, 1),
        ReadBlock::discrete_inputs(10, 1),
        ReadBlock::coils(4, 2),
        ReadBlock::discrete_inputs(12, 3),
        ReadBlock::holding(0, 1),
        ReadBlock::coils(40, 1),
    ];
    let (tx, mut rx) = mpsc::channel(16);
    let attach = Attach {
        unit: 1,
        blocks: blocks.clone(),
        period: Duration::from_millis(100),
        sink: tx,
    };
    let reads = ReadRules {
        span_gaps: 3,
        ..ReadRules::default()
    };
    let unit = UnitOptions {
        reads,
        response_timeout: None,
    };
    bus.attach_with(attach, unit).await.expect("attach");
    let sample = sample_of(&mut rx, 1, Duration::from_secs(5)).await;
    for (block, got) in blocks.iter().zip(&sample.blocks) {
        assert_eq!(got, &expected(1, block), "{block:?}");
    }
    // Coils 0–5 in one read (a gap of 3 bits), coil 40 alone; discrete inputs 10–14 in one.
    let log: Vec<Request> = service.log().into_iter().map(|(_, r)| r).collect();
    assert_eq!(
        log,
        [
            Request::ReadHoldingRegisters {
                address: 0,
                quantity: 1
            },
            Request::ReadCoils {
                address: 0,
                quantity: 6
            },
            Request::ReadCoils {
                address: 40,
                quantity: 1
            },
            Request::ReadDiscreteInputs {
                address: 10,
                quantity: 5
            },
        ]
    );

    // One-off bit reads answer words of 0 or 1 too.
    let got = bus
        .read(1, ReadBlock::coils(7, 3))
        .await
        .expect("bus")
        .expect("device");
    assert_eq!(got, [coil(1, 7), coil(1, 8), coil(1, 9)]);
    let got = bus
        .read(1, ReadBlock::discrete_inputs(2, 2))
        .await
        .expect("bus")
        .expect("device");
    assert_eq!(got, [discrete_input(2), discrete_input(3)]);
    let _ = bus.stop().await;
}
