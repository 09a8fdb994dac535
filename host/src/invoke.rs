//! Running hops through a probe component and settling what became of them.
//!
//! Each received hop waits in its component's bounded queue until one of
//! the component's concurrency permits is free, then runs in a fresh
//! instance (or a reused one with `--reuse N`). The permit is held only while
//! the guest runs: forwarding returns as soon as the next hop is published,
//! so an instance never waits on the ring and a cap of 1 cannot deadlock.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;
use opentelemetry::KeyValue;
use wasmtime::Store;

use crate::wasm::bindings::probe::{Probe, ProbePre};
use crate::wasm::imports::{CallCtx, GuestCtx, GuestHandles};
use crate::lattice::Inbound;
use crate::node::Node;
use crate::otel::instruments::Outcome as MetricOutcome;
use crate::otel::spans::{self, Running, Traces};
use crate::wasm::runtime::{HostState, Runtime};
use lwc_wire::events::{Hop, HopOutcome, LostReason};

/// A probe-world component placed on this host.
pub struct ProbeComponent {
    pub name: Arc<str>,
    pre: ProbePre<HostState>,
    /// Invocations an instance may serve before it is discarded (1 = fresh).
    reuse: u32,
    idle: Mutex<Vec<Warm>>,
    /// What its instances' imports use: its host's parts, taken once.
    handles: Arc<GuestHandles>,
}

/// A reusable instance and how many calls it has served.
struct Warm {
    store: Store<HostState>,
    probe: Probe,
    uses: u32,
}

enum Outcome {
    Ok,
    Trap(String),
    Timeout,
}

/// What one call of the guest did.
struct Called {
    outcome: Outcome,
    forwarded: bool,
    /// The link name the guest forwarded on, if it set one.
    link: Option<String>,
    /// Why its forward went nowhere (no such link, chaos drop), if it did.
    forward_loss: Option<(LostReason, String)>,
}

impl Called {
    fn failed(outcome: Outcome) -> Called {
        Called {
            outcome,
            forwarded: false,
            link: None,
            forward_loss: None,
        }
    }
}

impl ProbeComponent {
    /// The component `handles.component`, on the host `handles` were taken from.
    pub fn new(handles: Arc<GuestHandles>, pre: ProbePre<HostState>, reuse: u32) -> ProbeComponent {
        ProbeComponent {
            name: handles.component.clone(),
            pre,
            reuse: reuse.max(1),
            idle: Mutex::new(Vec::new()),
            handles,
        }
    }

    async fn instance(&self, rt: &Runtime) -> wasmtime::Result<Warm> {
        if self.reuse > 1 {
            if let Some(warm) = self.idle.lock().ok().and_then(|mut v| v.pop()) {
                return Ok(warm);
            }
        }
        let mut store = rt.store(GuestCtx::with_handles(self.handles.clone()));
        let probe = self.pre.instantiate_async(&mut store).await?;
        Ok(Warm {
            store,
            probe,
            uses: 0,
        })
    }

    /// Run one hop and settle its fate.
    pub async fn run(&self, rt: &Runtime, node: &Arc<Node>, hop: Inbound) {
        let otel = &node.ledger().otel;
        let span = otel.traces.as_ref().and_then(|t| self.start_span(t, &hop));
        if let Some(detail) = self.waited_too_long(node, &hop).await {
            if let Some(m) = &otel.metrics {
                m.overloaded(&self.name);
            }
            if let Some(span) = span {
                let link = link_in_use(None, false, &hop.inv.route);
                end_span(span, link, Fate::Lost(LostReason::Overloaded, detail));
            }
            node.lattice.settled(&hop, true).await;
            return;
        }
        let (called, invoke_us) = self.invoke(rt, node, &hop, span.as_ref()).await;
        let Called {
            outcome,
            forwarded,
            link,
            forward_loss,
        } = called;
        let fate = match (self.settle(node, &hop, outcome, forwarded).await, forward_loss) {
            // The guest forwarded, but the hop went nowhere (no link, drop).
            (Fate::Forwarded | Fate::TrappedAfterForward(_), Some((reason, detail))) => Fate::Lost(reason, detail),
            (fate, _) => fate,
        };
        if let Some(m) = &otel.metrics {
            let latency_s = hop.edge_ns() as f64 / 1e9;
            m.invocation(&self.name, &hop.caller, fate.metric(), invoke_us as f64 / 1e6, latency_s);
        }
        // Forwarded: the hop's `done` waits for the next holder to take it.
        let ended = fate.ended();
        if let Some(span) = span {
            end_span(span, link_in_use(link, forwarded, &hop.inv.route), fate);
        }
        node.lattice.settled(&hop, ended).await;
    }

