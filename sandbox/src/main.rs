//! The `mto-sandbox` binary: all logic is in the library (`mto_sandbox::cli`).

fn main() -> std::process::ExitCode {
    mto_sandbox::cli::main()
}
