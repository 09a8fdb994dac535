//! The key list, over everything else (`?`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{block, dim};
use crate::app::App;
use crate::input::KEYS;

pub struct Help<'a>(pub &'a App);

impl Widget for Help<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let w = area.width.min(64);
        let h = area.height.min(KEYS.len() as u16 + 3);
        let r = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + (area.height - h) / 2,
            width: w,
            height: h,
        };
        Clear.render(r, buf);
        let mut lines: Vec<Line> = KEYS
            .iter()
            .map(|(k, _, what, plane)| {
                let off = *plane && !app.chaos_keys_enabled();
                Line::from(vec![
                    Span::styled(format!("{k:>8}  "), Style::new().add_modifier(Modifier::BOLD)),
                    Span::styled(
                        format!("{what}{}", if off { " (control plane not available)" } else { "" }),
                        if off { dim() } else { Style::new() },
                    ),
                ])
            })
            .collect();
        lines.push(Line::styled("any key closes this", dim()));
        Paragraph::new(lines).block(block("Keys".into())).render(r, buf);
    }
}
