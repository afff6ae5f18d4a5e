//! The `strata` command line: parses arguments, runs a command on the
//! engine, prints through the printer. Nothing else writes to the terminal.
//! The `strata` binary is [`main`]; a program can offer the same commands
//! (`myapp migrate up`) through [`main_from`].

mod args;
mod commands;
mod logging;
mod metrics;
mod output;
mod printer;

use clap::Parser;
use clap::error::ErrorKind;
use std::ffi::OsString;
use std::process::ExitCode;

/// Runs `strata` with the process's arguments and returns its exit status.
pub fn main() -> ExitCode {
    main_from(std::env::args_os())
}

/// Runs `strata` with `args` (the first is the program's name, as in
/// `std::env::args_os()`), printing as the command does, and returns its
/// exit status. It starts a Tokio runtime of its own: call it outside one.
/// Ctrl-C and SIGTERM are handled as the command handles them.
pub fn main_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match args::Cli::try_parse_from(&args) {
        Ok(cli) => cli.without_empty_settings(),
        Err(e) => return usage_error(e, &args),
    };
    let printer = printer::Printer::new(&cli.global);
    logging::install(cli.global.verbose);
    // One worker thread beside the main one: the Ctrl-C listener runs there
    // even while the main thread waits for a typed confirmation.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(&anyhow::Error::new(e).context("cannot start the async runtime"));
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(async {
        tokio::spawn(on_ctrl_c());
        #[cfg(unix)]
        tokio::spawn(on_sigterm());
        let done = commands::run(&cli, &printer).await;
        if strata_engine::stopping() {
            // The signal's handler is removing scratch databases (which
            // may have failed this work): it ends the process when done.
            std::future::pending::<()>().await;
        }
        done
    }) {
        Ok(code) => code,
        Err(e) => {
            printer.error(&e);
            ExitCode::from(2)
        }
    }
}

/// Ctrl-C stops strata as usual (the server rolls back what was in
/// flight; history says what was interrupted), except while a script
/// migration runs: that runs in a process group of its own, so strata ends
/// the group and records the migration as failed before stopping.
async fn on_ctrl_c() {
    while tokio::signal::ctrl_c().await.is_ok() {
        if !strata_engine::interrupt_scripts("Ctrl-C") {
            strata_engine::remove_scratch_databases().await;
            std::process::exit(130);
        }
    }
}

/// SIGTERM (a CI job cancelled, a service stopped) is treated as Ctrl-C:
/// a running script is not left behind unwatched.
#[cfg(unix)]
async fn on_sigterm() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return;
    };
    while term.recv().await.is_some() {
        if !strata_engine::interrupt_scripts("SIGTERM") {
            strata_engine::remove_scratch_databases().await;
            std::process::exit(143);
        }
    }
}

/// Bad arguments: clap's message, or with `--format json` the same as a
/// JSON error line; exit 2 (help and version exit 0).
fn usage_error(e: clap::Error, args: &[OsString]) -> ExitCode {
    let json = args
        .windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--format=json");
    if json && !matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        printer::usage_error_json(&e.render().to_string());
        return ExitCode::from(2);
    }
    e.exit()
}
