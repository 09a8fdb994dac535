//! PUT and DELETE /links bodies.

use super::*;

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
