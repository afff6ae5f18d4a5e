//! The `strata` binary: parses arguments, runs a command on the engine,
//! prints through the printer. Nothing else writes to the terminal.

mod args;
mod commands;
mod printer;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let printer = printer::Printer::new(&cli.global);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(&anyhow::Error::new(e).context("cannot start the async runtime"));
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::run(&cli, &printer)) {
        Ok(code) => code,
        Err(e) => {
            printer.error(&e);
            ExitCode::from(2)
        }
    }
}
