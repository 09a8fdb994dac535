//! Each field of a POST /packets body, then the shape of the body.

use super::*;

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
