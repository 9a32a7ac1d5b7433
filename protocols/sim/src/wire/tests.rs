use super::*;

const FRAME: [u8; 8] = [0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xC4, 0x0B];

async fn read_n(r: &mut DuplexStream, n: usize) -> Vec<u8> {
    let mut got = vec![0u8; n];
    r.read_exact(&mut got).await.unwrap();
    got
}

#[tokio::test(start_paused = true)]
async fn bytes_arrive_paced_at_the_baud_rate() {
    let wire = RtuWire::new(9600, 1);
    let (mut master, mut slaves) = wire.ends();
    let start = Instant::now();
    master.write_all(&FRAME).await.unwrap();
    assert_eq!(read_n(&mut slaves, 8).await, FRAME);
    // 8 characters of 11 bits at 9600 baud (the timer wakes on its next 1 ms tick).
    let wire_time = Duration::from_nanos(8 * 1_145_833);
    let took = start.elapsed();
    assert!(took >= wire_time && took < wire_time + Duration::from_millis(1));
    slaves.write_all(&FRAME[..4]).await.unwrap();
    assert_eq!(read_n(&mut master, 4).await, FRAME[..4]);
    let s = wire.stats();
    assert_eq!(
        (s.requests, s.answers, s.dropped, s.corrupted),
        (1, 1, 0, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn lost_corrupted_late_and_noisy_frames() {
    let wire = RtuWire::new(19_200, 2);
    let (mut master, mut slaves) = wire.ends();
    wire.set_faults(WireFaults::noise(0.0, 1.0));
    master.write_all(&FRAME).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    wire.set_faults(WireFaults::noise(1.0, 0.0));
    master.write_all(&FRAME).await.unwrap();
    let got = read_n(&mut slaves, 8).await;
    assert_eq!(
        got.iter().zip(FRAME).filter(|(a, b)| **a != *b).count(),
        1,
        "the lost frame never arrives; the next one has one byte changed: {got:x?}"
    );
    wire.set_faults(WireFaults {
        garbage: 1.0,
        delay: Duration::from_millis(50),
        ..WireFaults::default()
    });
    let start = Instant::now();
    slaves.write_all(&FRAME).await.unwrap();
    let mut got = Vec::new();
    while !got.ends_with(&FRAME) {
        got.push(read_n(&mut master, 1).await[0]);
    }
    assert!((9..=16).contains(&got.len()), "a burst of 1–8 bytes first");
    assert!(start.elapsed() >= Duration::from_millis(50));
    let s = wire.stats();
    assert_eq!((s.dropped, s.corrupted, s.garbage), (1, 1, 1));
}

#[tokio::test(start_paused = true)]
async fn echo_and_cut() {
    let wire = RtuWire::new(19_200, 3);
    let (mut master, mut slaves) = wire.ends();
    wire.set_faults(WireFaults {
        echo: true,
        ..WireFaults::default()
    });
    master.write_all(&FRAME).await.unwrap();
    assert_eq!(
        read_n(&mut master, 8).await,
        FRAME,
        "the master hears itself"
    );
    assert_eq!(read_n(&mut slaves, 8).await, FRAME);
    wire.cut();
    let mut rest = Vec::new();
    assert_eq!(master.read_to_end(&mut rest).await.unwrap(), 0, "EOF");
    // A new pair works on the same line.
    wire.clear_faults();
    let (mut master, mut slaves) = wire.ends();
    master.write_all(&FRAME).await.unwrap();
    assert_eq!(read_n(&mut slaves, 8).await, FRAME);
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_spoils_the_same_frames() {
    async fn run(seed: u64) -> Vec<Vec<u8>> {
        let wire = RtuWire::new(115_200, seed);
        wire.set_faults(WireFaults::noise(0.3, 0.0));
        let (mut master, mut slaves) = wire.ends();
        let mut out = Vec::new();
        for _ in 0..20 {
            master.write_all(&FRAME).await.unwrap();
            out.push(read_n(&mut slaves, 8).await);
        }
        out
    }
    let a = run(42).await;
    assert_eq!(a, run(42).await);
    assert!(a.iter().any(|f| f != &FRAME) && a.iter().any(|f| f == &FRAME));
}
