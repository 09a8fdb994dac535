//! Ports: is one free, which is free, and who holds a busy one (from
//! /proc/net/tcp and /proc/<pid>/fd, so the error can name the process).

use std::net::{SocketAddr, TcpListener};

/// Whether `addr` can be bound now.
pub fn is_free(addr: SocketAddr) -> bool {
    TcpListener::bind(addr).is_ok()
}

/// `preferred` on loopback if free, else one the kernel picks.
pub fn free_loopback_port(preferred: u16) -> std::io::Result<u16> {
    if is_free(SocketAddr::from(([127, 0, 0, 1], preferred))) {
        return Ok(preferred);
    }
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// "port 30000 is taken by lwc-host (pid 123: lwc-host --manifest …)".
pub fn busy_message(addr: SocketAddr) -> String {
    let who = match holder(addr.port()) {
        Some((pid, cmd)) => format!("{} (pid {pid}: {cmd})", program_name(&cmd)),
        None => "a process this user cannot see".to_string(),
    };
    format!("{addr} is already taken by {who}")
}

fn program_name(cmd: &str) -> String {
    let first = cmd.split_whitespace().next().unwrap_or("?");
    first.rsplit('/').next().unwrap_or(first).to_string()
}

/// The pid and command line of a process listening on TCP `port`.
pub fn holder(port: u16) -> Option<(u32, String)> {
    let inodes: Vec<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| listening_inodes(&t, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            if wanted.iter().any(|w| link.as_os_str() == w.as_str()) {
                let cmd = crate::procs::cmdline(pid).unwrap_or_else(|| "?".into());
                return Some((pid, cmd));
            }
        }
    }
    None
}

/// Inodes of sockets in state LISTEN (0A) on `port`, from /proc/net/tcp text:
/// `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode`.
fn listening_inodes(text: &str, port: u16) -> Vec<u64> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f.get(1)?.rsplit_once(':')?.1;
            if *f.get(3)? != "0A" || u16::from_str_radix(local_port, 16).ok()? != port {
                return None;
            }
            f.get(9)?.parse().ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_listener_of_a_port() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:7530 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0\n\
   1: 0100007F:7530 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0\n";
        assert_eq!(listening_inodes(text, 30000), vec![4242]);
        assert!(listening_inodes(text, 30001).is_empty());
    }

    #[test]
    fn names_this_test_as_the_holder_of_its_port() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        assert!(!is_free(addr));
        let (pid, _) = holder(addr.port()).expect("our own listener is visible");
        assert_eq!(pid, std::process::id());
        assert!(busy_message(addr).contains(&format!("pid {}", std::process::id())));
    }
}
