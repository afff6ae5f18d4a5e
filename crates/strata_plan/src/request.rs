//! A whole request planned for one database: the plan of the command
//! asked for, with downs derived where none was written, and refused when
//! the database could not run it (a statement that cannot run in the
//! transaction strata would wrap it in). `plan`, `up`, `validate --env` and
//! the dry run all plan through [`RequestKind::plan`], so each refuses what
//! the others refuse.

use crate::{DownTarget, Plan, PlanError, RepairOptions, StepAction, UpOptions};
use std::path::{Path, PathBuf};
use strata_model::{Body, HistoryRow, Migration, MigrationId, MigrationKind};
use strata_sql::Dialect;

/// The commands that plan and run steps.
#[derive(Debug, Clone)]
pub enum RequestKind {
    Up(UpOptions),
    Down(DownTarget),
    /// The last applied migration, or the one named.
    Redo(Option<String>),
    /// `strata baseline [SOURCE/]VERSION [--all-sources]`.
    Baseline {
        to: String,
        all_sources: bool,
    },
    Repair(RepairOptions),
    Fresh,
}

/// What planning needs to know of the database and the project.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub dialect: Dialect,
    /// DDL can be rolled back, so a migration runs in one transaction with
    /// its history row; where it cannot, every step runs statement by
    /// statement.
    pub transactional_ddl: bool,
    /// `ignore_missing` in strata.toml.
    pub ignore_missing: bool,
}

impl RequestKind {
    pub fn command(&self) -> &'static str {
        match self {
            RequestKind::Up(_) => "up",
            RequestKind::Down(_) => "down",
            RequestKind::Redo(_) => "redo",
            RequestKind::Baseline { .. } => "baseline",
            RequestKind::Repair(_) => "repair",
            RequestKind::Fresh => "fresh",
        }
    }

    /// Commands that undo work and so need confirming on a protected
    /// environment.
    pub fn undoes(&self) -> bool {
        matches!(
            self,
            RequestKind::Down(_) | RequestKind::Redo(_) | RequestKind::Fresh
        )
    }

    /// Commands that only write history (a backup before them keeps
    /// nothing worth keeping).
    pub fn records_only(&self) -> bool {
        matches!(self, RequestKind::Baseline { .. } | RequestKind::Repair(_))
    }

    /// The plan for this request on `target` (pure).
    pub fn plan(
        &self,
        migrations: &[Migration],
        history: &[HistoryRow],
        target: &Target,
    ) -> Result<Plan, PlanError> {
        let derived;
        let migrations = if matches!(self, RequestKind::Down(_) | RequestKind::Redo(_)) {
            derived = with_generated_downs(migrations, history, target.dialect);
            &derived
        } else {
            migrations
        };
        let mut plan = match self.steps(migrations, history, target.ignore_missing) {
            Err(PlanError::Irreversible(mut items)) => {
                for item in &mut items {
                    item.why = why_no_derived_down(migrations, &item.id, target.dialect);
                }
                return Err(PlanError::Irreversible(items));
            }
            other => other?,
        };
        for step in plan.steps.iter().filter(|s| s.action == StepAction::Revert) {
            if step.kind != MigrationKind::Script
                && step.script.as_ref().is_some_and(|b| b.is_blank())
            {
                plan.warnings.push(format!(
                    "{} ({}) has an empty down: reverting it runs nothing, and what its up made stays",
                    step.id, step.name
                ));
            }
            if let Some(script) = step.script.as_ref().filter(|b| is_generated(&b.path)) {
                plan.generated_downs.push(step.id.clone());
                plan.warnings.push(format!(
                    "{} has no down section and none was stored when it was applied; strata derived this one from its up:\n{}",
                    step.id,
                    script.sql.trim_end().lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
                ));
            }
        }
        if !target.transactional_ddl {
            return Ok(plan.outside_transactions(target.dialect));
        }
        let statements = statement_problems(&plan, target.dialect);
        if statements.is_empty() {
            Ok(plan)
        } else {
            Err(PlanError::UnrunnableStatements(statements))
        }
    }

    fn steps(
        &self,
        migrations: &[Migration],
        history: &[HistoryRow],
        ignore_missing: bool,
    ) -> Result<Plan, PlanError> {
        match self {
            RequestKind::Up(opts) => {
                let mut opts = opts.clone();
                opts.ignore_missing |= ignore_missing;
                crate::plan_up(migrations, history, &opts)
            }
            RequestKind::Down(target) => crate::plan_down(migrations, history, target),
            RequestKind::Redo(target) => crate::plan_redo(migrations, history, target.as_deref()),
            RequestKind::Baseline { to, all_sources } => {
                crate::plan_baseline(migrations, history, to, *all_sources)
            }
            RequestKind::Repair(opts) => crate::plan_repair(migrations, history, opts),
            RequestKind::Fresh => crate::plan_fresh(migrations),
        }
    }
}