    /// Call the guest, count and record the invocation; returns what the
    /// guest did and how long it took (µs).
    async fn invoke(&self, rt: &Runtime, node: &Arc<Node>, hop: &Inbound, span: Option<&Running>) -> (Called, u64) {
        let counters = &node.ledger().counters;
        counters.invocations.fetch_add(1, Relaxed);
        let started = Instant::now();
        let called = self.call(rt, node, hop, span).await;
        let invoke_us = started.elapsed().as_micros() as u64;
        let latency_us = hop.edge_ns() / 1_000;
        node.ledger().metrics.hop(&self.name, &hop.caller, latency_us, invoke_us);
        match &called.outcome {
            Outcome::Ok => counters.ok.fetch_add(1, Relaxed),
            Outcome::Trap(_) => counters.trap.fetch_add(1, Relaxed),
            Outcome::Timeout => counters.timeout.fetch_add(1, Relaxed),
        };
        self.publish_hop(node, hop, &called.outcome, invoke_us).await;
        (called, invoke_us)
    }

    /// The invocation's span, if the hop carries a sampled trace context.
    fn start_span(&self, traces: &Traces, hop: &Inbound) -> Option<Running> {
        let parent = traces.parent(hop.traceparent.as_deref()?)?;
        let inv = &hop.inv;
        let attributes = vec![
            KeyValue::new("lwc.component", self.name.clone()),
            spans::int("lwc.packet.id", inv.packet),
            spans::int("lwc.packet.ttl", inv.ttl),
            spans::int("lwc.packet.hop", u64::from(inv.hops)),
            KeyValue::new("lwc.packet.route", inv.route.clone()),
            KeyValue::new("lwc.caller", hop.caller.clone()),
            spans::int("lwc.hop.latency_us", hop.edge_ns() / 1_000),
        ];
        Some(Running::new(traces, traces.invocation(&parent, attributes)))
    }

    /// A hop that sat in the queue for half the sender's finish timeout is
    /// dropped here, as overloaded, before the sender gives up on it: so it
    /// is reported once, by us. Returns why, if it was dropped.
    async fn waited_too_long(&self, node: &Arc<Node>, hop: &Inbound) -> Option<String> {
        let waited = hop.accepted_at.elapsed();
        if waited < node.lattice.policy().finish_timeout / 2 {
            return None;
        }
        node.ledger().counters.overloaded.fetch_add(1, Relaxed);
        let detail = format!("{} queued the hop for {} ms", self.name, waited.as_millis());
        let inv = &hop.inv;
        node.ledger()
            .lost(inv.packet, &inv.route, inv.hops.saturating_sub(1), &self.name, LostReason::Overloaded, detail.clone())
            .await;
        Some(detail)
    }

