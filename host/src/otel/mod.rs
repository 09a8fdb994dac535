//! OpenTelemetry export over OTLP, on when `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! set (see [`settings`]) and a no-op otherwise.
//!
//! - [`spans`]: a span per invocation, parented across hosts by the
//!   `traceparent` header; the HTTP request that injects a packet is the root
//! - [`instruments`]: counters and duration histograms
//! - [`logs`]: the guests' `wasi:logging` records with trace and span ids
//!
//! Exporters batch on their own threads (the SDK's), so the hop path only
//! hands finished spans and records over; it never waits for a collector.

pub mod instruments;
pub mod logs;
pub mod settings;
pub mod spans;

use anyhow::{Context as _, Result};
use opentelemetry::KeyValue;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use std::sync::Arc;

use self::instruments::Instruments;
use self::logs::GuestLogs;
use self::settings::{Sampling, Settings};
use self::spans::{RequestTrace, Traces};

/// This host's exporters; every part is `None` when export is off.
#[derive(Default)]
pub struct Otel {
    pub traces: Option<Arc<Traces>>,
    pub metrics: Option<Instruments>,
    pub logs: Option<GuestLogs>,
    sampling: Option<Sampling>,
}

impl Otel {
    /// Export off: every call is a cheap no-op.
    pub fn disabled() -> Otel {
        Otel::default()
    }

    /// Read the `OTEL_*` environment and build the exporters it asks for.
    /// Call inside the tokio runtime: the gRPC exporter needs it.
    pub fn from_env(host: &str, components: Vec<Arc<str>>) -> Result<Otel> {
        let Some(settings) = settings::from_env().context("bad OpenTelemetry setting")? else {
            return Ok(Otel::disabled());
        };
        Otel::build(host, components, &settings)
    }

    fn build(host: &str, components: Vec<Arc<str>>, settings: &Settings) -> Result<Otel> {
        let resource = Resource::builder()
            .with_service_name("lwc-host")
            .with_attribute(KeyValue::new("service.instance.id", host.to_string()))
            .build();
        let span_exporter = opentelemetry_otlp::SpanExporter::builder()
            .build()
            .context("cannot set up the OTLP span exporter")?;
        // Which packets are traced is decided at the root (see `Sampling`);
        // every span made under a sampled parent is kept.
        let tracer = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_sampler(Sampler::AlwaysOn)
            .with_batch_exporter(span_exporter)
            .build();
        let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
            .build()
            .context("cannot set up the OTLP metric exporter")?;
        let meter = SdkMeterProvider::builder()
            .with_resource(resource.clone())
            .with_periodic_exporter(metric_exporter)
            .build();
        let log_exporter = opentelemetry_otlp::LogExporter::builder()
            .build()
            .context("cannot set up the OTLP log exporter")?;
        let logger = SdkLoggerProvider::builder()
            .with_resource(resource)
            .with_batch_exporter(log_exporter)
            .build();
        tracing::info!(host, sampling = ?settings.sampling, "exporting traces, metrics and logs over OTLP");
        Ok(Otel {
            traces: Some(Arc::new(Traces::new(tracer))),
            metrics: Some(Instruments::new(meter, components)),
            logs: Some(GuestLogs::new(logger)),
            sampling: Some(settings.sampling),
        })
    }

    pub fn enabled(&self) -> bool {
        self.traces.is_some()
    }

    /// A trace handle for one HTTP request; `None` when tracing is off.
    pub fn request(&self, method: &str, path: &str) -> Option<Arc<RequestTrace>> {
        let traces = self.traces.as_ref()?;
        let sample_all = self.sampling.is_some_and(|s| s.sample_unmarked());
        Some(Arc::new(RequestTrace::new(traces.clone(), method, path, sample_all)))
    }

    /// Flush what is batched and stop the exporters. Blocks: call it from a
    /// blocking thread.
    pub fn shutdown(&self) {
        if let Some(t) = &self.traces {
            report("traces", t.provider.shutdown());
        }
        if let Some(m) = &self.metrics {
            report("metrics", m.provider.shutdown());
        }
        if let Some(l) = &self.logs {
            report("logs", l.provider.shutdown());
        }
    }
}

fn report(what: &str, res: opentelemetry_sdk::error::OTelSdkResult) {
    if let Err(e) = res {
        tracing::warn!("OTLP {what} did not flush at shutdown: {e}");
    }
}
