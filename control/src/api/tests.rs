//! Unit tests of the endpoints end to end (routing, body errors, host calls and
//! answers) against a recording [`ControlPlane`].

use super::*;
use crate::endpoint;

/// A host that records every call and answers from its fields.
struct Recorder {
    calls: Vec<String>,
    chaos: Vec<HostChaos>,
    links: Vec<Link>,
    status: String,
    /// If set, every set / put / delete fails with it.
    fail: Option<CtlError>,
    load: LoadState,
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            calls: Vec::new(),
            chaos: vec![host_chaos("north", 0), host_chaos("east", 7)],
            links: vec![Link {
                source: "north".to_string(),
                name: "default".to_string(),
                target: "west".to_string(),
            }],
            status: r#"{"hosts":[],"ledger":{"injected":0}}"#.to_string(),
            fail: None,
            load: LoadState::default(),
        }
    }

    fn failing(error: CtlError) -> Recorder {
        Recorder {
            fail: Some(error),
            ..Recorder::new()
        }
    }
}

fn host_chaos(host: &str, trap: u8) -> HostChaos {
    HostChaos {
        host: host.to_string(),
        trap,
        delay_ms: 0,
        jitter_ms: 0,
        drop: 0,
        down_s: 0,
    }
}

impl ControlPlane for Recorder {
    fn reserve_packet_ids(&mut self, count: u32) -> u64 {
        self.calls.push(format!("reserve {count}"));
        1000
    }

    fn mark_traced(&mut self, packet: u64) {
        self.calls.push(format!("trace {packet}"));
    }

    fn process(&mut self, packet: u64, ttl: u64, chaos: u16, route: &str) {
        self.calls
            .push(format!("process {packet} {ttl} {chaos} {route}"));
    }

    fn get_chaos(&mut self) -> Vec<HostChaos> {
        self.calls.push("get_chaos".to_string());
        self.chaos.clone()
    }

    fn set_chaos(&mut self, host: &str, patch: &ChaosPatch) -> Result<Vec<HostChaos>, CtlError> {
        self.calls.push(format!("set_chaos {host} {patch:?}"));
        if let Some(error) = &self.fail {
            return Err(error.clone());
        }
        for entry in &mut self.chaos {
            if host == "*" || entry.host == host {
                entry.trap = patch.trap.unwrap_or(entry.trap);
                entry.delay_ms = patch.delay_ms.unwrap_or(entry.delay_ms);
                entry.jitter_ms = patch.jitter_ms.unwrap_or(entry.jitter_ms);
                entry.drop = patch.drop.unwrap_or(entry.drop);
                entry.down_s = patch.down_s.unwrap_or(entry.down_s);
            }
        }
        Ok(self.chaos.clone())
    }

    fn get_links(&mut self) -> Vec<Link> {
        self.calls.push("get_links".to_string());
        self.links.clone()
    }

    fn put_link(&mut self, link: &Link) -> Result<Vec<Link>, CtlError> {
        self.calls.push(format!(
            "put_link {} {} {}",
            link.source, link.name, link.target
        ));
        if let Some(error) = &self.fail {
            return Err(error.clone());
        }
        self.links
            .retain(|l| !(l.source == link.source && l.name == link.name));
        self.links.push(link.clone());
        Ok(self.links.clone())
    }

    fn delete_link(&mut self, source: &str, name: &str) -> Result<Vec<Link>, CtlError> {
        self.calls.push(format!("delete_link {source} {name}"));
        if let Some(error) = &self.fail {
            return Err(error.clone());
        }
        self.links
            .retain(|l| !(l.source == source && l.name == name));
        Ok(self.links.clone())
    }

    fn status(&mut self) -> String {
        self.calls.push("status".to_string());
        self.status.clone()
    }

    fn start_load(&mut self, spec: &LoadSpec) -> Result<LoadStatus, CtlError> {
        self.calls.push(format!(
            "start_load {} {} {} {} {}",
            spec.rate, spec.ttl, spec.chaos, spec.route, spec.duration_s
        ));
        if self.load.running.is_some() {
            return Err(CtlError::Conflict("a load is running".to_string()));
        }
        let status = LoadStatus {
            spec: spec.clone(),
            started_ns: 5,
            injected: 0,
            late_p99_us: 0,
            late_max_us: 0,
            running: true,
        };
        self.load.running = Some(status.clone());
        Ok(status)
    }

