use super::*;

#[test]
fn only_a_forward_leaves_the_fate_to_the_next_holder() {
    assert!(!Fate::Forwarded.ended());
    assert!(!Fate::TrappedAfterForward("x".into()).ended());
    assert!(Fate::Expired.ended());
    assert!(Fate::Lost(LostReason::NoLink, String::new()).ended());
}

#[test]
fn fates_map_onto_the_metric_outcomes() {
    let lost = |r| Fate::Lost(r, String::new()).metric();
    assert_eq!(Fate::Forwarded.metric(), MetricOutcome::Forwarded);
    assert_eq!(Fate::TrappedAfterForward("x".into()).metric(), MetricOutcome::Trap);
    assert_eq!(Fate::Expired.metric(), MetricOutcome::Expired);
    assert_eq!(lost(LostReason::TrapBeforeForward), MetricOutcome::Trap);
    assert_eq!(lost(LostReason::Timeout), MetricOutcome::Timeout);
    assert_eq!(lost(LostReason::Dropped), MetricOutcome::Lost);
    assert_eq!(lost(LostReason::Overloaded), MetricOutcome::Lost);
}

#[test]
fn an_interrupt_is_a_timeout_and_any_other_error_a_trap_with_its_text() {
    assert!(matches!(classify(&wasmtime::Error::from(wasmtime::Trap::Interrupt)), Outcome::Timeout));
    match classify(&wasmtime::Error::from(wasmtime::Trap::UnreachableCodeReached)) {
        Outcome::Trap(msg) => assert!(msg.contains("unreachable"), "{msg}"),
        _ => panic!("unreachable code is a trap"),
    }
    match classify(&wasmtime::Error::msg("host said no")) {
        Outcome::Trap(msg) => assert_eq!(msg, "host said no"),
        _ => panic!("a host error is a trap"),
    }
}