    /// Call the guest and report what it did.
    async fn call(&self, rt: &Runtime, node: &Arc<Node>, hop: &Inbound, span: Option<&Running>) -> Called {
        let mut warm = match self.instance(rt).await {
            Ok(w) => w,
            Err(e) => return Called::failed(classify(&e)),
        };
        let call = CallCtx {
            packet: hop.inv.packet,
            ttl: hop.inv.ttl,
            hops: hop.inv.hops,
            gen: hop.inv.gen,
            age: hop.age(),
            trace: hop.trace,
            // Our span is the next hop's parent; with no span of ours (export
            // off, or an unsampled trace), the caller's context passes on.
            traceparent: match span {
                Some(s) => s.traceparent.clone(),
                None => hop.traceparent.clone(),
            },
            span: span.map(|s| s.context().clone()),
            upstream: hop.upstream(),
        };
        let host_trap = node.chaos.trap_now();
        warm.store.data_mut().guest.begin(call, host_trap);
        rt.arm_deadline(&mut warm.store);
        let inv = &hop.inv;
        let res = warm
            .probe
            .wasmcloud_lwc_packet_looper()
            .call_process(&mut warm.store, inv.packet, inv.ttl, inv.chaos, Some(&inv.route))
            .await;
        let guest = &mut warm.store.data_mut().guest;
        let mut called = Called {
            outcome: Outcome::Ok,
            forwarded: guest.forwarded,
            // Only a span reports it: no copy per hop otherwise.
            link: span.and_then(|_| guest.link_name.clone()),
            forward_loss: guest.forward_loss.take(),
        };
        match res {
            // Host chaos `trap` on a call that never tried to forward (the
            // last stop): it still fails, exactly as if it had trapped.
            Ok(()) if host_trap => {
                called.outcome = Outcome::Trap(format!("chaos: host {} trapped {}", node.host, self.name));
                called.forwarded = false;
            }
            Ok(()) => self.park(warm),
            // A trapped instance is never entered again: it is dropped here.
            Err(e) => called.outcome = classify(&e),
        }
        called
    }

    /// Keep a healthy instance for another call, if reuse allows.
    fn park(&self, mut warm: Warm) {
        warm.uses += 1;
        if warm.uses >= self.reuse {
            return;
        }
        warm.store.data_mut().guest.call = None;
        if let Ok(mut idle) = self.idle.lock() {
            // Never keep more idle instances than could run at once.
            if idle.len() < 64 {
                idle.push(warm);
            }
        }
    }

    async fn publish_hop(&self, node: &Arc<Node>, hop: &Inbound, outcome: &Outcome, invoke_us: u64) {
        let outcome = match outcome {
            Outcome::Ok => HopOutcome::Ok,
            Outcome::Trap(_) => HopOutcome::Trap,
            Outcome::Timeout => HopOutcome::Timeout,
        };
        node.ledger()
            .hop(hop.trace, || Hop {
                packet: hop.inv.packet,
                ttl: hop.inv.ttl,
                route: hop.inv.route.clone(),
                from: hop.caller.clone(),
                to: self.name.to_string(),
                host: node.host.to_string(),
                sent_ns: hop.sent_here_ns(),
                recv_ns: hop.recv_ns,
                latency_us: hop.edge_ns() / 1_000,
                invoke_us,
                outcome,
            })
            .await;
    }

    /// Decide the packet's fate if this hop ended it.
    async fn settle(&self, node: &Arc<Node>, hop: &Inbound, outcome: Outcome, forwarded: bool) -> Fate {
        let inv = &hop.inv;
        let ledger = node.ledger();
        let (reason, detail) = match outcome {
            // The packet went on: a trap after forwarding is only counted.
            Outcome::Trap(msg) if forwarded => return Fate::TrappedAfterForward(msg),
            _ if forwarded => return Fate::Forwarded,
            Outcome::Ok if inv.ttl == 0 => {
                let lifetime_us = hop.age().at(lwc_wire::now_ns()) / 1_000;
                ledger.expired(inv.packet, &inv.route, inv.hops, lifetime_us).await;
                return Fate::Expired;
            }
            Outcome::Ok => (
                LostReason::NotForwarded,
                format!("{} returned with ttl {} without forwarding", self.name, inv.ttl),
            ),
            Outcome::Trap(msg) => (LostReason::TrapBeforeForward, msg),
            Outcome::Timeout => (
                LostReason::Timeout,
                format!("{} ran past its deadline", self.name),
            ),
        };
        ledger
            .lost(inv.packet, &inv.route, inv.hops, &self.name, reason, detail.clone())
            .await;
        Fate::Lost(reason, detail)
    }
}

