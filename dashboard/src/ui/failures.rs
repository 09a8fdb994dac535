//! Failures per host by kind, and the ring's ledger. Every host that
//! reported, in display order; when they do not all fit, the trouble on
//! top (as in the hosts table), the selected host kept in view.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, Widget};

use super::{bad, block, dim, fmt_count, fmt_rate, good, selected, warn};
use crate::app::hosts::Status;
use crate::app::App;

pub struct Failures<'a>(pub &'a App);

pub const COLUMNS: [&str; 8] = ["host", "trap", "timeout", "dropped", "unreach", "overload", "other", "err/s"];

impl Widget for Failures<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        // The table's rows: inside the borders, less the header and the ledger.
        let fit = usize::from(area.height.saturating_sub(5));
        let hidden = app.host_names().len().saturating_sub(fit);
        let title = match hidden {
            0 => "Failures by host · ledger".to_string(),
            n => format!("Failures by host · trouble first, {n} more · ledger"),
        };
        let b = block(title);
        let inner = b.inner(area);
        b.render(area, buf);
        let [table_area, ledger_area] = Layout::vertical([Constraint::Fill(1), Constraint::Length(2)]).areas(inner);

        let chosen = app.selected_host_name();
        let names: Vec<&str> = if hidden == 0 {
            app.host_names().iter().map(String::as_str).collect()
        } else {
            super::hosts::visible(&app.hosts_by_trouble(), fit, chosen)
        };
        let rows = names.iter().map(|name| {
            let host = app.host(name);
            let status = host.map(|h| h.status(app.now_ns)).unwrap_or(Status::Unknown);
            let f = host.map(|h| h.failures()).unwrap_or_default();
            let err_rate = host.map(|h| h.err_rate).unwrap_or(0.0);
            let n = |v: u64| if v == 0 { "·".to_string() } else { fmt_count(v) };
            let row = Row::new(vec![
                name.to_string(),
                n(f.trap),
                n(f.timeout),
                n(f.dropped),
                n(f.unreachable),
                n(f.overloaded),
                n(f.other_lost),
                fmt_rate(err_rate),
            ]);
            if chosen == Some(*name) {
                row.style(selected())
            } else if status == Status::Gone || status == Status::Down {
                row.style(bad())
            } else if status == Status::Unknown {
                row.style(dim())
            } else if err_rate > 0.0 {
                row.style(warn())
            } else {
                row
            }
        });
        let widths = [
            Constraint::Min(7),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(5),
            Constraint::Length(6),
        ];
        Table::new(rows, widths)
            .header(Row::new(COLUMNS).style(Style::new().add_modifier(Modifier::BOLD)))
            .column_spacing(1)
            .render(table_area, buf);

        let l = app.ledger();
        let in_flight = l.in_flight();
        let line1 = Line::from(vec![
            Span::styled("ledger ", Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(format!("injected {}  ", fmt_count(l.injected))),
            Span::styled(format!("expired {}  ", fmt_count(l.expired)), good()),
            Span::styled(format!("lost {}  ", fmt_count(l.lost_total())), if l.lost_total() > 0 { bad() } else { dim() }),
            Span::styled(format!("in flight {}", fmt_count(in_flight)), if in_flight > 0 { warn() } else { dim() }),
        ]);
        let reasons: Vec<String> = l
            .lost
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(r, n)| format!("{r} {}", fmt_count(*n)))
            .collect();
        let line2 = if reasons.is_empty() {
            Line::styled("lost by reason: none", dim())
        } else {
            Line::from(vec![Span::styled("lost by reason: ", dim()), Span::styled(reasons.join(" · "), bad())])
        };
        Paragraph::new(vec![line1, line2]).render(ledger_area, buf);
    }
}
