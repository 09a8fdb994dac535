//! What guests can call: the host side of the WIT imports.
//!
//! - `wasmcloud:bus/lattice.set-link-name`: per-instance link name
//! - `wasmcloud:lwc/packet-looper.process`: the next hop, resolved by link
//!   name; returns as soon as the hop is handed to the lattice
//! - `wasi:logging/logging.log`: to the host log (target `guest`)
//! - `wasmcloud:lwc/control-plane`: in [`super::control_plane`]
//!
//! Each instance's [`GuestCtx`] holds its component's [`GuestHandles`]: the
//! host's parts its imports use, each by name, not the node.

use anyhow::{bail, Result};
use std::collections::HashSet;
use std::sync::Arc;
use wasmtime::component::{Resource, ResourceTableError};

use crate::wasm::bindings::probe::wasi::logging::logging::{self, Level};
use crate::wasm::bindings::probe::wasmcloud::bus::lattice;
use crate::wasm::bindings::probe::wasmcloud::lwc::packet_looper;
use crate::ctl::ControlPlane;
use crate::lattice::protocol::Upstream;
use crate::lattice::Age;
use crate::ledger::Ledger;
use crate::load::{self, LoadSlot};
use crate::node::{Forward, Forwarder, Node};
use crate::otel::logs::GuestRecord;
use crate::otel::spans::RequestTrace;
use crate::otel::Otel;
use lwc_wire::events::LostReason;
use opentelemetry::trace::SpanContext;
use crate::wasm::runtime::HostState;
use lwc_wire::invocation::Invocation;
use lwc_wire::subjects::{is_valid_token, PACKET_LOOPER};

/// What one component's imports use, built once per component from its
/// host's node and shared by all its instances (a context clones the `Arc`).
pub struct GuestHandles {
    /// The component these instances are.
    pub component: Arc<str>,
    /// The host they run on (named when host chaos traps them).
    pub host: Arc<str>,
    /// Sends their forwards on; injects and numbers control's new packets.
    pub forwarder: Arc<Forwarder>,
    /// Counts what a guest got wrong; its metrics take the guest logs.
    pub ledger: Arc<Ledger>,
    /// OTLP export: guest log records go to `otel.logs` when it is on.
    pub otel: Arc<Otel>,
    /// Chaos, links and status of the lattice (the control component's).
    pub ctl: Arc<ControlPlane>,
    /// This host's steady load (the control component's `/load`).
    pub load: Arc<LoadSlot>,
}

impl GuestHandles {
    /// `component`'s handles on `node`'s host: the node's parts, taken once.
    pub fn new(node: &Arc<Node>, component: Arc<str>) -> Arc<GuestHandles> {
        let Node { host, lattice, ctl, forwarder, .. } = &**node;
        let ledger = lattice.ledger().clone();
        Arc::new(GuestHandles {
            component,
            host: host.clone(),
            forwarder: forwarder.clone(),
            otel: ledger.otel.clone(),
            ledger,
            ctl: ctl.clone(),
            // Keyed by the node, as serve's drain stops it.
            load: load::slot_for(node),
        })
    }
}

/// The invocation an instance is serving right now.
#[derive(Debug, Clone)]
pub struct CallCtx {
    pub packet: u64,
    pub ttl: u64,
    pub hops: u32,
    /// The packet's lineage generation: its forward keeps it.
    pub gen: u16,
    /// How old the packet is: its forward's age is reckoned from this.
    pub age: Age,
    pub trace: bool,
    /// What the next hop carries as `traceparent`.
    pub traceparent: Option<String>,
    /// This invocation's span, when it is recorded (for log records).
    pub span: Option<SpanContext>,
    /// Who gave us this hop: its `done` waits for our forward to be taken.
    pub upstream: Upstream,
}

/// Per-instance guest state kept in the store.
pub struct GuestCtx {
    /// What this instance's imports use (its component's, shared).
    pub handles: Arc<GuestHandles>,
    /// Set by `set-link-name` for `packet-looper`; `default` until then.
    pub link_name: Option<String>,
    /// `Some` while serving a hop; `None` while serving an HTTP request.
    pub call: Option<CallCtx>,
    /// Whether the current call has forwarded its packet.
    pub forwarded: bool,
    /// Host chaos: trap the current call when it tries to forward.
    pub trap_at_forward: bool,
    /// Why the current call's forward went nowhere, if it did.
    pub forward_loss: Option<(LostReason, String)>,
    /// The trace of the HTTP request this instance serves, if traced.
    pub request: Option<Arc<RequestTrace>>,
    /// Packets marked traced by the control component.
    pub(super) traced: HashSet<u64>,
}

impl GuestCtx {
    /// A fresh context on `handles`: no allocation beyond the instance's own.
    pub fn with_handles(handles: Arc<GuestHandles>) -> GuestCtx {
        GuestCtx {
            handles,
            link_name: None,
            call: None,
            forwarded: false,
            trap_at_forward: false,
            forward_loss: None,
            request: None,
            traced: HashSet::new(),
        }
    }

    /// Reset per-call state before serving `call` (instances may be reused).
    pub fn begin(&mut self, call: CallCtx, trap_at_forward: bool) {
        self.call = Some(call);
        self.forwarded = false;
        self.trap_at_forward = trap_at_forward;
        self.forward_loss = None;
    }
}

/// A `call-target-interface` resource: which interface a link name is for.
/// Only whether it names `packet-looper` is kept, not the guest's strings:
/// a handle costs the host the same few bytes whatever the guest passed.
pub struct CallTarget {
    packet_looper: bool,
}

