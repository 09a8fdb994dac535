//! Readiness: a host is ready when it answers its health request
//! (`lwc.<l>.hosts.<host>.health` → `{"healthy":true,...}`). Requests go out
//! at start, whenever the host's first heartbeat shows it is connected, and
//! every half second as a fallback; a host that exits fails the wait at once.

use anyhow::{bail, Result};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use lwc_wire::status::{Health, Heartbeat};
use lwc_wire::subjects;

use crate::paths::StateDir;
use crate::procs;
use crate::signals::{Caught, Signals};

/// Why waiting stopped early.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("interrupted")]
    Interrupted(Caught),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Wait until every host in `pids` (name → pid) answers healthy.
pub async fn wait_healthy(
    client: &async_nats::Client,
    lattice: &str,
    pids: &BTreeMap<String, u32>,
    state: &StateDir,
    timeout: Duration,
    signals: &mut Signals,
) -> Result<(), WaitError> {
    let bar = progress(pids.len());
    let mut heartbeats = client
        .subscribe(format!("lwc.{lattice}.hosts.*.heartbeat"))
        .await
        .map_err(|e| anyhow::anyhow!("cannot watch heartbeats: {e}"))?;
    let mut pending: BTreeSet<String> = pids.keys().cloned().collect();
    let mut asking: BTreeSet<String> = BTreeSet::new();
    let mut requests = FuturesUnordered::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    while !pending.is_empty() {
        let mut ask: Vec<String> = Vec::new();
        tokio::select! {
            _ = tick.tick() => {
                exited(&pending, pids, state)?;
                ask.extend(pending.iter().cloned());
            }
            Some(msg) = heartbeats.next() => {
                if let Ok(hb) = serde_json::from_slice::<Heartbeat>(&msg.payload) {
                    if pending.contains(&hb.host) {
                        ask.push(hb.host);
                    }
                }
            }
            Some((host, healthy)) = requests.next() => {
                asking.remove(&host);
                if healthy && pending.remove(&host) {
                    bar.inc(1);
                    if bar.is_hidden() {
                        eprintln!("lwc: {host} ready (pid {})", pids[&host]);
                    }
                }
            }
            caught = signals.next() => {
                bar.finish_and_clear();
                return Err(WaitError::Interrupted(caught));
            }
            _ = &mut deadline => {
                bar.finish_and_clear();
                let tails: String = pending.iter().take(3).map(|h| crate::hosts::log_tail(&crate::hosts::log_of(state, h))).collect();
                let names: Vec<&str> = pending.iter().map(String::as_str).collect();
                return Err(anyhow::anyhow!(
                    "not ready after {}s (no healthy answer on lwc.{lattice}.hosts.<host>.health): {}{tails}",
                    timeout.as_secs(), names.join(", ")
                ).into());
            }
        }
        for host in ask {
            if asking.insert(host.clone()) {
                requests.push(ask_health(client.clone(), subjects::health(lattice, &host), host));
            }
        }
    }
    bar.finish_and_clear();
    Ok(())
}

/// One health request: (host, answered healthy). No responders yet, a
/// timeout or a bad answer all mean "not yet".
async fn ask_health(client: async_nats::Client, subject: String, host: String) -> (String, bool) {
    let answer = tokio::time::timeout(Duration::from_secs(2), client.request(subject, "".into())).await;
    let healthy = match answer {
        Ok(Ok(msg)) => serde_json::from_slice::<Health>(&msg.payload).is_ok_and(|h| h.healthy),
        _ => false,
    };
    (host, healthy)
}

fn exited(pending: &BTreeSet<String>, pids: &BTreeMap<String, u32>, state: &StateDir) -> Result<()> {
    for host in pending {
        if !procs::is_ours(pids[host], "lwc-host") {
            bail!("host {host} exited while starting{}", crate::hosts::log_tail(&crate::hosts::log_of(state, host)));
        }
    }
    Ok(())
}

/// A bar on a terminal when many hosts start; hidden otherwise.
fn progress(hosts: usize) -> ProgressBar {
    if hosts < 8 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(hosts as u64);
    if let Ok(style) = ProgressStyle::with_template("lwc: hosts ready {bar:40} {pos}/{len} ({elapsed})") {
        bar.set_style(style);
    }
    bar
}
