//! One module per command; each loads what it needs from the engine and
//! hands results to the printer.

mod adopt;
mod doctor;
mod history;
mod init;
mod list;
mod new;
mod plan;
mod status;
mod validate;
mod verify;
mod work;

use crate::args::{Cli, Command, Global, LockModeArg};
use crate::printer::Printer;
use std::process::ExitCode;
use strata_engine::{Engine, LoadOptions};

pub async fn run(cli: &Cli, printer: &Printer) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match &cli.command {
        Command::Init => init::run(printer),
        Command::New { name } => new::run(&load(g)?, name, printer),
        Command::List => list::run(&load(g)?, printer),
        Command::Status { check } => status::run(&load(g)?, *check, printer).await,
        Command::Plan(args) => plan::run(&load(g)?, args, printer).await,
        Command::History { limit } => history::run(&load(g)?, *limit, printer).await,
        Command::Validate => {
            let with_database = g.env.is_some() || g.database_url.is_some();
            validate::run(&load(g)?, with_database, printer).await
        }
        Command::Verify { migration } => {
            verify::run(&load(g)?, migration.as_deref(), printer).await
        }
        Command::Doctor => doctor::run(&load(g)?, printer).await,
        Command::Adopt {
            from,
            dry_run,
            keep_foreign_history,
        } => adopt::run(&load(g)?, from, *dry_run, *keep_foreign_history, printer).await,
        work_command => work::run(&load(g)?, work_command, g, printer).await,
    }
}

fn load(g: &Global) -> anyhow::Result<Engine> {
    Ok(Engine::load(&LoadOptions {
        config: g.config.clone(),
        cwd: None,
        env: g.env.clone(),
        database_url: g.database_url.clone(),
        source: g.source.clone(),
        lock_wait: g.lock_timeout,
        lease_lock: g.lock_mode == Some(LockModeArg::Lease),
    })?)
}
