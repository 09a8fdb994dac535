//! Spans: one per invocation, parented by the caller's span through the
//! `traceparent` header every hop carries, so a packet is one trace across
//! all the hosts it crosses. The `POST /packets` request is the root.
//!
//! Only sampled contexts make spans: an unsampled or missing `traceparent`
//! costs nothing here and is passed on untouched.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, Span};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use lwc_wire::invocation::headers::TRACEPARENT;

pub const INVOCATION_SPAN: &str = "packet-looper.process";
pub const LOST_SPAN: &str = "packet.lost";

/// The tracer and the W3C trace-context codec.
pub struct Traces {
    pub(super) provider: SdkTracerProvider,
    tracer: SdkTracer,
    propagator: TraceContextPropagator,
}

/// One `traceparent` value, as the propagator reads it.
struct OneHeader<'a>(&'a str);

impl Extractor for OneHeader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0)
    }
    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

struct Capture(Option<String>);

impl Injector for Capture {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACEPARENT {
            self.0 = Some(value);
        }
    }
}

/// A packet id, ttl or count as an attribute: an integer when it fits.
pub fn int(key: &'static str, n: u64) -> KeyValue {
    match i64::try_from(n) {
        Ok(i) => KeyValue::new(key, i),
        Err(_) => KeyValue::new(key, n.to_string()),
    }
}

impl Traces {
    pub fn new(provider: SdkTracerProvider) -> Traces {
        let tracer = provider.tracer("lwc-host");
        Traces {
            provider,
            tracer,
            propagator: TraceContextPropagator::new(),
        }
    }

    /// The caller's context from a `traceparent`, if it is valid and sampled.
    pub fn parent(&self, traceparent: &str) -> Option<Context> {
        let cx = self.propagator.extract(&OneHeader(traceparent));
        let sc = cx.span().span_context().clone();
        (sc.is_valid() && sc.is_sampled()).then_some(cx)
    }

    /// The `traceparent` that makes `span` the parent of the next hop.
    pub fn traceparent(&self, span: &SpanContext) -> Option<String> {
        let cx = Context::new().with_remote_span_context(span.clone());
        let mut out = Capture(None);
        self.propagator.inject_context(&cx, &mut out);
        out.0
    }

    /// Start the span of one invocation, under the caller's span.
    pub fn invocation(&self, parent: &Context, attributes: Vec<KeyValue>) -> Span {
        self.tracer
            .span_builder(INVOCATION_SPAN)
            .with_kind(SpanKind::Consumer)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, parent)
    }

    /// A packet lost after its last invocation ended (a hop the sender gave
    /// up on): a short error span under the span that sent it.
    pub fn lost_after(&self, parent: &Context, attributes: Vec<KeyValue>, why: String) {
        let mut span = self
            .tracer
            .span_builder(LOST_SPAN)
            .with_kind(SpanKind::Internal)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, parent);
        span.set_status(Status::error(why));
        span.end();
    }
}

/// A span in progress, with the `traceparent` its children get.
pub struct Running {
    span: Span,
    pub traceparent: Option<String>,
}

impl Running {
    pub fn new(traces: &Traces, span: Span) -> Running {
        let traceparent = traces.traceparent(span.span_context());
        Running { span, traceparent }
    }

    pub fn context(&self) -> &SpanContext {
        self.span.span_context()
    }

    pub fn set(&mut self, attribute: KeyValue) {
        self.span.set_attribute(attribute);
    }

    /// End the span; `error` marks it failed, with the reason.
    pub fn end(mut self, error: Option<String>) {
        if let Some(why) = error {
            self.span.set_status(Status::error(why));
        }
        self.span.end();
    }
}

/// The root span of one HTTP request, opened only once the request turns out
/// to inject a traced packet (most requests, and most packets, are not).
pub struct RequestTrace {
    traces: Arc<Traces>,
    name: String,
    path: String,
    started: SystemTime,
    /// The sampler chose this request: all its packets are traced.
    pub sample_all: bool,
    span: Mutex<Option<Running>>,
    /// Packets injected under the root span.
    traced: AtomicU64,
}

