//! Keys' intents: small methods of [`App`] that change settings, selection
//! and views, or build the [`Command`] a key asks for (inject, chaos,
//! experiments).

use super::*;

impl App {
    pub fn inject(&mut self) -> Command {
        Command::Inject(self.inject.clone())
    }

    pub fn raise_ttl(&mut self) {
        self.inject.ttl = next_step(self.inject.ttl, &TTL_STEPS);
    }

    pub fn lower_ttl(&mut self) {
        self.inject.ttl = prev_step(self.inject.ttl, &TTL_STEPS);
    }

    pub fn raise_count(&mut self) {
        self.inject.count = next_step(u64::from(self.inject.count), &COUNT_STEPS) as u32;
    }

    pub fn lower_count(&mut self) {
        self.inject.count = prev_step(u64::from(self.inject.count), &COUNT_STEPS) as u32;
    }

    pub fn raise_chaos(&mut self) {
        self.inject.chaos = (self.inject.chaos + 5).min(100);
    }

    pub fn lower_chaos(&mut self) {
        self.inject.chaos = self.inject.chaos.saturating_sub(5);
    }

    pub fn toggle_route(&mut self) {
        self.inject.route = if self.inject.route == "default" { "special" } else { "default" }.into();
    }

    pub fn toggle_trace(&mut self) {
        self.inject.trace = !self.inject.trace;
    }

    pub fn next_host(&mut self) {
        self.step_host(1);
    }

    pub fn prev_host(&mut self) {
        self.step_host(-1);
    }

    /// Move the host selection through the hosts in display order.
    fn step_host(&mut self, by: isize) {
        let hosts = self.host_names();
        if hosts.is_empty() {
            return;
        }
        let at = self.selected_host_name().and_then(|s| hosts.iter().position(|h| h == s)).unwrap_or(0);
        let next = (at as isize + by).rem_euclid(hosts.len() as isize) as usize;
        self.selected_host = Some(hosts[next].clone());
    }

    pub fn next_row(&mut self) {
        self.step_row(1);
    }

    pub fn prev_row(&mut self) {
        self.step_row(-1);
    }

    /// Move the series selection through the rows as the table shows them.
    fn step_row(&mut self, by: isize) {
        let rows = self.rows();
        if rows.is_empty() {
            return;
        }
        let current = self.selected_key();
        let at = rows.iter().position(|k| Some(k) == current.as_ref()).unwrap_or(0);
        let next = (at as isize + by).rem_euclid(rows.len() as isize) as usize;
        self.selected_series = Some(rows[next].clone());
    }

    pub fn toggle_view(&mut self) {
        self.view = match self.view {
            View::Window => View::Run,
            View::Run => View::Window,
        };
    }

    pub fn reset_window(&mut self) {
        self.stats.reset_window();
        self.note("window reset", false);
    }

    pub fn toggle_pause(&mut self) {
        self.log.toggle_pause();
    }

    /// The experiment shown, while reports arrive and a little after.
    pub fn lab_status(&self) -> Option<&lab::LabStatus> {
        self.lab.as_ref().map(|(s, _)| s)
    }

    /// `e`: list the project's experiment files.
    pub fn open_picker(&mut self) {
        let Some(root) = lab::find_root() else {
            self.note("experiments: no scenarios/ directory found above here or the binary", true);
            return;
        };
        match lab::Picker::open(&root) {
            Ok(p) => self.picker = Some(p),
            Err(e) => self.note(format!("experiments: {e}"), true),
        }
    }

    pub fn close_picker(&mut self) {
        self.picker = None;
    }

    pub fn picker_next(&mut self) {
        if let Some(p) = &mut self.picker {
            p.next();
        }
    }

    pub fn picker_prev(&mut self) {
        if let Some(p) = &mut self.picker {
            p.prev();
        }
    }

    /// Enter in the popup: run the chosen file.
    pub fn pick_experiment(&mut self) -> Option<Command> {
        let p = self.picker.take()?;
        Some(Command::RunExperiment {
            file: p.chosen(),
            root: p.root,
        })
    }

    pub fn experiment_started(&mut self, result: Result<String, String>) {
        match result {
            Ok(text) => self.note(text, false),
            Err(e) => self.note(format!("experiment: {e}"), true),
        }
    }

