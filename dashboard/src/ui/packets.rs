//! The most recent packets: id, route, ttl, hops so far, lifetime, fate.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, Table, Widget};

use super::{bad, block, dim, fmt_packet, fmt_us, good, warn};
use crate::app::packets::Fate;
use crate::app::App;
use lwc_wire::events::LostReason;

pub struct Packets<'a>(pub &'a App);

pub const COLUMNS: [&str; 6] = ["packet", "route", "ttl", "hops", "lifetime", "fate"];

impl Widget for Packets<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let b = block(format!("Packets · latest {}", app.packets.len()));
        if app.packets.is_empty() {
            let inner = b.inner(area);
            b.render(area, buf);
            Paragraph::new(Line::styled("no packets yet: press i to inject", dim())).render(inner, buf);
            return;
        }
        let rows = app.packets.latest().take(area.height as usize).map(|p| {
            let (fate, style) = match &p.fate {
                Fate::InFlight => ("in flight".to_string(), warn()),
                Fate::Expired => ("expired".to_string(), good()),
                Fate::Lost(LostReason::TrapBeforeForward) => ("✖ trapped".to_string(), bad()),
                Fate::Lost(r) => (format!("✖ {r}"), bad()),
            };
            Row::new(vec![
                fmt_packet(p.id, 8),
                p.route.clone(),
                // Lost: the ttl it had left then; unknown (injection not seen): —.
                match p.fate {
                    Fate::Lost(_) => p.ttl_lost,
                    _ => p.ttl,
                }
                .map(|t| t.to_string())
                .unwrap_or_else(|| "—".into()),
                p.hops.to_string(),
                fmt_us(p.age_us(app.now_ns)),
                fate,
            ])
            .style(style)
        });
        let widths = [
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Fill(1),
        ];
        Table::new(rows, widths)
            .header(Row::new(COLUMNS).style(Style::new().add_modifier(Modifier::BOLD)))
            .column_spacing(1)
            .block(b)
            .render(area, buf);
    }
}
