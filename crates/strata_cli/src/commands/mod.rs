//! One module per command; each loads what it needs from the engine and
//! hands results to the printer.

mod adopt;
mod backup;
mod doctor;
mod generate;
mod history;
mod init;
mod lint;
mod list;
mod new;
mod plan;
mod schema;
mod squash;
mod status;
mod tasks;
mod test;
mod validate;
mod verify;
mod work;

use crate::args::{BackupAction, Cli, Command, Format, Global, LockModeArg, Locking};
use crate::printer::{BOLD, Printer};
use std::process::ExitCode;
use strata_engine::{Engine, LoadOptions};

pub async fn run(cli: &Cli, printer: &Printer) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    if g.format == Format::Github
        && !matches!(
            cli.command,
            Command::Lint { .. } | Command::Validate | Command::Plan(_) | Command::Up { .. }
        )
    {
        anyhow::bail!(
            "--format github is for `strata lint`, `validate`, `plan` and `up`; use human or json here"
        );
    }
    match databases(cli)? {
        Databases::One(db) => {
            let g = Global {
                database: db.or(g.database.clone()),
                ..g.clone()
            };
            dispatch(&cli.command, &g, printer).await
        }
        Databases::Each(names) => {
            // One database after another, in order; a failure stops the
            // rest (a later database may depend on it).
            let mut code = ExitCode::SUCCESS;
            for (i, name) in names.iter().enumerate() {
                if !printer.is_json() {
                    if i > 0 {
                        printer.line("");
                    }
                    printer.line(format!(
                        "{}database {name}{}",
                        BOLD.render(),
                        BOLD.render_reset()
                    ));
                }
                let g = Global {
                    database: Some(name.clone()),
                    ..g.clone()
                };
                printer.for_database(Some(name.clone()));
                let done = dispatch(&cli.command, &g, printer).await?;
                if done != ExitCode::SUCCESS {
                    code = done;
                }
            }
            Ok(code)
        }
    }
}

/// Which databases a command runs on, in an environment with several.
enum Databases {
    /// One: `--database`, the one a named source or migration is in, or
    /// none to choose (a single-database environment).
    One(Option<String>),
    /// Each in turn, in dependency order.
    Each(Vec<String>),
}

fn databases(cli: &Cli) -> anyhow::Result<Databases> {
    let g = &cli.global;
    if g.database.is_some() || g.source.is_some() {
        return Ok(Databases::One(None));
    }
    // A migration or task named `SOURCE/NAME` is in its source's database.
    let named = match &cli.command {
        Command::Down { target, .. } => target.migration.as_deref(),
        Command::Redo { migration, .. }
        | Command::Repair { migration, .. }
        | Command::Verify { migration, .. } => migration.as_deref(),
        Command::Baseline { target, .. } => Some(target.as_str()),
        Command::Up { up, .. } | Command::Plan(up) => up.only.as_deref().or(up.to.as_deref()),
        Command::Run { task, .. } => Some(task.as_str()),
        _ => None,
    };
    let each = matches!(
        cli.command,
        Command::Status { .. }
            | Command::Plan(_)
            | Command::Up { .. }
            | Command::History { .. }
            | Command::Verify { .. }
            | Command::Doctor { .. }
            | Command::Check { .. }
            | Command::Tasks
            | Command::Backup { action: None }
    ) || matches!(cli.command, Command::Validate | Command::Lint { .. } if g.env.is_some());
    if named.is_none() && !each {
        return Ok(Databases::One(None));
    }
    let engine = load(g)?;
    if !engine.env.is_multi() {
        return Ok(Databases::One(None));
    }
    if let Some(named) = named {
        return Ok(Databases::One(engine.database_of(named)));
    }
    let names = engine.env.database_names().join(", ");
    if g.database_url.is_some() {
        anyhow::bail!(
            "--database-url stands for one database, and this environment has several ({names}): name it with --database NAME"
        );
    }
    if let Command::Up { approval, .. } = &cli.command
        && approval.approve.is_some()
    {
        anyhow::bail!(
            "this environment has several databases ({names}), each with its own plan and hash: approve them one at a time, with --database NAME --approve HASH (`strata plan` shows each)"
        );
    }
    Ok(Databases::Each(engine.database_order()?))
}

