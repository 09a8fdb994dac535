//! The ready file (`--ready-file PATH`): how a parent process learns that a
//! host serves and where. Line one is the pid; then one `http=ADDR` line per
//! HTTP listener, with the address actually bound (so `--http 127.0.0.1:0`
//! tells the port it got). Every line ends with a newline, and the file is
//! written whole (a temporary file renamed over it): a reader never sees
//! half of it.

use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The text of a ready file.
pub fn text(pid: u32, http: &[SocketAddr]) -> String {
    let mut out = format!("{pid}\n");
    for addr in http {
        out.push_str(&format!("http={addr}\n"));
    }
    out
}

/// Write `path` whole: a temporary file beside it, then a rename.
pub fn write(path: &Path, pid: u32, http: &[SocketAddr]) -> Result<()> {
    let tmp = temp_path(path, pid);
    std::fs::write(&tmp, text(pid, http)).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write ready file {}", path.display())
    })
}

/// Remove it (the host no longer serves); a missing file is fine.
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

fn temp_path(path: &Path, pid: u32) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{pid}.tmp"));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_then_one_line_per_listener() {
        assert_eq!(text(7, &[]), "7\n");
        let addrs = ["127.0.0.1:40001".parse().unwrap(), "[::1]:80".parse().unwrap()];
        assert_eq!(text(7, &addrs), "7\nhttp=127.0.0.1:40001\nhttp=[::1]:80\n");
    }

    #[test]
    fn written_whole_and_removed() {
        let dir = std::env::temp_dir().join(format!("lwc-ready-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("north.ready");
        write(&path, 42, &["127.0.0.1:1234".parse().unwrap()]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "42\nhttp=127.0.0.1:1234\n");
        // Written again (a restart): replaced, and no temporary file left.
        write(&path, 43, &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "43\n");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
        remove(&path);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let err = write(Path::new("/nonexistent-lwc/x.ready"), 1, &[]).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent-lwc/x.ready"), "{err:#}");
    }
}