/// `migrations` with a down derived from the up for each versioned
/// migration that has no down of its own and none stored in history, when
/// every statement of its up can be reversed mechanically.
fn with_generated_downs(
    migrations: &[Migration],
    history: &[HistoryRow],
    dialect: Dialect,
) -> Vec<Migration> {
    migrations
        .iter()
        .map(|m| {
            let stored = history.iter().any(|r| r.id == m.id && r.down_sql.is_some());
            if m.kind != MigrationKind::Versioned
                || m.unsupported.is_some()
                || stored
                || m.down.is_some()
            {
                return m.clone();
            }
            let mut m = m.clone();
            if let Ok(sql) = strata_sql::reverse(&m.up.sql, dialect) {
                m.down = Some(Body {
                    sql: sql.into(),
                    line: 1,
                    path: PathBuf::from(format!("{GENERATED}{}>", m.path.display())),
                });
            }
            m
        })
        .collect()
}

/// Why the up of migration `id` has no derived down: `path:line: why` for
/// each statement without an inverse.
fn why_no_derived_down(
    migrations: &[Migration],
    id: &MigrationId,
    dialect: Dialect,
) -> Vec<String> {
    let Some(m) = migrations.iter().find(|m| &m.id == id) else {
        return Vec::new();
    };
    match m.kind {
        MigrationKind::Versioned => {}
        MigrationKind::Script => {
            return vec![format!(
                "{}: the script does not say it handles `down`: make it do so when its first argument is `down` and add the comment `# strata: handles up down`, or (Python) define rollback_migration()",
                m.path.display()
            )];
        }
        _ => return Vec::new(),
    }
    match strata_sql::reverse(&m.up.sql, dialect) {
        Ok(_) => Vec::new(),
        Err(refused) => refused
            .into_iter()
            .map(|r| format!("{}:{}: {}", m.up.path.display(), m.up.line + r.line, r.why))
            .collect(),
    }
}

const GENERATED: &str = "<down generated from ";

fn is_generated(path: &Path) -> bool {
    path.to_string_lossy().starts_with(GENERATED)
}

/// Statements the steps that run cannot run: psql meta-commands (`\i`,
/// `\connect`) anywhere, and in a step strata wraps in a transaction,
/// `BEGIN`, `COMMIT` and the like and statements the database refuses in a
/// transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...).
/// `(path, line, why)` each.
pub fn statement_problems(plan: &Plan, dialect: Dialect) -> Vec<(PathBuf, usize, String)> {
    let mut found = Vec::new();
    for s in plan
        .steps
        .iter()
        .filter(|s| s.kind != MigrationKind::Script && s.action.runs_sql())
    {
        let Some(body) = s.script.as_ref() else {
            continue;
        };
        let tx = s.tx_mode.is_transactional();
        for st in strata_sql::split(&body.sql, dialect) {
            let why = if let Some(meta) = strata_sql::psql_meta_command(&st) {
                format!(
                    "`{meta}` is a psql meta-command: psql runs it itself, a database server cannot, and strata sends SQL to the server; remove it (for `\\connect`, make a source whose environment points at that database; for `\\i`, put the included SQL in the migration)"
                )
            } else if tx && strata_sql::is_transaction_control(&st, &body.sql) {
                "a transaction statement in a migration that strata runs in a transaction (remove it: strata commits the migration with its history row; or mark the file `-- strata:no-transaction`)".to_string()
            } else if tx && strata_sql::cannot_run_in_transaction(&st, &body.sql) {
                "this statement cannot run inside a transaction; mark the migration `-- strata:no-transaction` (it then runs statement by statement, and a failed run resumes where it stopped) or move the statement into a migration of its own".to_string()
            } else {
                continue;
            };
            found.push((body.path.clone(), body.line + st.line_in(&body.sql), why));
        }
    }
    found
}

/// The destructive statements the SQL steps of `plan` would run:
/// `(migration, path, line, what it destroys)`.
pub fn destructive_statements(
    plan: &Plan,
    dialect: Dialect,
) -> Vec<(MigrationId, PathBuf, usize, &'static str)> {
    let mut found = Vec::new();
    for s in plan
        .steps
        .iter()
        .filter(|s| s.kind != MigrationKind::Script)
    {
        let Some(body) = s.script.as_ref().filter(|_| s.action.runs_sql()) else {
            continue;
        };
        for st in strata_sql::split(&body.sql, dialect) {
            if let Some(why) = strata_sql::destructive(&st, &body.sql) {
                found.push((
                    s.id.clone(),
                    body.path.clone(),
                    body.line + st.line_in(&body.sql),
                    why,
                ));
            }
        }
    }
    found
}
