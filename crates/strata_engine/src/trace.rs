//! Events as `tracing` events, for a run log: what a subscriber (the CLI's
//! `--log-file`, or a program's own) records of a run. Every event carries
//! its kind; a migration's carry `migration`, `action` and `duration_ms`.
//! Messages pass through [`hide_secrets`] first.

use crate::events::{Event, Reporter, StepInfo};
pub use strata_driver::hide_secrets;
use strata_plan::Plan;

/// A reporter that traces each event before handing it on.
pub struct Traced<R>(pub R);

impl<R: Reporter> Reporter for Traced<R> {
    fn event(&self, event: &Event) {
        trace(event);
        self.0.event(event);
    }

    fn confirm(&self, plan: &Plan, environment: &str) -> bool {
        self.0.confirm(plan, environment)
    }
}

fn migration(step: &StepInfo) -> String {
    format!("{}/{} {}", step.source, step.version, step.name)
}

/// A migration's event at `level`: its `event` name, the migration named
/// whole and by source and version, then the event's own fields.
macro_rules! step_event {
    ($level:ident, $step:expr, $event:literal, $message:literal, $($field:tt)*) => {
        tracing::$level!(
            target: "strata",
            event = $event,
            migration = migration($step),
            source = $step.source,
            version = $step.version,
            $($field)*,
            $message
        )
    };
}

/// Emits `event` as a `tracing` event (target `strata`): failures at
/// error, warnings and waits at warn, the rest at info.
pub fn trace(event: &Event) {
    const T: &str = "strata";
    match event {
        Event::Started {
            command,
            database,
            environment,
            plan_hash,
            steps,
        } => {
            tracing::info!(target: T, event = "started", command, database, environment = environment.as_deref().unwrap_or(""), plan_hash, steps, "{command} started: {steps} step(s)")
        }
        Event::Warning { message } => {
            let message = hide_secrets(message);
            tracing::warn!(target: T, event = "warning", "{message}")
        }
        Event::LockWaiting { holder } => {
            tracing::warn!(target: T, event = "lock_waiting", holder = %holder, "waiting for the migration lock")
        }
        Event::LockAcquired { waited_ms } => {
            tracing::info!(target: T, event = "lock_acquired", duration_ms = waited_ms, "lock acquired")
        }
        Event::Reset { dropped } => {
            tracing::info!(target: T, event = "reset", dropped = dropped.len(), "schema reset")
        }
        Event::Blocked {
            migration,
            sessions,
        } => {
            let sessions = hide_secrets(
                &sessions
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            tracing::warn!(target: T, event = "blocked", migration, sessions, "a statement waits for other sessions' locks")
        }
        Event::HookFinished {
            hook,
            run,
            duration_ms,
        } => tracing::info!(target: T, event = "hook_finished", hook, run, duration_ms, "hook ran"),
        Event::BackedUp { id, file, size } => {
            tracing::info!(target: T, event = "backed_up", id, file, size, "backup taken")
        }
        Event::MigrationStarted { step, index, total } => step_event!(
            info,
            step,
            "migration_started",
            "migration started",
            action = step.action.as_str(),
            index,
            total
        ),
        Event::MigrationFinished {
            step, duration_ms, ..
        } => step_event!(
            info,
            step,
            "migration_finished",
            "migration finished",
            action = step.action.as_str(),
            duration_ms
        ),
        Event::MigrationSkipped { step, reason, .. } => step_event!(
            info,
            step,
            "migration_skipped",
            "migration skipped",
            action = step.action.as_str(),
            reason
        ),
        Event::Resuming {
            step,
            completed,
            total,
            ..
        } => step_event!(
            info,
            step,
            "resuming",
            "migration resumed",
            completed,
            total
        ),
        Event::MigrationFailed {
            step,
            duration_ms,
            error,
            location,
        } => {
            let error = hide_secrets(error);
            step_event!(
                error,
                step,
                "migration_failed",
                "migration failed",
                action = step.action.as_str(),
                duration_ms,
                location = location.as_deref().unwrap_or(""),
                error
            )
        }
        Event::Finished {
            applied,
            reverted,
            recorded,
            failed,
            skipped,
            dry_run,
            duration_ms,
        } => tracing::info!(
            target: T,
            event = "finished",
            applied,
            reverted,
            recorded,
            failed,
            skipped,
            dry_run,
            duration_ms,
            "run finished"
        ),
    }
}

/// Traces a command that ended in an error, whatever stopped it (a
/// refusal, the lock, the connection, a migration): level ERROR, event
/// `failed`.
pub fn failed(
    command: &str,
    environment: Option<&str>,
    database: &str,
    error: &dyn std::fmt::Display,
) {
    let error = hide_secrets(&error.to_string());
    tracing::error!(
        target: "strata",
        event = "failed",
        command,
        environment = environment.unwrap_or(""),
        database,
        error,
        "{command} failed"
    );
}

/// Traces, at debug level, a statement about to be sent for `migration`
/// (with its file line), on one line, at most 500 characters, with
/// passwords hidden.
pub(crate) fn statement(id: &strata_model::MigrationId, name: &str, line: usize, sql: &str) {
    if !tracing::enabled!(target: "strata::statement", tracing::Level::DEBUG) {
        return;
    }
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = match flat.char_indices().nth(500) {
        Some((i, _)) => format!("{}...", &flat[..i]),
        None => flat,
    };
    let statement = hide_secrets(&flat);
    tracing::debug!(
        target: "strata::statement",
        event = "statement",
        migration = format!("{id} {name}"),
        source = id.source,
        version = %id.version,
        line,
        statement,
        "statement"
    );
}
