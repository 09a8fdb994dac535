//! The parser on good files and on ten kinds of bad one, with the messages
//! a user sees.

use super::*;

const GOOD: &str = r#"
name = "brownout"
duration_s = 40

[load]
rate = 200
ttl = 50

[[phase]]
name = "baseline"
at_s = 0

[[phase]]
name = "slow-east"
at_s = 10
chaos = [{ host = "east", delay_ms = 20, jitter_ms = 5 }]

[[phase]]
name = "west-down"
at_s = 20
kill = ["west"]

[[expect]]
phase = "baseline"
metric = "p99_ms"
edge = "east->north"
max = 5

[[expect]]
phase = "west-down"
metric = "lost_pct"
min = 0.1
"#;

fn err(text: &str) -> SpecError {
    match parse("x.toml", text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn a_good_file_parses() {
    let exp = parse("b.toml", GOOD).unwrap();
    assert_eq!(exp.name.get_ref(), "brownout");
    assert_eq!(*exp.load.get_ref().ttl.get_ref(), 50);
    assert_eq!(exp.load.get_ref().route.get_ref(), "default");
    assert_eq!(exp.phases.len(), 3);
    assert_eq!(exp.expects[0].get_ref().target(), Series::Edge("east".into(), "north".into()));
    assert_eq!(exp.expects[1].get_ref().target(), Series::AllEdges);
    assert_eq!(*exp.settle_s.get_ref(), 10);
}

/// Each bad file: what to change in GOOD, the line and the message.
#[test]
fn ten_bad_files_name_the_key_and_line() {
    let cases: &[(&str, &str, usize, &str)] = &[
        ("ttl = 50", "ttl = 50\nrtae = 3", 8, "unknown field `rtae`"),
        ("rate = 200", "rate = 0", 6, "load.rate must be 1..=100000, got 0"),
        ("duration_s = 40", "duration_s = \"40\"", 3, "invalid type: string \"40\", expected u32"),
        ("at_s = 20", "at_s = 50", 20, "phase.at_s 50 is not before duration_s 40"),
        ("at_s = 20", "at_s = 5", 20, "phase.at_s must grow from phase to phase, got 5 after 10"),
        ("name = \"west-down\"", "name = \"slow-east\"", 19, "phase.name \"slow-east\" is used twice"),
        ("phase = \"baseline\"", "phase = \"base\"", 24, "expect.phase \"base\" is not a phase (phases: baseline, slow-east, west-down)"),
        ("metric = \"p99_ms\"", "metric = \"p98_ms\"", 25, "unknown variant `p98_ms`"),
        ("edge = \"east->north\"", "edge = \"east-north\"", 26, "expect.edge must be \"<from>-><to>\", e.g. \"east->north\", got \"east-north\""),
        ("min = 0.1", "", 29, "expect needs min, max or both"),
        ("kill = [\"west\"]", "kill = [\"West\"]", 21, "kill/start host must be 1-64 characters of [a-z0-9_-], got \"West\""),
        ("[load]", "[load", 5, "unclosed table, expected `]`"),
    ];
    for (from, to, line, message) in cases {
        assert!(GOOD.contains(from), "{from}");
        let text = GOOD.replacen(from, to, 1);
        let e = err(&text);
        assert!(e.message.starts_with(message), "{from} -> {to}: got {e:?}");
        assert_eq!(e.line, *line, "{from} -> {to}: {e:?}");
        assert_eq!(e.to_string(), format!("x.toml:{}: {}", e.line, e.message));
    }
}

#[test]
fn series_and_edge_are_exclusive_and_checked() {
    let text = GOOD.replace("edge = \"east->north\"", "edge = \"east->north\"\nseries = \"lifetime\"");
    assert_eq!(err(&text).message, "expect: give edge or series, not both");
    let text = GOOD.replace("edge = \"east->north\"", "series = \"invoke:\"");
    assert!(err(&text).message.starts_with("expect.series must be"));
    let text = GOOD.replace("metric = \"lost_pct\"", "metric = \"lost_pct\"\nedge = \"a->b\"");
    assert!(err(&text).message.contains("for the whole phase"));
    let text = GOOD.replace("at_s = 0", "at_s = 1");
    assert_eq!(err(&text).message, "the first phase's at_s must be 0");
}
