//! PUT /chaos bodies: valid ones, integers, the host, the shape of the body.

use super::*;

// --- PUT /chaos: valid bodies -------------------------------------------------

#[test]
fn chaos_full_body() {
    let text = r#"{"host":"north","trap":20,"delay_ms":5,"jitter_ms":2,"drop":1,"down_s":0}"#;
    assert_eq!(
        chaos(text),
        Ok(set(
            "north",
            ChaosPatch {
                trap: Some(20),
                delay_ms: Some(5),
                jitter_ms: Some(2),
                drop: Some(1),
                down_s: Some(0),
            }
        ))
    );
}

#[test]
fn chaos_fields_other_than_host_are_optional() {
    assert_eq!(
        chaos(r#"{"host":"east"}"#),
        Ok(set("east", ChaosPatch::default()))
    );
    assert_eq!(
        chaos(r#"{"delay_ms":20,"host":"east"}"#),
        Ok(set(
            "east",
            ChaosPatch {
                delay_ms: Some(20),
                ..ChaosPatch::default()
            }
        ))
    );
    assert_eq!(
        chaos(r#"{"host":"*","trap":100}"#),
        Ok(set(
            "*",
            ChaosPatch {
                trap: Some(100),
                ..ChaosPatch::default()
            }
        ))
    );
}

#[test]
fn chaos_range_limits_are_inclusive() {
    let top =
        r#"{"host":"a","trap":100,"delay_ms":60000,"jitter_ms":60000,"drop":100,"down_s":3600}"#;
    assert_eq!(
        chaos(top).map(|s| s.patch),
        Ok(ChaosPatch {
            trap: Some(100),
            delay_ms: Some(60_000),
            jitter_ms: Some(60_000),
            drop: Some(100),
            down_s: Some(3_600),
        })
    );
    let bottom = r#"{"host":"a","trap":0,"delay_ms":0,"jitter_ms":0,"drop":0,"down_s":0}"#;
    assert_eq!(
        chaos(bottom).map(|s| s.patch),
        Ok(ChaosPatch {
            trap: Some(0),
            delay_ms: Some(0),
            jitter_ms: Some(0),
            drop: Some(0),
            down_s: Some(0),
        })
    );
    let longest = "h".repeat(64);
    assert_eq!(
        chaos(&format!(r#"{{"host":"{longest}"}}"#)).map(|s| s.host),
        Ok(longest)
    );
    assert_eq!(
        chaos(r#"{"host":"a_b-9"}"#).map(|s| s.host),
        Ok("a_b-9".to_string())
    );
}

// --- PUT /chaos: integers -----------------------------------------------------

#[test]
fn chaos_integer_fields_wrong_types_and_ranges() {
    // (field, its range in messages, values over the top)
    let fields = [
        ("trap", "0..=100", "101"),
        ("drop", "0..=100", "101"),
        ("delay_ms", "0..=60000", "60001"),
        ("jitter_ms", "0..=60000", "60001"),
        ("down_s", "0..=3600", "3601"),
    ];
    let wrong = [
        (r#""x""#, r#""x""#),
        (r#""20""#, r#""20""#),
        ("1.5", "1.5"),
        ("5.0", "5.0"),
        ("1e2", "100.0"),
        ("-1", "-1"),
        ("-0.5", "-0.5"),
        ("null", "null"),
        ("true", "true"),
        ("[20]", "an array"),
        (r#"{"v":20}"#, "an object"),
        ("4294967296", "4294967296"),
        ("18446744073709551616", "1.8446744073709552e+19"),
    ];
    for (field, range, over) in fields {
        for (value, shown) in wrong.iter().copied().chain([(over, over)]) {
            assert_eq!(
                chaos_err(&format!(r#"{{"host":"north","{field}":{value}}}"#)),
                format!("{field} must be an integer {range}, got {shown}"),
                "{field} {value}"
            );
        }
    }
}

#[test]
fn chaos_named_examples() {
    assert_eq!(
        chaos_err(r#"{"host":"north","trap":101}"#),
        "trap must be an integer 0..=100, got 101"
    );
    assert_eq!(
        chaos_err(r#"{"host":"north","down_s":3601}"#),
        "down_s must be an integer 0..=3600, got 3601"
    );
    assert_eq!(
        chaos_err(r#"{"host":"north","delay_ms":-5}"#),
        "delay_ms must be an integer 0..=60000, got -5"
    );
    assert_eq!(
        chaos_err(r#"{"host":"north","trap":"x"}"#),
        r#"trap must be an integer 0..=100, got "x""#
    );
}

// --- PUT /chaos: host -----------------------------------------------------------

#[test]
fn chaos_host_is_required() {
    for text in [
        "",
        " \n",
        "{}",
        r#"{"trap":5}"#,
        r#"{"trap":5,"drop":1,"delay_ms":1,"jitter_ms":1,"down_s":1}"#,
    ] {
        assert_eq!(
            chaos_err(text),
            r#"missing required field "host""#,
            "{text:?}"
        );
    }
}

#[test]
fn chaos_host_existence_is_the_hosts_call() {
    // Any well-formed name passes here; the host answers bad-request (400)
    // for a host that is not in the manifest.
    assert_eq!(
        chaos(r#"{"host":"all"}"#).map(|s| s.host),
        Ok("all".to_string())
    );
}

#[test]
fn chaos_host_wrong_types_and_contents() {
    let too_long = "h".repeat(65);
    let cases = [
        (r#""""#.to_string(), r#""""#.to_string()),
        (r#""North""#.to_string(), r#""North""#.to_string()),
        (r#""**""#.to_string(), r#""**""#.to_string()),
        (r#""*north""#.to_string(), r#""*north""#.to_string()),
        (r#"" north""#.to_string(), r#"" north""#.to_string()),
        (r#""a.b""#.to_string(), r#""a.b""#.to_string()),
        (r#""é""#.to_string(), r#""é""#.to_string()),
        (
            format!(r#""{too_long}""#),
            format!(r#""{}"…"#, "h".repeat(40)),
        ),
        ("5".to_string(), "5".to_string()),
        ("null".to_string(), "null".to_string()),
        ("true".to_string(), "true".to_string()),
        (r#"["north"]"#.to_string(), "an array".to_string()),
        (r#"{"name":"north"}"#.to_string(), "an object".to_string()),
    ];
    for (value, shown) in cases {
        assert_eq!(
            chaos_err(&format!(r#"{{"host":{value}}}"#)),
            format!("{HOST_RULE}, got {shown}"),
            "host {value}"
        );
    }
}

// --- PUT /chaos: shape of the body ------------------------------------------------

#[test]
fn chaos_unknown_and_repeated_fields() {
    assert_eq!(
        chaos_err(r#"{"host":"north","trapp":5}"#),
        format!(r#"unknown field "trapp"; {CHAOS_UNKNOWN}"#)
    );
    // The packet field is not a host chaos field.
    assert_eq!(
        chaos_err(r#"{"host":"north","chaos":5}"#),
        format!(r#"unknown field "chaos"; {CHAOS_UNKNOWN}"#)
    );
    assert_eq!(
        chaos_err(r#"{"host":"north","delayMs":5}"#),
        format!(r#"unknown field "delayMs"; {CHAOS_UNKNOWN}"#)
    );
    assert_eq!(
        chaos_err(r#"{"host":"north","trap":5,"trap":6}"#),
        r#"field "trap" given more than once"#
    );
    assert_eq!(
        chaos_err(r#"{"host":"north","host":"east"}"#),
        r#"field "host" given more than once"#
    );
}

#[test]
fn chaos_first_bad_field_in_body_order_is_reported() {
    assert_eq!(
        chaos_err(r#"{"trap":500,"host":"NORTH"}"#),
        "trap must be an integer 0..=100, got 500"
    );
    assert_eq!(
        chaos_err(r#"{"host":"NORTH","trap":500}"#),
        format!(r#"{HOST_RULE}, got "NORTH""#)
    );
    // A bad field is reported even when host is missing too.
    assert_eq!(
        chaos_err(r#"{"drop":-1}"#),
        "drop must be an integer 0..=100, got -1"
    );
}

#[test]
fn chaos_body_must_be_a_utf8_json_object() {
    for (text, kind) in [
        ("[]", "an array"),
        (r#"[{"host":"north"}]"#, "an array"),
        ("5", "a number"),
        (r#""north""#, "a string"),
        ("false", "a boolean"),
        ("null", "null"),
    ] {
        assert_eq!(
            chaos_err(text),
            format!("body must be a JSON object, got {kind}"),
            "{text}"
        );
    }
    for text in [
        "{",
        r#"{"host":"north""#,
        r#"{"host":"north",}"#,
        r#"{host:"north"}"#,
        r#"{"host":'north'}"#,
        r#"{"host":"north"} {}"#,
        r#"{"host":"north","trap":05}"#,
    ] {
        let message = chaos_err(text);
        assert!(
            message.starts_with("body is not valid JSON: "),
            "{text:?} gave {message:?}"
        );
    }
    assert_eq!(
        parse_set_chaos(b"{\"host\":\"n\xc3\x28\"}"),
        Err(BadRequest(
            "body is not valid UTF-8 (bad byte at offset 10)".to_string()
        ))
    );
}