    pub fn toggle_chart(&mut self) {
        self.swap_chart = !self.swap_chart;
    }

    pub fn toggle_help(&mut self) {
        self.show_help = !self.show_help;
    }

    pub fn request_quit(&mut self) {
        self.quit = true;
    }

    /// Build a chaos change for the selected host from its current settings,
    /// or say why chaos keys do nothing right now.
    fn chaos_change(&mut self, change: impl FnOnce(&Chaos, &mut ChaosPatch)) -> Option<Command> {
        if !self.chaos_keys_enabled() {
            let why = match &self.plane {
                Plane::Missing(why) => why.clone(),
                _ => "control plane not known yet".into(),
            };
            self.note(format!("chaos keys: {why}"), true);
            return None;
        }
        let Some(host) = self.selected_host_name().map(str::to_string) else {
            self.note("chaos keys: no host has reported yet", true);
            return None;
        };
        let current = self.chaos.get(&host).copied().unwrap_or_default();
        let mut patch = ChaosPatch {
            host,
            ..Default::default()
        };
        change(&current, &mut patch);
        // Show the change at once (and let a quick second key build on it);
        // the API's answer replaces it.
        let mut next = current;
        next.trap = patch.trap.unwrap_or(next.trap);
        next.delay_ms = patch.delay_ms.unwrap_or(next.delay_ms);
        next.jitter_ms = patch.jitter_ms.unwrap_or(next.jitter_ms);
        next.drop = patch.drop.unwrap_or(next.drop);
        next.down_s = patch.down_s.unwrap_or(next.down_s);
        self.chaos.insert(patch.host.clone(), next);
        Some(Command::SetChaos(patch))
    }

    pub fn raise_trap(&mut self) -> Option<Command> {
        self.chaos_change(|c, p| p.trap = Some(c.trap.saturating_add(10).min(100)))
    }

    pub fn lower_trap(&mut self) -> Option<Command> {
        self.chaos_change(|c, p| p.trap = Some(c.trap.saturating_sub(10)))
    }

    pub fn raise_drop(&mut self) -> Option<Command> {
        self.chaos_change(|c, p| p.drop = Some(c.drop.saturating_add(5).min(100)))
    }

    pub fn lower_drop(&mut self) -> Option<Command> {
        self.chaos_change(|c, p| p.drop = Some(c.drop.saturating_sub(5)))
    }

    pub fn raise_delay(&mut self) -> Option<Command> {
        self.chaos_change(|c, p| p.delay_ms = Some(c.delay_ms.saturating_add(5).min(10_000)))
    }

    pub fn lower_delay(&mut self) -> Option<Command> {
        self.chaos_change(|c, p| p.delay_ms = Some(c.delay_ms.saturating_sub(5)))
    }

    pub fn raise_jitter(&mut self) -> Option<Command> {
        self.chaos_change(|c, p| p.jitter_ms = Some(c.jitter_ms.saturating_add(1).min(10_000)))
    }

    pub fn lower_jitter(&mut self) -> Option<Command> {
        self.chaos_change(|c, p| p.jitter_ms = Some(c.jitter_ms.saturating_sub(1)))
    }

    /// Take the host down for 10 s, or bring it back if it is down.
    pub fn toggle_down(&mut self) -> Option<Command> {
        self.chaos_change(|c, p| p.down_s = Some(if c.down_s > 0 { 0 } else { DOWN_S }))
    }

    pub fn clear_chaos(&mut self) -> Option<Command> {
        self.chaos_change(|_, p| {
            p.trap = Some(0);
            p.delay_ms = Some(0);
            p.jitter_ms = Some(0);
            p.drop = Some(0);
            p.down_s = Some(0);
        })
    }
}

/// Seconds of outage the `s` key asks for.
pub const DOWN_S: u32 = 10;

const TTL_STEPS: [u64; 8] = [0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];
const COUNT_STEPS: [u64; 6] = [1, 10, 64, 100, 1_000, 10_000];

fn next_step(v: u64, steps: &[u64]) -> u64 {
    steps.iter().copied().find(|s| *s > v).unwrap_or(steps[steps.len() - 1])
}

fn prev_step(v: u64, steps: &[u64]) -> u64 {
    steps.iter().rev().copied().find(|s| *s < v).unwrap_or(steps[0])
}