impl RequestTrace {
    pub fn new(traces: Arc<Traces>, method: &str, path: &str, sample_all: bool) -> RequestTrace {
        RequestTrace {
            traces,
            name: format!("{method} {path}"),
            path: path.to_string(),
            started: SystemTime::now(),
            sample_all,
            span: Mutex::new(None),
            traced: AtomicU64::new(0),
        }
    }

    /// The `traceparent` for a packet this request injects, opening the
    /// root span if this is the first traced one.
    pub fn traceparent(&self) -> Option<String> {
        let mut slot = self.span.lock().unwrap_or_else(|p| p.into_inner());
        let running = slot.get_or_insert_with(|| {
            let span = self
                .traces
                .tracer
                .span_builder(self.name.clone())
                .with_kind(SpanKind::Server)
                .with_start_time(self.started)
                .with_attributes([
                    KeyValue::new("http.request.method", self.name.split(' ').next().unwrap_or("").to_string()),
                    KeyValue::new("url.path", self.path.clone()),
                ])
                .start_with_context(&self.traces.tracer, &Context::new());
            Running::new(&self.traces, span)
        });
        self.traced.fetch_add(1, Relaxed);
        running.traceparent.clone()
    }

    /// The root's context, for log records written during the request.
    pub fn context(&self) -> Option<SpanContext> {
        let slot = self.span.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref().map(|r| r.context().clone())
    }

    /// End the root span (if one was opened) with the response's status.
    pub fn finish(&self, status: u16) {
        let running = self.span.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut running) = running {
            running.set(KeyValue::new("http.response.status_code", i64::from(status)));
            running.set(int("lwc.packets.traced", self.traced.load(Relaxed)));
            let error = (status >= 500).then(|| format!("HTTP {status}"));
            running.end(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceId;

    const SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn traces() -> Arc<Traces> {
        Arc::new(Traces::new(SdkTracerProvider::builder().build()))
    }

    #[test]
    fn only_a_valid_sampled_traceparent_is_a_parent() {
        let t = traces();
        let parent = t.parent(SAMPLED).expect("sampled");
        let sc = parent.span().span_context().clone();
        assert_eq!(sc.trace_id(), TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap());
        assert!(t.parent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").is_none(), "unsampled");
        assert!(t.parent("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none(), "zero trace id");
        assert!(t.parent("not a traceparent").is_none());
    }

    #[test]
    fn an_invocation_span_passes_its_own_context_on_in_the_same_trace() {
        let t = traces();
        let parent = t.parent(SAMPLED).unwrap();
        let running = Running::new(&t, t.invocation(&parent, vec![int("lwc.packet.id", 7)]));
        let next = running.traceparent.clone().expect("a traceparent for the next hop");
        assert!(next.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && next.ends_with("-01"), "{next}");
        assert_ne!(next, SAMPLED, "the next hop's parent is this span, not the caller");
        let child = t.parent(&next).expect("the next hop can parent on it");
        assert_eq!(child.span().span_context().span_id(), running.context().span_id());
        running.end(None);
    }

    #[test]
    fn ids_past_i64_stay_exact_as_text() {
        assert_eq!(int("n", 42), KeyValue::new("n", 42i64));
        assert_eq!(int("n", u64::MAX), KeyValue::new("n", u64::MAX.to_string()));
    }

    #[test]
    fn a_request_opens_one_root_for_all_its_traced_packets() {
        let req = RequestTrace::new(traces(), "POST", "/packets", false);
        assert!(req.context().is_none(), "no root until a packet is traced");
        let a = req.traceparent().expect("root opened");
        let b = req.traceparent().expect("same root");
        assert_eq!(a, b);
        let root = req.context().expect("root context");
        assert!(a.contains(&format!("{:032x}", root.trace_id())), "{a}");
        req.finish(200);
        assert!(req.context().is_none(), "finished");
    }
}
