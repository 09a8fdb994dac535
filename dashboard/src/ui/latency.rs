//! Percentiles of every series: each edge's lattice latency, each
//! component's invocation time, packet lifetimes.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, StatefulWidget, Table, TableState, Widget};

use super::{block, dim, fmt_count, fmt_rate, fmt_us, selected};
use crate::app::{App, View};

pub struct Latency<'a>(pub &'a App);

/// Column headers; the numbers are what the tests look for.
pub const COLUMNS: [&str; 8] = ["series", "p50", "p90", "p99", "p99.9", "max", "count", "/s"];

impl Widget for Latency<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let view = match app.view {
            View::Window => format!("last {}s", app.stats.window_ns() / 1_000_000_000),
            View::Run => "whole run".to_string(),
        };
        let block = block(format!("Latency · {view} · w toggles"));
        let keys = app.rows();
        let rows = keys.iter().map(|k| {
            let s = &app.stats.series[k];
            let p = match app.view {
                View::Window => s.window_pct,
                View::Run => s.run_pct,
            };
            let cell = |v: u64| if p.count == 0 { "—".to_string() } else { fmt_us(v) };
            Row::new(vec![
                k.label(),
                cell(p.p50),
                cell(p.p90),
                cell(p.p99),
                cell(p.p999),
                cell(p.max),
                fmt_count(p.count),
                fmt_rate(s.last_rate),
            ])
        });
        let widths = [
            Constraint::Min(14),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Length(6),
        ];
        let inner = block.inner(area);
        let table = Table::new(rows, widths)
            .header(Row::new(COLUMNS).style(Style::new().add_modifier(Modifier::BOLD)))
            .row_highlight_style(selected())
            .column_spacing(1)
            .block(block);
        let chosen = app.selected_key();
        let selected_row = keys.iter().position(|k| Some(k) == chosen.as_ref());
        let mut state = TableState::default().with_selected(selected_row);
        StatefulWidget::render(table, area, buf, &mut state);
        if keys.is_empty() && inner.height > 1 {
            let hint = Rect {
                y: inner.y + 1,
                height: inner.height - 1,
                ..inner
            };
            Paragraph::new(Line::styled("no hops yet: press i to inject (hosts report every second)", dim()))
                .render(hint, buf);
        }
    }
}
