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
    if config.test_clock_shift_ms != 0 {
        lwc_wire::shift_clock_ms(config.test_clock_shift_ms);
    }
    // The lattice (NATS in/out, acks, retries) gets one thread when guests
    // have threads of their own (see `runtime::Runtime::guests`). Every
    // host of a process runs on this runtime (`lwc_host::process`).
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
    let signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lwc-host: error: cannot watch for signals: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match lwc_host::run(config, signals.first_then_exit()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lwc-host: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// SIGTERM and SIGINT (Ctrl-C), watched from the start: a signal that comes
/// while the host starts is acted on once it is up.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The number of the next signal.
    async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = self.term.recv() => libc_signal::TERM,
            _ = self.int.recv() => libc_signal::INT,
        }
    }

    /// Resolves on the first signal (the host drains); the next one exits
    /// the process at once, with 128 + its number as a shell reports it.
    async fn first_then_exit(mut self) {
        let first = self.next().await;
        tracing::info!("signal {first}: draining (another signal exits at once)");
        tokio::spawn(async move {
            let second = self.next().await;
            eprintln!("lwc-host: signal {second} while draining: exiting at once");
            std::process::exit(128 + second);
        });
    }
}

/// Signal numbers (Linux), without a libc dependency for two constants.
mod libc_signal {
    pub const INT: i32 = 2;
    pub const TERM: i32 = 15;
}
