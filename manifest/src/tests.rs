use super::*;

const RING: &str = include_str!("../../scripts/ring.toml");

#[test]
fn the_ring_manifest_parses() {
    let m = Manifest::parse(RING, Path::new("scripts")).unwrap();
    assert_eq!(m.lattice, "default");
    assert_eq!(m.hosts.len(), 5);
    assert_eq!(m.links[&("north".into(), "special".into())], "south");
    assert_eq!(m.links[&("control".into(), "default".into())], "east");
    assert!(m.components["control"].http.is_some());
    assert_eq!(m.components_on("east").count(), 1);
    assert_eq!(m.http_component().map(|c| c.host.as_str()), Some("control"));
    assert_eq!(m.http_url().as_deref(), Some("http://127.0.0.1:30000"));
    assert_eq!(m.components["north"].wasm, Path::new("scripts/../target/wasm32-wasip2/release/lwc_probe.wasm"));
}

fn err(text: &str) -> String {
    Manifest::parse(text, Path::new(".")).unwrap_err().to_string()
}

const X: &str = "[hosts.a]\n[hosts.b]\n[components.x]\n";

#[test]
fn errors_name_the_field_line_and_column() {
    let e = err("[hosts.a]\n[components.x]\nhost = \"b\"\nwasm = \"x.wasm\"\n");
    assert!(e.starts_with("line 3, column 8: components.x.host"), "{e}");
    assert!(e.contains("(a)"), "lists the hosts: {e}");

    let e = err("[hosts.a]\n[components.x]\nhost = \"a\"\nwasm = \"x.wasm\"\n[links.x]\ndefault = \"y\"\n");
    assert!(e.starts_with("line 6, column 11: links.x.default"), "{e}");

    let e = err("[hosts.a]\n[components.x]\nhost = \"a\"\nwasm = \"x.wasm\"\nhttp = \"nope\"\n");
    assert!(e.starts_with("line 5, column 8: components.x.http"), "{e}");

    let e = err("[hosts.a]\ncolour = 1\n");
    assert!(e.starts_with("line 2, column 1: ") && e.contains("colour"), "{e}");

    let e = err("[hosts.a]\nnope = [\n");
    assert!(e.starts_with("line 2"), "syntax errors have a place too: {e}");

    let e = err("[hosts.A]\n");
    assert!(e.starts_with("line 1, column 8: [hosts.A]"), "{e}");

    let e = err("[lattice]\nname = \"Big\"\n[hosts.a]\n");
    assert!(e.starts_with("line 2, column 8: lattice.name"), "{e}");

    let e = err("[hosts.a]\nmax_concurrent = 0\n");
    assert!(e.contains("max_concurrent must be at least 1"), "{e}");

    assert!(err("").contains("no [hosts"));
}

#[test]
fn replicas_are_a_list_of_hosts() {
    let text = format!("{X}hosts = [\"a\", \"b\"]\nwasm = \"x.wasm\"\n");
    let m = Manifest::parse(&text, Path::new(".")).unwrap();
    let x = &m.components["x"];
    assert_eq!(x.hosts, ["a", "b"]);
    assert_eq!(x.host, "a");
    assert_eq!(m.components_on("a").count(), 1);
    assert_eq!(m.components_on("b").count(), 1, "a replica is on its host too");
}

#[test]
fn replica_lists_are_checked() {
    let e = err(&format!("{X}hosts = [\"a\", \"c\"]\nwasm = \"x.wasm\"\n"));
    assert!(e.starts_with("line 4, column 15: components.x.hosts: \"c\" is not one of the hosts (a, b)"), "{e}");
    let e = err(&format!("{X}hosts = [\"a\", \"a\"]\nwasm = \"x.wasm\"\n"));
    assert!(e.contains("names \"a\" twice"), "{e}");
    let e = err(&format!("{X}hosts = []\nwasm = \"x.wasm\"\n"));
    assert!(e.contains("components.x.hosts is empty"), "{e}");
    let e = err(&format!("{X}host = \"a\"\nhosts = [\"b\"]\nwasm = \"x.wasm\"\n"));
    assert!(e.contains("not both"), "{e}");
    let e = err(&format!("{X}wasm = \"x.wasm\"\n"));
    assert!(e.contains("missing `host"), "{e}");
}

#[test]
fn load_names_the_file() {
    let dir = std::env::temp_dir().join(format!("lwc-manifest-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[hosts.a]\n[components.x]\nhost = \"b\"\nwasm = \"x.wasm\"\n").unwrap();
    let e = Manifest::load(&path).unwrap_err();
    assert_eq!(e.position(), Some(Position { line: 3, column: 8 }));
    assert!(e.to_string().starts_with(&format!("bad manifest {}: line 3", path.display())), "{e}");
    let e = Manifest::load(&dir.join("missing.toml")).unwrap_err();
    assert!(e.to_string().starts_with("cannot read manifest"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
