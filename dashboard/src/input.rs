//! Keys → intents. Each key calls one small method of [`App`]; the ones
//! that need the HTTP API hand back a [`Command`] for the worker.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::{App, Command};

/// The key list, as the footer (short) and the help overlay (long) show
/// it: (keys, short, long, whether they need the control plane).
pub const KEYS: &[(&str, &str, &str, bool)] = &[
    ("i", "inject", "inject with the settings shown (POST /packets)", false),
    ("q", "quit", "quit", false),
    ("t/T", "ttl", "ttl up / down (0, 1, 10, 100 … 1,000,000)", false),
    ("c/C", "chaos%", "packet chaos up / down by 5%", false),
    ("o", "route", "route: default / special", false),
    ("n/N", "count", "packets per injection up / down", false),
    ("x", "trace", "trace on / off (hop events + OTLP spans)", false),
    ("←→", "host", "select host (tab too)", false),
    ("↑↓", "edge", "select edge or series", false),
    ("w", "view", "view: last N seconds / whole run", false),
    ("e", "exp", "run an experiment file (scenarios/*.toml)", false),
    ("g", "chart", "chart ⇄ histogram where they share a place", false),
    ("r", "reset", "reset the window", false),
    ("p", "pause", "pause / resume the hop log", false),
    ("?", "help", "this help", false),
    ("k/K", "trap±10%", "selected host: trap +10% / -10%", true),
    ("d/D", "delay±5ms", "selected host: delay +5 / -5 ms", true),
    ("j/J", "jitter±1ms", "selected host: jitter +1 / -1 ms", true),
    ("l/L", "drop±5%", "selected host: drop +5% / -5%", true),
    ("s", "down/up", "selected host: down for 10 s / back up", true),
    ("z", "clear", "selected host: clear all chaos", true),
];

/// Apply one key press; returns work for the HTTP worker, if any.
pub fn handle(app: &mut App, key: KeyEvent) -> Option<Command> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        if matches!(key.code, KeyCode::Char('c') | KeyCode::Char('d')) {
            app.request_quit();
        }
        return None;
    }
    if app.picker.is_some() {
        // The experiment popup has the keys until it closes.
        match key.code {
            KeyCode::Down | KeyCode::Tab => app.picker_next(),
            KeyCode::Up | KeyCode::BackTab => app.picker_prev(),
            KeyCode::Enter => return app.pick_experiment(),
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('e') => app.close_picker(),
            _ => {}
        }
        return None;
    }
    if app.show_help && !matches!(key.code, KeyCode::Char('q')) {
        // Any key closes the help overlay.
        app.toggle_help();
        return None;
    }
    match key.code {
        KeyCode::Char('q') | KeyCode::Esc => app.request_quit(),
        KeyCode::Char('i') => return Some(app.inject()),
        KeyCode::Char('t') | KeyCode::Char('+') => app.raise_ttl(),
        KeyCode::Char('T') | KeyCode::Char('-') => app.lower_ttl(),
        KeyCode::Char('c') => app.raise_chaos(),
        KeyCode::Char('C') => app.lower_chaos(),
        KeyCode::Char('o') => app.toggle_route(),
        KeyCode::Char('n') => app.raise_count(),
        KeyCode::Char('N') => app.lower_count(),
        KeyCode::Char('x') => app.toggle_trace(),
        KeyCode::Right | KeyCode::Tab => app.next_host(),
        KeyCode::Left | KeyCode::BackTab => app.prev_host(),
        KeyCode::Down => app.next_row(),
        KeyCode::Up => app.prev_row(),
        KeyCode::Char('w') => app.toggle_view(),
        KeyCode::Char('g') => app.toggle_chart(),
        KeyCode::Char('e') => app.open_picker(),
        KeyCode::Char('r') => app.reset_window(),
        KeyCode::Char('p') | KeyCode::Char(' ') => app.toggle_pause(),
        KeyCode::Char('?') | KeyCode::Char('h') => app.toggle_help(),
        KeyCode::Char('k') => return app.raise_trap(),
        KeyCode::Char('K') => return app.lower_trap(),
        KeyCode::Char('d') => return app.raise_delay(),
        KeyCode::Char('D') => return app.lower_delay(),
        KeyCode::Char('j') => return app.raise_jitter(),
        KeyCode::Char('J') => return app.lower_jitter(),
        KeyCode::Char('l') => return app.raise_drop(),
        KeyCode::Char('L') => return app.lower_drop(),
        KeyCode::Char('s') => return app.toggle_down(),
        KeyCode::Char('z') => return app.clear_chaos(),
        _ => {}
    }
    None
}
