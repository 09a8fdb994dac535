//! `POST /load` bodies and the answers of `/load`, with no wasm imports.
//!
//! A load is steady, open-loop injection scheduled on the control host
//! (DESIGN: "Control plane HTTP API"). The body goes through the same
//! machinery as every other endpoint ([`crate::request::parse_object`]): each
//! field is checked before anything reaches the host, and a failure names
//! the field.

use serde::Serialize;

use crate::request::{
    json_integer, json_name, missing_field, parse_object, unknown_field, BadRequest, MAX_CHAOS,
    MAX_TTL,
};

/// Packets per second, at most.
pub const MAX_RATE: u64 = 100_000;
/// Seconds a load may last, at most: one day.
pub const MAX_DURATION_S: u64 = 86_400;

const LOAD_FIELDS: &str = "rate, duration_s, ttl, chaos, route";

/// A validated `POST /load`. `rate` and `duration_s` are required; `ttl`,
/// `chaos` and `route` default as in `POST /packets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadSpec {
    pub rate: u32,
    pub ttl: u64,
    pub chaos: u16,
    pub route: String,
    pub duration_s: u32,
}

/// A load as the host reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadStatus {
    pub spec: LoadSpec,
    pub started_ns: u64,
    pub injected: u64,
    pub late_p99_us: u64,
    pub late_max_us: u64,
    pub running: bool,
}

/// The running load and the last one that ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadState {
    pub running: Option<LoadStatus>,
    pub last: Option<LoadStatus>,
}

/// Parse a `POST /load` body.
pub fn parse_load(body: &[u8]) -> Result<LoadSpec, BadRequest> {
    let (mut rate, mut duration_s) = (None, None);
    let mut spec = LoadSpec {
        rate: 0,
        ttl: 100,
        chaos: 0,
        route: "default".to_string(),
        duration_s: 0,
    };
    for (name, value) in &parse_object(body)? {
        match name.as_str() {
            "rate" => rate = Some(json_integer(name, value, 1, MAX_RATE)? as u32),
            "duration_s" => duration_s = Some(json_integer(name, value, 1, MAX_DURATION_S)? as u32),
            "ttl" => spec.ttl = json_integer(name, value, 0, MAX_TTL)?,
            "chaos" => spec.chaos = json_integer(name, value, 0, MAX_CHAOS)? as u16,
            "route" => spec.route = json_name(name, value)?,
            unknown => return Err(unknown_field(unknown, LOAD_FIELDS)),
        }
    }
    spec.rate = rate.ok_or_else(|| missing_field("rate"))?;
    spec.duration_s = duration_s.ok_or_else(|| missing_field("duration_s"))?;
    Ok(spec)
}

/// The JSON of one load: its settings, when it started and ends, how many
/// packets it injected, and how late the scheduler ran (milliseconds).
#[derive(Serialize)]
struct LoadJson<'a> {
    rate: u32,
    ttl: u64,
    chaos: u16,
    route: &'a str,
    duration_s: u32,
    started_ns: u64,
    ends_ns: u64,
    injected: u64,
    late_p99_ms: f64,
    late_max_ms: f64,
    running: bool,
}

impl<'a> From<&'a LoadStatus> for LoadJson<'a> {
    fn from(s: &'a LoadStatus) -> Self {
        LoadJson {
            rate: s.spec.rate,
            ttl: s.spec.ttl,
            chaos: s.spec.chaos,
            route: &s.spec.route,
            duration_s: s.spec.duration_s,
            started_ns: s.started_ns,
            ends_ns: s
                .started_ns
                .saturating_add(u64::from(s.spec.duration_s) * 1_000_000_000),
            injected: s.injected,
            late_p99_ms: s.late_p99_us as f64 / 1000.0,
            late_max_ms: s.late_max_us as f64 / 1000.0,
            running: s.running,
        }
    }
}

/// The `202` answer of `POST /load`: `{"load":{…}}`.
pub fn started_answer(status: &LoadStatus) -> String {
    #[derive(Serialize)]
    struct Answer<'a> {
        load: LoadJson<'a>,
    }
    serde_json::to_string(&Answer {
        load: status.into(),
    })
    .expect("a load serializes")
}

