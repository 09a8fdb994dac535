//! POST /packets, GET / and /load through the endpoint.

use super::*;

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
