//! `lwc.link.name` on an invocation's span names the link the packet is on:
//! the real probe on host east, spans caught as the SDK ends them. The last
//! hop forwards nothing; it used to say `default` whatever the route.

use crate::wasm::imports::GuestHandles;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use super::*;
use crate::node::testing;
use crate::otel::spans::INVOCATION_SPAN;
use crate::otel::Otel;
use crate::wasm::runtime::Limits;
use lwc_wire::invocation::Invocation;

/// Keeps every span that ends.
#[derive(Debug, Clone, Default)]
struct Caught(Arc<Mutex<Vec<SpanData>>>);

impl SpanProcessor for Caught {
    fn on_start(&self, _: &mut Span, _: &opentelemetry::Context) {}
    fn on_end(&self, span: SpanData) {
        self.0.lock().unwrap().push(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn set_resource(&mut self, _: &Resource) {}
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string())
}

/// Run one hop of a sampled trace through the real probe as component
/// `east`, and return its invocation span.
async fn span_of_hop(ttl: u64, route: &str) -> SpanData {
    let caught = Caught::default();
    let provider = SdkTracerProvider::builder().with_span_processor(caught.clone()).build();
    let mut otel = Otel::disabled();
    otel.traces = Some(Arc::new(Traces::new(provider)));
    let node = testing::node_with("east", Arc::new(otel)).await;
    let limits = Limits {
        max_memory: 16 << 20,
        max_instances: 8,
        ..Limits::default()
    };
    let rt = Runtime::new(limits, 0).unwrap();
    let wasm = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/release/lwc_probe.wasm");
    let component = ProbeComponent::new(GuestHandles::new(&node, Arc::from("east")), rt.load_probe(&wasm).unwrap(), 1);
    let hop = Inbound {
        inv: Invocation {
            packet: lwc_wire::now_ns(),
            ttl,
            chaos: 0,
            hops: 4,
            gen: 0,
            hop_id: 7,
            route: route.to_string(),
        },
        sender: Arc::from("north"),
        caller: "north".into(),
        sent_ns: lwc_wire::now_ns(),
        offset_ns: 0,
        held: false,
        age_ns: 0,
        recv_ns: lwc_wire::now_ns(),
        accepted_at: Instant::now(),
        trace: false,
        // A sampled parent: the host makes a span only under one.
        traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
    };
    component.run(&rt, &node, hop).await;
    let spans = caught.0.lock().unwrap().clone();
    let mut invocations: Vec<SpanData> = spans.into_iter().filter(|s| s.name == INVOCATION_SPAN).collect();
    assert_eq!(invocations.len(), 1, "{invocations:#?}");
    invocations.remove(0)
}

#[tokio::test]
async fn the_last_hop_of_a_special_packet_names_its_route() {
    let span = span_of_hop(0, "special").await;
    assert_eq!(attr(&span, "lwc.outcome").as_deref(), Some("expired"));
    assert_eq!(attr(&span, "lwc.link.name").as_deref(), Some("special"));
}

#[tokio::test]
async fn a_forwarding_hop_names_the_link_the_guest_forwarded_on() {
    let span = span_of_hop(3, "special").await;
    assert_eq!(attr(&span, "lwc.outcome").as_deref(), Some("forwarded"));
    assert_eq!(attr(&span, "lwc.link.name").as_deref(), Some("special"));
    let span = span_of_hop(0, "default").await;
    assert_eq!(attr(&span, "lwc.link.name").as_deref(), Some("default"));
}

#[test]
fn a_forward_without_a_link_name_went_on_default() {
    assert_eq!(link_in_use(Some("special".into()), true, "default"), "special");
    assert_eq!(link_in_use(None, true, "special"), "default");
    assert_eq!(link_in_use(None, false, "special"), "special");
}
