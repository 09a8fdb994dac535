//! The hop log: sampled hops, losses and guest log lines, latest last.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{bad, block, dim, fmt_clock, fmt_count, fmt_packet, fmt_us, good, warn};
use crate::app::hoplog::Line as LogLine;
use crate::app::App;
use lwc_wire::events::HopOutcome;

pub struct Log<'a>(pub &'a App);

impl Widget for Log<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let log = &app.log;
        let title = if log.paused {
            format!("Hop log · PAUSED ({} new) · p resumes", fmt_count(log.missed))
        } else {
            "Hop log · hops, losses, guest logs (sampled) · p pauses".to_string()
        };
        let b = block(title);
        let inner = b.inner(area);
        b.render(area, buf);
        if log.is_empty() {
            let hint = "hops appear here (all hops of packets injected with trace on: x)";
            Paragraph::new(Line::styled(hint, dim())).render(inner, buf);
            return;
        }
        let lines: Vec<Line> = log.tail(inner.height as usize).map(format_line).collect();
        Paragraph::new(lines).render(inner, buf);
    }
}

fn format_line(line: &LogLine) -> Line<'static> {
    match line {
        LogLine::Hop(h) => {
            let (outcome, style) = match h.outcome {
                HopOutcome::Ok => ("ok", good()),
                HopOutcome::Trap => ("trap", bad()),
                HopOutcome::Timeout => ("timeout", bad()),
            };
            Line::from(vec![
                Span::styled(fmt_clock(h.recv_ns), dim()),
                Span::raw(format!(
                    " {}→{} {} ttl {} lat {} inv {} ",
                    h.from,
                    h.to,
                    fmt_packet(h.packet, 6),
                    h.ttl,
                    fmt_us(h.latency_us),
                    fmt_us(h.invoke_us)
                )),
                Span::styled(outcome, style),
            ])
        }
        LogLine::Lost { at_ns, lost: l } => Line::from(vec![
            Span::styled(fmt_clock(*at_ns), dim()),
            Span::styled(
                format!(" LOST {} at {}: {} {}", fmt_packet(l.packet, 6), l.at, l.reason, l.detail),
                bad(),
            ),
        ]),
        LogLine::Guest { host, log } => {
            let style = match log.level.as_str() {
                "warn" => warn(),
                "error" | "critical" => bad(),
                _ => Style::new(),
            };
            let source = if *host == log.component {
                host.clone()
            } else {
                format!("{host}/{}", log.component)
            };
            Line::from(vec![
                Span::styled(fmt_clock(log.at_ns), dim()),
                Span::styled(format!(" {source} {}: ", log.level), dim()),
                Span::styled(log.message.clone(), style),
            ])
        }
    }
}
