//! `lwc guard`: ends a process when the attached `lwc up` that owns the
//! ring exits. Hosts that `lwc up` starts get a parent-death signal; a host
//! that a later `lwc start` (another process) starts cannot, so this small
//! process watches both and ends the child if the supervisor goes first.

use anyhow::Result;
use std::time::Duration;

use crate::procs;

pub async fn guard(supervisor: u32, child: u32) -> Result<i32> {
    let program = std::fs::read(format!("/proc/{child}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).split('\0').next().unwrap_or_default().to_string())
        .unwrap_or_default();
    if program.is_empty() {
        return Ok(0);
    }
    tokio::select! {
        _ = procs::gone(child, &program) => return Ok(0),
        _ = procs::gone(supervisor, "lwc") => {}
    }
    eprintln!("lwc guard: the lwc up that owned this ring (pid {supervisor}) exited: stopping pid {child}");
    procs::signal(child, libc::SIGTERM);
    if tokio::time::timeout(procs::STOP_GRACE, procs::gone(child, &program)).await.is_err() {
        procs::signal(child, libc::SIGKILL);
        let _ = tokio::time::timeout(Duration::from_secs(5), procs::gone(child, &program)).await;
    }
    Ok(0)
}
