use crate::args::Command;
use crate::commands::plan::up_options;
use crate::printer::Printer;
use std::process::ExitCode;
use strata_engine::RepairOptions;
use strata_engine::{DownTarget, EngineError, Request, RequestKind};

/// Commands that change the database: up, down, redo, repair, baseline,
/// fresh. They all run through the engine's one executor.
pub async fn run(
    g: &crate::args::Global,
    command: &Command,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let (kind, approval, locking) = match command {
        Command::Up {
            up,
            approval,
            locking,
            ..
        } => (RequestKind::Up(up_options(up)), approval, locking),
        Command::Down {
            target,
            approval,
            locking,
            cascade,
            ..
        } => {
            let t = if let Some(m) = &target.migration {
                DownTarget::Only {
                    target: m.clone(),
                    cascade: *cascade,
                }
            } else if let Some(n) = target.steps {
                DownTarget::Steps(n)
            } else if let Some(v) = &target.to {
                DownTarget::To(v.clone())
            } else if let Some(b) = target.batch {
                DownTarget::Batch(b)
            } else if target.all {
                DownTarget::All
            } else {
                DownTarget::LastBatch
            };
            (RequestKind::Down(t), approval, locking)
        }
        Command::Redo {
            migration,
            approval,
            locking,
        } => (RequestKind::Redo(migration.clone()), approval, locking),
        Command::Repair {
            migration,
            forget,
            statement,
            done,
            not_done,
            approval,
            locking,
        } => (
            RequestKind::Repair(RepairOptions {
                only: migration.clone(),
                forget: *forget,
                statement: statement.map(|n| (n, *done && !*not_done)),
            }),
            approval,
            locking,
        ),
        Command::Baseline {
            target,
            all_sources,
            approval,
            locking,
        } => (
            RequestKind::Baseline {
                to: target.clone(),
                all_sources: *all_sources,
            },
            approval,
            locking,
        ),
        Command::Fresh { approval, locking } => (RequestKind::Fresh, approval, locking),
        other => unreachable!("{other:?} is not a work command"),
    };
    let dry_run = matches!(
        command,
        Command::Up { dry_run: true, .. } | Command::Down { dry_run: true, .. }
    );
    let restart = matches!(command, Command::Up { restart: true, .. });
    let engine = &crate::commands::load_locking(g, Some(locking))?;
    let request = Request {
        kind,
        approve: approval.approve.clone(),
        yes: approval.yes,
        dry_run,
        allow_destructive: approval.allow_destructive,
        restart,
        terminate_stale: locking.terminate_stale,
    };
    let reporter = crate::metrics::Collector::new(printer.reporter());
    let started = std::time::Instant::now();
    let result = engine.run(&request, &reporter).await;
    if let Some(path) = engine.metrics_file(g.metrics_file.as_deref())
        && !dry_run
    {
        // Not applied after the run (pending, failed or reverted); not
        // counted when the database is gone.
        let pending = match &result {
            Err(EngineError::Driver(_)) => None,
            _ => engine.status().await.ok().map(|(entries, _)| {
                entries
                    .iter()
                    .filter(|e| {
                        use strata_engine::MigrationState::{Failed, Pending, Reverted};
                        matches!(e.state, Pending | Failed | Reverted)
                    })
                    .count()
            }),
        };
        let outcome = crate::metrics::Outcome {
            environment: engine.env_name.as_deref(),
            database: engine.database_name.as_deref(),
            success: result.is_ok(),
            duration: started.elapsed(),
            pending,
        };
        if let Err(e) = crate::metrics::write(&path, &reporter, &outcome) {
            // What the run did stands; the metrics are told missing.
            printer.warning(e);
        }
    }
    match result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            if printer.format == crate::args::Format::Github {
                printer.annotate(crate::printer::github::error_annotations(
                    engine.root(),
                    request.command(),
                    &e,
                ));
            }
            if let EngineError::MigrationFailed {
                location: Some(loc),
                ..
            } = &e
                && let Some((path, line)) = loc.rsplit_once(':')
                && let Ok(line) = line.parse()
            {
                // Never lines of a file outside the project (a migration
                // reached through a symbolic link with follow_symlinks).
                let file = engine.root().join(path);
                let inside = match (file.canonicalize(), engine.root().canonicalize()) {
                    (Ok(f), Ok(root)) => f.starts_with(root),
                    _ => false,
                };
                if inside {
                    printer.snippet(&file, path, line);
                }
            }
            Err(e.into())
        }
    }
}
