//! The selected series as a histogram: log-spaced buckets, one bar each.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{block, dim, fmt_count, fmt_us};
use crate::app::{App, View};
use crate::stats::buckets;

pub struct HistogramPane<'a>(pub &'a App);

impl Widget for HistogramPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let Some(key) = app.selected_key() else {
            let b = block("Histogram".into());
            let inner = b.inner(area);
            b.render(area, buf);
            Paragraph::new(Line::styled("no data yet: press i to inject", dim())).render(inner, buf);
            return;
        };
        let series = &app.stats.series[&key];
        let (hist, view) = match app.view {
            View::Window => (&series.window, "window"),
            View::Run => (&series.run, "whole run"),
        };
        let b = block(format!("Histogram · {} · {view} · ↑↓ selects", key.label()));
        let inner = b.inner(area);
        b.render(area, buf);
        let bars = buckets(hist, inner.height as usize);
        if bars.is_empty() {
            Paragraph::new(Line::styled("nothing in this view yet", dim())).render(inner, buf);
            return;
        }
        let peak = bars.iter().map(|b| b.count).max().unwrap_or(1).max(1);
        // label "1.23ms–4.56ms " | bar | " 12,345"
        let label_w = 16usize;
        let count_w = 9usize;
        let bar_w = (inner.width as usize).saturating_sub(label_w + count_w).max(1);
        let lines: Vec<Line> = bars
            .iter()
            .map(|b| {
                let label = format!("{:>7}–{:<7}", fmt_us(b.low), fmt_us(b.high));
                let eighths = (b.count as u128 * bar_w as u128 * 8 / peak as u128) as usize;
                let mut bar = "█".repeat(eighths / 8);
                const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
                bar.push_str(PARTS[eighths % 8]);
                if b.count > 0 && bar.is_empty() {
                    bar.push('▏');
                }
                Line::from(vec![
                    Span::styled(format!("{label:<label_w$}"), dim()),
                    Span::styled(format!("{bar:<bar_w$}"), Style::new().fg(Color::Cyan)),
                    Span::raw(format!("{:>count_w$}", fmt_count(b.count))),
                ])
            })
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }
}
