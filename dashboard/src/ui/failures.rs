//! Failures per host by kind, and the ring's ledger (the control host's
//! book while fresh, else the hosts' counters summed). Every host that
//! reported, in display order; when they do not all fit, the trouble on
//! top (as in the hosts table), the selected host kept in view.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, Widget};

use super::{bad, block, dim, fmt_count, fmt_rate, good, selected, warn};
use crate::app::hosts::{Ledger, LedgerSource, Status};
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

        LedgerLines(&app.ledger()).render(ledger_area, buf);
    }
}

/// The ledger's two lines: the account (orphaned and rejected only when
/// there are any), then losses by reason and where the numbers come from.
struct LedgerLines<'a>(&'a Ledger);

impl Widget for LedgerLines<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let l = self.0;
        let [first, second] = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
        Paragraph::new(account(l, usize::from(area.width))).render(first, buf);

        let reasons: Vec<String> = l
            .lost
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(r, n)| format!("{r} {}", fmt_count(*n)))
            .collect();
        let reasons = if reasons.is_empty() {
            Line::styled("lost by reason: none", dim())
        } else {
            Line::from(vec![Span::styled("lost by reason: ", dim()), Span::styled(reasons.join(" · "), bad())])
        };
        // The source at the right, in full where the reasons leave room.
        let (long, short, style) = match l.source {
            LedgerSource::Book => ("(control host's book)".to_string(), "(book)", dim()),
            LedgerSource::HostSums { book_age_ns: None } => ("(host sums: no book)".to_string(), "(host sums)", warn()),
            LedgerSource::HostSums { book_age_ns: Some(age) } => {
                (format!("(host sums: book {}s old)", age / 1_000_000_000), "(host sums)", warn())
            }
        };
        let room = usize::from(area.width).saturating_sub(reasons.width());
        let source = format!(" {}", if long.chars().count() < room { long.as_str() } else { short });
        let [left, right] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(source.chars().count() as u16)]).areas(second);
        Paragraph::new(reasons).render(left, buf);
        Paragraph::new(Line::styled(source, style)).render(right, buf);
    }
}

/// `ledger injected N  expired N  lost N  in flight N[  orphaned N][  rejected N]`
/// in `width`: the gaps narrow first, then the words shorten, so that
/// orphaned and rejected stay in view.
fn account(l: &Ledger, width: usize) -> Line<'static> {
    let in_flight = l.in_flight();
    let lost = l.lost_total();
    let mut parts = vec![
        (("injected", "inj"), l.injected, Style::new()),
        (("expired", "exp"), l.expired, good()),
        (("lost", "lost"), lost, if lost > 0 { bad() } else { dim() }),
        (("in flight", "flying"), in_flight, if in_flight > 0 { warn() } else { dim() }),
    ];
    if l.orphaned > 0 {
        parts.push((("orphaned", "orph"), l.orphaned, warn()));
    }
    if l.rejected > 0 {
        parts.push((("rejected", "rej"), l.rejected, bad()));
    }
    let layout = |short: bool, gap: &'static str| {
        let mut spans = vec![Span::styled("ledger ", Style::new().add_modifier(Modifier::BOLD))];
        for (i, ((long_word, short_word), n, style)) in parts.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw(gap));
            }
            let word = if short { short_word } else { long_word };
            spans.push(Span::styled(format!("{word} {}", fmt_count(*n)), *style));
        }
        Line::from(spans)
    };
    [(false, "  "), (false, " "), (true, " ")]
        .into_iter()
        .map(|(short, gap)| layout(short, gap))
        .find(|line| line.width() <= width)
        .unwrap_or_else(|| layout(true, " "))
}