async fn dispatch(command: &Command, g: &Global, printer: &Printer) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init => init::run(g.database_url.as_deref(), printer),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(
                *shell,
                &mut crate::args::Cli::command(),
                "strata",
                &mut script,
            );
            write_out(&script)
        }
        Command::Man { dir } => man(dir.as_deref(), printer),
        Command::New { name, up, down } => {
            new::run(&load(g)?, name, up.as_deref(), down.is_some(), printer)
        }
        Command::List { source } => {
            let g = Global {
                source: source.clone().or(g.source.clone()),
                ..g.clone()
            };
            list::run(&load(&g)?, printer)
        }
        Command::Status { check } => status::run(&load(g)?, *check, printer).await,
        Command::Plan(args) => plan::run(&load(g)?, args, printer).await,
        Command::History { limit } => history::run(&load(g)?, *limit, printer).await,
        Command::Schema { action } => schema::run(g, action, printer).await,
        Command::Drift { scratch_url } => {
            let mut engine = load(g)?;
            if let Some(url) = scratch_url {
                engine.use_scratch_url(url.clone());
            }
            schema::drift(&engine, printer).await
        }
        Command::Validate => {
            let with_database = g.env.is_some() || g.database_url.is_some();
            validate::run(&load(g)?, with_database, printer).await
        }
        Command::Squash {
            to,
            name,
            drop_data,
            check_env,
            undo,
            scratch_url,
        } => {
            let mut engine = load(g)?;
            if let Some(url) = scratch_url {
                engine.use_scratch_url(url.clone());
            }
            match to {
                Some(to) if !undo => {
                    let against = match check_env {
                        Some(env) => Some(squash::against(g, env, to).await?),
                        None => None,
                    };
                    let options = strata_engine::SquashOptions {
                        to: to.clone(),
                        name: new::slug(name)?,
                        drop_data: *drop_data,
                        against,
                    };
                    squash::run(&engine, &options, printer).await
                }
                _ => squash::undo(&engine, printer),
            }
        }
        Command::Generate {
            name,
            from,
            scratch_url,
        } => generate::run(g, name, from, scratch_url.as_deref(), printer).await,
        Command::Test {
            from,
            only_pending,
            allow_irreversible,
            junit,
            scratch_url,
        } => {
            let mut engine = load(g)?;
            if let Some(url) = scratch_url {
                engine.use_scratch_url(url.clone());
            }
            let options = strata_engine::TestOptions {
                from: from.clone(),
                only_pending: *only_pending,
                allow_irreversible: *allow_irreversible,
            };
            test::run(&engine, &options, junit.as_deref(), printer).await
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
            action: Some(BackupAction::Verify { id, identity }),
        } => backup::verify(&load(g)?, id, identity.as_deref(), printer).await,
        Command::Backups => backup::list(&load(g)?, printer),
        Command::Restore {
            id,
            approve,
            yes,
            identity,
            locking,
        } => {
            let engine = load_locking(g, Some(locking))?;
            let terminate = locking.terminate_stale.then_some(*yes);
            let consent = backup::Consent {
                approve: approve.as_deref(),
                yes: *yes,
                terminate,
            };
            backup::restore(&engine, id, identity.as_deref(), consent, printer).await
        }
        Command::Doctor {
            integrity,
            integrity_options,
        } => {
            let integrity = integrity.then(|| integrity_options.options());
            doctor::run(&load(g)?, integrity.as_ref(), printer).await
        }
        Command::Check { integrity_options } => {
            let engine = load(g)?;
            existing_sqlite(&engine)?;
            doctor::check(&engine, &integrity_options.options(), printer).await
        }
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
                live: !printer.is_json(),
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
    let engine = Engine::load(&LoadOptions {
        config: g.config.clone(),
        cwd: None,
        env: g.env.clone(),
        database_url: g.database_url.clone(),
        source: g.source.clone(),
        lock_wait: locking.and_then(|l| l.lock_timeout),
        lease_lock: locking.is_some_and(|l| l.lock_mode == Some(LockModeArg::Lease)),
        database: g.database.clone(),
        embedded: false,
    })?;
    // The run log is for the commands that change the database (they
    // take the lock); reading commands neither need nor create it.
    if let Some(settings) = engine
        .log_settings(g.log_file.as_deref())
        .filter(|_| locking.is_some())
    {
        crate::logging::open(&settings)?;
    }
    Ok(engine)
}

/// Refuses a SQLite database file that is not there, for a command that
/// only reads: opening it would make an empty one and read nothing.
fn existing_sqlite(engine: &Engine) -> anyhow::Result<()> {
    if let Ok(strata_engine::DatabaseTarget::Sqlite { path, .. }) = engine.database()
        && path != ":memory:"
        && !std::path::Path::new(path).exists()
    {
        anyhow::bail!("there is no SQLite database at {path}");
    }
    Ok(())
}

/// `strata man`: the page of strata to stdout, or a page per command
/// written to `dir`.
fn man(dir: Option<&std::path::Path>, printer: &Printer) -> anyhow::Result<ExitCode> {
    use clap::CommandFactory;
    let command = crate::args::Cli::command();
    match dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            return write_out(&page);
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .map_err(|e| anyhow::anyhow!("cannot write the pages to {}: {e}", dir.display()))?;
            let pages = std::fs::read_dir(dir)
                .map(|d| d.count())
                .unwrap_or_default();
            printer.summary(format!(
                "wrote {pages} manual page(s) to {} (`man -l {}/strata.1`; or copy them to a man1 directory)",
                dir.display(),
                dir.display()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a command's product to stdout; a reader that stopped reading
/// (`| head`) is no error.
fn write_out(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}
