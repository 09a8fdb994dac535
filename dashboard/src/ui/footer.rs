//! The bottom lines: what `i` will send, the selected host's chaos and its
//! clock offset (as its senders estimate it), the latest note, and the keys
//! (chaos keys greyed out while the control plane does not answer).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{bad, dim, fmt_chaos, fmt_us, good, title};
use lwc_wire::status::PeerClock;
use crate::app::{App, Plane};
use crate::input::KEYS;

pub struct Settings<'a>(pub &'a App);

impl Widget for Settings<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let s = &app.inject;
        let host = app.selected_host_name().unwrap_or("no host");
        let chaos = match &app.plane {
            Plane::Available => fmt_chaos(&app.chaos.get(host).copied().unwrap_or_default()),
            Plane::Missing(_) | Plane::Unknown => "chaos n/a".to_string(),
        };
        let mut spans = vec![
            Span::styled("i ▸ ", title()),
            Span::raw(format!(
                "ttl {} · chaos {}% · route {} · count {} · trace {}",
                s.ttl,
                s.chaos,
                s.route,
                s.count,
                if s.trace { "on" } else { "off" }
            )),
            Span::styled(" │ ", dim()),
            Span::styled(format!("{host} ▸ "), title()),
            Span::raw(chaos),
        ];
        if let Some(c) = app.clock_of(host) {
            spans.push(Span::styled(" · ", dim()));
            spans.push(Span::raw(fmt_offset(&c)));
        }
        if let Some(note) = &app.note {
            spans.push(Span::styled(" │ ", dim()));
            spans.push(Span::styled(note.text.clone(), if note.error { bad() } else { good() }));
        }
        Paragraph::new(Line::from(spans)).render(area, buf);
    }
}

/// A host's clock against its senders': `clock +50.0ms ±80µs`, or
/// `clock in step ±80µs` when the offset is within its uncertainty.
pub fn fmt_offset(c: &PeerClock) -> String {
    let within = format!("±{}", fmt_us(c.uncertainty_us));
    if c.offset_us.unsigned_abs() <= c.uncertainty_us {
        return format!("clock in step {within}");
    }
    let sign = if c.offset_us < 0 { '-' } else { '+' };
    format!("clock {sign}{} {within}", fmt_us(c.offset_us.unsigned_abs()))
}

pub struct Keys<'a> {
    pub app: &'a App,
    /// 2: everything over two lines; 1: only the essentials.
    pub lines: u16,
}

impl Widget for Keys<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let key = Style::new().add_modifier(Modifier::BOLD);
        if self.lines < 2 {
            let line = Line::from(vec![
                Span::styled("i", key),
                Span::raw(" inject  "),
                Span::styled("?", key),
                Span::raw(" keys  "),
                Span::styled("q", key),
                Span::raw(" quit"),
            ]);
            Paragraph::new(line).render(area, buf);
            return;
        }
        let chaos_on = app.chaos_keys_enabled();
        let mut first = Vec::new();
        let mut second = vec![Span::styled("chaos: ", if chaos_on { title() } else { dim() })];
        // Keys that do not fit the first line are left to the help overlay
        // (`?`, which is always shown).
        let help_w = "? help".len();
        let mut room = (area.width as usize).saturating_sub(help_w);
        for (k, what, _, needs_plane) in KEYS {
            if *needs_plane {
                let style = if chaos_on { key } else { dim() };
                second.push(Span::styled(*k, style));
                second.push(Span::styled(format!(" {what}  "), if chaos_on { Style::new() } else { dim() }));
                continue;
            }
            let w = k.chars().count() + what.chars().count() + 3;
            if *k != "?" {
                if w > room {
                    continue;
                }
                room -= w;
            }
            first.push(Span::styled(*k, key));
            first.push(Span::raw(format!(" {what}  ")));
        }
        if !chaos_on {
            let why = match &app.plane {
                Plane::Missing(why) => why.as_str(),
                _ => "asking the control plane…",
            };
            second.push(Span::styled(format!("({why})"), dim()));
        }
        Paragraph::new(vec![Line::from(first), Line::from(second)]).render(area, buf);
    }
}
