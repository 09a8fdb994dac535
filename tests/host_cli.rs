//! `lwc-host` refuses bad flags and bad manifests with messages that say
//! what to fix, before it touches the network.

use lwc_tests::host_bin;
use std::process::Command;

fn run_host(args: &[&str]) -> (bool, String) {
    let out = Command::new(host_bin())
        .args(args)
        // Nothing listens here: a host that got past its checks would hang
        // retrying; these must fail first.
        .env("LWC_NATS_URL", "nats://127.0.0.1:1")
        .output()
        .expect("run lwc-host");
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    (out.status.success(), text)
}

#[test]
fn help_lists_the_flags() {
    let (ok, text) = run_host(&["--help"]);
    assert!(ok);
    for flag in ["--manifest", "--host", "--nats", "--reuse", "--max-concurrent", "--deadline-ms"] {
        assert!(text.contains(flag), "--help mentions {flag}: {text}");
    }
}

#[test]
fn bad_flags_are_refused() {
    let (ok, text) = run_host(&["--manifest", "x.toml", "--host", "north", "--reuse", "0"]);
    assert!(!ok);
    assert!(text.contains("--reuse"), "{text}");
    let (ok, text) = run_host(&["--manifest", "x.toml"]);
    assert!(!ok);
    assert!(text.contains("--host"), "{text}");
}

#[test]
fn bad_manifests_name_the_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let cases = [
        ("[hosts.a]\n[components.x]\nhost = \"b\"\nwasm = \"x.wasm\"\n", "line 3", "components.x.host"),
        ("[hosts.a]\nnope = [\n", "line", "bad.toml"),
        ("[hosts.a]\n[components.x]\nhost = \"a\"\nwasm = \"x.wasm\"\n[links.x]\ndefault = \"zz\"\n", "line 6", "links.x.default"),
    ];
    for (text, line, field) in cases {
        std::fs::write(&path, text).unwrap();
        let (ok, out) = run_host(&["--manifest", path.to_str().unwrap(), "--host", "a"]);
        assert!(!ok, "{text}");
        assert!(out.contains(line) && out.contains(field), "for {text:?}: {out}");
    }
    let (ok, out) = run_host(&["--manifest", "/nonexistent/ring.toml", "--host", "a"]);
    assert!(!ok && out.contains("cannot read manifest"), "{out}");

    std::fs::write(&path, "[hosts.a]\n").unwrap();
    let (ok, out) = run_host(&["--manifest", path.to_str().unwrap(), "--host", "b"]);
    assert!(!ok && out.contains("host \"b\" is not in"), "{out}");
}
