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
}
