//! Reading the manual (README.md and docs/*.md) for tests/docs.rs: its
//! lines with whether they are code, the command segments in them and
//! whose flags those are, links, heading anchors and tables. Plain string
//! work, no markdown crate: the manual is ours and simple.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One markdown file of the manual.
pub struct Doc {
    pub path: PathBuf,
    /// Relative to the project root, for messages (`docs/reference.md`).
    pub name: String,
    pub text: String,
}

/// README.md and every docs/*.md (not docs/wip/: notes, not the manual).
pub fn manual(root: &Path) -> Vec<Doc> {
    let mut paths = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| Doc {
            name: path.strip_prefix(root).unwrap_or(&path).display().to_string(),
            text: std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            path,
        })
        .collect()
}

/// A line (1-based `no`) and whether it is inside a fenced code block.
/// Shell lines ending in `\` are joined with the next (reported at the
/// first).
pub struct Line {
    pub no: usize,
    pub text: String,
    pub fenced: bool,
}

pub fn lines(text: &str) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut fenced = false;
    let mut joining = false;
    for (i, raw) in text.lines().enumerate() {
        if raw.trim_start().starts_with("```") || raw.trim_start().starts_with("~~~") {
            fenced = !fenced;
            joining = false;
            continue;
        }
        if joining {
            if let Some(last) = out.last_mut() {
                last.text.push(' ');
                last.text.push_str(raw.trim_end_matches('\\'));
            }
        } else {
            out.push(Line {
                no: i + 1,
                text: raw.trim_end_matches('\\').to_string(),
                fenced,
            });
        }
        joining = fenced && raw.ends_with('\\');
    }
    out
}

/// The inline code spans of a prose line, and the prose around them.
pub fn code_spans(line: &str) -> (Vec<String>, String) {
    let mut spans = Vec::new();
    let mut prose = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|c| *c == '`').count();
        let fence = &rest[start..start + ticks];
        let after = &rest[start + ticks..];
        match after.find(fence) {
            Some(end) => {
                prose.push_str(&rest[..start]);
                prose.push(' ');
                spans.push(after[..end].trim().to_string());
                rest = &after[end + ticks..];
            }
            None => break,
        }
    }
    prose.push_str(rest);
    (spans, prose)
}

