//! The running experiment (phase, time left, each expectation's live value
//! with ✓ or ✗) and the `e` popup that picks an experiment file.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{bad, block, dim, good, selected, title, warn};
use crate::app::lab::{Expectation, LabStatus, Picker};

/// Lines the experiment strip takes: a header and, if there is room, the
/// expectations.
pub fn height(status: Option<&LabStatus>, compact: bool) -> u16 {
    match status {
        None => 0,
        Some(_) if compact => 1,
        Some(s) if s.expectations.is_empty() => 1,
        Some(_) => 2,
    }
}

pub struct LabPane<'a>(pub &'a LabStatus);

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// `✓ baseline p99_ms a->b ≤5: 3.20`
pub fn expectation(e: &Expectation) -> Vec<Span<'static>> {
    let (mark, style) = match e.ok {
        Some(true) => ("✓", good()),
        Some(false) => ("✗", bad()),
        None => ("…", dim()),
    };
    let target = e.edge.as_deref().or(e.series.as_deref()).map(|t| format!(" {t}")).unwrap_or_default();
    let bound = match (e.min, e.max) {
        (Some(a), Some(b)) => format!(" {}–{}", number(a), number(b)),
        (Some(a), None) => format!(" ≥{}", number(a)),
        (None, Some(b)) => format!(" ≤{}", number(b)),
        (None, None) => String::new(),
    };
    let value = e.value.map(number).unwrap_or_else(|| "…".into());
    vec![
        Span::styled(format!("{mark} "), style.add_modifier(Modifier::BOLD)),
        Span::raw(format!("{} {}{target}{bound}: ", e.phase, e.metric)),
        Span::styled(value, style),
    ]
}

impl Widget for LabPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.0;
        let status_style = match s.status.as_str() {
            "passed" => good(),
            "failed" | "aborted" => bad(),
            _ => warn(),
        };
        let name = if s.experiment.is_empty() { "experiment" } else { &s.experiment };
        let mut head = vec![
            Span::styled("Experiment ", title()),
            Span::styled(name.to_string(), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(format!(" · phase {} · ", if s.phase.is_empty() { "—" } else { &s.phase })),
            Span::raw(format!("{:.0}s left of {:.0}s · ", s.remaining_s.max(0.0), s.duration_s.max(0.0))),
            Span::styled(if s.status.is_empty() { "running".to_string() } else { s.status.clone() }, status_style),
        ];
        let failed = s.expectations.iter().filter(|e| e.ok == Some(false)).count();
        let passed = s.expectations.iter().filter(|e| e.ok == Some(true)).count();
        head.push(Span::styled(
            format!(" · expectations ✓{passed} ✗{failed} of {}", s.expectations.len()),
            dim(),
        ));
        let mut lines = vec![Line::from(head)];
        if area.height >= 2 && !s.expectations.is_empty() {
            let mut spans = Vec::new();
            for (i, e) in s.expectations.iter().enumerate() {
                if i > 0 {
                    spans.push(Span::styled(" · ", dim()));
                }
                spans.extend(expectation(e));
            }
            lines.push(Line::from(spans));
        }
        Paragraph::new(lines).render(area, buf);
    }
}

/// The `e` popup, centred over everything else.
pub struct PickerPopup<'a>(pub &'a Picker);

impl Widget for PickerPopup<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let p = self.0;
        let w = area.width.min(60);
        let h = area.height.min(p.files.len() as u16 + 3);
        if w < 4 || h < 3 {
            return;
        }
        let r = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + (area.height - h) / 2,
            width: w,
            height: h,
        };
        Clear.render(r, buf);
        let b = block("Run an experiment · ↑↓ Enter · Esc".into());
        let inner = b.inner(r);
        b.render(r, buf);
        // Keep the selected file in view.
        let rows = inner.height.saturating_sub(1) as usize;
        let first = p.selected.saturating_sub(rows.saturating_sub(1));
        let mut lines: Vec<Line> = p
            .files
            .iter()
            .enumerate()
            .skip(first)
            .take(rows)
            .map(|(i, f)| {
                let text = f.display().to_string();
                if i == p.selected {
                    Line::styled(format!("▸ {text}"), selected())
                } else {
                    Line::raw(format!("  {text}"))
                }
            })
            .collect();
        lines.push(Line::styled("scripts/experiment.sh FILE · .lwc/logs/experiment.log", dim()));
        Paragraph::new(lines).render(inner, buf);
    }
}
