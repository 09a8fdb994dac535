//! `lwc-host` binary: flags, logging, signals; the work is in [`lwc_host::run`].

use clap::Parser;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    // wasmtime creates an error value each time a store is dropped; with
    // RUST_BACKTRACE=1 in the environment each would capture a backtrace,
    // once per hop. Library backtraces stay off unless asked for explicitly
    // (panics still print theirs). Set before any thread starts.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    let config = lwc_host::config::Config::parse();
    // The lattice (NATS in/out, acks, retries) gets one thread when guests
    // have threads of their own (see `runtime::Runtime::guests`).
    let lattice_threads = match (config.threads, config.guest_threads()) {
        (0, 0) => std::thread::available_parallelism().map_or(2, |n| n.get()),
        (0, _) => 1,
        (n, _) => usize::from(n),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(lattice_threads)
        .thread_name("lwc-lattice")
        .enable_all()
        .build();
    match runtime {
        Ok(rt) => rt.block_on(serve(config)),
        Err(e) => {
            eprintln!("lwc-host: error: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(config: lwc_host::config::Config) -> std::process::ExitCode {
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
