//! The control API beyond loopback (DESIGN, Control plane HTTP API): the
//! host refuses to start without `LWC_API_TOKEN`, and then every request
//! needs `Authorization: Bearer <token>`. On loopback none is needed.

use lwc_tests::{host_bin, ring_manifest, Nats};
use lwc_testkit::host::{wait_ready, HostCmd};
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "test-token-5f2c9a";

fn manifest(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("ring.toml");
    std::fs::write(&path, ring_manifest(30000, "default")).unwrap();
    path
}

#[test]
fn without_a_token_the_host_refuses_to_listen_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest(dir.path());
    for token in [None, Some(""), Some("   ")] {
        let mut cmd = Command::new(host_bin());
        cmd.args(["--manifest", manifest.to_str().unwrap(), "--host", "control", "--http", "0.0.0.0:0"])
            // Refused before NATS: nothing listens here.
            .env("LWC_NATS_URL", "nats://127.0.0.1:1")
            .env_remove("LWC_API_TOKEN");
        if let Some(t) = token {
            cmd.env("LWC_API_TOKEN", t);
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{token:?}: {err}");
        assert!(err.contains("LWC_API_TOKEN") && err.contains("0.0.0.0:0"), "{token:?}: {err}");
    }
}

fn get(url: &str, auth: Option<&str>) -> (u16, serde_json::Value) {
    let mut req = ureq::get(url);
    if let Some(a) = auth {
        req = req.set("Authorization", a);
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

#[test]
fn beyond_loopback_only_the_right_bearer_token_gets_in() {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path()).unwrap();
    let manifest = manifest(dir.path());
    let ready_file = dir.path().join("control.ready");
    let mut p = HostCmd::new(&host_bin(), &manifest, &nats.url, &nats.token)
        .host("control")
        .args(["--http", "0.0.0.0:0"])
        .envs([("LWC_API_TOKEN", TOKEN)])
        .spawn("control", &ready_file, &dir.path().join("control.log"))
        .unwrap();
    let ready = wait_ready(&mut p, &ready_file, Duration::from_secs(60), true).unwrap();
    let bound = ready.http.expect("an http= line");
    let port = bound.strip_prefix("0.0.0.0:").unwrap_or_else(|| panic!("bound {bound}"));
    let url = format!("http://127.0.0.1:{port}/status");

    for auth in [None, Some("Bearer wrong"), Some(&format!("Bearer {TOKEN}x")[..]), Some(TOKEN)] {
        let (status, body) = get(&url, auth);
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| e.contains("token")), "{auth:?}: {body}");
    }
    let (status, body) = get(&url, Some(&format!("Bearer {TOKEN}")));
    assert_eq!(status, 200, "{body}");
    assert!(body["hosts"].is_object() || body["hosts"].is_array(), "{body}");
}

#[test]
fn on_loopback_no_token_is_needed_even_if_one_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path()).unwrap();
    let manifest = manifest(dir.path());
    let ready_file = dir.path().join("control.ready");
    let mut p = HostCmd::new(&host_bin(), &manifest, &nats.url, &nats.token)
        .host("control")
        .args(["--http", "127.0.0.1:0"])
        .envs([("LWC_API_TOKEN", TOKEN)])
        .spawn("control", &ready_file, &dir.path().join("control.log"))
        .unwrap();
    let ready = wait_ready(&mut p, &ready_file, Duration::from_secs(60), true).unwrap();
    let (status, body) = get(&format!("http://{}/status", ready.http.unwrap()), None);
    assert_eq!(status, 200, "{body}");
}
