//! What is wrong with a manifest, and where: file, line and column.

use std::fmt;
use std::path::PathBuf;

/// A place in the manifest's text, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// The line and column of byte `offset` in `text` (columns count characters).
    pub fn of(text: &str, offset: usize) -> Position {
        let mut end = offset.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Position { line, column }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },

    /// Bad TOML or a bad value. `at` is `None` for what no line holds (a
    /// manifest with no hosts at all).
    #[error("{}{}{message}", file_prefix(.file), at_prefix(.at))]
    Invalid {
        file: Option<PathBuf>,
        at: Option<Position>,
        message: String,
    },
}

impl ManifestError {
    /// The error of a manifest read from `path` (the parser knows no file).
    pub(crate) fn in_file(self, path: &std::path::Path) -> ManifestError {
        match self {
            ManifestError::Invalid { at, message, .. } => ManifestError::Invalid {
                file: Some(path.to_path_buf()),
                at,
                message,
            },
            other => other,
        }
    }

    /// Where the problem is, when a line holds it.
    pub fn position(&self) -> Option<Position> {
        match self {
            ManifestError::Invalid { at, .. } => *at,
            ManifestError::Read { .. } => None,
        }
    }
}

fn file_prefix(file: &Option<PathBuf>) -> String {
    file.as_ref().map(|p| format!("bad manifest {}: ", p.display())).unwrap_or_default()
}

fn at_prefix(at: &Option<Position>) -> String {
    at.map(|p| format!("{p}: ")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let text = "ab\nçd = 1\n";
        assert_eq!(Position::of(text, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::of(text, 3), Position { line: 2, column: 1 });
        // 'ç' is two bytes, one column.
        assert_eq!(Position::of(text, 6), Position { line: 2, column: 3 });
        assert_eq!(Position::of(text, 999), Position { line: 3, column: 1 });
    }
}
