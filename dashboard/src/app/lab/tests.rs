use super::*;

#[test]
fn reads_the_documented_report_and_defaults_the_rest() {
    let text = br#"{"experiment":"brownout","file":"scenarios/brownout.toml","phase":"slow-east","elapsed_s":12.0,"duration_s":40,"remaining_s":28.0,"status":"running","expectations":[{"phase":"baseline","metric":"p99_ms","edge":"east->north","series":null,"min":null,"max":5.0,"value":3.2,"ok":true},{"phase":"recovery","metric":"lost_pct","max":1,"value":null,"ok":null}]}"#;
    let s = decode(text).unwrap();
    assert_eq!((s.phase.as_str(), s.remaining_s, s.duration_s), ("slow-east", 28.0, 40.0));
    assert_eq!(s.expectations[0].value, Some(3.2));
    assert_eq!(s.expectations[0].ok, Some(true));
    assert_eq!((s.expectations[1].value, s.expectations[1].ok), (None, None));
    assert_eq!(decode(b"{}").unwrap(), LabStatus::default());
    for bad in [&b"[1]"[..], b"nope", b"{\"elapsed_s\":\"x\"}", b""] {
        assert!(decode(bad).is_none(), "{}", String::from_utf8_lossy(bad));
    }
    assert!(decode(&vec![b' '; MAX_LEN + 1]).is_none());
}

#[test]
fn the_picker_lists_toml_files_and_wraps() {
    let dir = tempfile_dir();
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    for f in ["b.toml", "a.toml", "notes.md"] {
        std::fs::write(dir.join("scenarios").join(f), "").unwrap();
    }
    let mut p = Picker::open(&dir).unwrap();
    assert_eq!(p.files, [PathBuf::from("scenarios/a.toml"), PathBuf::from("scenarios/b.toml")]);
    p.prev();
    assert_eq!(p.chosen(), PathBuf::from("scenarios/b.toml"));
    p.next();
    assert_eq!(p.chosen(), PathBuf::from("scenarios/a.toml"));
    let empty = dir.join("empty");
    std::fs::create_dir_all(empty.join("scenarios")).unwrap();
    assert!(Picker::open(&empty).unwrap_err().contains("no experiment files"));
    assert!(Picker::open(&dir.join("nowhere")).unwrap_err().contains("cannot list"));
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("lwc-dash-lab-{}-{}", std::process::id(), lwc_wire::now_ns()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
