//! GET / with a query string: the same fields, percent-decoded.

use super::*;

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
