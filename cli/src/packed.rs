//! Killing one host of a packed process (`lwc kill HOST` where HOST shares
//! its `lwc-host` process with others). DESIGN.md wants it to look like
//! `kill -9` from the lattice: that host drops at once (no drain, no acks,
//! its NATS connection closed) while its neighbours go on. A signal cannot
//! name one host of a process, so lwc asks the host itself: a request on
//! `lwc.<l>.hosts.<host>.drop` carrying the process's pid, sent with the
//! ring's NATS token. The host answers, then goes; lwc waits until its
//! connection is gone (its health subject has no responder left).

use anyhow::{bail, Context, Result};
use async_nats::client::RequestErrorKind;
use std::time::Duration;

use crate::ctx::Ctx;

/// How long a host has to answer, and then to be gone.
const DROP_WAIT: Duration = Duration::from_secs(10);

/// Drop `host` from process `pid`, which also runs `neighbours`, and wait
/// until it has left the lattice. False: it had left already (nobody
/// answers for it, neither drop nor health requests).
pub async fn drop_host(ctx: &Ctx, host: &str, pid: u32, neighbours: &[String]) -> Result<bool> {
    let env = ctx.require_ring()?;
    let client = crate::nats::client(&env).await?;
    let body = serde_json::json!({ "pid": pid }).to_string();
    let asked = tokio::time::timeout(DROP_WAIT, client.request(lwc_wire::subjects::host_drop(&env.lattice, host), body.into())).await;
    let answer = match asked {
        Err(_) => bail!("{host} (in lwc-host process {pid}) did not answer its drop request within {DROP_WAIT:?}"),
        Ok(Err(e)) if e.kind() == RequestErrorKind::NoResponders && is_gone(&client, &env.lattice, host).await => return Ok(false),
        Ok(Err(e)) if e.kind() == RequestErrorKind::NoResponders => bail!(
            "{host} shares lwc-host process {pid} with {} other host(s) ({}), and it does not answer drop requests \
             (an lwc-host that cannot drop one host of a process?): killing the process would take them all. \
             Rebuild lwc-host, or start the ring with `--per-process 1` to kill hosts one by one",
            neighbours.len(),
            short_list(neighbours)
        ),
        Ok(Err(e)) => return Err(e).with_context(|| format!("cannot ask {host} to drop")),
        Ok(Ok(msg)) => msg,
    };
    let answer: serde_json::Value =
        serde_json::from_slice(&answer.payload).with_context(|| format!("{host} answered its drop request with no JSON"))?;
    if answer["dropped"] != true {
        bail!("{host} refused to drop: {}", answer["error"].as_str().unwrap_or("(no reason given)"));
    }
    tokio::time::timeout(DROP_WAIT, gone(&client, &env.lattice, host))
        .await
        .with_context(|| format!("{host} said it dropped, yet still answers health requests {DROP_WAIT:?} later"))?;
    Ok(true)
}

/// Resolves once nobody answers `host`'s health requests: its connection,
/// and with it its subscriptions, is gone from the server.
async fn gone(client: &async_nats::Client, lattice: &str, host: &str) {
    while !is_gone(client, lattice, host).await {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether a health request for `host` finds no responder.
async fn is_gone(client: &async_nats::Client, lattice: &str, host: &str) -> bool {
    let subject = lwc_wire::subjects::health(lattice, host);
    // Short: a request that reached the host as it went is never answered.
    let asked = tokio::time::timeout(Duration::from_millis(250), client.request(subject, "".into())).await;
    matches!(asked, Ok(Err(e)) if e.kind() == RequestErrorKind::NoResponders)
}

/// "a, b, c" or "a, b, c, … (12)".
fn short_list(names: &[String]) -> String {
    if names.len() <= 4 {
        return names.join(", ");
    }
    format!("{}, … ({})", names[..3].join(", "), names.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_and_the_list() {
        assert_eq!(lwc_wire::subjects::host_drop("default", "p007"), "lwc.default.hosts.p007.drop");
        let names: Vec<String> = (1..=6).map(|i| format!("p{i}")).collect();
        assert_eq!(short_list(&names[..2]), "p1, p2");
        assert_eq!(short_list(&names), "p1, p2, p3, … (6)");
    }
}
