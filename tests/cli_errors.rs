//! What `lwc` says to bad input (and that it then starts nothing), the
//! hand-overs to `lwc-dash` and `lwc-lab`, and `scripts/ring.sh`'s flags.

use super::cli_lwc::{processes_mentioning, text, Lwc};
use lwc_tests::release_dir;
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn bad_input_gets_clear_errors_and_starts_nothing() {
    let lwc = Lwc::new();
    for args in [&["--help"][..], &["up", "--help"], &["down", "--help"], &["kill", "--help"], &["start", "--help"],
                 &["restart-nats", "--help"], &["status", "--help"], &["inject", "--help"], &["dash", "--help"],
                 &["experiment", "--help"]] {
        let out = lwc.run(args);
        assert!(out.status.success() && text(&out).contains("Usage: lwc"), "{args:?}: {}", text(&out));
    }
    let out = lwc.run(&["inject", "--chaos", "101"]);
    assert!(!out.status.success() && text(&out).contains("--chaos"), "{}", text(&out));
    let out = lwc.run(&["up", "--http-port", "0"]);
    assert!(!out.status.success() && text(&out).contains("--http-port"), "{}", text(&out));
    for (args, says) in [(&["up", "--size", "1"][..], "1 is not in 2..=1000"), (&["up", "--size", "1001"], "--size"),
                         (&["up", "--cluster", "6"], "6 is not in 1..=5"), (&["restart-nats", "--server", "0"], "--server")] {
        let out = lwc.run(args);
        assert!(!out.status.success() && text(&out).contains(says), "{args:?}: {}", text(&out));
    }
    let out = lwc.run(&["launch"]);
    assert!(!out.status.success() && text(&out).contains("unrecognized subcommand"), "{}", text(&out));

    let out = lwc.run(&["kill", "zz"]);
    assert!(text(&out).contains("unknown host \"zz\"") && text(&out).contains("a, control"), "{}", text(&out));
    let out = lwc.run(&["status"]);
    assert!(!out.status.success() && text(&out).contains("no ring is up"), "{}", text(&out));

    // A busy HTTP port names the process holding it: this test.
    let holder = std::net::TcpListener::bind(("127.0.0.1", lwc.http_port)).unwrap();
    let out = lwc.run(&lwc.up_args().iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success() && text(&out).contains(&format!("pid {}", std::process::id())), "{}", text(&out));
    drop(holder);

    let mut up = lwc.up_args();
    up.push("--detach".into());
    let up: Vec<&str> = up.iter().map(String::as_str).collect();
    let out = lwc.cmd(&up).env("LWC_NATS_SERVER", "/nonexistent/nats-server").output().unwrap();
    assert!(!out.status.success() && text(&out).contains("scripts/setup.sh"), "{}", text(&out));

    let bad = lwc.dir.path().join("bad.toml");
    std::fs::write(&bad, "[hosts.a]\n[components.x]\nhost = \"b\"\nwasm = \"x.wasm\"\n").unwrap();
    let out = lwc.cmd(&up).arg("--manifest").arg(&bad).output().unwrap();
    let msg = text(&out);
    assert!(!out.status.success() && msg.contains("bad.toml: line 3, column 8: components.x.host"), "{msg}");
    assert!(!lwc.state().join("nats.pid").exists(), "nothing started");
    assert!(processes_mentioning(&lwc.root()).is_empty());
}

#[test]
fn dash_and_experiment_hand_over_to_their_binaries() {
    let lwc = Lwc::new();
    // Flags after `--` go to lwc-dash itself.
    let out = lwc.run(&["dash", "--", "--help"]);
    assert!(out.status.success() && text(&out).contains("lwc-dash"), "{}", text(&out));
    // lwc-lab (lab/) may or may not be built: either it refuses the missing
    // file, or lwc says it is missing and how to build it.
    let out = lwc.run(&["experiment", "/nonexistent/x.toml"]);
    let msg = text(&out);
    assert!(!out.status.success(), "{msg}");
    if release_dir().join("lwc-lab").exists() {
        assert!(msg.contains("x.toml"), "lwc-lab names the file: {msg}");
    } else {
        assert!(msg.contains("lwc-lab not found") && msg.contains("cargo build --release -p lwc-lab"), "{msg}");
    }
}

#[test]
fn ring_sh_keeps_its_flags() {
    let ring_sh = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ring.sh");
    let run = |args: &[&str]| Command::new(&ring_sh).args(args).env("LWC_NO_BUILD", "1").stdin(Stdio::null()).output().unwrap();
    let help = text(&run(&["--help"]));
    for flag in ["--detach", "--stop", "--start HOST", "--kill HOST", "--restart-nats", "--size N", "--cluster K", "--server I", "LWC_DIR", "LWC_MANIFEST", "LWC_DASH",
                 "LWC_NO_BUILD", "LWC_READY_TIMEOUT", "LWC_NATS_SERVER", "LWC_HOST_BIN", "LWC_HOST_ARGS"] {
        assert!(help.contains(flag), "--help mentions {flag}: {help}");
    }
    let out = run(&["--bogus"]);
    assert!(!out.status.success() && text(&out).contains("unknown argument '--bogus'"), "{}", text(&out));
    // Checked before anything touches the repo's .lwc/: the hosts are listed.
    let out = run(&["--kill"]);
    assert!(!out.status.success() && text(&out).contains("missing HOST") && text(&out).contains("north"), "{}", text(&out));
}
