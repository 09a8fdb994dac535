//! Unit tests of request validation: every accepted and refused input the API
//! promises, with the exact messages clients see.

use super::*;

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

// --- ttl --------------------------------------------------------------------

#[test]
fn ttl_wrong_types_and_ranges() {
    let cases = [
        ("1.5", "1.5"),
        ("5.0", "5.0"),
        ("1e3", "1000.0"),
        (r#""ten""#, r#""ten""#),
        (r#""5""#, r#""5""#),
        ("-1", "-1"),
        ("true", "true"),
        ("null", "null"),
        ("[5]", "an array"),
        (r#"{"n":5}"#, "an object"),
        ("10000001", "10000001"),
        ("18446744073709551615", "18446744073709551615"),
        ("18446744073709551616", "1.8446744073709552e+19"),
    ];
    for (value, shown) in cases {
        assert_eq!(
            body_err(&format!(r#"{{"ttl":{value}}}"#)),
            format!("ttl must be an integer 0..=10000000, got {shown}"),
            "ttl {value}"
        );
    }
}

// --- chaos ------------------------------------------------------------------

#[test]
fn chaos_wrong_types_and_ranges() {
    for (value, shown) in [
        ("101", "101"),
        ("-1", "-1"),
        ("50.5", "50.5"),
        (r#""50""#, r#""50""#),
        ("false", "false"),
        ("null", "null"),
        ("65536", "65536"),
    ] {
        assert_eq!(
            body_err(&format!(r#"{{"chaos":{value}}}"#)),
            format!("chaos must be an integer 0..=100, got {shown}"),
            "chaos {value}"
        );
    }
}

// --- count ------------------------------------------------------------------

#[test]
fn count_wrong_types_and_ranges() {
    for (value, shown) in [
        ("0", "0"),
        ("10001", "10001"),
        ("-3", "-3"),
        ("2.5", "2.5"),
        (r#""2""#, r#""2""#),
        ("true", "true"),
        ("null", "null"),
        ("4294967297", "4294967297"),
    ] {
        assert_eq!(
            body_err(&format!(r#"{{"count":{value}}}"#)),
            format!("count must be an integer 1..=10000, got {shown}"),
            "count {value}"
        );
    }
}

// --- route ------------------------------------------------------------------

#[test]
fn route_wrong_types_and_contents() {
    let too_long = "r".repeat(65);
    let cases = [
        (r#""""#.to_string(), r#""""#.to_string()),
        (r#""Default""#.to_string(), r#""Default""#.to_string()),
        (r#""a b""#.to_string(), r#""a b""#.to_string()),
        (r#""a.b""#.to_string(), r#""a.b""#.to_string()),
        (r#""a/b""#.to_string(), r#""a/b""#.to_string()),
        (r#""é""#.to_string(), r#""é""#.to_string()),
        (r#""a\nb""#.to_string(), r#""a\nb""#.to_string()),
        (
            format!(r#""{too_long}""#),
            format!(r#""{}"…"#, "r".repeat(40)),
        ),
        ("5".to_string(), "5".to_string()),
        ("true".to_string(), "true".to_string()),
        ("null".to_string(), "null".to_string()),
        (r#"["default"]"#.to_string(), "an array".to_string()),
    ];
    for (value, shown) in cases {
        assert_eq!(
            body_err(&format!(r#"{{"route":{value}}}"#)),
            format!("route must be a string of 1-64 characters of [a-z0-9_-], got {shown}"),
            "route {value}"
        );
    }
}

// --- trace ------------------------------------------------------------------

#[test]
fn trace_must_be_boolean() {
    for value in ["1", "0", r#""true""#, "null"] {
        assert_eq!(
            body_err(&format!(r#"{{"trace":{value}}}"#)),
            format!("trace must be a boolean (true or false), got {value}"),
            "trace {value}"
        );
    }
}

// --- shape of the body ------------------------------------------------------

#[test]
fn unknown_field_is_named() {
    assert_eq!(
        body_err(r#"{"tll":5}"#),
        r#"unknown field "tll"; allowed fields: ttl, chaos, route, count, trace"#
    );
    assert_eq!(
        body_err(r#"{"ttl":5,"TTL":6}"#),
        r#"unknown field "TTL"; allowed fields: ttl, chaos, route, count, trace"#
    );
    assert_eq!(
        body_err(r#"{"":1}"#),
        r#"unknown field ""; allowed fields: ttl, chaos, route, count, trace"#
    );
}

#[test]
fn first_bad_field_in_body_order_is_reported() {
    assert_eq!(
        body_err(r#"{"chaos":500,"ttl":-1}"#),
        "chaos must be an integer 0..=100, got 500"
    );
    assert_eq!(
        body_err(r#"{"ttl":5,"zzz":1,"chaos":500}"#),
        r#"unknown field "zzz"; allowed fields: ttl, chaos, route, count, trace"#
    );
}

#[test]
fn repeated_field_is_refused() {
    assert_eq!(
        body_err(r#"{"ttl":5,"ttl":6}"#),
        r#"field "ttl" given more than once"#
    );
}

#[test]
fn body_must_be_an_object() {
    for (text, kind) in [
        ("[]", "an array"),
        (r#"[{"ttl":5}]"#, "an array"),
        ("5", "a number"),
        ("-5", "a number"),
        ("1.5", "a number"),
        (r#""ttl""#, "a string"),
        ("true", "a boolean"),
        ("null", "null"),
    ] {
        assert_eq!(
            body_err(text),
            format!("body must be a JSON object, got {kind}"),
            "body {text}"
        );
    }
}

#[test]
fn malformed_json_is_refused() {
    for text in [
        "{",
        r#"{"ttl":}"#,
        r#"{"ttl":5,}"#,
        r#"{ttl:5}"#,
        r#"{"ttl":5} x"#,
        r#"{"ttl":5}{}"#,
        "[1,",
        "nul",
        r#"{"ttl":05}"#,
    ] {
        let message = body_err(text);
        assert!(
            message.starts_with("body is not valid JSON: "),
            "body {text:?} gave {message:?}"
        );
    }
    assert_eq!(
        body_err("{"),
        "body is not valid JSON: EOF while parsing an object at line 1 column 1"
    );
}

#[test]
fn invalid_utf8_is_refused() {
    assert_eq!(
        parse_body(b"{\"route\":\"\xff\"}"),
        Err(BadRequest(
            "body is not valid UTF-8 (bad byte at offset 10)".to_string()
        ))
    );
    assert_eq!(
        parse_body(b"\xc3"),
        Err(BadRequest(
            "body is not valid UTF-8 (bad byte at offset 0)".to_string()
        ))
    );
}

#[test]
fn long_values_are_cut_in_messages() {
    let long = "x".repeat(1000);
    let message = body_err(&format!(r#"{{"{long}":1}}"#));
    assert!(message.len() < 200, "{message}");
    assert!(message.starts_with(&format!(r#"unknown field "{}"…"#, "x".repeat(40))));
}

// --- GET / query ------------------------------------------------------------

#[test]
fn query_defaults() {
    assert_eq!(parse_query(None), Ok(Inject::default()));
    assert_eq!(query(""), Ok(Inject::default()));
    assert_eq!(query("&&"), Ok(Inject::default()));
}

#[test]
fn query_full() {
    assert_eq!(
        query("ttl=7&chaos=30&route=special&trace=true"),
        Ok(inject(7, 30, "special", 1, true))
    );
    assert_eq!(query("trace=false"), Ok(Inject::default()));
    assert_eq!(
        query("ttl=0&chaos=100"),
        Ok(inject(0, 100, "default", 1, false))
    );
    assert_eq!(query("ttl=10000000").map(|i| i.ttl), Ok(10_000_000));
}

#[test]
fn query_percent_decoding() {
    assert_eq!(
        query("route=%64efault").map(|i| i.route),
        Ok("default".to_string())
    );
    assert_eq!(query("%74tl=5").map(|i| i.ttl), Ok(5));
    assert_eq!(
        query_err("route=a+b"),
        r#"route must be a string of 1-64 characters of [a-z0-9_-], got "a b""#
    );
    assert_eq!(
        query_err("route=%zz"),
        r#"query parameter "route" has a bad %-escape: "%zz""#
    );
    assert_eq!(
        query_err("route=%+5"),
        r#"query parameter "route" has a bad %-escape: "%+5""#
    );
    assert_eq!(
        query_err("route=abc%4"),
        r#"query parameter "route" has a bad %-escape: "abc%4""#
    );
    assert_eq!(
        query_err("route=%ff"),
        r#"query parameter "route" is not valid UTF-8 once decoded"#
    );
}

#[test]
fn query_integers() {
    for (q, message) in [
        (
            "ttl=1.5",
            r#"ttl must be an integer 0..=10000000, got "1.5""#,
        ),
        (
            "ttl=ten",
            r#"ttl must be an integer 0..=10000000, got "ten""#,
        ),
        ("ttl=-1", r#"ttl must be an integer 0..=10000000, got "-1""#),
        (
            "ttl=%2B5",
            r#"ttl must be an integer 0..=10000000, got "+5""#,
        ),
        ("ttl=+5", r#"ttl must be an integer 0..=10000000, got " 5""#),
        ("ttl=", r#"ttl must be an integer 0..=10000000, got """#),
        ("ttl", r#"ttl must be an integer 0..=10000000, got """#),
        (
            "ttl=10000001",
            r#"ttl must be an integer 0..=10000000, got "10000001""#,
        ),
        (
            "ttl=99999999999999999999999",
            r#"ttl must be an integer 0..=10000000, got "99999999999999999999999""#,
        ),
        (
            "ttl=true",
            r#"ttl must be an integer 0..=10000000, got "true""#,
        ),
        (
            "chaos=101",
            r#"chaos must be an integer 0..=100, got "101""#,
        ),
        (
            "chaos=5%25",
            r#"chaos must be an integer 0..=100, got "5%""#,
        ),
    ] {
        assert_eq!(query_err(q), message, "query {q}");
    }
}

#[test]
fn query_route_and_trace() {
    assert_eq!(
        query_err("route="),
        r#"route must be a string of 1-64 characters of [a-z0-9_-], got """#
    );
    assert_eq!(
        query_err("route=Special"),
        r#"route must be a string of 1-64 characters of [a-z0-9_-], got "Special""#
    );
    assert_eq!(
        query_err("trace=1"),
        r#"trace must be true or false, got "1""#
    );
    assert_eq!(
        query_err("trace=yes"),
        r#"trace must be true or false, got "yes""#
    );
}

#[test]
fn query_unknown_and_repeated_params() {
    assert_eq!(
        query_err("tll=5"),
        r#"unknown query parameter "tll"; allowed: ttl, chaos, route, trace"#
    );
    assert_eq!(
        query_err("ttl=5&foo"),
        r#"unknown query parameter "foo"; allowed: ttl, chaos, route, trace"#
    );
    assert_eq!(
        query_err("count=2"),
        "unknown query parameter \"count\": GET / injects one packet; \
         use POST /packets for more"
    );
    assert_eq!(
        query_err("ttl=5&ttl=6"),
        r#"query parameter "ttl" given more than once"#
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