    fn get_load(&mut self) -> LoadState {
        self.calls.push("get_load".to_string());
        self.load.clone()
    }

    fn stop_load(&mut self) -> LoadState {
        self.calls.push("stop_load".to_string());
        if let Some(mut running) = self.load.running.take() {
            running.running = false;
            self.load.last = Some(running);
        }
        self.load.clone()
    }
}

/// What the component does with a request: route it, then serve it.
fn call_with(
    plane: &mut Recorder,
    method: &str,
    target: &str,
    body: Result<Vec<u8>, BodyError>,
) -> Reply {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    match endpoint::resolve(method, path) {
        Err(refusal) => refused(&refusal),
        Ok(endpoint) => serve(plane, endpoint, query, body),
    }
}

fn call(plane: &mut Recorder, method: &str, target: &str, body: &str) -> Reply {
    call_with(plane, method, target, Ok(body.as_bytes().to_vec()))
}

fn ok(body: &str) -> Reply {
    Reply {
        status: 200,
        allow: None,
        body: body.to_string(),
    }
}

fn error(status: u16, message: &str) -> Reply {
    Reply {
        status,
        allow: None,
        body: request::error_body(message).to_string(),
    }
}

const NORTH_WEST: &str = r#"{"source":"north","name":"default","target":"west"}"#;

// --- routing ---------------------------------------------------------------------

