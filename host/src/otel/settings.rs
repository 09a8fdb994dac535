//! What the environment asks of OpenTelemetry, checked before the host
//! starts: a typo in an `OTEL_*` variable is an error naming the variable,
//! not a silently different export.
//!
//! Export is on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or a per-signal
//! `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT`) is set, unless
//! `OTEL_SDK_DISABLED=true`. The exporter crate reads the rest of the
//! standard variables itself; this module only refuses values it would
//! ignore or fail on later.

use thiserror::Error;

/// Which packets get a recorded trace when nobody asked for one.
///
/// Packets injected with `"trace": true` are always traced. Tracing every
/// hop of a ring doing tens of thousands of hops a second would cost more
/// than the ring itself, so other packets follow `OTEL_TRACES_SAMPLER`,
/// decided once per `POST /packets` request (the root span).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// Only packets marked traced (the default).
    TracedOnly,
    /// Every request (`always_on`).
    Always,
    /// This fraction of requests (`traceidratio`).
    Ratio(f64),
}

impl Sampling {
    /// Whether a request nobody marked should be traced anyway.
    pub fn sample_unmarked(&self) -> bool {
        match *self {
            Sampling::TracedOnly => false,
            Sampling::Always => true,
            Sampling::Ratio(r) => rand::random::<f64>() < r,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub sampling: Sampling,
}

#[derive(Debug, Error, PartialEq)]
#[error("{var}={value:?}: {why}")]
pub struct SettingsError {
    pub var: String,
    pub value: String,
    pub why: String,
}

const SIGNALS: [&str; 3] = ["TRACES", "METRICS", "LOGS"];

/// Integer variables the SDK reads (and would ignore if malformed).
const NUMBERS: [&str; 11] = [
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BLRP_SCHEDULE_DELAY",
    "OTEL_BLRP_MAX_QUEUE_SIZE",
    "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BLRP_EXPORT_TIMEOUT",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_METRIC_EXPORT_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
];

/// Read the process environment.
pub fn from_env() -> Result<Option<Settings>, SettingsError> {
    from_lookup(|var| std::env::var(var).ok())
}

/// `None` when export is off; the settings, or what is wrong, otherwise.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<Settings>, SettingsError> {
    let get = |var: &str| get(var).filter(|v| !v.trim().is_empty());
    if let Some(v) = get("OTEL_SDK_DISABLED") {
        match v.trim().to_ascii_lowercase().as_str() {
            "true" => return Ok(None),
            "false" => {}
            _ => return Err(invalid("OTEL_SDK_DISABLED", &v, "must be true or false")),
        }
    }
    let endpoint_vars = std::iter::once("OTEL_EXPORTER_OTLP_ENDPOINT".to_string())
        .chain(SIGNALS.iter().map(|s| format!("OTEL_EXPORTER_OTLP_{s}_ENDPOINT")));
    let mut enabled = false;
    for var in endpoint_vars {
        if let Some(v) = get(&var) {
            check_endpoint(&var, &v)?;
            enabled = true;
        }
    }
    if !enabled {
        return Ok(None);
    }
    let protocol_vars = std::iter::once("OTEL_EXPORTER_OTLP_PROTOCOL".to_string())
        .chain(SIGNALS.iter().map(|s| format!("OTEL_EXPORTER_OTLP_{s}_PROTOCOL")));
    for var in protocol_vars {
        if let Some(v) = get(&var) {
            check_protocol(&var, &v)?;
        }
    }
    for var in NUMBERS {
        if let Some(v) = get(var) {
            if v.trim().parse::<u64>().is_err() {
                return Err(invalid(var, &v, "must be a whole number (milliseconds or a count)"));
            }
        }
    }
    let sampling = sampling(get("OTEL_TRACES_SAMPLER"), get("OTEL_TRACES_SAMPLER_ARG"))?;
    Ok(Some(Settings { sampling }))
}

fn invalid(var: &str, value: &str, why: &str) -> SettingsError {
    SettingsError {
        var: var.to_string(),
        value: value.to_string(),
        why: why.to_string(),
    }
}

fn check_endpoint(var: &str, value: &str) -> Result<(), SettingsError> {
    let uri: hyper::Uri = value
        .trim()
        .parse()
        .map_err(|e| invalid(var, value, &format!("not a URL ({e})")))?;
    match uri.scheme_str() {
        Some("http") => {}
        // Neither exporter is built with TLS: fail now, not at every export.
        Some("https") => {
            return Err(invalid(
                var,
                value,
                "https is not supported by lwc-host; point it at a collector's plain http:// port (4318 or 4317)",
            ))
        }
        _ => return Err(invalid(var, value, "must start with http://, e.g. http://localhost:4318")),
    }
    if uri.authority().is_none() {
        return Err(invalid(var, value, "names no host, e.g. http://localhost:4318"));
    }
    Ok(())
}

fn check_protocol(var: &str, value: &str) -> Result<(), SettingsError> {
    match value.trim() {
        "http/protobuf" | "grpc" => Ok(()),
        "http/json" => Err(invalid(var, value, "not supported; use http/protobuf (the default) or grpc")),
        _ => Err(invalid(var, value, "must be http/protobuf (the default) or grpc")),
    }
}

fn sampling(sampler: Option<String>, arg: Option<String>) -> Result<Sampling, SettingsError> {
    let Some(sampler) = sampler else {
        return Ok(Sampling::TracedOnly);
    };
    match sampler.trim() {
        "always_on" | "parentbased_always_on" => Ok(Sampling::Always),
        "always_off" | "parentbased_always_off" => Ok(Sampling::TracedOnly),
        "traceidratio" | "parentbased_traceidratio" => {
            let Some(arg) = arg else {
                return Ok(Sampling::Always);
            };
            match arg.trim().parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => Ok(Sampling::Ratio(r)),
                _ => Err(invalid("OTEL_TRACES_SAMPLER_ARG", &arg, "must be a ratio from 0 to 1")),
            }
        }
        _ => Err(invalid(
            "OTEL_TRACES_SAMPLER",
            &sampler,
            "must be always_on, always_off or traceidratio (parentbased_ forms too)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<Option<Settings>, SettingsError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn off_without_an_endpoint() {
        assert_eq!(read(&[]), Ok(None));
        assert_eq!(read(&[("OTEL_TRACES_SAMPLER", "nonsense")]), Ok(None));
        assert_eq!(read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "  ")]), Ok(None));
    }

    #[test]
    fn on_with_any_endpoint_and_traced_only_by_default() {
        let on = Some(Settings {
            sampling: Sampling::TracedOnly,
        });
        assert_eq!(read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")]), Ok(on.clone()));
        assert_eq!(read(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/v1/traces")]), Ok(on));
    }

    #[test]
    fn sdk_disabled_wins() {
        let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"), ("OTEL_SDK_DISABLED", "true")];
        assert_eq!(read(&vars), Ok(None));
        let err = read(&[("OTEL_SDK_DISABLED", "yes")]).unwrap_err();
        assert_eq!(err.var, "OTEL_SDK_DISABLED");
    }

    #[test]
    fn bad_endpoints_are_named() {
        for bad in ["localhost:4318", "https://collector:4318", "ftp://x", "http://"] {
            let err = read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", bad)]).unwrap_err();
            assert_eq!(err.var, "OTEL_EXPORTER_OTLP_ENDPOINT", "{bad}");
        }
        let err = read(&[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "https://c")]).unwrap_err();
        assert!(err.why.contains("https"), "{err}");
    }

    #[test]
    fn protocols_checked() {
        let ep = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317");
        assert!(read(&[ep, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).is_ok());
        assert!(read(&[ep, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]).is_ok());
        let err = read(&[ep, ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")]).unwrap_err();
        assert_eq!(err.var, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
        let err = read(&[ep, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grcp")]).unwrap_err();
        assert!(err.to_string().contains("grcp"), "{err}");
    }

    #[test]
    fn samplers() {
        let ep = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318");
        let sampling = |vars: &[(&str, &str)]| {
            let mut all = vec![ep];
            all.extend_from_slice(vars);
            read(&all).map(|s| s.map(|s| s.sampling))
        };
        assert_eq!(sampling(&[("OTEL_TRACES_SAMPLER", "always_on")]), Ok(Some(Sampling::Always)));
        assert_eq!(
            sampling(&[("OTEL_TRACES_SAMPLER", "parentbased_always_off")]),
            Ok(Some(Sampling::TracedOnly))
        );
        assert_eq!(
            sampling(&[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.25")]),
            Ok(Some(Sampling::Ratio(0.25)))
        );
        let err = sampling(&[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "2")]).unwrap_err();
        assert_eq!(err.var, "OTEL_TRACES_SAMPLER_ARG");
        let err = sampling(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]).unwrap_err();
        assert_eq!(err.var, "OTEL_TRACES_SAMPLER");
        let err = sampling(&[("OTEL_BSP_SCHEDULE_DELAY", "5s")]).unwrap_err();
        assert_eq!(err.var, "OTEL_BSP_SCHEDULE_DELAY");
    }
}
