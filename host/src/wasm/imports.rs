//! What guests can call: the host side of the WIT imports.
//!
//! - `wasmcloud:bus/lattice.set-link-name`: per-instance link name
//! - `wasmcloud:lwc/packet-looper.process`: the next hop, resolved by link
//!   name; returns as soon as the hop is handed to the lattice
//! - `wasi:logging/logging.log`: to the host log (target `guest`)
//! - `wasmcloud:lwc/control-plane`: packet ids, tracing, chaos, links and
//!   steady load ([`crate::load`]), for control only

use anyhow::{bail, Result};
use std::collections::HashSet;
use std::sync::Arc;
use wasmtime::component::{Resource, ResourceTableError};

use crate::wasm::bindings::control::wasmcloud::lwc::control_plane;
use crate::wasm::bindings::probe::wasi::logging::logging::{self, Level};
use crate::wasm::bindings::probe::wasmcloud::bus::lattice;
use crate::wasm::bindings::probe::wasmcloud::lwc::packet_looper;
use crate::ctl::{ChaosPatch, CtlError};
use crate::lattice::protocol::Upstream;
use crate::load;
use crate::node::{Forward, Node};
use crate::otel::logs::GuestRecord;
use crate::otel::spans::RequestTrace;
use lwc_wire::events::LostReason;
use opentelemetry::trace::SpanContext;
use lwc_wire::ctl::LinkWire;
use crate::wasm::runtime::HostState;
use lwc_wire::invocation::Invocation;
use lwc_wire::subjects::{is_valid_token, PACKET_LOOPER};

/// The invocation an instance is serving right now.
#[derive(Debug, Clone)]
pub struct CallCtx {
    pub packet: u64,
    pub ttl: u64,
    pub hops: u32,
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
    pub node: Arc<Node>,
    /// The component this instance is.
    pub component: Arc<str>,
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
    traced: HashSet<u64>,
}

