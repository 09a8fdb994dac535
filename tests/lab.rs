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

    render_in_chromium(&out.join("report.html"));

    // The same ring, an expectation that cannot hold: exit 1.
    let failing = SHORT.replace("duration_s = 6", "duration_s = 2").replace("at_s = 3", "at_s = 1").replace("min = 8", "min = 1000");
    std::fs::write(&file, failing).unwrap();
    let (code, stderr) = run_lab(&ring, &file, &dir.path().join("out2"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("✗ slow"), "{stderr}");
}

/// report.html opens in headless Chromium and its DOM has the SVG series.
fn render_in_chromium(html: &Path) {
    let Some(chromium) = ["chromium", "chromium-browser"].into_iter().find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success())) else {
        eprintln!("SKIPPED the Chromium check: no chromium on PATH (scripts/setup.sh installs it)");
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--window-size=1280,1800", "--dump-dom"])
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(dom.contains("<svg"), "no svg in the rendered page: {}", &dom[..dom.len().min(500)]);
    // Line series are drawn as polylines or paths; each edge has a chart.
    let series = dom.matches("<polyline").count() + dom.matches("<path").count();
    assert!(series >= 6, "{series} series drawn");
    assert!(dom.contains("east-&gt;north") || dom.contains("east->north"), "no east->north chart");
    assert!(dom.contains("✓"), "no expectation marks");
}

#[test]
fn a_bad_file_exits_2_naming_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, SHORT.replace("ttl = 5", "ttl = 5\nrtae = 9")).unwrap();
    let output = Command::new(lab_bin()).arg(&file).output().expect("run lwc-lab");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}:9: unknown field `rtae`", file.display())), "{stderr}");
    // No ring: exit 2 as well, saying so.
    std::fs::write(&file, SHORT).unwrap();
    let output = Command::new(lab_bin())
        .arg(&file)
        .args(["--nats", "nats://127.0.0.1:1", "--http", "http://127.0.0.1:1", "--ring-env", "/nonexistent"])
        .env_remove("LWC_NATS_TOKEN")
        .output()
        .expect("run lwc-lab");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot reach the ring"), "{stderr}");
}
