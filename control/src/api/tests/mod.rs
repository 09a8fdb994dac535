//! Unit tests of the endpoints end to end (routing, body errors, host calls and
//! answers) against a recording [`ControlPlane`].

use super::*;

mod chaos;
mod links;
mod packets;
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
