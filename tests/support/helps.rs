//! For tests/docs.rs: what our programs say they take (each binary's
//! `--help`, each script's text), and what the repository holds (its
//! markdown files, the variables its code reads).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::docs::{flags, lwc_vars, program};

/// Our binaries, whose `--help` is what they take.
pub const BINARIES: &[&str] = &["lwc-host", "lwc-dash", "lwc", "lwc-lab", "lwc-bench"];

/// What our programs say they take, by program: each binary's `--help`
/// (`lwc up` and the other commands' too) and each script's text.
pub struct Helps {
    pub by_program: BTreeMap<String, String>,
}

fn run_help(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .arg("--help")
        .env_remove("LWC_DIR")
        .output()
        .unwrap_or_else(|e| panic!("{} {args:?} --help: {e}", bin.display()));
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

impl Helps {
    pub fn read(release: &Path, root: &Path) -> Helps {
        let mut by_program = BTreeMap::new();
        for name in BINARIES {
            let bin = release.join(name);
            if !bin.exists() {
                // lwc-bench is built by scripts/bench.sh only; the rest always.
                assert!(*name == "lwc-bench", "{} is missing: cargo build --release", bin.display());
                continue;
            }
            let help = run_help(&bin, &[]);
            if *name == "lwc" {
                let commands = help.split("Commands:").nth(1).unwrap_or("").split("Options:").next().unwrap_or("");
                for cmd in commands.lines().filter_map(|l| l.split_whitespace().next()).filter(|c| *c != "help") {
                    by_program.insert(format!("lwc {cmd}"), run_help(&bin, &[cmd]));
                }
            }
            by_program.insert(name.to_string(), help);
        }
        for entry in std::fs::read_dir(root.join("scripts")).expect("scripts/").filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".sh") {
                let text = std::fs::read_to_string(entry.path()).expect("a script reads");
                by_program.insert(format!("scripts/{name}"), text);
            }
        }
        Helps { by_program }
    }

    /// Every binary's help text.
    pub fn binaries(&self) -> String {
        self.by_program.iter().filter(|(k, _)| !k.starts_with("scripts/")).map(|(_, v)| v.as_str()).collect::<Vec<_>>().join("\n")
    }

    /// Every script's text.
    pub fn scripts(&self) -> String {
        self.by_program.iter().filter(|(k, _)| k.starts_with("scripts/")).map(|(_, v)| v.as_str()).collect::<Vec<_>>().join("\n")
    }

    /// If `command` runs one of ours: its name (`lwc up`) and the flags it
    /// takes. `lwc dash` passes its own to lwc-dash, `lwc experiment` and
    /// experiment.sh to lwc-lab, bench.sh to lwc-bench.
    pub fn scope(&self, command: &str) -> Option<(String, HashSet<String>)> {
        let program = program(command)?;
        let program = program.strip_prefix("./").unwrap_or(program);
        let program = if program.contains("target/release/") { program.rsplit('/').next()? } else { program };
        let program = if program.ends_with(".sh") && !program.starts_with("scripts/") { format!("scripts/{program}") } else { program.to_string() };
        let (name, parts): (String, Vec<&str>) = match program.as_str() {
            "lwc" => {
                let after = command.split_whitespace().skip_while(|w| *w != "lwc" && !w.ends_with("/lwc")).nth(1).unwrap_or("");
                let sub = format!("lwc {after}");
                if self.by_program.contains_key(&sub) {
                    let extra = match after {
                        "dash" => "lwc-dash",
                        "experiment" => "lwc-lab",
                        _ => "lwc",
                    };
                    (sub.clone(), vec!["lwc", extra, sub.as_str()].into_iter().map(|k| self.key(k)).collect())
                } else {
                    let all = self.by_program.keys().filter(|k| k.starts_with("lwc") && !k.starts_with("lwc-")).map(String::as_str).collect();
                    ("lwc".to_string(), all)
                }
            }
            "scripts/experiment.sh" => (program.clone(), vec![self.key(&program), self.key("lwc-lab")]),
            "scripts/bench.sh" => (program.clone(), vec![self.key(&program), self.key("lwc-bench")]),
            other if self.by_program.contains_key(other) => (program.clone(), vec![self.key(other)]),
            _ => return None,
        };
        let flags = parts.iter().filter_map(|k| self.by_program.get_key_value(*k)).flat_map(|(k, t)| self.flags_of(k, t)).collect();
        Some((name, flags))
    }

    /// The flags a program takes: a binary's are those its `--help`
    /// declares (an option line starts with one; a description may name
    /// another program's), a script's any its text names.
    fn flags_of(&self, program: &str, text: &str) -> Vec<String> {
        if program.starts_with("scripts/") {
            return flags(text);
        }
        text.lines()
            .map(str::trim_start)
            .filter_map(|line| {
                // `--nats <URL>` and `-h, --help` alike.
                let option = match line.split_once(", ") {
                    Some((short, rest)) if short.len() == 2 && short.starts_with('-') => rest,
                    _ => line,
                };
                option.starts_with("--").then(|| flags(option).into_iter().next()).flatten()
            })
            .collect()
    }

    /// Every flag our binaries declare.
    pub fn binary_flags(&self) -> HashSet<String> {
        self.by_program.iter().filter(|(k, _)| !k.starts_with("scripts/")).flat_map(|(k, t)| self.flags_of(k, t)).collect()
    }

    /// Every flag our binaries declare and our scripts name.
    pub fn all_flags(&self) -> HashSet<String> {
        self.by_program.iter().flat_map(|(k, t)| self.flags_of(k, t)).collect()
    }

    /// `name` as a key of [`Helps::by_program`] (the same string).
    fn key<'a>(&'a self, name: &str) -> &'a str {
        self.by_program.get_key_value(name).map(|(k, _)| k.as_str()).unwrap_or("")
    }
}

/// `command` without its quoted parts (values such as `"--reuse 1000"`).
pub fn unquoted(command: &str) -> String {
    let mut out = String::new();
    let mut quote = None;
    for c in command.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None => out.push(c),
        }
    }
    out
}

/// Names of the markdown files in the repository (not under target/).
pub fn markdown_names(root: &Path) -> HashSet<String> {
    let mut names = HashSet::new();
    for path in files(root) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".md") {
            names.insert(name.to_string());
        }
    }
    names
}

/// `"LWC_…"` string literals in the workspace's Rust sources: variables
/// read by code that has no `--help` (the simulation's `LWC_SIM_SEED`).
pub fn variables_in_code(root: &Path) -> HashSet<String> {
    let mut found = HashSet::new();
    for path in files(root).into_iter().filter(|p| p.extension().is_some_and(|x| x == "rs")) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for var in lwc_vars(&text) {
            if text.contains(&format!("\"{var}\"")) {
                found.insert(var);
            }
        }
    }
    found
}

/// Every file of the repository, leaving out target/ and dot directories.
fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    stack.push(path);
                }
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_left_out() {
        assert_eq!(unquoted(r#"LWC_HOST_ARGS="--reuse 5" lwc up --detach"#), "LWC_HOST_ARGS= lwc up --detach");
        assert_eq!(unquoted("a '--b' c"), "a  c");
    }
}
