//! The host side of `wasmcloud:lwc/control-plane`, imported by the control
//! component only: packet ids, tracing, chaos, links and steady load
//! ([`crate::load`]), each through its own handle in [`GuestHandles`].
//!
//! [`GuestHandles`]: crate::wasm::imports::GuestHandles

use anyhow::Result;
use std::sync::{Arc, Weak};

use crate::ctl::{ChaosPatch, CtlError};
use crate::load;
use crate::node::Forwarder;
use crate::wasm::bindings::control::wasmcloud::lwc::control_plane;
use crate::wasm::runtime::HostState;
use lwc_wire::ctl::LinkWire;
use lwc_wire::invocation::Invocation;

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
        Ok(to_wit_chaos(self.guest.handles.ctl.get_chaos()))
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
        let res = self.guest.handles.ctl.set_chaos(&host, patch).await;
        Ok(res.map(to_wit_chaos).map_err(to_wit_error))
    }

    async fn get_links(&mut self) -> Result<Vec<control_plane::Link>> {
        Ok(to_wit_links(self.guest.handles.ctl.get_links()))
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
        let res = self.guest.handles.ctl.put_link(link).await;
        Ok(res.map(to_wit_links).map_err(to_wit_error))
    }

    async fn delete_link(
        &mut self,
        source: String,
        name: String,
    ) -> Result<Result<Vec<control_plane::Link>, control_plane::CtlError>> {
        let res = self.guest.handles.ctl.delete_link(&source, &name).await;
        Ok(res.map(to_wit_links).map_err(to_wit_error))
    }

    async fn status(&mut self) -> Result<String> {
        Ok(self.guest.handles.ctl.status())
    }

    async fn reserve_packet_ids(&mut self, count: u32) -> Result<u64> {
        Ok(self.guest.handles.forwarder.reserve_packet_ids(count))
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
        let h = &self.guest.handles;
        let injector = Arc::new(LoadInjector {
            forwarder: Arc::downgrade(&h.forwarder),
            from: h.component.clone(),
        });
        let started = h.load.start(spec, injector);
        Ok(started
            .map(to_wit_load)
            .map_err(|busy| control_plane::CtlError::Conflict(busy.to_string())))
    }

    async fn get_load(&mut self) -> Result<control_plane::LoadState> {
        Ok(to_wit_load_state(self.guest.handles.load.get()))
    }

    async fn stop_load(&mut self) -> Result<control_plane::LoadState> {
        Ok(to_wit_load_state(self.guest.handles.load.stop().await))
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
/// component's own `process` call does it, while the host is alive (its
/// node, components and instances hold the forwarder; the load does not).
struct LoadInjector {
    forwarder: Weak<Forwarder>,
    from: Arc<str>,
}

impl load::Injector for LoadInjector {
    fn inject(&self, spec: &load::LoadSpec, count: u32) -> load::InjectFuture<'_> {
        let spec = spec.clone();
        Box::pin(async move {
            let Some(forwarder) = self.forwarder.upgrade() else {
                return false;
            };
            let first = forwarder.reserve_packet_ids(count);
            for packet in first..first + u64::from(count) {
                let inv = Invocation {
                    packet,
                    ttl: spec.ttl,
                    chaos: spec.chaos,
                    hops: 1,
                    gen: 0,
                    hop_id: 0,
                    route: spec.route.clone(),
                };
                forwarder.inject(&self.from, "default", inv, false, None).await;
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
