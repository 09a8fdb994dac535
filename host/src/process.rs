//! A process of several hosts (`--host a --host b`, or `--host a,b`).
//!
//! The hosts share the engine and the compiled components ([`Shared`]);
//! each runs on a tokio runtime of its own, so that everything it is (its
//! NATS connection, its tasks, whatever they spawned) can be dropped at
//! once while its neighbours go on: shutting that runtime down is what
//! `kill -9` is to a process of one host. Its log lines carry
//! `host{name=…}`.
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

use crate::dropping::DropTx;
use crate::serve::{self, Shared};

/// A host's runtime, shut down (never waited on) when dropped.
struct Member {
    name: Arc<str>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for Member {
    fn drop(&mut self) {
        // Dropped from async code: shutting down must not block.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
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
        let rt = member_runtime(&shared, &name)?;
        let handle = rt.spawn(member(shared.clone(), name.clone(), drop_tx.clone(), ready_tx.clone(), ended_tx.clone(), stop_rx.clone()));
        // A panic outside the host's tasks still ends it, named.
        let (watch_name, watch_ended) = (name.clone(), ended_tx.clone());
        tokio::spawn(async move {
            if let Err(e) = handle.await {
                let _ = watch_ended.send((watch_name.clone(), Err(anyhow!("host {watch_name} ended: {e}"))));
            }
        });
        members.push(Member { name, rt: Some(rt) });
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

/// One host's runtime: `--threads` workers (default one), each thread's
/// log lines in a `host` span.
fn member_runtime(shared: &Shared, host: &Arc<str>) -> Result<tokio::runtime::Runtime> {
    let span_host = host.clone();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(shared.config.threads).max(1))
        .thread_name(format!("lwc-{host}"))
        .on_thread_start(move || {
            // Entered for the thread's whole life: never exited, on purpose.
            std::mem::forget(tracing::info_span!("host", name = %span_host).entered());
        })
        .enable_all()
        .build()
        .with_context(|| format!("cannot start a runtime for host {host}"))
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
