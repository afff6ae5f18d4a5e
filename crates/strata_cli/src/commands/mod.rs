//! One module per command; each loads what it needs from the engine and
//! hands results to the printer.

mod adopt;
mod backup;
mod doctor;
mod history;
mod init;
mod lint;
mod list;
mod new;
mod plan;
mod status;
mod tasks;
mod validate;
mod verify;
mod work;

use crate::args::{BackupAction, Cli, Command, Format, Global, LockModeArg, Locking};
use crate::printer::Printer;
use std::process::ExitCode;
use strata_engine::{Engine, LoadOptions};

pub async fn run(cli: &Cli, printer: &Printer) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    if g.format == Format::Github && !matches!(cli.command, Command::Lint { .. }) {
        anyhow::bail!("--format github is for `strata lint`; use human or json here");
    }
    match &cli.command {
        Command::Init => init::run(g.database_url.as_deref(), printer),
        Command::New { name, up, down } => {
            new::run(&load(g)?, name, up.as_deref(), down.is_some(), printer)
        }
        Command::List { source } => {
            let mut g = g.clone();
            g.source = source.clone().or(g.source);
            list::run(&load(&g)?, printer)
        }
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
        Command::Lint {
            explain: Some(rule),
            ..
        } => lint::explain(Some(rule.as_str()).filter(|r| !r.is_empty()), printer),
        Command::Lint { paths, .. } => {
            let pending_only = paths.is_empty() && (g.env.is_some() || g.database_url.is_some());
            lint::run(&load(g)?, paths, pending_only, printer).await
        }
        Command::Backup { action: None } => backup::create(&load(g)?, printer).await,
        Command::Backup {
            action: Some(BackupAction::Verify { id }),
        } => backup::verify(&load(g)?, id, printer).await,
        Command::Backups => backup::list(&load(g)?, printer),
        Command::Restore {
            id,
            approve,
            yes,
            locking,
        } => {
            let engine = load_locking(g, Some(locking))?;
            let terminate = locking.terminate_stale.then_some(*yes);
            backup::restore(&engine, id, approve.as_deref(), *yes, terminate, printer).await
        }
        Command::Doctor => doctor::run(&load(g)?, printer).await,
        Command::Tasks => tasks::list(&load(g)?, printer).await,
        Command::Run {
            task,
            args,
            approve,
            yes,
            locking,
        } => {
            let engine = load_locking(g, Some(locking))?;
            let request = strata_engine::TaskRequest {
                task: task.clone(),
                args: args.clone(),
                approve: approve.clone(),
                yes: *yes,
                terminate: locking.terminate_stale.then_some(*yes),
            };
            tasks::run(&engine, &request, printer).await
        }
        Command::Adopt {
            from,
            dry_run,
            keep_foreign_history,
            locking,
        } => {
            let engine = load_locking(g, Some(locking))?;
            adopt::run(&engine, from, *dry_run, *keep_foreign_history, printer).await
        }
        work_command => work::run(g, work_command, printer).await,
    }
}

fn load(g: &Global) -> anyhow::Result<Engine> {
    load_locking(g, None)
}

/// The engine, for a command that takes the migration lock as `locking`
/// says.
pub(crate) fn load_locking(g: &Global, locking: Option<&Locking>) -> anyhow::Result<Engine> {
    Ok(Engine::load(&LoadOptions {
        config: g.config.clone(),
        cwd: None,
        env: g.env.clone(),
        database_url: g.database_url.clone(),
        source: g.source.clone(),
        lock_wait: locking.and_then(|l| l.lock_timeout),
        lease_lock: locking.is_some_and(|l| l.lock_mode == Some(LockModeArg::Lease)),
    })?)
}
