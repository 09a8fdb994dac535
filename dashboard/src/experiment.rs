//! Starting an experiment from the dashboard (`e`): `scripts/experiment.sh
//! FILE` as a background child in its own process group (terminal keys and
//! hangups do not reach it), its output appended to
//! `.lwc/logs/experiment.log`. A thread waits for it, so it never lingers as
//! a zombie, and reports how it ended.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::SyncSender;

use crate::app::Update;

/// The log, relative to the project root.
pub const LOG: &str = ".lwc/logs/experiment.log";

/// Start `scripts/experiment.sh file` in `root`; says what it started, or
/// why it could not.
pub fn launch(root: &Path, file: &Path, updates: SyncSender<Update>) -> Result<String, String> {
    use std::os::unix::process::CommandExt;
    let script = root.join("scripts/experiment.sh");
    if !script.is_file() {
        return Err(format!("{} does not exist (experiments are not available yet)", script.display()));
    }
    let log_path = root.join(LOG);
    if let Some(dir) = log_path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let err_log = log.try_clone().map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let mut child = Command::new(&script)
        .arg(file)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let pid = child.id();
    let name = file.display().to_string();
    let what = name.clone();
    std::thread::Builder::new()
        .name("lwc-dash-experiment".into())
        .spawn(move || {
            let text = match child.wait() {
                Ok(s) if s.success() => format!("experiment {what}: passed (exit 0)"),
                Ok(s) => format!("experiment {what}: ended with {s} (see {LOG})"),
                Err(e) => format!("experiment {what}: cannot wait for it: {e}"),
            };
            let _ = updates.send(Update::Note(text));
        })
        .map_err(|e| format!("cannot watch the experiment: {e}"))?;
    Ok(format!("started scripts/experiment.sh {name} (pid {pid}, log {LOG})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("lwc-dash-exp-{tag}-{}-{}", std::process::id(), lwc_wire::now_ns()));
        std::fs::create_dir_all(d.join("scripts")).unwrap();
        d
    }

    #[test]
    fn a_missing_script_is_a_clear_error() {
        let root = dir("missing");
        let (tx, _rx) = std::sync::mpsc::sync_channel(4);
        let e = launch(&root, Path::new("scenarios/x.toml"), tx).unwrap_err();
        assert!(e.contains("scripts/experiment.sh does not exist"), "{e}");
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn runs_the_script_with_the_file_and_logs_its_output() {
        use std::os::unix::fs::PermissionsExt;
        let root = dir("run");
        let script = root.join("scripts/experiment.sh");
        std::fs::write(&script, "#!/bin/sh\necho \"ran $1 in $(pwd)\"\nexit 1\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let started = launch(&root, Path::new("scenarios/brownout.toml"), tx).unwrap();
        assert!(started.contains("scenarios/brownout.toml"), "{started}");
        // The end is reported (the event, not a sleep).
        let Ok(Update::Note(end)) = rx.recv_timeout(std::time::Duration::from_secs(10)) else {
            panic!("no end reported");
        };
        assert!(end.contains("ended with exit status: 1"), "{end}");
        let log = std::fs::read_to_string(root.join(LOG)).unwrap();
        assert!(log.contains("ran scenarios/brownout.toml in"), "{log}");
        let _ = std::fs::remove_dir_all(root);
    }
}
