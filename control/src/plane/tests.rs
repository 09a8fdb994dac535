//! Unit tests of `/chaos` and `/links` bodies and answers, with the exact
//! messages clients see.

use super::*;

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

// --- PUT /links -------------------------------------------------------------------

#[test]
fn put_link_valid() {
    assert_eq!(
        parse_put_link(br#"{"source":"north","name":"default","target":"east"}"#),
        Ok(link("north", "default", "east"))
    );
    assert_eq!(
        parse_put_link(br#" {"target":"x","name":"special","source":"control"} "#),
        Ok(link("control", "special", "x"))
    );
    let longest = "n".repeat(64);
    assert_eq!(
        parse_put_link(format!(r#"{{"source":"a","name":"{longest}","target":"b"}}"#).as_bytes())
            .map(|l| l.name),
        Ok(longest)
    );
}

#[test]
fn put_link_fields_are_required() {
    for (text, missing) in [
        ("", "source"),
        ("{}", "source"),
        (r#"{"name":"default","target":"east"}"#, "source"),
        (r#"{"source":"north","target":"east"}"#, "name"),
        (r#"{"source":"north","name":"default"}"#, "target"),
        (r#"{"target":"east"}"#, "source"),
    ] {
        assert_eq!(
            put_link_err(text),
            format!(r#"missing required field "{missing}""#),
            "{text:?}"
        );
    }
}

#[test]
fn link_names_wrong_types_and_contents() {
    let too_long = "x".repeat(65);
    let cases = [
        (r#""""#.to_string(), r#""""#.to_string()),
        (r#""East""#.to_string(), r#""East""#.to_string()),
        (r#""*""#.to_string(), r#""*""#.to_string()),
        (r#""a b""#.to_string(), r#""a b""#.to_string()),
        (r#""a.b""#.to_string(), r#""a.b""#.to_string()),
        (
            format!(r#""{too_long}""#),
            format!(r#""{}"…"#, "x".repeat(40)),
        ),
        ("7".to_string(), "7".to_string()),
        ("null".to_string(), "null".to_string()),
        ("false".to_string(), "false".to_string()),
        (r#"["east"]"#.to_string(), "an array".to_string()),
        (r#"{}"#.to_string(), "an object".to_string()),
    ];
    for field in ["source", "name", "target"] {
        for (value, shown) in &cases {
            let mut fields = vec![
                ("source", r#""north""#.to_string()),
                ("name", r#""default""#.to_string()),
                ("target", r#""east""#.to_string()),
            ];
            for (name, v) in &mut fields {
                if *name == field {
                    *v = value.clone();
                }
            }
            let text = format!(
                "{{{}}}",
                fields
                    .iter()
                    .map(|(n, v)| format!(r#""{n}":{v}"#))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let expected =
                format!("{field} must be a string of 1-64 characters of [a-z0-9_-], got {shown}");
            assert_eq!(put_link_err(&text), expected, "PUT {text}");
            // DELETE checks the same fields, target included.
            assert_eq!(delete_link_err(&text), expected, "DELETE {text}");
        }
    }
}

#[test]
fn put_link_unknown_repeated_and_shape() {
    assert_eq!(
        put_link_err(r#"{"source":"north","name":"default","target":"east","to":"west"}"#),
        r#"unknown field "to"; allowed fields: source, name, target"#
    );
    assert_eq!(
        put_link_err(r#"{"source":"north","source":"east","name":"default","target":"east"}"#),
        r#"field "source" given more than once"#
    );
    assert_eq!(
        put_link_err(r#"[{"source":"north"}]"#),
        "body must be a JSON object, got an array"
    );
    assert!(put_link_err(r#"{"source":"north""#).starts_with("body is not valid JSON: "));
    assert_eq!(
        parse_put_link(b"{\"source\":\"\xfe\"}"),
        Err(BadRequest(
            "body is not valid UTF-8 (bad byte at offset 11)".to_string()
        ))
    );
}

// --- DELETE /links ------------------------------------------------------------------

#[test]
fn delete_link_valid_target_optional() {
    let expected = DeleteLink {
        source: "north".to_string(),
        name: "default".to_string(),
    };
    assert_eq!(
        parse_delete_link(br#"{"source":"north","name":"default"}"#),
        Ok(expected.clone())
    );
    assert_eq!(
        parse_delete_link(br#"{"source":"north","name":"default","target":"east"}"#),
        Ok(expected)
    );
}

#[test]
fn delete_link_errors() {
    for (text, missing) in [
        ("", "source"),
        (r#"{"name":"default"}"#, "source"),
        (r#"{"source":"north"}"#, "name"),
        (r#"{"source":"north","target":"east"}"#, "name"),
    ] {
        assert_eq!(
            delete_link_err(text),
            format!(r#"missing required field "{missing}""#),
            "{text:?}"
        );
    }
    assert_eq!(
        delete_link_err(r#"{"source":"north","name":"default","host":"x"}"#),
        r#"unknown field "host"; allowed fields: source, name, target (optional, ignored)"#
    );
    assert_eq!(
        delete_link_err(r#"{"source":"north","name":"default","name":"special"}"#),
        r#"field "name" given more than once"#
    );
    assert_eq!(
        delete_link_err("true"),
        "body must be a JSON object, got a boolean"
    );
}

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
