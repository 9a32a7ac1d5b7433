//! A bus restart does not restart its drives: the bus actor dies, the drive reports comm loss;
//! the bus's supervisor starts a new actor and rebinds the stable handle, which attaches the
//! drive again; the same drive instance runs its reconnect procedure. Paused time.

mod common;

use common::*;
use linevisor_bus::ModbusBus;
use linevisor_drive::{
    Command, Direction, DriveEventKind, Situation, StartupKind, send_command, snapshot,
};
use linevisor_profile::PowerState;
use ractor::Actor;

#[tokio::test(start_paused = true)]
async fn a_drive_survives_a_restart_of_its_bus() {
    let mut b = Bench::start("linevisor-sim-servo", BenchOptions::default()).await;
    b.ready().await;
    run_at(&b, 50.0).await;

    b.bus.actor().expect("bound").kill();
    b.event("comm lost", |k| {
        matches!(k, DriveEventKind::CommLost { .. }).then_some(())
    })
    .await;

    let (actor, _join) = Actor::spawn(None, ModbusBus, bus_args(&b.sim, &b.rec, Transport::Rtu))
        .await
        .expect("spawn the new bus actor");
    b.bus.rebind(actor).await.expect("rebind");
    let mut applied = false;
    let kind = b
        .event("ready again", |k| match k {
            DriveEventKind::SafeStateApplied {
                situation: Situation::CommLoss,
                ..
            } => {
                applied = true;
                None
            }
            DriveEventKind::Ready { startup } => Some(*startup),
            _ => None,
        })
        .await;
    assert_eq!(kind, StartupKind::Reconnect);
    assert!(applied, "on_comm_loss applied when comm returned");
    assert_ne!(b.device(), PowerState::OperationEnabled);
    let snap = snapshot(&b.handle).await.expect("snapshot");
    assert_eq!(snap.generation, 1, "the drive actor was not restarted");
    send_command(&b.handle, Command::Enable(Direction::Forward))
        .await
        .expect("enable through the new bus actor");
    assert_eq!(b.device(), PowerState::OperationEnabled);
}