#[test]
fn unknown_path_and_wrong_method_call_nothing() {
    let mut plane = Recorder::new();
    assert_eq!(
        call(&mut plane, "GET", "/nope", ""),
        error(404, "no such path: /nope")
    );
    assert_eq!(
        call(&mut plane, "PUT", "/chaos/north", r#"{"host":"north"}"#).status,
        404
    );
    assert_eq!(
        call(&mut plane, "POST", "/chaos", r#"{"host":"north"}"#),
        Reply {
            status: 405,
            allow: Some("GET, PUT"),
            body: request::error_body("method POST not allowed on /chaos; use GET or PUT")
                .to_string(),
        }
    );
    assert_eq!(
        call(&mut plane, "PATCH", "/links", NORTH_WEST).allow,
        Some("GET, PUT, DELETE")
    );
    assert_eq!(call(&mut plane, "DELETE", "/status", "").allow, Some("GET"));
    assert_eq!(call(&mut plane, "GET", "/packets", "").allow, Some("POST"));
    assert!(plane.calls.is_empty(), "{:?}", plane.calls);
}

// --- GET endpoints ---------------------------------------------------------------

#[test]
fn get_chaos_lists_every_host() {
    let mut plane = Recorder::new();
    assert_eq!(
        call(&mut plane, "GET", "/chaos", ""),
        ok(
            r#"{"chaos":[{"host":"north","trap":0,"delay_ms":0,"jitter_ms":0,"drop":0,"down_s":0},{"host":"east","trap":7,"delay_ms":0,"jitter_ms":0,"drop":0,"down_s":0}]}"#
        )
    );
    assert_eq!(plane.calls, ["get_chaos"]);
}

#[test]
fn get_links_lists_the_table() {
    let mut plane = Recorder::new();
    assert_eq!(
        call(&mut plane, "GET", "/links", ""),
        ok(&format!(r#"{{"links":[{NORTH_WEST}]}}"#))
    );
    assert_eq!(plane.calls, ["get_links"]);
}

#[test]
fn get_status_passes_the_host_json_through() {
    let mut plane = Recorder::new();
    assert_eq!(
        call(&mut plane, "GET", "/status", ""),
        ok(r#"{"hosts":[],"ledger":{"injected":0}}"#)
    );
    assert_eq!(plane.calls, ["status"]);
}

#[test]
fn status_that_is_not_a_json_object_is_a_500() {
    for status in ["", "not json", "[1,2]", "{\"a\":", "null"] {
        let mut plane = Recorder::new();
        plane.status = status.to_string();
        assert_eq!(
            call(&mut plane, "GET", "/status", ""),
            error(500, "the host's status is not a JSON object"),
            "{status:?}"
        );
    }
}

#[test]
fn gets_ignore_the_body_and_the_query() {
    for (path, first_call) in [
        ("/chaos", "get_chaos"),
        ("/links", "get_links"),
        ("/status", "status"),
    ] {
        let mut plane = Recorder::new();
        let expected = call(&mut Recorder::new(), "GET", path, "");
        assert_eq!(expected.status, 200);
        for body in [
            Ok(b"not json at all \xff".to_vec()),
            Ok(br#"{"host":"north","trap":500}"#.to_vec()),
            Err(BodyError::TooLarge),
            Err(BodyError::Failed("broken".to_string())),
        ] {
            assert_eq!(call_with(&mut plane, "GET", path, body), expected, "{path}");
        }
        assert_eq!(
            call(&mut plane, "GET", &format!("{path}?host=north&x=%zz"), ""),
            expected
        );
        assert_eq!(plane.calls, [first_call; 5], "{path}");
    }
}

// --- PUT /chaos --------------------------------------------------------------------

#[test]
fn put_chaos_sets_and_answers_every_host() {
    let mut plane = Recorder::new();
    let reply = call(
        &mut plane,
        "PUT",
        "/chaos",
        r#"{"host":"north","trap":20,"delay_ms":5,"jitter_ms":2,"drop":1,"down_s":0}"#,
    );
    assert_eq!(
        reply,
        ok(
            r#"{"chaos":[{"host":"north","trap":20,"delay_ms":5,"jitter_ms":2,"drop":1,"down_s":0},{"host":"east","trap":7,"delay_ms":0,"jitter_ms":0,"drop":0,"down_s":0}]}"#
        )
    );
    assert_eq!(
        plane.calls,
        ["set_chaos north ChaosPatch { trap: Some(20), delay_ms: Some(5), jitter_ms: Some(2), drop: Some(1), down_s: Some(0) }"]
    );
}

#[test]
fn put_chaos_passes_only_given_fields_and_star_as_is() {
    let mut plane = Recorder::new();
    let reply = call(&mut plane, "PUT", "/chaos", r#"{"delay_ms":20,"host":"*"}"#);
    assert_eq!(reply.status, 200);
    assert_eq!(
        plane.calls,
        ["set_chaos * ChaosPatch { trap: None, delay_ms: Some(20), jitter_ms: None, drop: None, down_s: None }"]
    );
    let answer: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    for host in answer["chaos"].as_array().unwrap() {
        assert_eq!(host["delay_ms"], 20);
    }
}

#[test]
fn bad_chaos_bodies_are_400_and_call_nothing() {
    for (body, message) in [
        ("", r#"missing required field "host""#),
        (
            "{",
            "body is not valid JSON: EOF while parsing an object at line 1 column 1",
        ),
        ("[]", "body must be a JSON object, got an array"),
        (
            r#"{"host":"north","trap":"x"}"#,
            r#"trap must be an integer 0..=100, got "x""#,
        ),
        (
            r#"{"host":"north","trap":1.5}"#,
            "trap must be an integer 0..=100, got 1.5",
        ),
        (
            r#"{"host":"north","trap":-1}"#,
            "trap must be an integer 0..=100, got -1",
        ),
        (
            r#"{"host":"north","trap":null}"#,
            "trap must be an integer 0..=100, got null",
        ),
        (
            r#"{"host":"north","trap":101}"#,
            "trap must be an integer 0..=100, got 101",
        ),
        (
            r#"{"host":"north","drop":101}"#,
            "drop must be an integer 0..=100, got 101",
        ),
        (
            r#"{"host":"north","delay_ms":-1}"#,
            "delay_ms must be an integer 0..=60000, got -1",
        ),
        (
            r#"{"host":"north","jitter_ms":60001}"#,
            "jitter_ms must be an integer 0..=60000, got 60001",
        ),
        (
            r#"{"host":"north","down_s":3601}"#,
            "down_s must be an integer 0..=3600, got 3601",
        ),
        (r#"{"trap":20}"#, r#"missing required field "host""#),
        (
            r#"{"host":7}"#,
            r#"host must be "*" (every host) or a string of 1-64 characters of [a-z0-9_-], got 7"#,
        ),
        (
            r#"{"host":"north","trap":20,"colour":"red"}"#,
            r#"unknown field "colour"; allowed fields: host, trap, delay_ms, jitter_ms, drop, down_s"#,
        ),
        // Nothing is half-applied: a bad last field refuses the good ones too.
        (
            r#"{"host":"north","trap":20,"down_s":99999}"#,
            "down_s must be an integer 0..=3600, got 99999",
        ),
    ] {
        let mut plane = Recorder::new();
        assert_eq!(
            call(&mut plane, "PUT", "/chaos", body),
            error(400, message),
            "{body}"
        );
        assert!(plane.calls.is_empty(), "{body}: {:?}", plane.calls);
    }
    let mut plane = Recorder::new();
    assert_eq!(
        call_with(
            &mut plane,
            "PUT",
            "/chaos",
            Ok(b"{\"host\":\"\xff\"}".to_vec())
        ),
        error(400, "body is not valid UTF-8 (bad byte at offset 9)")
    );
    assert!(plane.calls.is_empty());
}

// --- links -------------------------------------------------------------------------

#[test]
fn put_link_adds_or_repoints() {
    let mut plane = Recorder::new();
    assert_eq!(
        call(
            &mut plane,
            "PUT",
            "/links",
            r#"{"source":"north","name":"default","target":"east"}"#
        ),
        ok(r#"{"links":[{"source":"north","name":"default","target":"east"}]}"#)
    );
    assert_eq!(plane.calls, ["put_link north default east"]);
}

#[test]
fn delete_link_removes_and_ignores_target() {
    let mut plane = Recorder::new();
    assert_eq!(
        call(
            &mut plane,
            "DELETE",
            "/links",
            r#"{"source":"north","name":"default","target":"anything"}"#
        ),
        ok(r#"{"links":[]}"#)
    );
    assert_eq!(
        call(
            &mut plane,
            "DELETE",
            "/links",
            r#"{"source":"east","name":"special"}"#
        ),
        ok(r#"{"links":[]}"#)
    );
    assert_eq!(
        plane.calls,
        ["delete_link north default", "delete_link east special"]
    );
}

#[test]
fn bad_link_bodies_are_400_and_call_nothing() {
    let rule = "must be a string of 1-64 characters of [a-z0-9_-]";
    for (method, body, message) in [
        ("PUT", "", r#"missing required field "source""#.to_string()),
        (
            "PUT",
            r#"{"source":"north","name":"default"}"#,
            r#"missing required field "target""#.to_string(),
        ),
        (
            "PUT",
            r#"{"source":"North","name":"default","target":"east"}"#,
            format!(r#"source {rule}, got "North""#),
        ),
        (
            "PUT",
            r#"{"source":"north","name":"","target":"east"}"#,
            format!(r#"name {rule}, got """#),
        ),
        (
            "PUT",
            r#"{"source":"north","name":"default","target":null}"#,
            format!("target {rule}, got null"),
        ),
        (
            "PUT",
            r#"{"source":"north","name":"default","target":"east","x":1}"#,
            r#"unknown field "x"; allowed fields: source, name, target"#.to_string(),
        ),
        (
            "PUT",
            r#"{"source":"north","#,
            "body is not valid JSON: EOF while parsing a value at line 1 column 18".to_string(),
        ),
        (
            "DELETE",
            "",
            r#"missing required field "source""#.to_string(),
        ),
        (
            "DELETE",
            r#"{"source":"north"}"#,
            r#"missing required field "name""#.to_string(),
        ),
        (
            "DELETE",
            r#"{"source":"north","name":5}"#,
            format!("name {rule}, got 5"),
        ),
        (
            "DELETE",
            r#"{"source":"north","name":"default","target":"East"}"#,
            format!(r#"target {rule}, got "East""#),
        ),
        (
            "DELETE",
            "null",
            "body must be a JSON object, got null".to_string(),
        ),
    ] {
        let mut plane = Recorder::new();
        assert_eq!(
            call(&mut plane, method, "/links", body),
            error(400, &message),
            "{method} {body}"
        );
        assert!(plane.calls.is_empty(), "{method} {body}: {:?}", plane.calls);
    }
}

// --- body errors ---------------------------------------------------------------------

#[test]
fn body_too_large_is_413_and_calls_nothing() {
    for (method, path) in [
        ("POST", "/packets"),
        ("PUT", "/chaos"),
        ("PUT", "/links"),
        ("DELETE", "/links"),
    ] {
        let mut plane = Recorder::new();
        assert_eq!(
            call_with(&mut plane, method, path, Err(BodyError::TooLarge)),
            error(413, "body over 65536 bytes"),
            "{method} {path}"
        );
        assert_eq!(
            call_with(
                &mut plane,
                method,
                path,
                Err(BodyError::Failed("could not read body: reset".to_string()))
            ),
            error(400, "could not read body: reset"),
            "{method} {path}"
        );
        assert!(plane.calls.is_empty(), "{method} {path}: {:?}", plane.calls);
    }
}

// --- host refusals ---------------------------------------------------------------------

#[test]
fn ctl_errors_become_400_and_503() {
    let requests = [
        ("PUT", "/chaos", r#"{"host":"nowhere","trap":5}"#),
        (
            "PUT",
            "/links",
            r#"{"source":"nobody","name":"default","target":"east"}"#,
        ),
        ("DELETE", "/links", r#"{"source":"north","name":"nothing"}"#),
    ];
    for (method, path, body) in requests {
        let mut plane =
            Recorder::failing(CtlError::BadRequest("unknown host \"nowhere\"".to_string()));
        assert_eq!(
            call(&mut plane, method, path, body),
            error(400, "unknown host \"nowhere\""),
            "{method} {path}"
        );
        assert_eq!(plane.calls.len(), 1);
        let mut plane = Recorder::failing(CtlError::Unavailable(
            "west did not acknowledge within 2s".to_string(),
        ));
        assert_eq!(
            call(&mut plane, method, path, body),
            error(503, "west did not acknowledge within 2s"),
            "{method} {path}"
        );
    }
}

// --- injection through the same path ----------------------------------------------------

#[test]
fn post_packets_reserves_marks_and_sends_in_order() {
    let mut plane = Recorder::new();
    let reply = call(
        &mut plane,
        "POST",
        "/packets",
        r#"{"ttl":3,"chaos":10,"route":"special","count":2,"trace":true}"#,
    );
    assert_eq!(
        reply,
        ok(
            r#"{"chaos":10,"count":2,"packets":[1000,1001],"route":"special","trace":true,"ttl":3}"#
        )
    );
    assert_eq!(
        plane.calls,
        [
            "reserve 2",
            "trace 1000",
            "process 1000 3 10 special",
            "trace 1001",
            "process 1001 3 10 special"
        ]
    );
}

#[test]
fn get_root_injects_one_untraced_packet() {
    let mut plane = Recorder::new();
    assert_eq!(
        call(&mut plane, "GET", "/?ttl=5&chaos=1", "ignored body").status,
        200
    );
    assert_eq!(plane.calls, ["reserve 1", "process 1000 5 1 default"]);
}

#[test]
fn bad_injections_call_nothing() {
    let mut plane = Recorder::new();
    assert_eq!(
        call(&mut plane, "POST", "/packets", r#"{"ttl":-1}"#),
        error(400, "ttl must be an integer 0..=10000000, got -1")
    );
    assert_eq!(
        call(&mut plane, "GET", "/?chaos=101", ""),
        error(400, r#"chaos must be an integer 0..=100, got "101""#)
    );
    assert!(plane.calls.is_empty(), "{:?}", plane.calls);
}

// --- load ------------------------------------------------------------------------

#[test]
fn load_starts_with_202_conflicts_with_409_and_stops() {
    let mut plane = Recorder::new();
    let body = r#"{"rate":200,"ttl":50,"duration_s":30}"#;
    let reply = call(&mut plane, "POST", "/load", body);
    assert_eq!(reply.status, 202, "{}", reply.body);
    let answer: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(answer["load"]["rate"], 200);
    assert_eq!(answer["load"]["running"], true);
    assert_eq!(plane.calls, ["start_load 200 50 0 default 30"]);

    assert_eq!(
        call(&mut plane, "POST", "/load", body),
        error(409, "a load is running")
    );
    let got = call(&mut plane, "GET", "/load", "ignored");
    let answer: serde_json::Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(answer["load"]["ttl"], 50);
    assert!(answer["last"].is_null());

    let stopped = call(&mut plane, "DELETE", "/load", "");
    let answer: serde_json::Value = serde_json::from_str(&stopped.body).unwrap();
    assert_eq!(stopped.status, 200);
    assert!(answer["load"].is_null());
    assert_eq!(answer["last"]["running"], false);
}

#[test]
fn bad_load_bodies_are_400_and_call_nothing() {
    let mut plane = Recorder::new();
    for (body, message) in [
        (r#"{"duration_s":3}"#, "missing required field \"rate\""),
        (r#"{"rate":0,"duration_s":3}"#, "rate must be an integer 1..=100000, got 0"),
        (r#"{"rate":9,"duration_s":86401}"#, "duration_s must be an integer 1..=86400, got 86401"),
    ] {
        assert_eq!(call(&mut plane, "POST", "/load", body), error(400, message), "{body}");
    }
    assert!(plane.calls.is_empty(), "{:?}", plane.calls);
}
