//! Unit tests of request validation: every accepted and refused input the API
//! promises, with the exact messages clients see.

use super::*;

mod fields;
mod query;

fn body(text: &str) -> Result<Inject, BadRequest> {
    parse_body(text.as_bytes())
}

fn body_err(text: &str) -> String {
    match body(text) {
        Ok(inject) => panic!("body {text:?} was accepted as {inject:?}"),
        Err(BadRequest(message)) => message,
    }
}

fn query(text: &str) -> Result<Inject, BadRequest> {
    parse_query(Some(text))
}

fn query_err(text: &str) -> String {
    match query(text) {
        Ok(inject) => panic!("query {text:?} was accepted as {inject:?}"),
        Err(BadRequest(message)) => message,
    }
}

fn inject(ttl: u64, chaos: u16, route: &str, count: u32, trace: bool) -> Inject {
    Inject {
        ttl,
        chaos,
        route: route.to_string(),
        count,
        trace,
    }
}

// --- defaults and valid bodies ----------------------------------------------

#[test]
fn defaults() {
    assert_eq!(Inject::default(), inject(100, 0, "default", 1, false));
}

#[test]
fn empty_body_means_defaults() {
    assert_eq!(body(""), Ok(Inject::default()));
    assert_eq!(body("  \r\n\t"), Ok(Inject::default()));
    assert_eq!(body("{}"), Ok(Inject::default()));
    assert_eq!(body(" { } "), Ok(Inject::default()));
}

#[test]
fn full_body() {
    let text = r#"{"ttl":7,"chaos":30,"route":"special","count":12,"trace":true}"#;
    assert_eq!(body(text), Ok(inject(7, 30, "special", 12, true)));
}

#[test]
fn partial_bodies_keep_other_defaults() {
    assert_eq!(body(r#"{"ttl":5}"#), Ok(inject(5, 0, "default", 1, false)));
    assert_eq!(
        body(r#"{"chaos":100}"#),
        Ok(inject(100, 100, "default", 1, false))
    );
    assert_eq!(
        body(r#"{"route":"a_b-9"}"#),
        Ok(inject(100, 0, "a_b-9", 1, false))
    );
    assert_eq!(
        body(r#"{"count":3}"#),
        Ok(inject(100, 0, "default", 3, false))
    );
    assert_eq!(body(r#"{"trace":false}"#), Ok(Inject::default()));
}

#[test]
fn range_limits_are_inclusive() {
    assert_eq!(body(r#"{"ttl":0}"#).map(|i| i.ttl), Ok(0));
    assert_eq!(body(r#"{"ttl":10000000}"#).map(|i| i.ttl), Ok(10_000_000));
    assert_eq!(body(r#"{"chaos":0}"#).map(|i| i.chaos), Ok(0));
    assert_eq!(body(r#"{"chaos":100}"#).map(|i| i.chaos), Ok(100));
    assert_eq!(body(r#"{"count":1}"#).map(|i| i.count), Ok(1));
    assert_eq!(body(r#"{"count":10000}"#).map(|i| i.count), Ok(10_000));
    let longest = "r".repeat(64);
    assert_eq!(
        body(&format!(r#"{{"route":"{longest}"}}"#)).map(|i| i.route),
        Ok(longest)
    );
    assert_eq!(
        body(r#"{"route":"x"}"#).map(|i| i.route),
        Ok("x".to_string())
    );
}

// --- answers ----------------------------------------------------------------

#[test]
fn answer_shape() {
    let answer = inject(7, 30, "special", 2, true).answer(&[41, 42]);
    assert_eq!(
        answer.to_string(),
        r#"{"chaos":30,"count":2,"packets":[41,42],"route":"special","trace":true,"ttl":7}"#
    );
    let ids = [u64::MAX];
    assert_eq!(
        Inject::default().answer(&ids)["packets"][0].as_u64(),
        Some(u64::MAX)
    );
}

#[test]
fn error_body_shape() {
    assert_eq!(
        error_body("body over 65536 bytes").to_string(),
        r#"{"error":"body over 65536 bytes"}"#
    );
    assert_eq!(error_body("a \"q\"").to_string(), r#"{"error":"a \"q\""}"#);
}
