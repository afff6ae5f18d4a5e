//! `strata doctor`: one line per thing that can stand in the way of a
//! migration run (files, connection, privileges, the lock, history, drift,
//! pending work, leftovers of failed index builds), each with the fix.

use crate::schema::SchemaSince;
use crate::{Engine, EngineError};
use strata_driver::{Driver, LockAttempt};
use strata_plan::MigrationState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    Warning,
    Problem,
}

/// One check's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub check: &'static str,
    pub level: Level,
    pub message: String,
    /// What to do about it.
    pub fix: Option<String>,
}

fn check(check: &'static str, level: Level, message: String, fix: Option<&str>) -> Check {
    Check {
        check,
        level,
        message,
        fix: fix.map(str::to_string),
    }
}

impl Engine {
    /// Runs every check; a check that cannot be made (no connection) says
    /// so rather than stopping the others.
    pub async fn doctor(&self) -> Result<Vec<Check>, EngineError> {
        let mut out = Vec::new();
        let found = match self.migrations() {
            Ok(found) => {
                let warnings = found.warnings.len();
                out.push(check(
                    "files",
                    if warnings == 0 {
                        Level::Ok
                    } else {
                        Level::Warning
                    },
                    format!(
                        "{} migration(s) read from {} source(s){}",
                        found.migrations.len(),
                        self.sources().len(),
                        if warnings == 0 {
                            String::new()
                        } else {
                            format!(", {warnings} warning(s)")
                        }
                    ),
                    (warnings > 0).then_some("`strata validate` lists the warnings"),
                ));
                Some(found)
            }
            Err(e) => {
                out.push(check(
                    "files",
                    Level::Problem,
                    e.to_string(),
                    Some("fix the files named above"),
                ));
                None
            }
        };
        let mut driver = match self.connect().await {
            Ok(d) => d,
            Err(e) => {
                out.push(check(
                    "connection",
                    Level::Problem,
                    e.to_string(),
                    Some("check the URL (--database-url, the environment's url) and that the server is up"),
                ));
                return Ok(out);
            }
        };
        match driver.server_version().await {
            Ok(version) => out.push(check(
                "connection",
                Level::Ok,
                format!("connected to {} ({version})", self.database_display()),
                None,
            )),
            Err(e) => out.push(check("connection", Level::Problem, e.to_string(), None)),
        }
        out.push(match driver.can_create().await {
            Ok(true) => check(
                "privileges",
                Level::Ok,
                "can create tables where the migrations run".into(),
                None,
            ),
            Ok(false) => check(
                "privileges",
                Level::Problem,
                "this user cannot create tables in the target schema".into(),
                Some("grant CREATE on the schema (or database) to this user, or connect as its owner"),
            ),
            Err(e) => check("privileges", Level::Warning, format!("could not tell: {e}"), None),
        });
        out.push(lock_check(driver.as_mut(), self).await);
        let on_disk = found.as_ref().map_or(&[][..], |f| &f.migrations[..]);
        let history = match self.history_rows(driver.as_mut(), on_disk).await {
            Ok(h) => h,
            Err(e) => {
                out.push(check(
                    "history",
                    Level::Problem,
                    e.to_string(),
                    Some("fix or delete the row named"),
                ));
                return Ok(out);
            }
        };
        if let Some(found) = &found {
            out.extend(state_checks(&strata_plan::status(
                &found.migrations,
                &history,
            )));
        }
        if self.project.config.project.records_fingerprint() {
            out.push(schema_check(self.schema_since(driver.as_mut()).await));
        }
        match driver.invalid_indexes().await {
            Ok(list) if list.is_empty() => {}
            Ok(list) => out.push(check(
                "indexes",
                Level::Problem,
                format!("INVALID indexes (left by failed concurrent builds): {}", list.join(", ")),
                Some("drop them (DROP INDEX CONCURRENTLY ...) or let `strata up` retry the migration that builds them; it drops its own first"),
            )),
            Err(e) => out.push(check("indexes", Level::Warning, format!("could not tell: {e}"), None)),
        }
        Ok(out)
    }
}