impl CallTarget {
    fn is_packet_looper(&self) -> bool {
        self.packet_looper
    }
}

impl lattice::Host for HostState {
    async fn set_link_name(&mut self, name: String, interfaces: Vec<Resource<CallTarget>>) -> Result<()> {
        let mut for_looper = false;
        for handle in interfaces {
            let target = self.table().delete(handle)?;
            for_looper |= target.is_packet_looper();
        }
        if for_looper {
            self.guest.link_name = Some(name);
        }
        Ok(())
    }
}

impl lattice::HostCallTargetInterface for HostState {
    async fn new(&mut self, namespace: String, package: String, interface: String) -> Result<Resource<CallTarget>> {
        let target = CallTarget {
            packet_looper: namespace == "wasmcloud" && package == "lwc" && interface == PACKET_LOOPER,
        };
        match self.table().push(target) {
            Ok(handle) => Ok(handle),
            // The table is capped (runtime::MAX_GUEST_RESOURCES): the guest traps.
            Err(ResourceTableError::Full) => bail!(
                "{} holds {} host resources, the most an instance may: \
                 it creates call-target-interface handles without dropping them",
                self.guest.handles.component,
                crate::wasm::runtime::MAX_GUEST_RESOURCES
            ),
            Err(e) => Err(e.into()),
        }
    }

    async fn drop(&mut self, handle: Resource<CallTarget>) -> Result<()> {
        self.table().delete(handle)?;
        Ok(())
    }
}

impl packet_looper::Host for HostState {
    async fn process(&mut self, packet: u64, ttl: u64, chaos: u16, route: Option<String>) -> Result<()> {
        let route = route.unwrap_or_else(|| "default".to_string());
        let chaos = chaos.min(100);
        let g = &mut self.guest;
        let link = g.link_name.clone().unwrap_or_else(|| "default".to_string());
        let Some(call) = g.call.clone() else {
            // Outside a hop: the control component injecting a new packet.
            return inject(g, packet, ttl, chaos, route, &link).await;
        };
        let h = &*g.handles;
        if g.trap_at_forward {
            bail!("chaos: host {} trapped {} before it forwarded", h.host, h.component);
        }
        if g.forwarded {
            // One packet in, one packet out: a second forward would clone it.
            h.ledger.counters.reject("double-forward");
            return Ok(());
        }
        g.forwarded = true;
        if packet != call.packet || ttl >= call.ttl {
            h.ledger.counters.reject("forward-mismatch");
        }
        let route = if is_valid_token(&route) { route } else { link.clone() };
        let inv = Invocation {
            packet: call.packet,
            // Never let a guest grow the ttl: every packet must end.
            ttl: ttl.min(call.ttl.saturating_sub(1)),
            chaos,
            hops: call.hops + 1,
            gen: call.gen,
            hop_id: 0,
            route,
        };
        let fwd = Forward {
            from: &h.component,
            link: &link,
            inv,
            trace: call.trace,
            traceparent: call.traceparent.clone(),
            upstream: Some(call.upstream.clone()),
            age: call.age,
        };
        g.forward_loss = h.forwarder.forward(fwd).await;
        Ok(())
    }
}

async fn inject(g: &mut GuestCtx, packet: u64, ttl: u64, chaos: u16, route: String, link: &str) -> Result<()> {
    if !is_valid_token(&route) {
        bail!("control injected packet {packet} with an invalid route {route:?}");
    }
    let trace = g.traced.remove(&packet);
    // The request's root span parents this packet's trace when the packet
    // is marked traced, or the sampler picked the whole request.
    let traceparent = match &g.request {
        Some(req) if trace || req.sample_all => req.traceparent(),
        _ => None,
    };
    let inv = Invocation {
        packet,
        ttl,
        chaos,
        hops: 1,
        gen: 0,
        hop_id: 0,
        route,
    };
    let h = &g.handles;
    h.forwarder.inject(&h.component, link, inv, trace, traceparent).await;
    Ok(())
}

impl logging::Host for HostState {
    async fn log(&mut self, level: Level, context: String, message: String) -> Result<()> {
        let h = &*self.guest.handles;
        let component = &*h.component;
        h.ledger.metrics.guest_log(component, level_name(level), &context, &message);
        if let Some(logs) = &h.otel.logs {
            let request_span = self.guest.request.as_ref().and_then(|r| r.context());
            let span = match &self.guest.call {
                Some(call) => call.span.as_ref(),
                None => request_span.as_ref(),
            };
            logs.emit(GuestRecord {
                component,
                level: otel_level(level),
                context: &context,
                message: &message,
                span,
            });
        }
        // Per-hop guest chatter would drown the host log: guest info is
        // visible with RUST_LOG=guest=info.
        match level {
            Level::Trace => tracing::trace!(target: "guest", component, context, "{message}"),
            Level::Debug => tracing::debug!(target: "guest", component, context, "{message}"),
            Level::Info => tracing::info!(target: "guest", component, context, "{message}"),
            Level::Warn => tracing::warn!(target: "guest", component, context, "{message}"),
            Level::Error | Level::Critical => {
                tracing::error!(target: "guest", component, context, "{message}")
            }
        }
        Ok(())
    }
}

fn otel_level(level: Level) -> crate::otel::logs::Level {
    use crate::otel::logs::Level as L;
    match level {
        Level::Trace => L::Trace,
        Level::Debug => L::Debug,
        Level::Info => L::Info,
        Level::Warn => L::Warn,
        Level::Error => L::Error,
        Level::Critical => L::Critical,
    }
}

/// The name of a `wasi:logging` level, as snapshots spell it.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
        Level::Critical => "critical",
    }
}
