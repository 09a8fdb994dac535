//! A process of several hosts (`--host a --host b`, or `--host a,b`).
//!
//! The hosts share the engine and the compiled components ([`Shared`]),
//! and the process's tokio runtime (a thread per core unless `--threads`
//! says): a runtime and a thread per host cost a thread wake-up per hop,
//! and with 200 hosts on 2 cores that was most of the CPU per hop (see
//! bench/profile.md, "200 hosts: where the CPU goes"). Each host is one
//! task that owns everything it is: its tasks (in [`crate::tasks::Tasks`]
//! sets, whose drop aborts them), what they spawned (joined sets, and the
//! node's held hops) and its NATS client, so that aborting that task
//! drops it all at once while its neighbours go on, as `kill -9` would a
//! process of one host. The connection closes when its last client
//! handle goes (async-nats ends its connection task then, without writing
//! what was still queued). Its log lines carry `host{name=…}`.
//!
//! - SIGTERM (`shutdown`) drains every host, together.
//! - A host whose task dies ends the process non-zero, after the others
//!   drained (they are healthy: their packets are passed on).
//! - A drop request (`lwc kill HOST`) on `lwc.<l>.hosts.<host>.drop`,
//!   answered before the host goes: no drain, no acks, its connection
//!   closed. The request carries the process's pid, so a request meant
//!   for another process (the host restarted elsewhere) is refused. It is
//!   as authenticated as everything on the lattice: by the NATS
//!   credentials. The process ends (0) when its last host is dropped.

use anyhow::{anyhow, Context, Result};
use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use crate::dropping::DropTx;
use crate::serve::{self, Shared};

/// A host's task, aborted (never waited on) when dropped.
struct Member {
    name: Arc<str>,
    task: tokio::task::AbortHandle,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Ended = (Arc<str>, Result<()>);

/// Run every host of `shared` until `shutdown`, then drain them all.
pub async fn run(shared: Arc<Shared>, shutdown: impl Future<Output = ()>) -> Result<()> {
    let (drop_tx, mut drop_rx) = mpsc::unbounded_channel();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<(Arc<str>, Result<Vec<SocketAddr>>)>();
    let (ended_tx, mut ended_rx) = mpsc::unbounded_channel::<Ended>();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut members: Vec<Member> = Vec::new();
    for name in &shared.config.hosts {
        let name: Arc<str> = Arc::from(name.as_str());
        let span = tracing::info_span!("host", name = %name);
        let host = member(shared.clone(), name.clone(), drop_tx.clone(), ready_tx.clone(), ended_tx.clone(), stop_rx.clone());
        let handle = tokio::spawn(host.instrument(span));
        let task = handle.abort_handle();
        // A panic outside the host's tasks still ends it, named; an abort
        // (a drop) is no news.
        let (watch_name, watch_ended) = (name.clone(), ended_tx.clone());
        tokio::spawn(async move {
            match handle.await {
                Err(e) if !e.is_cancelled() => {
                    let _ = watch_ended.send((watch_name.clone(), Err(anyhow!("host {watch_name} ended: {e}"))));
                }
                _ => {}
            }
        });
        members.push(Member { name, task });
    }
    drop((ready_tx, ended_tx));

    let mut bound = Vec::new();
    for _ in 0..members.len() {
        tokio::select! {
            Some((name, ready)) = ready_rx.recv() => match ready {
                Ok(addrs) => bound.extend(addrs),
                Err(e) => return Err(e.context(format!("host {name} cannot start"))),
            },
            Some((name, ended)) = ended_rx.recv() => {
                return Err(ended.err().unwrap_or_else(|| anyhow!("stopped"))).with_context(|| format!("host {name} cannot start"));
            }
            else => return Err(anyhow!("the hosts of this process ended while starting")),
        }
    }
    let config = &shared.config;
    if let Some(path) = &config.ready_file {
        crate::ready::write(path, std::process::id(), &bound)?;
    }
    tracing::info!(hosts = members.len(), "every host of this process is ready");

    let mut live: BTreeSet<Arc<str>> = members.iter().map(|m| m.name.clone()).collect();
    let mut failure = None;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(name) = drop_rx.recv() => {
                drop_member(&mut members, &mut live, &name);
                if live.is_empty() {
                    tracing::info!("every host of this process was dropped: exiting");
                    break;
                }
            }
            Some((name, ended)) = ended_rx.recv() => {
                if live.remove(&name) {
                    let err = ended.err().unwrap_or_else(|| anyhow!("it stopped on its own"));
                    tracing::error!(host = %name, "host failed: {err:#}; draining the others, then exiting");
                    failure = Some(err.context(format!("host {name}")));
                    break;
                }
            }
        }
    }
    if let Some(path) = &config.ready_file {
        crate::ready::remove(path);
    }
    stop_tx.send_replace(true);
    while !live.is_empty() {
        tokio::select! {
            Some(name) = drop_rx.recv() => drop_member(&mut members, &mut live, &name),
            ended = ended_rx.recv() => {
                let Some((name, ended)) = ended else { break };
                if live.remove(&name) {
                    if let Err(e) = ended {
                        failure.get_or_insert(e.context(format!("host {name}")));
                    }
                }
            }
        }
    }
    drop(members);
    failure.map_or(Ok(()), Err)
}

fn drop_member(members: &mut Vec<Member>, live: &mut BTreeSet<Arc<str>>, name: &Arc<str>) {
    live.remove(name);
    if let Some(i) = members.iter().position(|m| &m.name == name) {
        drop(members.remove(i));
        tracing::warn!(host = %name, "dropped: its tasks and NATS connection are gone; {} host(s) left here", members.len());
    }
}

/// One host: start, say so, serve until the process stops, finish.
async fn member(
    shared: Arc<Shared>,
    name: Arc<str>,
    drops: DropTx,
    ready: mpsc::UnboundedSender<(Arc<str>, Result<Vec<SocketAddr>>)>,
    ended: mpsc::UnboundedSender<Ended>,
    mut stop: watch::Receiver<bool>,
) {
    let mut serving = match serve::start(&shared, &name, Some(drops)).await {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send((name, Err(e)));
            return;
        }
    };
    let _ = ready.send((name.clone(), Ok(serving.bound.clone())));
    let died = serving
        .until(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
    let result = serving.finish(&shared.config, died).await;
    let _ = ended.send((name, result));
}