/// Whether the schema is as the last run that changed the database left
/// it.
fn schema_check(since: Result<SchemaSince, EngineError>) -> Check {
    let drift = Some("`strata drift` says what differs from what the migrations build");
    match since {
        Ok(SchemaSince::Unchanged { recorded_at }) => check(
            "schema",
            Level::Ok,
            format!("the schema is as the last migration run left it ({recorded_at})"),
            None,
        ),
        Ok(SchemaSince::Changed { recorded_at }) => check(
            "schema",
            Level::Warning,
            format!("the schema changed since the last migration run ({recorded_at}): something other than strata changed it"),
            drift,
        ),
        Ok(SchemaSince::HistoryMoved { recorded_at }) => check(
            "schema",
            Level::Warning,
            format!("the history changed since the schema's fingerprint was recorded ({recorded_at}), by a run that did not finish or a repair: the fingerprint no longer tells"),
            Some("the next `strata up` that applies a migration records a new one; `strata drift` compares in full now"),
        ),
        Ok(SchemaSince::NotRecorded) => check(
            "schema",
            Level::Ok,
            "no schema fingerprint recorded yet: strata records one after each run that changes the database".into(),
            None,
        ),
        Err(e) => check("schema", Level::Warning, format!("could not tell: {e}"), None),
    }
}

async fn lock_check(driver: &mut dyn Driver, engine: &Engine) -> Check {
    match driver.try_lock(engine.lock_mode).await {
        Ok(LockAttempt::Acquired) => {
            let _ = driver.unlock().await;
            check("lock", Level::Ok, "the migration lock is free".into(), None)
        }
        Ok(LockAttempt::Held(holder)) => check(
            "lock",
            Level::Warning,
            format!("the migration lock is held by {holder}"),
            Some("a run is under way; if that session is stuck, end it on the server"),
        ),
        Err(e) => check("lock", Level::Problem, e.to_string(), None),
    }
}

fn state_checks(entries: &[strata_plan::StatusEntry]) -> Vec<Check> {
    let mut out = Vec::new();
    let of = |state: MigrationState| entries.iter().filter(move |e| e.state == state);
    let mut failed = of(MigrationState::Failed).peekable();
    if failed.peek().is_none() {
        out.push(check(
            "failed",
            Level::Ok,
            "no failed or interrupted migrations".into(),
            None,
        ));
    }
    for e in failed {
        // A status detail is the error, then (for a run that stopped
        // part way) what to do about it.
        let detail = e.detail.as_deref().unwrap_or("failed");
        let (error, advice) = match detail.split_once('\n') {
            Some((error, rest)) if rest.contains("strata up") => (error, Some(rest)),
            // An interrupted run: what happened, then what `up` does.
            _ if detail.starts_with("interrupted") => match detail.split_once("; ") {
                Some((what, rest)) => (what, Some(rest)),
                None => (detail, None),
            },
            _ => (detail.lines().next().unwrap_or(detail), None),
        };
        out.push(Check {
            check: "failed",
            level: Level::Problem,
            message: format!("{} ({}): {error}", e.id, e.name),
            fix: Some(advice.map_or_else(
                || {
                    format!(
                        "fix the migration and run `strata up` again, or `strata repair {}` to clear the attempt",
                        e.id
                    )
                },
                |a| a.lines().last().unwrap_or(a).to_string(),
            )),
        });
    }
    let drifted: Vec<String> = of(MigrationState::Drifted)
        .map(|e| e.id.to_string())
        .collect();
    out.push(if drifted.is_empty() {
        check(
            "drift",
            Level::Ok,
            "applied files are unchanged".into(),
            None,
        )
    } else {
        check(
            "drift",
            Level::Problem,
            format!("edited after they were applied: {}", drifted.join(", ")),
            Some("revert the edits, or `strata repair MIGRATION` to accept them"),
        )
    });
    let missing: Vec<String> = of(MigrationState::Missing)
        .map(|e| e.id.to_string())
        .collect();
    out.push(if missing.is_empty() {
        check(
            "missing",
            Level::Ok,
            "every applied migration has its file".into(),
            None,
        )
    } else {
        check(
            "missing",
            Level::Problem,
            format!("applied but their files are gone: {}", missing.join(", ")),
            Some("restore the files, or set ignore_missing = true"),
        )
    });
    let pending = of(MigrationState::Pending).count();
    out.push(if pending == 0 {
        check("pending", Level::Ok, "nothing pending".into(), None)
    } else {
        check(
            "pending",
            Level::Warning,
            format!("{pending} migration(s) pending"),
            Some("`strata plan` shows them, `strata up` applies them"),
        )
    });
    out
}