/// Where a packet went from this invocation.
enum Fate {
    Forwarded,
    /// The probe's chaos trap after it forwarded: the packet went on.
    TrappedAfterForward(String),
    Expired,
    Lost(LostReason, String),
}

impl Fate {
    /// Whether the packet's fate was published here.
    fn ended(&self) -> bool {
        !matches!(self, Fate::Forwarded | Fate::TrappedAfterForward(_))
    }

    fn metric(&self) -> MetricOutcome {
        match self {
            Fate::Forwarded => MetricOutcome::Forwarded,
            Fate::TrappedAfterForward(_) => MetricOutcome::Trap,
            Fate::Expired => MetricOutcome::Expired,
            Fate::Lost(LostReason::TrapBeforeForward, _) => MetricOutcome::Trap,
            Fate::Lost(LostReason::Timeout, _) => MetricOutcome::Timeout,
            Fate::Lost(..) => MetricOutcome::Lost,
        }
    }
}

/// The link a span names: the one the guest forwarded on (the lattice's
/// `default` when it named none), or, on a hop that forwarded nothing (the
/// last, or one that failed first), the packet's route.
fn link_in_use(link: Option<String>, forwarded: bool, route: &str) -> String {
    match link {
        Some(link) => link,
        None if forwarded => "default".to_string(),
        None => route.to_string(),
    }
}

/// Finish an invocation's span: traps and losses are errors, with why.
fn end_span(mut span: Running, link: String, fate: Fate) {
    span.set(KeyValue::new("lwc.link.name", link));
    let (outcome, error) = match fate {
        Fate::Forwarded => ("forwarded", None),
        Fate::Expired => ("expired", None),
        Fate::TrappedAfterForward(msg) => ("trap", Some(format!("trap after forwarding: {msg}"))),
        Fate::Lost(reason, detail) => {
            span.set(KeyValue::new("lwc.loss.reason", reason.as_str()));
            let outcome = match reason {
                LostReason::TrapBeforeForward => "trap",
                LostReason::Timeout => "timeout",
                _ => "lost",
            };
            (outcome, Some(format!("lost ({reason}): {detail}")))
        }
    };
    span.set(KeyValue::new("lwc.outcome", outcome));
    span.end(error);
}

fn classify(err: &wasmtime::Error) -> Outcome {
    match err.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => Outcome::Timeout,
        _ => Outcome::Trap(format!("{err:#}")),
    }
}

/// Take hops from the component's queue and run each under a permit.
pub async fn run_dispatcher(
    component: Arc<ProbeComponent>,
    rt: Arc<Runtime>,
    node: Arc<Node>,
    mut queue: mpsc::Receiver<Inbound>,
    max_concurrent: usize,
) {
    let permits = Arc::new(Semaphore::new(max_concurrent));
    let mut running = JoinSet::new();
    let guests = rt.guests();
    while let Some(hop) = queue.recv().await {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let (this, rt, node) = (component.clone(), rt.clone(), node.clone());
        running.spawn_on(
            async move {
                this.run(&rt, &node, hop).await;
                drop(permit);
            }
            .in_current_span(),
            &guests,
        );
        while let Some(done) = running.try_join_next() {
            if let Err(e) = done {
                tracing::error!(component = %component.name, "invocation task failed: {e}");
            }
        }
    }
    // Drain: let running invocations finish and settle their packets.
    while let Some(done) = running.join_next().await {
        if let Err(e) = done {
            tracing::error!(component = %component.name, "invocation task failed: {e}");
        }
    }
}

#[cfg(test)]
#[path = "invoke_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "invoke_link_tests.rs"]
mod link_tests;
