use super::*;
use serde_json::json;

#[test]
fn reads_the_documented_shapes() {
    let v = json!({"chaos":[
        {"host":"north","trap":20,"delay_ms":5,"jitter_ms":2,"drop":1,"down_s":0},
        {"host":"east","trap":0,"delay_ms":0,"jitter_ms":0,"drop":0,"down_s":7}]});
    let c = parse_chaos(&v).unwrap();
    assert_eq!(c["north"].trap, 20);
    assert_eq!(c["north"].jitter_ms, 2);
    assert_eq!(c["east"].down_s, 7);
    let m = parse_chaos(&json!({"south":{"drop":3}})).unwrap();
    assert_eq!(m["south"].drop, 3);
    assert!(parse_chaos(&json!({"chaos":[{"trap":1}]})).is_err());
    assert!(parse_chaos(&json!(7)).is_err());

    let l = parse_links(&json!({"links":[{"source":"east","name":"default","target":"north"}]})).unwrap();
    assert_eq!(l[0].target, "north");
    assert!(parse_links(&json!({"links":3})).is_err());
}

#[test]
fn an_absent_api_is_unreachable_not_a_crash() {
    // Port 9 on loopback: nothing listens there.
    let api = Api::new("http://127.0.0.1:9".into());
    assert!(matches!(api.get_chaos(), Err(HttpError::Unreachable(_))));
    assert!(matches!(api.get_placement(), Err(HttpError::Unreachable(_))));
}

#[test]
fn the_placement_is_read_from_status_components() {
    let text = r#"{"lattice":"default","hosts":[{"host":"north-3","up":false}],"ledger":{},
        "components":[{"name":"north","host":"north-1","hosts":["north-1","north-2","north-3"]},
                      {"name":"east","host":"east"},
                      {"name":"idle","host":null,"hosts":[]},
                      {"name":"east","hosts":["east","east-2"]}]}"#;
    let p = parse_placement(text).unwrap();
    assert_eq!(p["north"], ["north-1", "north-2", "north-3"]);
    assert_eq!(p["east"], ["east", "east-2"], "only `host`: one replica; a name twice: merged");
    assert!(p["idle"].is_empty());
    assert_eq!(p.len(), 3);
}

#[test]
fn a_status_answer_of_another_shape_is_an_error_not_a_panic() {
    for bad in [
        "",
        "not json",
        "[]",
        "7",
        "{}",
        r#"{"components":null}"#,
        r#"{"components":3}"#,
        r#"{"components":{"north":["north-1"]}}"#,
        r#"{"components":[7]}"#,
        r#"{"components":[{"hosts":["north-1"]}]}"#,
        r#"{"components":[{"name":3,"hosts":["north-1"]}]}"#,
        r#"{"components":[{"name":"north","hosts":"north-1"}]}"#,
        r#"{"components":[{"name":"north","hosts":[1,2]}]}"#,
        r#"{"components":[{"name":"north","host":5}]}"#,
        r#"{"components":[{"name":"north","hosts":["north-1"]}"#,
    ] {
        let r = parse_placement(bad);
        assert!(matches!(r, Err(HttpError::BadAnswer(_))), "{bad:?} gave {r:?}");
    }
}

/// A control API on loopback that answers every request with `answer(path)`.
fn fake_api(answer: fn(&str) -> String) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let Ok(read) = stream.try_clone() else { return };
            let mut reader = BufReader::new(read);
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            let body = answer(&path);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

#[test]
fn the_worker_reads_the_placement_at_start() {
    let base = fake_api(|path| match path {
        "/status" => r#"{"components":[{"name":"north","host":"north-1","hosts":["north-1","north-3"]}]}"#.into(),
        "/chaos" => r#"{"chaos":[]}"#.into(),
        _ => r#"{"links":[]}"#.into(),
    });
    let (tx, rx) = std::sync::mpsc::sync_channel(64);
    let _worker = Worker::spawn(base, tx).unwrap();
    // The deadline only bounds a failure: the first answers come at once.
    let deadline = Instant::now() + Duration::from_secs(20);
    let placement = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Update::Http(HttpUpdate::Placement(p))) => break p,
            Ok(_) => continue,
            Err(e) => panic!("no placement from the worker: {e}"),
        }
    };
    assert_eq!(placement.unwrap()["north"], ["north-1", "north-3"]);
}
