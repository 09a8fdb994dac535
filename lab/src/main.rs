//! `lwc-lab FILE [--out DIR]`: see `lwc_lab::cli`.

fn main() -> std::process::ExitCode {
    lwc_lab::cli::main()
}
