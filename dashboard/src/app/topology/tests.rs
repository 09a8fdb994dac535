use super::*;
use crate::testing::{classic_links, heartbeat_of, link, placement};
use crate::app::App;
use lwc_wire::status::Counters;

fn hosts_running(list: &[(&str, &[&str])]) -> BTreeMap<String, HostView> {
    let mut app = App::new(&crate::testing::config(), 1);
    for (host, components) in list {
        app.apply(heartbeat_of(host, components, 1, Counters::default()));
    }
    app.hosts
}

fn names(t: &Topology) -> Vec<&str> {
    t.places.iter().map(|p| p.name.as_str()).collect()
}

#[test]
fn the_classic_ring_is_ordered_along_its_default_route_with_control_first() {
    let hosts = hosts_running(&[("north", &["north"]), ("east", &["east"]), ("south", &["south"]), ("west", &["west"]), ("control", &["control"])]);
    let t = Topology::build(&hosts, &Placement::new(), &classic_links(), std::iter::empty());
    assert_eq!(names(&t), ["control", "east", "north", "west", "south"]);
    assert_eq!(t.hosts, ["control", "east", "north", "west", "south"]);
    assert!(t.places[0].entry && t.places[1..].iter().all(|p| !p.entry));
    // Table order: default links place by place, then the special ones.
    let mut keys = [
        SeriesKey::Lifetime,
        SeriesKey::edge("north", "south"),
        SeriesKey::edge("east", "north"),
        SeriesKey::edge("control", "east"),
        SeriesKey::edge("zeta", "alpha"),
        SeriesKey::Invoke("north".into()),
        SeriesKey::Invoke("east".into()),
        SeriesKey::AllEdges,
    ];
    keys.sort_by_key(|k| t.route_rank(k));
    let labels: Vec<String> = keys.iter().map(SeriesKey::label).collect();
    assert_eq!(
        labels,
        ["all edges", "control→east", "east→north", "north→south", "zeta→alpha", "invoke east", "invoke north", "lifetime"]
    );
}

#[test]
fn replicas_are_grouped_under_their_component() {
    let hosts = hosts_running(&[
        ("north-2", &["north"]),
        ("north-10", &["north"]),
        ("north-1", &["north"]),
        ("edge", &["control"]),
        ("idle", &[]),
    ]);
    let links = [link("control", "default", "north"), link("north", "default", "south")];
    let t = Topology::build(&hosts, &Placement::new(), &links, std::iter::empty());
    // south: a link leads there but no host runs it.
    assert_eq!(names(&t), ["control", "north", "south", "idle"]);
    assert_eq!(t.places[1].hosts, ["north-1", "north-2", "north-10"]);
    assert_eq!(t.places[0].hosts, ["edge"]);
    assert!(t.places[2].hosts.is_empty());
    assert_eq!(t.hosts, ["edge", "north-1", "north-2", "north-10", "idle"]);
}

#[test]
fn a_host_running_two_components_is_listed_once() {
    let hosts = hosts_running(&[("both", &["a", "b"]), ("c", &["c"])]);
    let links = [link("a", "default", "b"), link("b", "default", "c"), link("c", "default", "a")];
    let t = Topology::build(&hosts, &Placement::new(), &links, std::iter::empty());
    assert_eq!(names(&t), ["a", "b", "c"], "a pure cycle starts at the first name");
    assert!(t.places.iter().all(|p| !p.entry));
    assert_eq!(t.hosts, ["both", "c"]);
}

#[test]
fn without_a_link_table_the_edges_seen_make_the_places() {
    let hosts = hosts_running(&[("x", &["x"])]);
    let t = Topology::build(&hosts, &Placement::new(), &[], [("x", "y")].into_iter());
    assert_eq!(names(&t), ["x", "y"]);
    assert_eq!(t.hosts, ["x"]);
    let t = Topology::build(&BTreeMap::new(), &Placement::new(), &[], std::iter::empty());
    assert!(t.places.is_empty() && t.hosts.is_empty());
}

#[test]
fn natural_order_reads_numbers_as_numbers() {
    let mut v = vec!["p10", "p2", "p1", "a", "p02", "b-3", "b-20", "", "é"];
    v.sort_by(|a, b| natural(a, b));
    assert_eq!(v, ["", "a", "b-3", "b-20", "p1", "p2", "p02", "p10", "é"]);
}

#[test]
fn the_placement_adds_replicas_that_never_reported() {
    // north-3 never reported; `quiet` reported but names no component yet.
    let hosts = hosts_running(&[("north-2", &["north"]), ("north-1", &["north"]), ("control", &["control"]), ("quiet", &[])]);
    let placed = placement(&[
        ("north", &["north-1", "north-2", "north-3"]),
        ("control", &["control"]),
        ("west", &["quiet"]),
        ("spare", &[]),
    ]);
    let links = [link("control", "default", "north"), link("north", "default", "west")];
    let t = Topology::build(&hosts, &placed, &links, std::iter::empty());
    assert_eq!(names(&t), ["control", "north", "west", "spare"]);
    assert_eq!(t.places[1].hosts, ["north-1", "north-2", "north-3"]);
    assert_eq!(t.places[2].hosts, ["quiet"], "placed, so not a place of its own");
    assert!(t.places[3].hosts.is_empty(), "placed on no host");
    assert_eq!(t.hosts, ["control", "north-1", "north-2", "north-3", "quiet"]);

    // Without it: only what reported.
    let t = Topology::build(&hosts, &Placement::new(), &links, std::iter::empty());
    assert_eq!(names(&t), ["control", "north", "west", "quiet"]);
    assert_eq!(t.places[1].hosts, ["north-1", "north-2"]);

    // A heartbeat and the placement both count: the union, each host once.
    let hosts = hosts_running(&[("north-1", &["north", "spare"])]);
    let t = Topology::build(&hosts, &placement(&[("north", &["north-1", "north-3"])]), &[], std::iter::empty());
    assert_eq!(names(&t), ["north", "spare"]);
    assert_eq!(t.places[0].hosts, ["north-1", "north-3"]);
    assert_eq!(t.places[1].hosts, ["north-1"]);
    assert_eq!(t.hosts, ["north-1", "north-3"]);
}
