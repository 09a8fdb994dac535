//! The ways out of an attached `lwc up`: Ctrl-C, and the supervisor
//! itself killed. Neither leaves a process of the ring behind.

use crate::cli_lwc::{processes_mentioning, text, up_attached, wait_gone, Lwc};
use lwc_tests::wait;
use std::time::Duration;

#[test]
fn ctrl_c_stops_what_an_attached_up_started() {
    let lwc = Lwc::new();
    let (mut child, _err) = up_attached(&lwc);
    let pids = lwc.pids();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "Ctrl-C exit status");
    wait_gone(&pids, Duration::from_secs(15));
    assert!(!lwc.state().join("ring.env").exists(), "state files removed");
}

#[test]
fn killing_the_supervisor_leaves_no_orphans() {
    let lwc = Lwc::new();
    let (mut child, _err) = up_attached(&lwc);
    // A host restarted by another lwc call must die with the supervisor too.
    let out = lwc.run(&["start", "a"]);
    assert!(out.status.success(), "{}", text(&out));
    let pids = lwc.pids();
    let ours = processes_mentioning(&lwc.root());
    assert!(ours.len() >= 4, "supervisor, a, control, nats (and a guard): {ours:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    wait_gone(&pids, Duration::from_secs(15));
    let none_left = wait::until(Duration::from_secs(15), "no process of the ring left", || {
        Ok(processes_mentioning(&lwc.root()).is_empty().then_some(()))
    });
    if let Err(e) = none_left {
        panic!("{e}: orphans: {:?}", processes_mentioning(&lwc.root()));
    }
    // The stale files are recognised as a ring that is gone.
    assert!(text(&lwc.run(&["status"])).contains("no ring is up"));
}
