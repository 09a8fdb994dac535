//! `lwc-host` binary: flags, logging, signals; the work is in [`lwc_host::run`].

use clap::Parser;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

// The lattice (NATS in/out, acks, retries) runs here on one thread; guests
// run on a runtime of their own (see `runtime::Runtime::guests`).
#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::process::ExitCode {
    let config = lwc_host::config::Config::parse();
    // Guest (wasi:logging) info lines come once per hop: off unless asked for.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,guest=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Logs usually go to .lwc/logs/*.log: colour only on a terminal.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match lwc_host::run(config, shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lwc-host: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
