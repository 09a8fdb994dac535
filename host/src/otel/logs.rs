//! The guests' `wasi:logging` records as OTLP log records, stamped with the
//! trace and span of the invocation that wrote them.
//!
//! The probe logs a line at every hop; exporting all of them would cost more
//! than the hop. So a record is exported when its invocation is part of a
//! recorded trace (you asked to see that packet), or when it is a warning
//! or worse (always worth seeing).

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::SpanContext;
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};
use std::time::SystemTime;

pub struct GuestLogs {
    pub(super) provider: SdkLoggerProvider,
    logger: SdkLogger,
}

/// A guest's log level, as `wasi:logging` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

impl Level {
    fn severity(self) -> (Severity, &'static str) {
        match self {
            Level::Trace => (Severity::Trace, "TRACE"),
            Level::Debug => (Severity::Debug, "DEBUG"),
            Level::Info => (Severity::Info, "INFO"),
            Level::Warn => (Severity::Warn, "WARN"),
            Level::Error => (Severity::Error, "ERROR"),
            Level::Critical => (Severity::Fatal, "FATAL"),
        }
    }
}

/// One guest log line and where it was written.
pub struct GuestRecord<'a> {
    pub component: &'a str,
    pub level: Level,
    pub context: &'a str,
    pub message: &'a str,
    /// The span of the invocation (or request) that wrote it, if traced.
    pub span: Option<&'a SpanContext>,
}

impl GuestLogs {
    pub fn new(provider: SdkLoggerProvider) -> GuestLogs {
        let logger = provider.logger("lwc-guest");
        GuestLogs { provider, logger }
    }

    pub fn emit(&self, rec: GuestRecord<'_>) {
        let traced = rec.span.is_some_and(|s| s.is_sampled());
        if !traced && rec.level < Level::Warn {
            return;
        }
        let (severity, text) = rec.level.severity();
        let mut out = self.logger.create_log_record();
        out.set_timestamp(SystemTime::now());
        out.set_severity_number(severity);
        out.set_severity_text(text);
        out.set_body(AnyValue::from(rec.message.to_string()));
        out.add_attribute("lwc.component", rec.component.to_string());
        out.add_attribute("log.context", rec.context.to_string());
        if let Some(span) = rec.span {
            out.set_trace_context(span.trace_id(), span.span_id(), Some(span.trace_flags()));
        }
        self.logger.emit(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::logs::{LogBatch, LogExporter};
    use std::sync::{Arc, Mutex};

    /// Severity text, body and trace id of one exported record.
    type Record = (String, String, Option<TraceId>);

    /// Keeps every exported record.
    #[derive(Debug, Clone, Default)]
    struct Kept(Arc<Mutex<Vec<Record>>>);

    impl LogExporter for Kept {
        async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
            let mut kept = self.0.lock().unwrap();
            for (rec, _) in batch.iter() {
                let body = match rec.body() {
                    Some(AnyValue::String(s)) => s.to_string(),
                    other => format!("{other:?}"),
                };
                let text = rec.severity_text().unwrap_or("").to_string();
                kept.push((text, body, rec.trace_context().map(|t| t.trace_id)));
            }
            Ok(())
        }
    }

    fn span(flags: TraceFlags) -> SpanContext {
        SpanContext::new(TraceId::from(7), SpanId::from(9), flags, true, TraceState::default())
    }

    #[test]
    fn untraced_chatter_is_dropped_warnings_and_traced_records_are_kept() {
        let kept = Kept::default();
        let logs = GuestLogs::new(SdkLoggerProvider::builder().with_simple_exporter(kept.clone()).build());
        let (sampled, unsampled) = (span(TraceFlags::SAMPLED), span(TraceFlags::default()));
        let rec = |level, message, span| GuestRecord {
            component: "north",
            level,
            context: "probe",
            message,
            span,
        };
        logs.emit(rec(Level::Info, "hop", None));
        logs.emit(rec(Level::Debug, "unsampled hop", Some(&unsampled)));
        logs.emit(rec(Level::Info, "traced hop", Some(&sampled)));
        logs.emit(rec(Level::Warn, "slow", None));
        logs.emit(rec(Level::Critical, "dying", None));
        let kept = kept.0.lock().unwrap().clone();
        assert_eq!(
            kept,
            [
                ("INFO".to_string(), "traced hop".to_string(), Some(TraceId::from(7))),
                ("WARN".to_string(), "slow".to_string(), None),
                ("FATAL".to_string(), "dying".to_string(), None),
            ]
        );
    }
}
