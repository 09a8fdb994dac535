//! Killing one host of a packed process (`lwc kill HOST` where HOST shares
//! its `lwc-host` process with others). DESIGN.md wants it to look like
//! `kill -9` from the lattice: that host drops at once (no drain, no acks,
//! its NATS connection closed) while its neighbours go on. A signal cannot
//! name one host of a process, so this needs the host's help; until
//! lwc-host offers a way, lwc refuses rather than kill the neighbours too.

use anyhow::{bail, Result};

use crate::ctx::Ctx;

/// Drop `host` from process `pid`, which also runs `neighbours`.
pub async fn drop_host(ctx: &Ctx, host: &str, pid: u32, neighbours: &[String]) -> Result<()> {
    let _ = ctx;
    bail!(
        "{host} shares lwc-host process {pid} with {} other host(s) ({}), and this lwc-host cannot drop one \
         host of a process: killing the process would take them all. Start the ring with `--per-process 1` \
         to kill hosts one by one",
        neighbours.len(),
        short_list(neighbours)
    )
}

/// "a, b, c" or "a, b, c, … (12)".
fn short_list(names: &[String]) -> String {
    if names.len() <= 4 {
        return names.join(", ");
    }
    format!("{}, … ({})", names[..3].join(", "), names.len())
}
