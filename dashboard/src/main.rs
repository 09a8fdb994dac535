//! `lwc-dash` binary: flags, then [`lwc_dash::run`].

use clap::Parser;
use std::io::Write;

fn main() -> std::process::ExitCode {
    let args = lwc_dash::config::Args::parse();
    let config = match args.into_config() {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "lwc-dash: error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match lwc_dash::run(config) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Not eprintln!: stderr may be a terminal that has gone away.
            let _ = writeln!(std::io::stderr(), "lwc-dash: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