/// The `200` answer of `GET` and `DELETE /load`: `{"load":…,"last":…}`, the
/// running load (`null` when none) and the last one that ended (`null`
/// before the first ends).
pub fn state_answer(state: &LoadState) -> String {
    #[derive(Serialize)]
    struct Answer<'a> {
        load: Option<LoadJson<'a>>,
        last: Option<LoadJson<'a>>,
    }
    serde_json::to_string(&Answer {
        load: state.running.as_ref().map(LoadJson::from),
        last: state.last.as_ref().map(LoadJson::from),
    })
    .expect("a load state serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse_load(text.as_bytes()) {
            Ok(spec) => panic!("{text:?} was accepted as {spec:?}"),
            Err(BadRequest(message)) => message,
        }
    }

    #[test]
    fn full_and_minimal_bodies() {
        let spec = parse_load(
            br#"{"rate":200,"ttl":50,"chaos":3,"route":"special","duration_s":30}"#,
        )
        .unwrap();
        assert_eq!(
            spec,
            LoadSpec {
                rate: 200,
                ttl: 50,
                chaos: 3,
                route: "special".into(),
                duration_s: 30
            }
        );
        let spec = parse_load(br#"{"rate":1,"duration_s":86400}"#).unwrap();
        assert_eq!((spec.ttl, spec.chaos, spec.route.as_str()), (100, 0, "default"));
        assert_eq!(
            parse_load(br#"{"rate":100000,"duration_s":1}"#).map(|s| s.rate),
            Ok(100_000)
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        for (body, message) in [
            ("", "missing required field \"rate\""),
            (r#"{"rate":5}"#, "missing required field \"duration_s\""),
            (r#"{"rate":0,"duration_s":1}"#, "rate must be an integer 1..=100000, got 0"),
            (r#"{"rate":100001,"duration_s":1}"#, "rate must be an integer 1..=100000, got 100001"),
            (r#"{"rate":2.5,"duration_s":1}"#, "rate must be an integer 1..=100000, got 2.5"),
            (r#"{"rate":5,"duration_s":0}"#, "duration_s must be an integer 1..=86400, got 0"),
            (r#"{"rate":5,"duration_s":86401}"#, "duration_s must be an integer 1..=86400, got 86401"),
            (r#"{"rate":5,"duration_s":"9"}"#, "duration_s must be an integer 1..=86400, got \"9\""),
            (r#"{"rate":5,"duration_s":1,"ttl":-1}"#, "ttl must be an integer 0..=10000000, got -1"),
            (r#"{"rate":5,"duration_s":1,"chaos":101}"#, "chaos must be an integer 0..=100, got 101"),
            (
                r#"{"rate":5,"duration_s":1,"route":"A"}"#,
                "route must be a string of 1-64 characters of [a-z0-9_-], got \"A\"",
            ),
            (
                r#"{"rate":5,"duration_s":1,"count":2}"#,
                "unknown field \"count\"; allowed fields: rate, duration_s, ttl, chaos, route",
            ),
            (r#"{"rate":5,"rate":6,"duration_s":1}"#, "field \"rate\" given more than once"),
            ("[1]", "body must be a JSON object, got an array"),
        ] {
            assert_eq!(err(body), message, "{body}");
        }
    }

    fn status(running: bool) -> LoadStatus {
        LoadStatus {
            spec: parse_load(br#"{"rate":200,"ttl":50,"duration_s":30}"#).unwrap(),
            started_ns: 1_000,
            injected: 7,
            late_p99_us: 1_250,
            late_max_us: 4_000,
            running,
        }
    }

    #[test]
    fn answers_have_the_documented_shape() {
        let v: serde_json::Value = serde_json::from_str(&started_answer(&status(true))).unwrap();
        let load = &v["load"];
        assert_eq!(load["rate"], 200);
        assert_eq!(load["ttl"], 50);
        assert_eq!(load["route"], "default");
        assert_eq!(load["duration_s"], 30);
        assert_eq!(load["started_ns"], 1_000);
        assert_eq!(load["ends_ns"], 30_000_001_000u64);
        assert_eq!(load["injected"], 7);
        assert_eq!(load["late_p99_ms"], 1.25);
        assert_eq!(load["late_max_ms"], 4.0);
        assert_eq!(load["running"], true);

        let none = state_answer(&LoadState::default());
        assert_eq!(none, r#"{"load":null,"last":null}"#);
        let ended = LoadState {
            running: None,
            last: Some(status(false)),
        };
        let v: serde_json::Value = serde_json::from_str(&state_answer(&ended)).unwrap();
        assert!(v["load"].is_null());
        assert_eq!(v["last"]["running"], false);
    }
}
