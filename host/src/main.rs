//! The `host` binary: parse the command line, run it, map the outcome to an
//! exit code (0 on success or a closed stdout, 2 with one `error: …` line
//! otherwise).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv = match host::pipeline_file::expand(std::env::args_os().collect()) {
        Ok(argv) => argv,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    let cli = host::cli::Cli::parse_from(argv);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match host::commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        // `host … | head`: the reader has what it wanted.
        Err(err)
            if err
                .downcast_ref::<host::sink::console::ClosedStdout>()
                .is_some() =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