impl GuestCtx {
    pub fn new(node: Arc<Node>, component: Arc<str>) -> GuestCtx {
        GuestCtx {
            node,
            component,
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
                self.guest.component,
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
        if g.trap_at_forward {
            bail!("chaos: host {} trapped {} before it forwarded", g.node.host, g.component);
        }
        if g.forwarded {
            // One packet in, one packet out: a second forward would clone it.
            g.node.ledger().counters.reject("double-forward");
            return Ok(());
        }
        g.forwarded = true;
        if packet != call.packet || ttl >= call.ttl {
            g.node.ledger().counters.reject("forward-mismatch");
        }
        let route = if is_valid_token(&route) { route } else { link.clone() };
        let inv = Invocation {
            packet: call.packet,
            // Never let a guest grow the ttl: every packet must end.
            ttl: ttl.min(call.ttl.saturating_sub(1)),
            chaos,
            hops: call.hops + 1,
            hop_id: 0,
            route,
        };
        let fwd = Forward {
            from: &g.component,
            link: &link,
            inv,
            trace: call.trace,
            traceparent: call.traceparent.clone(),
            upstream: Some(call.upstream.clone()),
        };
        g.forward_loss = g.node.forward(fwd).await;
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
        hop_id: 0,
        route,
    };
    g.node.inject(&g.component, link, inv, trace, traceparent).await;
    Ok(())
}

impl logging::Host for HostState {
    async fn log(&mut self, level: Level, context: String, message: String) -> Result<()> {
        let component = &*self.guest.component;
        let metrics = &self.guest.node.ledger().metrics;
        metrics.guest_log(component, level_name(level), &context, &message);
        if let Some(logs) = &self.guest.node.ledger().otel.logs {
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

fn to_wit_chaos(list: Vec<(String, crate::chaos::ChaosSettings)>) -> Vec<control_plane::HostChaos> {
    list.into_iter()
        .map(|(host, c)| control_plane::HostChaos {
            host,
            chaos: control_plane::Chaos {
                trap: c.trap,
                delay_ms: c.delay_ms,
                jitter_ms: c.jitter_ms,
                drop: c.drop,
                down_s: c.down_s,
            },
        })
        .collect()
}

fn to_wit_links(list: Vec<LinkWire>) -> Vec<control_plane::Link> {
    list.into_iter()
        .map(|l| control_plane::Link {
            source: l.source,
            name: l.name,
            target: l.target,
        })
        .collect()
}

fn to_wit_error(e: CtlError) -> control_plane::CtlError {
    match e {
        CtlError::BadRequest(m) => control_plane::CtlError::BadRequest(m),
        CtlError::Unavailable(m) => control_plane::CtlError::Unavailable(m),
    }
}

impl control_plane::Host for HostState {
    async fn get_chaos(&mut self) -> Result<Vec<control_plane::HostChaos>> {
        Ok(to_wit_chaos(self.guest.node.ctl.get_chaos()))
    }

    async fn set_chaos(
        &mut self,
        host: String,
        patch: control_plane::ChaosPatch,
    ) -> Result<Result<Vec<control_plane::HostChaos>, control_plane::CtlError>> {
        let patch = ChaosPatch {
            trap: patch.trap,
            delay_ms: patch.delay_ms,
            jitter_ms: patch.jitter_ms,
            drop: patch.drop,
            down_s: patch.down_s,
        };
        let res = self.guest.node.ctl.set_chaos(&host, patch).await;
        Ok(res.map(to_wit_chaos).map_err(to_wit_error))
    }

    async fn get_links(&mut self) -> Result<Vec<control_plane::Link>> {
        Ok(to_wit_links(self.guest.node.ctl.get_links()))
    }

    async fn put_link(
        &mut self,
        link: control_plane::Link,
    ) -> Result<Result<Vec<control_plane::Link>, control_plane::CtlError>> {
        let link = LinkWire {
            source: link.source,
            name: link.name,
            target: link.target,
        };
        let res = self.guest.node.ctl.put_link(link).await;
        Ok(res.map(to_wit_links).map_err(to_wit_error))
    }

    async fn delete_link(
        &mut self,
        source: String,
        name: String,
    ) -> Result<Result<Vec<control_plane::Link>, control_plane::CtlError>> {
        let res = self.guest.node.ctl.delete_link(&source, &name).await;
        Ok(res.map(to_wit_links).map_err(to_wit_error))
    }

    async fn status(&mut self) -> Result<String> {
        Ok(self.guest.node.ctl.status())
    }

    async fn reserve_packet_ids(&mut self, count: u32) -> Result<u64> {
        Ok(self.guest.node.reserve_packet_ids(count))
    }

    async fn start_load(
        &mut self,
        spec: control_plane::LoadSpec,
    ) -> Result<Result<control_plane::LoadStatus, control_plane::CtlError>> {
        let spec = load::LoadSpec {
            rate: spec.rate,
            ttl: spec.ttl,
            chaos: spec.chaos,
            route: spec.route,
            duration_s: spec.duration_s,
        };
        let injector = Arc::new(NodeInjector {
            node: Arc::downgrade(&self.guest.node),
            from: self.guest.component.clone(),
        });
        let started = load::slot_for(&self.guest.node).start(spec, injector);
        Ok(started
            .map(to_wit_load)
            .map_err(|busy| control_plane::CtlError::Conflict(busy.to_string())))
    }

    async fn get_load(&mut self) -> Result<control_plane::LoadState> {
        Ok(to_wit_load_state(load::slot_for(&self.guest.node).get()))
    }

    async fn stop_load(&mut self) -> Result<control_plane::LoadState> {
        let slot = load::slot_for(&self.guest.node);
        Ok(to_wit_load_state(slot.stop().await))
    }

    async fn mark_traced(&mut self, packet: u64) -> Result<()> {
        // Bounded: a request marks at most as many packets as it injects.
        if self.guest.traced.len() < 100_000 {
            self.guest.traced.insert(packet);
        }
        Ok(())
    }
}

/// The load scheduler's way onto the lattice: injection as the control
/// component's own `process` call does it, while the host is alive.
struct NodeInjector {
    node: std::sync::Weak<Node>,
    from: Arc<str>,
}

impl load::Injector for NodeInjector {
    fn inject(&self, spec: &load::LoadSpec, count: u32) -> load::InjectFuture<'_> {
        let spec = spec.clone();
        Box::pin(async move {
            let Some(node) = self.node.upgrade() else {
                return false;
            };
            let first = node.reserve_packet_ids(count);
            for packet in first..first + u64::from(count) {
                let inv = Invocation {
                    packet,
                    ttl: spec.ttl,
                    chaos: spec.chaos,
                    hops: 1,
                    hop_id: 0,
                    route: spec.route.clone(),
                };
                node.inject(&self.from, "default", inv, false, None).await;
            }
            true
        })
    }
}

fn to_wit_load(s: load::LoadStatus) -> control_plane::LoadStatus {
    control_plane::LoadStatus {
        spec: control_plane::LoadSpec {
            rate: s.spec.rate,
            ttl: s.spec.ttl,
            chaos: s.spec.chaos,
            route: s.spec.route,
            duration_s: s.spec.duration_s,
        },
        started_ns: s.started_ns,
        injected: s.injected,
        late_p99_us: s.late_p99_us,
        late_max_us: s.late_max_us,
        running: s.running,
    }
}

fn to_wit_load_state(state: load::LoadState) -> control_plane::LoadState {
    control_plane::LoadState {
        running: state.running.map(to_wit_load),
        last: state.last.map(to_wit_load),
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
