//! The manual cannot drift: every `--flag` and `LWC_*` variable that
//! README.md and docs/*.md name exists (a flag given to one of our
//! commands is that command's), docs/reference.md lists every flag and
//! variable there is, every relative link resolves (and its anchor, in a
//! markdown file), and every call in docs/reference.md's table answers a
//! real ring with the status the table gives. Each test lists every
//! failure at once, as `file:line: what`.

use std::collections::{BTreeSet, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use lwc_testkit::host::{wait_ready, HostCmd};
use lwc_tests::docs::{self, Doc};
use lwc_tests::helps::{markdown_names, unquoted, variables_in_code, Helps};
use lwc_tests::{host_bin, release_dir, ring_manifest, wait, Nats, Ring};

/// Programs that are not ours: their flags are theirs (`cargo --release`,
/// `curl -X`), so a command they run is not checked, except what follows
/// a bare `--` of `cargo run`, which goes to our binary.
const OUTSIDE: &[&str] = &[
    "cargo", "curl", "git", "nats-server", "nats", "rustup", "rustc", "pip", "pip3", "apt-get", "apt", "docker",
    "jq", "otelcol", "otelcol-contrib", "kill", "ps", "ss", "lsof", "grep", "sed", "tail", "head", "less",
    "python3", "xargs", "ssh", "bash", "sh", "wasm-tools", "shellcheck",
];

fn root() -> std::path::PathBuf {
    lwc_testkit::project_root()
}

/// The `--flag`s of ours on a line: prose, code spans and code lines,
/// leaving out commands of [`OUTSIDE`] programs. A flag comes with the
/// command it is given to, when that is one of ours (and the flag is not
/// inside a quoted value): it must be that command's.
fn our_flags(line: &docs::Line, helps: &Helps) -> Vec<(String, Option<(String, HashSet<String>)>)> {
    let mut code = Vec::new();
    let mut out = Vec::new();
    if line.fenced {
        code.push(line.text.clone());
    } else {
        let (spans, prose) = docs::code_spans(&line.text);
        code.extend(spans);
        out.extend(docs::flags(&prose).into_iter().map(|f| (f, None)));
    }
    for piece in code {
        for command in docs::commands(&piece) {
            let command = command.trim_start_matches('#').trim().to_string();
            let program = docs::program(&command).map(|p| p.rsplit('/').next().unwrap_or(p));
            if program.is_some_and(|p| OUTSIDE.contains(&p)) {
                // `cargo run -p lwc-host -- --flag`: after `--`, ours.
                if let Some((_, ours)) = command.split_once(" -- ") {
                    out.extend(docs::flags(ours).into_iter().map(|f| (f, None)));
                }
                continue;
            }
            match helps.scope(&command) {
                Some(scope) => {
                    let bare: HashSet<String> = docs::flags(&unquoted(&command)).into_iter().collect();
                    for flag in docs::flags(&command) {
                        let scoped = bare.contains(&flag).then(|| scope.clone());
                        out.push((flag, scoped));
                    }
                }
                None => out.extend(docs::flags(&command).into_iter().map(|f| (f, None))),
            }
        }
    }
    out
}

fn fail_with(what: &str, failures: &[String]) {
    assert!(failures.is_empty(), "{} {what}:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_flag_and_variable_the_manual_names_exists() {
    let helps = Helps::read(&release_dir(), &root());
    let known_text = format!("{}\n{}", helps.binaries(), helps.scripts());
    let known_flags = helps.all_flags();
    let mut known_vars: HashSet<String> = docs::lwc_vars(&known_text).into_iter().collect();
    known_vars.extend(variables_in_code(&root()));
    let mut failures = Vec::new();
    for doc in docs::manual(&root()) {
        for line in docs::lines(&doc.text) {
            let mut seen = BTreeSet::new();
            for (flag, scope) in our_flags(&line, &helps) {
                let failure = match scope {
                    Some((name, flags)) if !flags.contains(&flag) => format!("{flag} is not a flag of {name} (see its --help)"),
                    None if !known_flags.contains(&flag) => format!("{flag} is in no binary's --help and no scripts/*.sh"),
                    _ => continue,
                };
                if seen.insert(flag.clone()) {
                    failures.push(format!("{}:{}: {failure}", doc.name, line.no));
                }
            }
            for var in docs::lwc_vars(&line.text) {
                let exists = match var.strip_suffix('_') {
                    Some(family) => known_vars.iter().any(|k| k.starts_with(&format!("{family}_"))),
                    None => known_vars.contains(&var),
                };
                if !exists && seen.insert(var.clone()) {
                    failures.push(format!("{}:{}: {var} is read by nothing (no --help, script or code names it)", doc.name, line.no));
                }
            }
        }
    }
    fail_with("flags or variables the manual names do not exist", &failures);
}

/// The reference is complete: every flag of every binary's `--help`, and
/// every `LWC_*` variable a `--help` or a script's comments name, is in it.
#[test]
fn the_reference_lists_every_flag_and_variable() {
    let reference = std::fs::read_to_string(root().join("docs/reference.md")).expect("docs/reference.md");
    let listed_flags: HashSet<String> = docs::flags(&reference).into_iter().collect();
    let listed_vars: HashSet<String> = docs::lwc_vars(&reference).into_iter().collect();
    let helps = Helps::read(&release_dir(), &root());
    let comments: String = helps.scripts().lines().filter(|l| l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n");
    let mut failures = BTreeSet::new();
    for flag in helps.binary_flags().into_iter().filter(|f| !listed_flags.contains(f)) {
        failures.insert(format!("docs/reference.md: {flag} (in a --help) is not listed"));
    }
    for var in docs::lwc_vars(&format!("{}\n{comments}", helps.binaries())).into_iter().filter(|v| !v.ends_with('_') && !listed_vars.contains(v)) {
        failures.insert(format!("docs/reference.md: {var} (in a --help or a script's comments) is not listed"));
    }
    fail_with("flags or variables are missing from the reference", &failures.into_iter().collect::<Vec<_>>());
}

fn check_link(doc: &Doc, no: usize, target: &str, root: &Path, failures: &mut Vec<String>) {
    if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
        return;
    }
    let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
    let dir = doc.path.parent().expect("a doc lives in a directory");
    let file = if path.is_empty() { doc.path.clone() } else { dir.join(path) };
    let Ok(file) = file.canonicalize() else {
        failures.push(format!("{}:{no}: link {target}: no such file", doc.name));
        return;
    };
    if !file.starts_with(root) {
        failures.push(format!("{}:{no}: link {target} points outside the repository", doc.name));
        return;
    }
    if anchor.is_empty() || file.extension().is_none_or(|x| x != "md") {
        return;
    }
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    if !docs::anchors(&text).contains(&anchor.to_lowercase()) {
        failures.push(format!("{}:{no}: link {target}: no heading or anchor #{anchor} in {}", doc.name, file.display()));
    }
}

/// A `something.md` the text names, as a link or not, is in the
/// repository: a reader can open it (the manual once cited a DESIGN.md
/// that is not).
fn check_named_files(doc: &Doc, line: &docs::Line, root: &Path, names: &HashSet<String>, failures: &mut Vec<String>) {
    let dir = doc.path.parent().expect("a doc lives in a directory");
    let words = line.text.split(|c: char| c.is_whitespace() || "()[]<>,;:\"'`|".contains(c));
    for word in words.map(|w| w.trim_end_matches(['.', '!', '?'])).filter(|w| w.ends_with(".md")) {
        let word = word.split('#').next().unwrap_or(word);
        if word.contains('*') || word.contains("://") || word.len() <= 3 {
            continue;
        }
        let base = word.rsplit('/').next().unwrap_or(word);
        let found = dir.join(word).exists() || root.join(word).exists() || (!word.contains('/') && names.contains(base));
        if !found {
            failures.push(format!("{}:{}: names {word}, which is not in the repository", doc.name, line.no));
        }
    }
}

#[test]
fn every_relative_link_resolves() {
    let root = root().canonicalize().expect("the project root");
    let names = markdown_names(&root);
    let mut failures = Vec::new();
    for doc in docs::manual(&root) {
        for line in docs::lines(&doc.text).iter().filter(|l| !l.fenced) {
            for target in docs::links(&line.text) {
                check_link(&doc, line.no, &target, &root, &mut failures);
            }
            check_named_files(&doc, line, &root, &names, &mut failures);
        }
    }
    fail_with("relative links or named files do not resolve", &failures);
}

/// One row of the reference's table of calls.
struct Call {
    line: usize,
    method: String,
    /// With its query, as sent.
    path: String,
    body: Vec<u8>,
    shown_body: String,
    status: u16,
}

impl Call {
    fn endpoint(&self) -> (&str, &str) {
        (&self.method, self.path.split('?').next().unwrap_or(""))
    }
}

fn status_in(cell: &str) -> Option<u16> {
    cell.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 3).and_then(|w| w.parse().ok())
}

fn calls(reference: &str) -> Vec<Call> {
    let rows = docs::table(reference, &["Method", "Path", "Body", "Status"])
        .expect("docs/reference.md has a table of calls: | Method | Path | Body | Status | …");
    rows.into_iter()
        .map(|(line, cells)| {
            let cell = |i: usize| cells.get(i).map(String::as_str).unwrap_or("");
            let shown_body = cell(2).to_string();
            let body = if shown_body.contains("KiB") {
                // "over 64 KiB": a JSON object padded to 70 KiB.
                format!(r#"{{"route":"default","pad":"{}"}}"#, "x".repeat(70 * 1024)).into_bytes()
            } else if shown_body.starts_with('`') {
                docs::unquote(&shown_body).as_bytes().to_vec()
            } else {
                Vec::new()
            };
            let status = status_in(cell(3)).unwrap_or_else(|| panic!("docs/reference.md:{line}: no status in {:?}", cell(3)));
            Call { line, method: docs::unquote(cell(0)).to_string(), path: docs::unquote(cell(1)).to_string(), body, shown_body, status }
        })
        .collect()
}

/// Status, `allow` header and body of one request.
fn send(base: &str, method: &str, path: &str, body: &[u8]) -> (u16, String, String) {
    let resp = match ureq::request(method, &format!("{base}{path}")).send_bytes(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return (0, String::new(), format!("no answer: {e}")),
    };
    let status = resp.status();
    let allow = resp.header("allow").unwrap_or("").to_string();
    (status, allow, resp.into_string().unwrap_or_default())
}

/// A control host alone on its own NATS, listening beyond loopback with a
/// token: the `401` calls go there, without one.
struct Guarded {
    _dir: tempfile::TempDir,
    _nats: Nats,
    _host: lwc_tests::Proc,
    url: String,
}

fn guarded() -> Guarded {
    let dir = tempfile::tempdir().expect("a temp dir");
    let nats = Nats::start(dir.path()).expect("nats-server starts");
    let manifest = dir.path().join("ring.toml");
    std::fs::write(&manifest, ring_manifest(30000, "default")).expect("manifest written");
    let ready_file = dir.path().join("control.ready");
    let mut host = HostCmd::new(&host_bin(), &manifest, &nats.url, &nats.token)
        .host("control")
        .args(["--http", "0.0.0.0:0"])
        .envs([("LWC_API_TOKEN", "docs-test-token")])
        .spawn("control", &ready_file, &dir.path().join("control.log"))
        .expect("the guarded control host starts");
    let ready = wait_ready(&mut host, &ready_file, Duration::from_secs(60), true).expect("the guarded host is ready");
    let bound = ready.http.expect("an http= line");
    let port = bound.rsplit(':').next().expect("a port").to_string();
    Guarded { _dir: dir, _nats: nats, _host: host, url: format!("http://127.0.0.1:{port}") }
}

/// 64 requests in flight on the control host (the most it serves at
/// once): each sends its headers and holds back the body it announced.
fn hold_every_slot(base: &str) -> Vec<TcpStream> {
    let addr = base.trim_start_matches("http://");
    (0..64)
        .map(|_| {
            let mut s = TcpStream::connect(addr).expect("connect to the control API");
            let head = format!("POST /packets HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n{{");
            s.write_all(head.as_bytes()).expect("send the headers");
            s
        })
        .collect()
}

/// What the host answered a held request, if it did (it should not).
fn early_answer(stream: &mut TcpStream) -> String {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 300];
    match stream.read(&mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(_) => "nothing".to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_in_the_reference_answers_as_documented() {
    let reference = std::fs::read_to_string(root().join("docs/reference.md")).expect("docs/reference.md");
    let calls = calls(&reference);
    assert!(!calls.is_empty(), "docs/reference.md: the table of calls is empty");
    let ring = Ring::start().await.expect("the ring starts");
    let guarded = calls.iter().any(|c| c.status == 401).then(guarded);
    let mut failures = Vec::new();
    for call in &calls {
        let (status, _, body) = match call.status {
            401 => send(&guarded.as_ref().expect("started for 401 calls").url, &call.method, &call.path, &call.body),
            503 => {
                let mut held = hold_every_slot(&ring.http);
                let answer = wait::until_async(Duration::from_secs(10), "a 503 with every slot held", || {
                    let answer = send(&ring.http, &call.method, &call.path, &call.body);
                    Ok((answer.0 == 503).then_some(answer))
                })
                .await;
                answer.unwrap_or_else(|_| {
                    let (status, allow, body) = send(&ring.http, &call.method, &call.path, &call.body);
                    (status, allow, format!("{body} (a held request got: {})", early_answer(&mut held[0])))
                })
            }
            _ => send(&ring.http, &call.method, &call.path, &call.body),
        };
        if status != call.status {
            let sent = if call.body.len() > 200 { "(70 KiB)".to_string() } else { call.shown_body.clone() };
            failures.push(format!(
                "docs/reference.md:{}: {} {} {sent} answered {status}, the reference says {}: {}",
                call.line, call.method, call.path, call.status, body.chars().take(300).collect::<String>()
            ));
        }
    }

    // Every method the API serves on a path of the table shows up as a call
    // that succeeds: the `allow` header of a 405 lists them.
    let succeeds = |m: &str, p: &str| calls.iter().any(|c| c.endpoint() == (m, p) && (200..300).contains(&c.status));
    let paths: BTreeSet<&str> = calls.iter().filter(|c| c.status != 404).map(|c| c.endpoint().1).collect();
    for path in paths {
        let (status, allow, _) = send(&ring.http, "OPTIONS", path, b"");
        if status != 405 {
            continue;
        }
        for method in allow.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            if !succeeds(method, path) {
                failures.push(format!("docs/reference.md: {method} {path} is served (allow: {allow}) but no call in the table succeeds with it"));
            }
        }
    }

    // The summary table's endpoints, with their success status, are calls too.
    let summary = docs::table(&reference, &["Endpoint", "Body", "Success"]).unwrap_or_default();
    for (line, cells) in summary {
        let endpoint = docs::unquote(cells.first().map(String::as_str).unwrap_or(""));
        let (method, path) = endpoint.split_once(' ').unwrap_or((endpoint, ""));
        let path = path.split('?').next().unwrap_or("");
        let Some(status) = cells.get(2).and_then(|c| status_in(c)) else {
            failures.push(format!("docs/reference.md:{line}: {endpoint}: no success status"));
            continue;
        };
        if !calls.iter().any(|c| c.endpoint() == (method, path) && c.status == status) {
            failures.push(format!("docs/reference.md:{line}: {endpoint} ({status}) has no call with that status in the table of calls"));
        }
    }
    fail_with("calls of the reference answer otherwise", &failures);
}