/// Shell commands a piece of code holds: split at `|`, `;`, `&&`, `||`
/// and `$(`.
pub fn commands(code: &str) -> Vec<String> {
    code.replace("&&", ";")
        .replace("||", ";")
        .replace("$(", ";")
        .replace('|', ";")
        .split(';')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The program a command runs: its first word after `$ `, variable
/// assignments, `sudo`, `env`, `exec` and `time`.
pub fn program(command: &str) -> Option<&str> {
    command
        .split_whitespace()
        .find(|w| {
            let assignment = w.split_once('=').is_some_and(|(k, _)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
            !assignment && !matches!(*w, "$" | "sudo" | "env" | "exec" | "time" | "(")
        })
        .map(|w| w.trim_start_matches('('))
}

/// Every `--flag` in `text` (a word that starts with two dashes and a
/// letter; `a--b` and `---` are not flags).
pub fn flags(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(at) = text[i..].find("--") {
        let start = i + at;
        let before_ok = start == 0 || matches!(bytes[start - 1], b' ' | b'`' | b'(' | b'[' | b'"' | b'\'' | b'=' | b',' | b'\t' | b'{');
        let name: String = text[start + 2..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .collect();
        if before_ok && name.starts_with(|c: char| c.is_ascii_lowercase()) {
            out.push(format!("--{}", name.trim_end_matches('-')));
        }
        i = start + 2 + name.len();
    }
    out
}

/// Every `LWC_*` name in `text`; a name ending in `_` (as in `LWC_NATS_*`)
/// stands for a family of variables.
pub fn lwc_vars(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(at) = text[i..].find("LWC_") {
        let start = i + at;
        let before_ok = start == 0 || !text.as_bytes()[start - 1].is_ascii_alphanumeric();
        let name: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if before_ok && name.len() > 4 {
            out.push(name.clone());
        }
        i = start + name.len().max(4);
    }
    out
}

/// The targets of the links and images of a prose line (outside code
/// spans), and of a reference definition (`[x]: target`).
pub fn links(line: &str) -> Vec<String> {
    let (_, prose) = code_spans(line);
    let mut out = Vec::new();
    let mut rest = prose.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        let target = after[..end].trim().trim_start_matches('<').trim_end_matches('>');
        // A title after the target: `(path "title")`.
        let target = target.split_whitespace().next().unwrap_or("");
        out.push(target.to_string());
        rest = &after[end..];
    }
    let trimmed = prose.trim_start();
    if trimmed.starts_with('[') {
        if let Some((label, target)) = trimmed.split_once("]:") {
            if !label.contains('(') {
                out.push(target.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped (links
/// keep their text), spaces to dashes.
pub fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    // `[text](target)` → `text`
    while let Some(open) = rest.find('[') {
        let Some(mid) = rest[open..].find("](") else { break };
        let Some(close) = rest[open + mid..].find(')') else { break };
        text.push_str(&rest[..open]);
        text.push_str(&rest[open + 1..open + mid]);
        rest = &rest[open + mid + close + 1..];
    }
    text.push_str(rest);
    text.trim()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every anchor a markdown file offers: its headings' (a repeated one gets
/// `-1`, `-2`, …) and `<a name=…>`/`<a id=…>`.
pub fn anchors(text: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for line in lines(text).iter().filter(|l| !l.fenced) {
        let t = line.text.trim_start();
        if t.starts_with('#') {
            let heading = t.trim_start_matches('#').trim().trim_end_matches('#').trim();
            let base = slug(heading);
            let mut anchor = base.clone();
            let mut n = 0;
            while out.contains(&anchor) {
                n += 1;
                anchor = format!("{base}-{n}");
            }
            out.insert(anchor);
        }
        for key in ["<a name=\"", "<a id=\"", " id=\""] {
            let mut rest = t;
            while let Some(at) = rest.find(key) {
                let after = &rest[at + key.len()..];
                if let Some(end) = after.find('"') {
                    out.insert(after[..end].to_string());
                }
                rest = after;
            }
        }
    }
    out
}

/// The cells of a table row (`| a | b |`); `\|` and `|` inside code do not
/// split.
pub fn cells(row: &str) -> Vec<String> {
    let row = row.trim().trim_start_matches('|');
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut in_code = false;
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '`' => {
                in_code = !in_code;
                cell.push(c);
            }
            '|' if !in_code => out.push(std::mem::take(&mut cell).trim().to_string()),
            _ => cell.push(c),
        }
    }
    if !cell.trim().is_empty() {
        out.push(cell.trim().to_string());
    }
    out
}

/// The rows (line number, cells) of the first table whose header row
/// starts with `header` (compared without backticks), or `None`.
pub fn table(text: &str, header: &[&str]) -> Option<Vec<(usize, Vec<String>)>> {
    let all = lines(text);
    let start = all.iter().position(|l| {
        !l.fenced && {
            let c = cells(&l.text);
            l.text.trim_start().starts_with('|') && c.len() >= header.len() && header.iter().zip(&c).all(|(h, c)| unquote(c) == *h)
        }
    })?;
    let rows = all[start + 1..]
        .iter()
        .take_while(|l| l.text.trim_start().starts_with('|'))
        .filter(|l| !l.text.trim_start().trim_start_matches('|').trim_start().starts_with('-'))
        .map(|l| (l.no, cells(&l.text)))
        .collect();
    Some(rows)
}

/// A cell without its backticks.
pub fn unquote(cell: &str) -> &str {
    cell.trim().trim_matches('`').trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_vars_links_and_slugs() {
        assert_eq!(flags("`lwc up --detach`, --size N, a--b, ---, `--x-y`"), ["--detach", "--size", "--x-y"]);
        assert_eq!(lwc_vars("LWC_DIR=x; $LWC_NATS_URL; LWC_NATS_*; XLWC_NO"), ["LWC_DIR", "LWC_NATS_URL", "LWC_NATS_"]);
        assert_eq!(links("see [a](b.md#c) and ![i](img/x.png \"t\") not `[q](r)`"), ["b.md#c", "img/x.png"]);
        assert_eq!(slug("HTTP API (control component, `127.0.0.1:30000` by default)"), "http-api-control-component-12700130000-by-default");
        assert_eq!(slug("Fates: exactly one per packet"), "fates-exactly-one-per-packet");
        assert_eq!(program("LWC_DIR=/tmp/x sudo cargo test --release"), Some("cargo"));
        assert_eq!(commands("set -a; . .lwc/ring.env && curl -s x | jq ."), ["set -a", ". .lwc/ring.env", "curl -s x", "jq ."]);
        assert_eq!(cells("| `a|b` | c \\| d | e |"), ["`a|b`", "c | d", "e"]);
    }
}
