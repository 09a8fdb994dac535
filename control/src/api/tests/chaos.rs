//! PUT /chaos through the endpoint: what each host is told, and refusals.

use super::*;

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
