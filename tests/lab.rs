//! `lwc-lab` end to end on a real ring: a short experiment whose report
//! counts match the fate stream exactly, a failing expectation (exit 1), a
//! bad file (exit 2, key and line named), and report.html rendered by
//! headless Chromium.

use lwc_tests::{release_dir, Ring};
use lwc_wire::events::PacketEvent;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn lab_bin() -> PathBuf {
    let bin = release_dir().join("lwc-lab");
    assert!(bin.exists(), "{} missing: cargo build --release first", bin.display());
    bin
}

/// Run lwc-lab on `file` against `ring`; its exit code and stderr.
fn run_lab(ring: &Ring, file: &Path, out: &Path) -> (i32, String) {
    let output = Command::new(lab_bin())
        .arg(file)
        .arg("--out")
        .arg(out)
        .args(["--nats", &ring.nats.url, "--nats-token", &ring.nats.token, "--http", &ring.http, "--lattice", &ring.lattice])
        .args(["--ring-env", "/nonexistent", "--ring-cmd", "/bin/false"])
        .output()
        .expect("run lwc-lab");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

const SHORT: &str = r#"
name = "short"
duration_s = 6
settle_s = 10

[load]
rate = 50
ttl = 5

[[phase]]
name = "calm"
at_s = 0

[[phase]]
name = "slow"
at_s = 3
chaos = [{ host = "east", delay_ms = 10 }]

[[expect]]
phase = "calm"
metric = "lost_pct"
max = 0

[[expect]]
phase = "slow"
metric = "p50_ms"
edge = "east->north"
min = 8
"#;

/// Per phase (by start second): injected, expired, lost, from the tap.
fn counts_from_tap(events: &[PacketEvent], t0: u64, starts: &[u64], end_s: u64) -> Vec<(u64, u64, u64)> {
    let mut phase_of = HashMap::new();
    let mut counts = vec![(0, 0, 0); starts.len()];
    for e in events {
        if let PacketEvent::Injected(i) = e {
            if i.at_ns < t0 || i.at_ns > t0 + (end_s + 1) * 1_000_000_000 {
                continue;
            }
            let s = (i.at_ns - t0) / 1_000_000_000;
            let p = starts.iter().rposition(|&a| a <= s).expect("a phase");
            phase_of.insert(i.packet, p);
            counts[p].0 += 1;
        }
    }
    for e in events {
        match e {
            PacketEvent::Expired(x) => {
                if let Some(&p) = phase_of.get(&x.packet) {
                    counts[p].1 += 1;
                }
            }
            PacketEvent::Lost(l) => {
                if let Some(&p) = phase_of.get(&l.packet) {
                    counts[p].2 += 1;
                }
            }
            _ => {}
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_experiment_reports_what_the_fate_stream_says() {
    let ring = Ring::start().await.unwrap();
    let tap = ring.tap().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("short.toml");
    std::fs::write(&file, SHORT).unwrap();
    let out = dir.path().join("out");
    let (code, stderr) = run_lab(&ring, &file, &out);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("phase calm") && stderr.contains("phase slow"), "{stderr}");
    assert!(stderr.contains("✓ calm"), "{stderr}");

    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["status"], "passed");
    assert_eq!(report["load"]["injected"], 300, "{report}");
    assert_eq!(report["load"]["unseen"], 0, "{report}");
    let t0 = report["started_ns"].as_u64().unwrap();
    let from_tap = counts_from_tap(&tap.events(), t0, &[0, 3], 6);
    for (i, phase) in report["phases"].as_array().unwrap().iter().enumerate() {
        let lost: u64 = phase["lost"].as_object().unwrap().values().filter_map(|v| v.as_u64()).sum();
        let got = (phase["injected"].as_u64().unwrap(), phase["expired"].as_u64().unwrap(), lost);
        assert_eq!(got, from_tap[i], "phase {}", phase["name"]);
    }
    let total: u64 = from_tap.iter().map(|c| c.0).sum();
    assert_eq!(total, 300);
    assert!(report["phases"][1]["edges"]["east->north"]["p50_ms"].as_f64().unwrap() >= 8.0, "{report}");

    render_in_chromium(&out.join("report.html"), 2);

    // The same ring, an expectation that cannot hold: exit 1.
    let failing = SHORT.replace("duration_s = 6", "duration_s = 2").replace("at_s = 3", "at_s = 1").replace("min = 8", "min = 1000");
    std::fs::write(&file, failing).unwrap();
    let (code, stderr) = run_lab(&ring, &file, &dir.path().join("out2"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("✗ slow"), "{stderr}");
}

/// Chromium, or a failure saying how to get it: the report test must not
/// pass without its browser check. `LWC_NO_BROWSER=1` skips it on purpose.
fn chromium() -> Option<&'static str> {
    if std::env::var("LWC_NO_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED the Chromium check: LWC_NO_BROWSER=1");
        return None;
    }
    let found = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    assert!(found.is_some(), "no chromium on PATH: scripts/setup.sh installs it (or set LWC_NO_BROWSER=1 to skip this check)");
    found
}

/// Run after layout, inside a copy of the page: count what the browser
/// actually laid out (charts with a size, line series with a length) and
/// leave the count in the DOM for --dump-dom.
const PROBE: &str = r#"<script>
const svgs = [...document.querySelectorAll('svg')];
const sized = svgs.filter(s => { const r = s.getBoundingClientRect(); return r.width > 200 && r.height > 100; });
const lines = [...document.querySelectorAll('svg polyline')].filter(p => { const b = p.getBBox(); return b.width > 20; });
const areas = [...document.querySelectorAll('svg polygon, svg path')].filter(p => { const b = p.getBBox(); return b.width > 20 && b.height > 2; });
const h3 = [...document.querySelectorAll('h3')].map(h => h.textContent.split(' ')[0]);
const marks = [...document.querySelectorAll('td.mark')].map(td => td.textContent);
const out = document.createElement('pre');
out.id = 'probe';
out.textContent = JSON.stringify({svgs: svgs.length, sized: sized.length, lines: lines.length, areas: areas.length, edges: h3, marks: marks});
document.body.appendChild(out);
</script>"#;

/// report.html in headless Chromium: its charts are laid out with their
/// line series, the edge charts are there, and the ✓ marks.
fn render_in_chromium(html: &Path, expectations: usize) {
    let Some(chromium) = chromium() else { return };
    let page = std::fs::read_to_string(html).unwrap();
    // Self-contained: nothing to fetch.
    for outside in ["<script", "<link", "src=", "url("] {
        assert!(!page.contains(outside), "report.html refers to something outside: {outside}");
    }
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.html");
    std::fs::write(&probe, page.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let output = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .args(["--window-size=1200,1600", "--dump-dom"])
        .arg(format!("file://{}", probe.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&output.stdout);
    let Some(json) = dom.split("<pre id=\"probe\">").nth(1).and_then(|rest| rest.split("</pre>").next()) else {
        panic!("the probe did not run: {}\n{}", &dom[..dom.len().min(800)], String::from_utf8_lossy(&output.stderr));
    };
    let probe: serde_json::Value = serde_json::from_str(&json.replace("&gt;", ">").replace("&amp;", "&")).expect("the probe's JSON");
    let edges: Vec<&str> = probe["edges"].as_array().unwrap().iter().filter_map(|e| e.as_str()).collect();
    // Fates, every edge merged, and one chart per edge, all laid out.
    let svgs = probe["svgs"].as_u64().unwrap();
    assert_eq!(svgs as usize, 2 + edges.len(), "{probe}");
    assert_eq!(probe["sized"], probe["svgs"], "a chart without a size: {probe}");
    assert!(edges.contains(&"east->north"), "no east->north chart: {probe}");
    // p50 and p99 (and max for every edge merged) per chart, at least.
    assert!(probe["lines"].as_u64().unwrap() >= 3 + 2 * edges.len() as u64, "{probe}");
    assert!(probe["areas"].as_u64().unwrap() >= 1, "no fate area drawn: {probe}");
    let marks: Vec<&str> = probe["marks"].as_array().unwrap().iter().filter_map(|m| m.as_str()).collect();
    assert_eq!(marks, vec!["✓"; expectations], "{probe}");
}

/// Ten bad files, each a one-line change to SHORT: what to replace, with
/// what, and the line and message lwc-lab must print (`FILE:LINE: message`).
const BAD_FILES: [(&str, &str, usize, &str); 10] = [
    ("ttl = 5", "ttl = 5\nrtae = 9", 9, "unknown field `rtae`"),
    ("rate = 50", "rate = 0", 7, "load.rate must be 1..=100000, got 0"),
    ("duration_s = 6", "duration_s = \"6\"", 3, "invalid type: string \"6\", expected u32"),
    ("[load]", "[load", 6, "unclosed table, expected `]`"),
    ("at_s = 3", "at_s = 9", 16, "phase.at_s 9 is not before duration_s 6"),
    ("name = \"slow\"", "name = \"calm\"", 15, "phase.name \"calm\" is used twice"),
    ("delay_ms = 10", "delay_ms = 99999", 17, "chaos.delay_ms and chaos.jitter_ms must be 0..=60000"),
    ("phase = \"slow\"", "phase = \"fast\"", 25, "expect.phase \"fast\" is not a phase (phases: calm, slow)"),
    ("metric = \"p50_ms\"", "metric = \"p55_ms\"", 26, "unknown variant `p55_ms`"),
    ("edge = \"east->north\"", "edge = \"east-north\"", 27, "expect.edge must be \"<from>-><to>\", e.g. \"east->north\", got \"east-north\""),
];

/// lwc-lab on `file` with no ring anywhere (no env file, no LWC_* variables).
fn lab_without_ring(file: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(lab_bin())
        .arg(file)
        .args(["--ring-env", "/nonexistent"])
        .args(extra)
        .env_remove("LWC_NATS_URL")
        .env_remove("LWC_NATS_TOKEN")
        .env_remove("LWC_HTTP")
        .env_remove("LWC_LATTICE")
        .output()
        .expect("run lwc-lab");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn ten_bad_files_exit_2_naming_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = std::collections::HashSet::new();
    for (i, (from, to, line, message)) in BAD_FILES.iter().enumerate() {
        assert!(SHORT.contains(from), "case {i}: SHORT has no {from:?}");
        assert!(seen.insert(*message), "case {i} repeats a message");
        let file = dir.path().join(format!("bad-{i}.toml"));
        std::fs::write(&file, SHORT.replacen(from, to, 1)).unwrap();
        let want = format!("lwc-lab: error: {}:{line}: {message}", file.display());
        // Checked before anything else, with and without --check.
        for extra in [&[][..], &["--check"][..]] {
            let (code, stderr) = lab_without_ring(&file, extra);
            assert_eq!(code, Some(2), "case {i} ({from} -> {to}) {extra:?}: {stderr}");
            assert!(stderr.contains(&want), "case {i} ({from} -> {to}) {extra:?}: want {want:?}, got:\n{stderr}");
        }
    }
    // The good file passes --check, so each case above failed for its change.
    let good = dir.path().join("good.toml");
    std::fs::write(&good, SHORT).unwrap();
    let (code, stderr) = lab_without_ring(&good, &["--check"]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn no_ring_exits_2_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("short.toml");
    std::fs::write(&file, SHORT).unwrap();
    // No env file and nothing named: no ring found.
    let (code, stderr) = lab_without_ring(&file, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no ring found"), "{stderr}");
    // Named, but nothing listens there.
    let (code, stderr) = lab_without_ring(&file, &["--nats", "nats://127.0.0.1:1", "--http", "http://127.0.0.1:1"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot reach the ring"), "{stderr}");
}
