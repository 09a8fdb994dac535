//! `lwc`: parse the flags and hand them to [`lwc_cli::run`].

use clap::Parser;

fn main() {
    let cli = lwc_cli::args::Cli::parse();
    match lwc_cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("lwc: error: {e:#}");
            std::process::exit(1);
        }
    }
}
