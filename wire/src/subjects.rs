//! NATS subjects. Every subject of a lattice starts with `lwc.<lattice>.`.

/// The interface every probe exports and imports.
pub const PACKET_LOOPER: &str = "packet-looper";

/// `lwc.<l>.rpc.<component>.packet-looper.process`: one hop into `component`.
pub fn rpc(lattice: &str, component: &str) -> String {
    format!("lwc.{lattice}.rpc.{component}.{PACKET_LOOPER}.process")
}

/// `lwc.<l>.events.packet`: packet lifecycle events, one JSON object each.
pub fn packet_events(lattice: &str) -> String {
    format!("lwc.{lattice}.events.packet")
}

/// `lwc.<l>.hosts.<host>.heartbeat`: host status, every second.
pub fn heartbeat(lattice: &str, host: &str) -> String {
    format!("lwc.{lattice}.hosts.{host}.heartbeat")
}

/// `lwc.<l>.hosts.<host>.health`: request/reply health check.
pub fn health(lattice: &str, host: &str) -> String {
    format!("lwc.{lattice}.hosts.{host}.health")
}

/// `lwc.<l>.hosts.<host>.drop`: `lwc kill` asks one host of a process of
/// several to drop out (the request carries the process's pid).
pub fn host_drop(lattice: &str, host: &str) -> String {
    format!("lwc.{lattice}.hosts.{host}.drop")
}

/// `lwc.<l>.hosts.<host>.acks`: where receivers send batched hop acks for
/// hops that `host` sent; a receiver derives it from the frame's sender.
pub fn acks(lattice: &str, host: &str) -> String {
    format!("lwc.{lattice}.hosts.{host}.acks")
}

/// `lwc.<l>.hosts.<host>.answers`: answers to `host`'s whohas queries.
pub fn answers(lattice: &str, host: &str) -> String {
    format!("lwc.{lattice}.hosts.{host}.answers")
}

/// `lwc.<l>.packets.whohas`: every host listens; see [`crate::whohas`].
pub fn whohas(lattice: &str) -> String {
    format!("lwc.{lattice}.packets.whohas")
}

/// The host named in an ack subject (`lwc.<l>.hosts.<host>.acks`).
pub fn host_of_acks(subject: &str) -> Option<&str> {
    let rest = subject.strip_prefix("lwc.")?;
    let (_lattice, rest) = rest.split_once(".hosts.")?;
    let host = rest.strip_suffix(".acks")?;
    is_valid_token(host).then_some(host)
}

/// `lwc.<l>.telemetry.<host>`: the host's histogram snapshot, every second
/// (see [`crate::telemetry`]).
pub fn telemetry(lattice: &str, host: &str) -> String {
    format!("lwc.{lattice}.telemetry.{host}")
}

/// `lwc.<l>.telemetry.*`: every host's telemetry.
pub fn telemetry_all(lattice: &str) -> String {
    format!("lwc.{lattice}.telemetry.*")
}

/// `lwc.<l>.ctl.`: prefix of the control plane.
pub fn ctl_prefix(lattice: &str) -> String {
    format!("lwc.{lattice}.ctl.")
}

/// `lwc.<l>.ctl.links`: link put/delete, to every host.
pub fn ctl_links(lattice: &str) -> String {
    format!("lwc.{lattice}.ctl.links")
}

/// `lwc.<l>.ctl.chaos`: chaos settings of a host, to every host.
pub fn ctl_chaos(lattice: &str) -> String {
    format!("lwc.{lattice}.ctl.chaos")
}

/// `lwc.<l>.ctl.state`: request → the newest control-plane state.
pub fn ctl_state(lattice: &str) -> String {
    format!("lwc.{lattice}.ctl.state")
}

/// `lwc.<l>.ledger`: the lattice-wide ledger (JSON), every second, from the
/// control host.
pub fn ledger(lattice: &str) -> String {
    format!("lwc.{lattice}.ledger")
}

/// True for names that are safe as one NATS subject token: 1–64 characters of
/// `[a-z0-9_-]`. Host, component, lattice and link names must pass.
pub fn is_valid_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_the_design() {
        assert_eq!(
            rpc("default", "north"),
            "lwc.default.rpc.north.packet-looper.process"
        );
        assert_eq!(packet_events("x"), "lwc.x.events.packet");
        assert_eq!(heartbeat("d", "east"), "lwc.d.hosts.east.heartbeat");
        assert_eq!(health("d", "east"), "lwc.d.hosts.east.health");
        assert_eq!(telemetry("d", "east"), "lwc.d.telemetry.east");
    }

    #[test]
    fn tokens_are_checked() {
        assert!(is_valid_token("north"));
        assert!(is_valid_token("a_b-9"));
        assert!(!is_valid_token(""));
        assert!(!is_valid_token("North"));
        assert!(!is_valid_token("a.b"));
        assert!(!is_valid_token("a*"));
        assert!(!is_valid_token(&"a".repeat(65)));
    }
}
