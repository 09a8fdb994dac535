//! Unit tests of `/chaos` and `/links` bodies and answers, with the exact
//! messages clients see.

use super::*;

mod chaos_bodies;
mod link_bodies;

fn chaos(text: &str) -> Result<SetChaos, BadRequest> {
    parse_set_chaos(text.as_bytes())
}

fn chaos_err(text: &str) -> String {
    match chaos(text) {
        Ok(set) => panic!("chaos body {text:?} was accepted as {set:?}"),
        Err(BadRequest(message)) => message,
    }
}

fn put_link_err(text: &str) -> String {
    match parse_put_link(text.as_bytes()) {
        Ok(link) => panic!("link body {text:?} was accepted as {link:?}"),
        Err(BadRequest(message)) => message,
    }
}

fn delete_link_err(text: &str) -> String {
    match parse_delete_link(text.as_bytes()) {
        Ok(delete) => panic!("delete body {text:?} was accepted as {delete:?}"),
        Err(BadRequest(message)) => message,
    }
}

fn set(host: &str, patch: ChaosPatch) -> SetChaos {
    SetChaos {
        host: host.to_string(),
        patch,
    }
}

fn link(source: &str, name: &str, target: &str) -> Link {
    Link {
        source: source.to_string(),
        name: name.to_string(),
        target: target.to_string(),
    }
}

const HOST_RULE: &str =
    r#"host must be "*" (every host) or a string of 1-64 characters of [a-z0-9_-]"#;
const CHAOS_UNKNOWN: &str = "allowed fields: host, trap, delay_ms, jitter_ms, drop, down_s";

// --- answers ------------------------------------------------------------------------

#[test]
fn chaos_answer_shape() {
    let hosts = [
        HostChaos {
            host: "north".to_string(),
            trap: 20,
            delay_ms: 5,
            jitter_ms: 2,
            drop: 1,
            down_s: 0,
        },
        HostChaos {
            host: "east".to_string(),
            trap: 0,
            delay_ms: 60_000,
            jitter_ms: 0,
            drop: 100,
            down_s: 3_600,
        },
    ];
    assert_eq!(
        chaos_answer(&hosts),
        r#"{"chaos":[{"host":"north","trap":20,"delay_ms":5,"jitter_ms":2,"drop":1,"down_s":0},{"host":"east","trap":0,"delay_ms":60000,"jitter_ms":0,"drop":100,"down_s":3600}]}"#
    );
    assert_eq!(chaos_answer(&[]), r#"{"chaos":[]}"#);
}

#[test]
fn links_answer_shape() {
    let links = [
        link("north", "default", "west"),
        link("control", "default", "east"),
    ];
    assert_eq!(
        links_answer(&links),
        r#"{"links":[{"source":"north","name":"default","target":"west"},{"source":"control","name":"default","target":"east"}]}"#
    );
    assert_eq!(links_answer(&[]), r#"{"links":[]}"#);
    // Whatever the host returns is escaped properly.
    assert_eq!(
        links_answer(&[link("a\"b", "n", "t")]),
        r#"{"links":[{"source":"a\"b","name":"n","target":"t"}]}"#
    );
}

#[test]
fn ctl_error_statuses() {
    let bad = CtlError::BadRequest("unknown host \"x\"".to_string());
    assert_eq!((bad.status(), bad.message()), (400, "unknown host \"x\""));
    let down = CtlError::Unavailable("no ack from west".to_string());
    assert_eq!((down.status(), down.message()), (503, "no ack from west"));
}
