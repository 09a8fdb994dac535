//! PUT and DELETE /links through the endpoint.

use super::*;

// --- links -------------------------------------------------------------------------

#[test]
fn put_link_adds_or_repoints() {
    let mut plane = Recorder::new();
    assert_eq!(
        call(
            &mut plane,
            "PUT",
            "/links",
            r#"{"source":"north","name":"default","target":"east"}"#
        ),
        ok(r#"{"links":[{"source":"north","name":"default","target":"east"}]}"#)
    );
    assert_eq!(plane.calls, ["put_link north default east"]);
}

#[test]
fn delete_link_removes_and_ignores_target() {
    let mut plane = Recorder::new();
    assert_eq!(
        call(
            &mut plane,
            "DELETE",
            "/links",
            r#"{"source":"north","name":"default","target":"anything"}"#
        ),
        ok(r#"{"links":[]}"#)
    );
    assert_eq!(
        call(
            &mut plane,
            "DELETE",
            "/links",
            r#"{"source":"east","name":"special"}"#
        ),
        ok(r#"{"links":[]}"#)
    );
    assert_eq!(
        plane.calls,
        ["delete_link north default", "delete_link east special"]
    );
}

#[test]
fn bad_link_bodies_are_400_and_call_nothing() {
    let rule = "must be a string of 1-64 characters of [a-z0-9_-]";
    for (method, body, message) in [
        ("PUT", "", r#"missing required field "source""#.to_string()),
        (
            "PUT",
            r#"{"source":"north","name":"default"}"#,
            r#"missing required field "target""#.to_string(),
        ),
        (
            "PUT",
            r#"{"source":"North","name":"default","target":"east"}"#,
            format!(r#"source {rule}, got "North""#),
        ),
        (
            "PUT",
            r#"{"source":"north","name":"","target":"east"}"#,
            format!(r#"name {rule}, got """#),
        ),
        (
            "PUT",
            r#"{"source":"north","name":"default","target":null}"#,
            format!("target {rule}, got null"),
        ),
        (
            "PUT",
            r#"{"source":"north","name":"default","target":"east","x":1}"#,
            r#"unknown field "x"; allowed fields: source, name, target"#.to_string(),
        ),
        (
            "PUT",
            r#"{"source":"north","#,
            "body is not valid JSON: EOF while parsing a value at line 1 column 18".to_string(),
        ),
        (
            "DELETE",
            "",
            r#"missing required field "source""#.to_string(),
        ),
        (
            "DELETE",
            r#"{"source":"north"}"#,
            r#"missing required field "name""#.to_string(),
        ),
        (
            "DELETE",
            r#"{"source":"north","name":5}"#,
            format!("name {rule}, got 5"),
        ),
        (
            "DELETE",
            r#"{"source":"north","name":"default","target":"East"}"#,
            format!(r#"target {rule}, got "East""#),
        ),
        (
            "DELETE",
            "null",
            "body must be a JSON object, got null".to_string(),
        ),
    ] {
        let mut plane = Recorder::new();
        assert_eq!(
            call(&mut plane, method, "/links", body),
            error(400, &message),
            "{method} {body}"
        );
        assert!(plane.calls.is_empty(), "{method} {body}: {:?}", plane.calls);
    }
}
