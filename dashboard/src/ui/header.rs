//! The top line: lattice, NATS and API state, hosts up, hop rate, view.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{bad, dim, fmt_count, fmt_rate, good, warn};
use crate::app::hosts::Status;
use crate::app::{App, Conn, View};

pub struct Header<'a>(pub &'a App);

impl Widget for Header<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let sep = || Span::styled(" │ ", dim());
        let mut spans = vec![
            Span::styled("lwc-dash", Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(format!(" lattice {}", app.lattice)),
            sep(),
        ];
        let (nats, style) = match (&app.conn, &app.server_error) {
            (Conn::Connected, _) => ("NATS ● connected".to_string(), good()),
            (Conn::Connecting, None) => ("NATS ○ connecting…".to_string(), warn()),
            (Conn::Disconnected, None) => ("NATS ✖ disconnected".to_string(), bad()),
            (_, Some(e)) => {
                let e: String = e.trim_start_matches("nats: ").chars().take(32).collect();
                (format!("NATS ✖ disconnected: {e}"), bad())
            }
        };
        spans.push(Span::styled(nats, style));
        spans.push(sep());
        spans.push(match app.http_ok {
            Some(true) => Span::styled("API ● up", good()),
            Some(false) => Span::styled("API ✖ unreachable", bad()),
            None => Span::styled("API ○ …", warn()),
        });
        spans.push(sep());
        // Hosts that reported and those the manifest places: one placed
        // but never heard from counts, as not up.
        let names = app.host_names();
        let up = names
            .iter()
            .filter(|n| app.host(n).is_some_and(|h| h.status(app.now_ns) == Status::Up))
            .count();
        if names.is_empty() {
            spans.push(Span::styled("no hosts yet", warn()));
        } else {
            let style = if up == names.len() { good() } else { warn() };
            spans.push(Span::styled(format!("{up}/{} hosts up", names.len()), style));
        }
        spans.push(sep());
        spans.push(Span::raw(format!("{} hops/s", fmt_rate(app.hop_rate()))));
        spans.push(sep());
        spans.push(Span::raw(match app.view {
            View::Window => format!("last {}s", app.stats.window_ns() / 1_000_000_000),
            View::Run => "whole run".to_string(),
        }));
        let garbage = app.feed.garbage() + app.stats.rejected;
        if garbage > 0 {
            spans.push(sep());
            spans.push(Span::styled(format!("ignored {} bad msgs", fmt_count(garbage)), warn()));
        }
        if app.feed.behind > 0 || app.slow_consumer > 0 {
            spans.push(sep());
            spans.push(Span::styled(
                format!("dropped {} (behind)", fmt_count(app.feed.behind + app.slow_consumer)),
                warn(),
            ));
        }
        Paragraph::new(Line::from(spans)).render(area, buf);
    }
}
