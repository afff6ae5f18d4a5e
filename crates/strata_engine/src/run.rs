//! The executor: lock, read history, plan, check approval, then run each
//! step of that same plan with an honest history row, and release the lock
//! on every path.

use crate::config::NotifyOn;
use crate::events::{Event, Reporter, StepInfo};
use crate::hooks::{HookContext, HookPoint};
use crate::in_doubt::Verdict;
use crate::notify::Notice;
use crate::{Engine, EngineError};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use strata_driver::{
    BlockerProbe, Capabilities, Driver, DriverError, HistoryWrite, LockAttempt, StatementError,
};
use strata_model::{
    Body, HistoryRow, HistoryStatus, LogAction, LogEntry, Migration, MigrationId, MigrationKind,
    Progress, ProgressTracker, STRATA_VERSION, Timestamp, TxMode, Version,
};
use strata_plan::{DownTarget, Plan, PlanError, RepairOptions, Step, StepAction, UpOptions};
use strata_sql::Statement;

/// What to do.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: RequestKind,
    /// `--approve HASH`: run only if the plan has this hash.
    pub approve: Option<String>,
    /// `--yes`: the user accepts changes to a protected environment.
    pub yes: bool,
    /// `--dry-run`: run the plan in a transaction that is rolled back.
    pub dry_run: bool,
    /// `--allow-destructive`: run destructive statements on an environment
    /// with `allow_destructive = false` (still approved).
    pub allow_destructive: bool,
    /// `--restart`: run an interrupted statement-by-statement migration
    /// from its first statement instead of resuming after the last one
    /// that completed.
    pub restart: bool,
    /// `--terminate-stale`: end the session holding the migration lock (a
    /// killed run's, still running on the server) after confirmation.
    pub terminate_stale: bool,
}

#[derive(Debug, Clone)]
pub enum RequestKind {
    Up(UpOptions),
    Down(DownTarget),
    Redo,
    /// `strata baseline [SOURCE/]VERSION [--all-sources]`.
    Baseline {
        to: String,
        all_sources: bool,
    },
    Repair(RepairOptions),
    Fresh,
}

impl Request {
    pub fn new(kind: RequestKind) -> Self {
        Request {
            kind,
            approve: None,
            yes: false,
            dry_run: false,
            allow_destructive: false,
            restart: false,
            terminate_stale: false,
        }
    }

    pub fn up() -> Self {
        Self::new(RequestKind::Up(UpOptions::default()))
    }

    pub fn command(&self) -> &'static str {
        match self.kind {
            RequestKind::Up(_) => "up",
            RequestKind::Down(_) => "down",
            RequestKind::Redo => "redo",
            RequestKind::Baseline { .. } => "baseline",
            RequestKind::Repair(_) => "repair",
            RequestKind::Fresh => "fresh",
        }
    }

    /// Commands that undo work and so need confirming on a protected
    /// environment.
    fn destructive(&self) -> bool {
        matches!(
            self.kind,
            RequestKind::Down(_) | RequestKind::Redo | RequestKind::Fresh
        )
    }

    /// The plan for this request on an engine that can do `caps` (pure).
    pub fn plan(
        &self,
        migrations: &[Migration],
        history: &[HistoryRow],
        ignore_missing: bool,
        caps: &Capabilities,
    ) -> Result<Plan, PlanError> {
        let derived;
        let migrations = if matches!(self.kind, RequestKind::Down(_) | RequestKind::Redo) {
            derived = with_generated_downs(migrations, history, caps.dialect);
            &derived
        } else {
            migrations
        };
        let mut plan = match self.plan_steps(migrations, history, ignore_missing) {
            Err(PlanError::Irreversible(mut items)) => {
                for item in &mut items {
                    item.why = why_no_derived_down(migrations, &item.id, caps.dialect);
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
        if !caps.transactional_ddl {
            return Ok(plan.outside_transactions(caps.dialect));
        }
        let statements = strata_plan::statement_problems(&plan, caps.dialect);
        if statements.is_empty() {
            Ok(plan)
        } else {
            Err(PlanError::UnrunnableStatements(statements))
        }
    }

    fn plan_steps(
        &self,
        migrations: &[Migration],
        history: &[HistoryRow],
        ignore_missing: bool,
    ) -> Result<Plan, PlanError> {
        match &self.kind {
            RequestKind::Up(opts) => {
                let mut opts = opts.clone();
                opts.ignore_missing |= ignore_missing;
                strata_plan::plan_up(migrations, history, &opts)
            }
            RequestKind::Down(target) => strata_plan::plan_down(migrations, history, target),
            RequestKind::Redo => strata_plan::plan_redo(migrations, history),
            RequestKind::Baseline { to, all_sources } => {
                strata_plan::plan_baseline(migrations, history, to, *all_sources)
            }
            RequestKind::Repair(opts) => strata_plan::plan_repair(migrations, history, opts),
            RequestKind::Fresh => strata_plan::plan_fresh(migrations),
        }
    }
}

/// `migrations` with a down derived from the up for each versioned
/// migration that has no down of its own and none stored in history, when
/// every statement of its up can be reversed mechanically.
fn with_generated_downs(
    migrations: &[Migration],
    history: &[HistoryRow],
    dialect: strata_sql::Dialect,
) -> Vec<Migration> {
    migrations
        .iter()
        .map(|m| {
            let stored = history.iter().any(|r| r.id == m.id && r.down_sql.is_some());
            let lacks_down = m.down.is_none();
            if m.kind != MigrationKind::Versioned
                || m.unsupported.is_some()
                || stored
                || !lacks_down
            {
                return m.clone();
            }
            let mut m = m.clone();
            if let Ok(sql) = strata_sql::reverse(&m.up.sql, dialect) {
                m.down = Some(strata_model::Body {
                    sql,
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
    dialect: strata_sql::Dialect,
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

fn is_generated(path: &std::path::Path) -> bool {
    path.to_string_lossy().starts_with(GENERATED)
}

/// Awaits `work`, asking `probe` every second which sessions block it and
/// reporting each new set of blockers.
async fn watch_blockers<T>(
    work: impl std::future::Future<Output = T>,
    probe: Option<&mut Box<dyn BlockerProbe>>,
    id: &MigrationId,
    reporter: &dyn Reporter,
) -> T {
    let Some(probe) = probe else {
        return work.await;
    };
    let mut work = std::pin::pin!(work);
    let every = Duration::from_secs(1);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut reported: Vec<i64> = Vec::new();
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = tick.tick() => {
                let Ok(sessions) = probe.blockers().await else { continue };
                let pids: Vec<i64> = sessions.iter().map(|s| s.pid).collect();
                if !sessions.is_empty() && pids != reported {
                    reporter.event(&Event::Blocked {
                        migration: id.to_string(),
                        sessions,
                    });
                }
                reported = pids;
            }
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub command: String,
    pub plan_hash: String,
    pub applied: usize,
    pub reverted: usize,
    /// Steps that only wrote history (baseline, repair).
    pub recorded: usize,
    pub failed: usize,
    /// Steps a dry run could not try (they run outside a transaction).
    pub skipped: usize,
    pub dry_run: bool,
    pub duration_ms: u64,
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

impl Engine {
    /// Runs `request` against the database, reporting as it goes, and
    /// appends its line to the audit log when one is configured (dry runs
    /// change nothing and are not audited).
    pub async fn run(
        &self,
        request: &Request,
        reporter: &dyn Reporter,
    ) -> Result<Report, EngineError> {
        let audit = if request.dry_run {
            None
        } else {
            self.open_audit()?
        };
        let result = self.run_unaudited(request, reporter).await;
        // Every failure is told, a refusal before anything ran (drift, a
        // missing file, no connection, no approval) as much as a failed
        // migration.
        if let Err(error) = &result {
            let report = error.report();
            let notice = Notice {
                on: NotifyOn::Failure,
                command: request.command(),
                plan_hash: report.map_or("", |r| r.plan_hash.as_str()),
                steps: report.map_or(0, |r| r.applied + r.reverted + r.recorded + r.failed),
                dry_run: request.dry_run,
                report,
                error: Some(error.to_string()),
            };
            crate::notify::delivered(self.notify(&notice), reporter).await;
        }
        if let Some(audit) = audit {
            let outcome = match &result {
                Ok(report) => crate::audit::Outcome::Ran(report),
                Err(error) => crate::audit::Outcome::Failed {
                    error,
                    report: error.report(),
                },
            };
            if let Err(message) = audit.record(self, request.command(), outcome) {
                reporter.event(&Event::Warning { message });
            }
        }
        result
    }

    async fn run_unaudited(
        &self,
        request: &Request,
        reporter: &dyn Reporter,
    ) -> Result<Report, EngineError> {
        let started = Instant::now();
        let migrations = self.migrations_in_background().ready()?;
        let mut driver = self.connect().await?;
        let terminate = request.terminate_stale.then_some(request.yes);
        self.lock(driver.as_mut(), reporter, terminate).await?;
        let result = match migrations.join() {
            Ok(found) => {
                for warning in &found.warnings {
                    reporter.event(&Event::Warning {
                        message: warning.to_string(),
                    });
                }
                self.run_locked(
                    driver.as_mut(),
                    request,
                    &found.migrations,
                    reporter,
                    started,
                )
                .await
            }
            Err(e) => Err(e),
        };
        // Dropping the driver releases the lock too; this is the polite way.
        let released = driver.unlock().await;
        let report = result?;
        released?;
        Ok(report)
    }

    /// The environment's rules for a plan about to run for real:
    /// `protected` (destructive commands need --yes and approval),
    /// `allow_destructive = false` (destructive statements need
    /// --allow-destructive and approval) and `require_approval` (every
    /// plan needs approval). Approval is `--approve HASH` or a confirmation
    /// typed at a terminal, asked for once.
    fn check_policies(
        &self,
        request: &Request,
        plan: &Plan,
        dialect: strata_sql::Dialect,
        reporter: &dyn Reporter,
    ) -> Result<(), EngineError> {
        let env = self.env_name.clone().unwrap_or_default();
        let hash = plan.hash.clone();
        let protected = self.env.protected && request.destructive();
        if protected && !request.yes {
            return Err(EngineError::Protected {
                env,
                command: request.command().into(),
                hash,
            });
        }
        let destructive: Vec<String> = if self.env.allow_destructive {
            Vec::new()
        } else {
            strata_plan::destructive_statements(plan, dialect)
                .into_iter()
                .map(|(id, path, line, why)| {
                    format!("  {}:{line}: {id} {why}", self.display_path(&path))
                })
                .collect()
        };
        let refuse_destructive = |statements: Vec<String>| EngineError::Destructive {
            env: env.clone(),
            statements,
            hash: hash.clone(),
        };
        if !destructive.is_empty() && !request.allow_destructive {
            return Err(refuse_destructive(destructive));
        }
        let generated = !plan.generated_downs.is_empty();
        // `baseline --all-sources` records other sources' migrations as
        // applied without running them: listed, and approved, first.
        let wide = matches!(
            request.kind,
            RequestKind::Baseline {
                all_sources: true,
                ..
            }
        ) && plan
            .steps
            .iter()
            .any(|s| s.id.source != plan.steps[0].id.source);
        let must_approve =
            protected || self.env.require_approval || !destructive.is_empty() || generated || wide;
        if must_approve && request.approve.is_none() && !reporter.confirm(plan, &env) {
            return Err(if wide {
                EngineError::WideBaseline {
                    migrations: plan
                        .steps
                        .iter()
                        .map(|s| format!("  {} ({})", s.id, s.name))
                        .collect(),
                    hash,
                }
            } else if generated {
                EngineError::GeneratedDown {
                    down: plan.warnings.join("\n"),
                    hash,
                }
            } else if protected {
                EngineError::NotConfirmed {
                    env,
                    command: request.command().into(),
                    hash,
                }
            } else if !destructive.is_empty() {
                refuse_destructive(destructive)
            } else {
                EngineError::ApprovalRequired { env, hash }
            });
        }
        Ok(())
    }

    /// Takes the migration lock, waiting up to the lock timeout and saying
    /// who holds it. With `terminate` (`--terminate-stale`; `Some(yes)`),
    /// a holder is ended instead, once confirmed (or with --yes): a killed
    /// run's session the server keeps running.
    pub(crate) async fn lock(
        &self,
        driver: &mut dyn Driver,
        reporter: &dyn Reporter,
        terminate: Option<bool>,
    ) -> Result<(), EngineError> {
        let since = Instant::now();
        let mut last: Option<strata_driver::LockHolder> = None;
        loop {
            match driver.try_lock(self.lock_mode).await? {
                LockAttempt::Held(holder)
                    if terminate.is_some()
                        && holder.pid.is_some()
                        && last.as_ref() != Some(&holder) =>
                {
                    let pid = holder.pid.expect("checked");
                    if !(terminate == Some(true) || reporter.confirm_terminate(&holder)) {
                        return Err(EngineError::Refused(format!(
                            "the migration lock is held by {holder}; ending it was not confirmed: confirm at a terminal, or pass --yes with --terminate-stale"
                        )));
                    }
                    let ended = driver.terminate_holder(pid).await?;
                    reporter.event(&Event::Warning {
                        message: if ended {
                            format!("ended the session holding the migration lock: {holder}")
                        } else {
                            format!("could not end the session holding the migration lock ({holder}); waiting for it")
                        },
                    });
                    last = Some(holder);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                LockAttempt::Acquired => {
                    if last.is_some() {
                        reporter.event(&Event::LockAcquired {
                            waited_ms: ms(since.elapsed()),
                        });
                    }
                    return Ok(());
                }
                LockAttempt::Held(holder) => {
                    let waited = since.elapsed();
                    if waited >= self.lock_wait {
                        return Err(EngineError::LockTimeout {
                            table: driver.history_table(),
                            holder: Box::new(holder),
                            waited,
                        });
                    }
                    if last.as_ref() != Some(&holder) {
                        reporter.event(&Event::LockWaiting {
                            holder: holder.clone(),
                        });
                        last = Some(holder);
                    }
                    let pause = Duration::from_millis(200).min(self.lock_wait - waited);
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    async fn run_locked(
        &self,
        driver: &mut dyn Driver,
        request: &Request,
        migrations: &[Migration],
        reporter: &dyn Reporter,
        started: Instant,
    ) -> Result<Report, EngineError> {
        if let (RequestKind::Fresh, Some(only)) = (&request.kind, &self.only_source) {
            return Err(EngineError::FreshOneSource(only.clone()));
        }
        if driver.capabilities().dialect == strata_sql::Dialect::Mysql
            && let Some(s) = self
                .project
                .config
                .sources
                .iter()
                .find(|s| s.keep_foreign_history && self.selects(&s.name))
        {
            return Err(EngineError::Refused(format!(
                "source `{}` has keep_foreign_history, which strata does not do on MySQL or MariaDB: remove it from strata.toml (strata's own history is kept either way)",
                s.name
            )));
        }
        let all_history = driver.read_history().await?;
        let history: Vec<HistoryRow> = all_history
            .iter()
            .filter(|r| self.selects(&r.id.source))
            .cloned()
            .collect();
        let plan = request.plan(
            migrations,
            &history,
            self.project.config.project.ignore_missing,
            &driver.capabilities(),
        )?;
        if let Some(approved) = &request.approve
            && approved != &plan.hash
        {
            return Err(EngineError::PlanMismatch {
                approved: approved.clone(),
                actual: plan.hash.clone(),
            });
        }
        if !request.dry_run && !plan.is_empty() {
            self.check_policies(request, &plan, driver.capabilities().dialect, reporter)?;
        }
        for message in &plan.warnings {
            reporter.event(&Event::Warning {
                message: message.clone(),
            });
        }
        reporter.event(&Event::Started {
            command: request.command().into(),
            database: self.database_display(),
            environment: self.env_name.clone(),
            plan_hash: plan.hash.clone(),
            steps: plan.steps.len(),
        });
        let mut report = Report {
            command: request.command().into(),
            plan_hash: plan.hash.clone(),
            ..Report::default()
        };
        report.dry_run = request.dry_run;
        if !plan.is_empty() {
            if request.dry_run {
                if plan.reset_first {
                    return Err(EngineError::Refused(
                        "`strata fresh` has no dry run: it drops the schema; try `strata up --dry-run` on a copy".into(),
                    ));
                }
                driver.dry_run(true).await?;
            }
            let result = self
                .execute_hooked(
                    driver,
                    &plan,
                    (&all_history, &history),
                    reporter,
                    started,
                    &mut report,
                    request,
                    migrations,
                )
                .await;
            if request.dry_run {
                // Roll everything back, whatever happened.
                let ended = driver.dry_run(false).await;
                result?;
                for message in ended? {
                    reporter.event(&Event::Warning { message });
                }
            } else {
                result?;
            }
        }
        report.duration_ms = ms(started.elapsed());
        reporter.event(&self.finished(&report));
        Ok(report)
    }

    /// [`Engine::execute`] with the `before_migrate`, `after_migrate` and
    /// `on_error` hooks around it and the webhooks told of the start and
    /// the outcome (their failures are warnings); dry runs have neither.
    #[allow(clippy::too_many_arguments)]
    async fn execute_hooked(
        &self,
        driver: &mut dyn Driver,
        plan: &Plan,
        (all_history, history): (&[HistoryRow], &[HistoryRow]),
        reporter: &dyn Reporter,
        started: Instant,
        report: &mut Report,
        request: &Request,
        migrations: &[Migration],
    ) -> Result<(), EngineError> {
        let (command, dry_run) = (request.command(), request.dry_run);
        let notice = |on, report, error| Notice {
            on,
            command,
            plan_hash: &plan.hash,
            steps: plan.steps.len(),
            dry_run,
            report,
            error,
        };
        let start = self.notify(&notice(NotifyOn::Start, None, None));
        let mut context = HookContext {
            command: command.into(),
            plan_hash: plan.hash.clone(),
            dry_run,
            ..HookContext::default()
        };
        let mut result = self
            .run_hook(HookPoint::BeforeMigrate, driver, &context, reporter)
            .await
            .map_err(|m| EngineError::Hook(format!("{m}; nothing was run")));
        // Backed up once the hooks let the run go on (a refused run leaves
        // no backup), before anything that can lose data.
        let backup_first = self.env.backup == Some(crate::config::BackupWhen::Before)
            && !matches!(
                request.kind,
                RequestKind::Baseline { .. } | RequestKind::Repair(_)
            );
        if result.is_ok() && backup_first && !dry_run {
            match self.ensure_backups_ignored() {
                Ok(Some(message)) => reporter.event(&Event::Warning { message }),
                Ok(None) => {}
                Err(e) => result = Err(e),
            }
        }
        if result.is_ok() && backup_first && !dry_run {
            match self
                .backup(&format!("before {command}"), Some(&plan.hash))
                .await
            {
                Ok(m) => reporter.event(&Event::BackedUp {
                    id: m.id,
                    file: self.display_path(&self.backup_dir().join(&m.file)),
                    size: m.size,
                }),
                Err(e) => result = Err(e),
            }
        }
        if result.is_ok() {
            result = self
                .execute(
                    driver,
                    plan,
                    all_history,
                    history,
                    reporter,
                    started,
                    report,
                    request,
                    migrations,
                )
                .await;
        }
        context.applied = report.applied;
        context.reverted = report.reverted;
        if result.is_ok() {
            result = self
                .run_hook(HookPoint::AfterMigrate, driver, &context, reporter)
                .await
                .map_err(|m| {
                    EngineError::Hook(format!(
                        "{m}; the plan itself ran to the end and stays applied"
                    ))
                });
        }
        if let Err(e) = &result {
            context.error = Some(e.to_string());
            if let Err(message) = self
                .run_hook(HookPoint::OnError, driver, &context, reporter)
                .await
            {
                reporter.event(&Event::Warning { message });
            }
        }
        report.duration_ms = ms(started.elapsed());
        crate::notify::delivered(start, reporter).await;
        // A failure is told by `run`, for every way a run can fail.
        if result.is_ok() {
            let done = notice(NotifyOn::Success, Some(&*report), None);
            crate::notify::delivered(self.notify(&done), reporter).await;
        }
        result
    }

    /// Runs the verify section of the migration `step` just applied
    /// (`verify_after`): a missing change stops the run, the migration
    /// staying applied.
    async fn verify_after(
        &self,
        driver: &mut dyn Driver,
        step: &Step,
        migrations: &[Migration],
    ) -> Result<Result<(), Failure>, EngineError> {
        let Some((m, verify)) = migrations
            .iter()
            .find(|m| m.id == step.id)
            .and_then(|m| Some((m, m.verify.as_ref()?)))
        else {
            return Ok(Ok(()));
        };
        let missing = if m.kind == MigrationKind::Script {
            crate::script::run_file(self, &m.id, &m.path, &verify.sql, "verify")
                .await
                .err()
        } else {
            let statements = strata_sql::split(&verify.sql, driver.capabilities().dialect);
            driver.verify(&statements).await?
        };
        let location = format!("{}:{}", self.display_path(&verify.path), verify.line);
        Ok(match missing {
            None => Ok(()),
            Some(why) => Err(Failure::new(
                format!(
                    "migration {} ({}) was applied, but its verify section at {location} says the change is not there: {why}\nthe migration stays applied; check the database, and revert it with `strata down --steps 1` if it is wrong",
                    step.id, step.name
                ),
                Some(location),
            )),
        })
    }

    /// Runs the steps of `plan` (the one loop for real and dry runs).
    #[allow(clippy::too_many_arguments)]
    async fn execute(
        &self,
        driver: &mut dyn Driver,
        plan: &Plan,
        all_history: &[HistoryRow],
        history: &[HistoryRow],
        reporter: &dyn Reporter,
        started: Instant,
        report: &mut Report,
        request: &Request,
        migrations: &[Migration],
    ) -> Result<(), EngineError> {
        driver.ensure_history().await?;
        let batch = all_history.iter().map(|r| r.batch).max().unwrap_or(0) + 1;
        let mut applied: HashMap<String, BTreeSet<Version>> = HashMap::new();
        for r in history
            .iter()
            .filter(|r| r.status == HistoryStatus::Applied)
        {
            applied
                .entry(r.id.source.clone())
                .or_default()
                .insert(r.id.version.clone());
        }
        let mut run = Run {
            engine: self,
            driver,
            reporter,
            batch,
            history,
            applied,
            restart: request.restart,
            progress: None,
        };
        if plan.reset_first {
            run.reset(all_history).await?;
        }
        let total = plan.steps.len();
        // Who blocks a waiting statement, asked from a second connection.
        let mut probe = run.driver.blocker_probe().await.ok().flatten();
        // In a dry run, locks pile up in the one transaction: each
        // migration's are the new ones.
        let mut held = if report.dry_run {
            run.driver.locks().await?
        } else {
            Vec::new()
        };
        for (index, step) in plan.steps.iter().enumerate() {
            if let Err(e) = run.driver.check_lock().await {
                report.duration_ms = ms(started.elapsed());
                reporter.event(&self.finished(report));
                return Err(EngineError::LockLost {
                    message: e.to_string(),
                    report: Box::new(report.clone()),
                });
            }
            let info = self.step_info(step);
            let runs_outside = step.action.runs_sql()
                && (!step.tx_mode.is_transactional() || step.kind == MigrationKind::Script);
            if report.dry_run && runs_outside {
                report.skipped += 1;
                let (reason, sql) = if run.driver.capabilities().transactional_ddl {
                    (
                        "it runs outside a transaction, so a dry run cannot try it and roll it back",
                        None,
                    )
                } else {
                    (
                        "this database commits DDL as it runs, so a dry run shows the SQL without executing it",
                        step.script.as_ref().map(|b| b.sql.clone()),
                    )
                };
                reporter.event(&Event::MigrationSkipped {
                    step: info,
                    reason: reason.into(),
                    sql,
                });
                continue;
            }
            let hooked = step.action.runs_sql();
            let context = HookContext {
                command: request.command().into(),
                plan_hash: report.plan_hash.clone(),
                migration: Some((
                    step.id.to_string(),
                    step.name.clone(),
                    step.action.as_str().into(),
                )),
                applied: report.applied,
                reverted: report.reverted,
                dry_run: report.dry_run,
                error: None,
            };
            if hooked {
                self.run_hook(HookPoint::BeforeEach, &mut *run.driver, &context, reporter)
                    .await
                    .map_err(|m| EngineError::Hook(format!("{m}; {} was not run", step.id)))?;
            }
            reporter.event(&Event::MigrationStarted {
                step: info.clone(),
                index: index + 1,
                total,
            });
            let t0 = Instant::now();
            let mut attempt = 0;
            let outcome = loop {
                let result =
                    watch_blockers(run.step(step), probe.as_mut(), &step.id, reporter).await;
                match &result {
                    Err(f)
                        if f.lock_timeout
                            && attempt < self.env.lock_retries
                            && step.tx_mode.is_transactional()
                            && !report.dry_run =>
                    {
                        attempt += 1;
                        let pause = Duration::from_secs(1 << attempt.min(5));
                        reporter.event(&Event::Warning {
                            message: format!(
                                "{} gave up waiting for a lock and was rolled back; retry {attempt} of {} in {}s",
                                step.id,
                                self.env.lock_retries,
                                pause.as_secs()
                            ),
                        });
                        tokio::time::sleep(pause).await;
                    }
                    _ => break result,
                }
            };
            let outcome = match outcome {
                Ok(())
                    if step.action == StepAction::Apply
                        && self.env.verify_after
                        && !report.dry_run =>
                {
                    self.verify_after(run.driver, step, migrations).await?
                }
                other => other,
            };
            match outcome {
                Ok(()) => {
                    match step.action {
                        StepAction::Apply => report.applied += 1,
                        StepAction::Revert => report.reverted += 1,
                        _ => report.recorded += 1,
                    }
                    let locks = if report.dry_run {
                        let now = run.driver.locks().await?;
                        let new: Vec<String> =
                            now.iter().filter(|l| !held.contains(l)).cloned().collect();
                        held = now;
                        new
                    } else {
                        Vec::new()
                    };
                    reporter.event(&Event::MigrationFinished {
                        step: info,
                        duration_ms: ms(t0.elapsed()),
                        locks,
                    });
                    if hooked {
                        self.run_hook(HookPoint::AfterEach, &mut *run.driver, &context, reporter)
                            .await
                            .map_err(|m| {
                                EngineError::Hook(format!(
                                    "{m}; {} was {} and stays so, the rest of the plan was not run",
                                    step.id,
                                    if step.action == StepAction::Apply {
                                        "applied"
                                    } else {
                                        "reverted"
                                    }
                                ))
                            })?;
                    }
                }
                Err(failure) => {
                    report.failed += 1;
                    report.duration_ms = ms(started.elapsed());
                    reporter.event(&Event::MigrationFailed {
                        step: info,
                        duration_ms: ms(t0.elapsed()),
                        error: failure.message.clone(),
                        location: failure.location.clone(),
                    });
                    reporter.event(&self.finished(report));
                    return Err(EngineError::MigrationFailed {
                        id: Box::new(step.id.clone()),
                        message: failure.message,
                        location: failure.location,
                        report: Box::new(report.clone()),
                    });
                }
            }
        }
        Ok(())
    }

    fn finished(&self, r: &Report) -> Event {
        Event::Finished {
            applied: r.applied,
            reverted: r.reverted,
            recorded: r.recorded,
            failed: r.failed,
            skipped: r.skipped,
            dry_run: r.dry_run,
            duration_ms: r.duration_ms,
        }
    }

    /// A path as the user knows it: relative to the project when inside it.
    pub fn display_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.project.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    fn step_info(&self, step: &Step) -> StepInfo {
        let mut info = StepInfo::from(step);
        info.path = step.path.as_deref().map(|p| self.display_path(p));
        info
    }
}

/// A failed step: the message (naming the migration, file and line) and
/// where the failing statement is.
struct Failure {
    message: String,
    location: Option<String>,
    /// A statement gave up waiting for a lock (worth retrying).
    lock_timeout: bool,
    /// The server never answered for the failing statement, which may have
    /// completed: its row stays `running`, so the next run judges it.
    in_doubt: bool,
}

impl Failure {
    fn new(message: String, location: Option<String>) -> Self {
        Failure {
            message,
            location,
            lock_timeout: false,
            in_doubt: false,
        }
    }
}

/// One run's state while executing a plan.
struct Run<'a> {
    engine: &'a Engine,
    driver: &'a mut dyn Driver,
    reporter: &'a dyn Reporter,
    batch: i64,
    history: &'a [HistoryRow],
    /// Applied versions per source as the run goes (for a foreign history
    /// that keeps only the current version).
    applied: HashMap<String, BTreeSet<Version>>,
    restart: bool,
    /// The statements of the current statement-by-statement apply that
    /// completed, kept in its history row if it fails.
    progress: Option<Progress>,
}

impl Run<'_> {
    fn environment(&self) -> Option<String> {
        self.engine.env_name.clone()
    }

    fn row(&self, step: &Step, status: HistoryStatus, started: Timestamp) -> HistoryRow {
        let previous = self.history.iter().find(|r| r.id == step.id);
        let applying = matches!(step.action, StepAction::Apply | StepAction::Baseline);
        HistoryRow {
            id: step.id.clone(),
            name: step.name.clone(),
            kind: step.kind,
            checksum: step.checksum.clone(),
            status,
            // A revert is a batch of its own too, as `history` shows.
            batch: self.batch,
            started_at: started,
            finished_at: None,
            duration_ms: None,
            applied_by: strata_driver::os_identity(),
            strata_version: STRATA_VERSION.into(),
            environment: self.environment(),
            error: None,
            down_sql: if applying {
                step.down_sql.clone()
            } else {
                step.down_sql
                    .clone()
                    .or_else(|| previous.and_then(|p| p.down_sql.clone()))
            },
            out_of_order: if applying {
                step.out_of_order
            } else {
                previous.is_some_and(|p| p.out_of_order)
            },
            progress: None,
        }
    }

    /// The rows another tool's history needs for `step`, when its source
    /// keeps that history.
    fn foreign(&self, step: &Step) -> Vec<strata_driver::ForeignWrite> {
        let Some(source) = self
            .engine
            .project
            .config
            .sources
            .iter()
            .find(|s| s.name == step.id.source && s.keep_foreign_history)
        else {
            return Vec::new();
        };
        let Some(tool) = crate::adopt::Tool::parse(&source.format) else {
            return Vec::new();
        };
        let mut versions = self
            .applied
            .get(&step.id.source)
            .cloned()
            .unwrap_or_default();
        if matches!(step.action, StepAction::Apply | StepAction::Baseline) {
            versions.insert(step.id.version.clone());
        } else {
            versions.remove(&step.id.version);
        }
        let text = step
            .script
            .as_ref()
            .map(|b| b.sql.clone())
            .unwrap_or_default();
        let file = step.path.as_deref().map(|p| self.engine.root().join(p));
        let raw = file
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .unwrap_or_else(|| text.into_bytes());
        let cx = crate::foreign::Context {
            sqlite: self.driver.capabilities().engine == "sqlite",
            current: versions.last(),
            raw: &raw,
            journal_when: file.as_deref().and_then(journal_when),
        };
        crate::foreign::writes(tool, step, &cx)
    }

    /// Notes a step's effect on the applied versions.
    fn note_applied(&mut self, step: &Step) {
        let versions = self.applied.entry(step.id.source.clone()).or_default();
        match step.action {
            StepAction::Revert => {
                versions.remove(&step.id.version);
            }
            StepAction::Apply | StepAction::Baseline => {
                versions.insert(step.id.version.clone());
            }
            _ => {}
        }
    }

    /// The migration's current row with `error` set (a revert that began or
    /// failed outside a transaction).
    fn previous_with_error(&self, step: &Step, error: String) -> Option<HistoryRow> {
        let mut row = self.history.iter().find(|r| r.id == step.id)?.clone();
        row.error = Some(error);
        Some(row)
    }

    fn log(
        &self,
        step: &Step,
        action: LogAction,
        status: HistoryStatus,
        at: Timestamp,
        detail: Option<String>,
    ) -> LogEntry {
        LogEntry {
            seq: 0,
            id: step.id.clone(),
            name: step.name.clone(),
            action,
            status,
            checksum: Some(step.checksum.clone()),
            batch: self.batch,
            at,
            duration_ms: None,
            applied_by: strata_driver::os_identity(),
            strata_version: STRATA_VERSION.into(),
            environment: self.environment(),
            detail,
        }
    }

    /// Drops the schema's objects and marks every history row (of every
    /// source: they were all dropped) reverted, in one transaction.
    async fn reset(&mut self, all_history: &[HistoryRow]) -> Result<(), EngineError> {
        let now = Timestamp::now();
        let writes: Vec<HistoryWrite> = all_history
            .iter()
            .filter(|r| r.status != HistoryStatus::Reverted)
            .map(|row| {
                let mut reverted = row.clone();
                reverted.status = HistoryStatus::Reverted;
                reverted.started_at = now;
                reverted.finished_at = Some(now);
                reverted.duration_ms = Some(0);
                reverted.error = None;
                let log = LogEntry {
                    seq: 0,
                    id: row.id.clone(),
                    name: row.name.clone(),
                    action: LogAction::Reset,
                    status: HistoryStatus::Reverted,
                    checksum: Some(row.checksum.clone()),
                    batch: self.batch,
                    at: now,
                    duration_ms: Some(0),
                    applied_by: strata_driver::os_identity(),
                    strata_version: STRATA_VERSION.into(),
                    environment: self.environment(),
                    detail: Some("dropped by `strata fresh`".into()),
                };
                HistoryWrite {
                    upsert: Some(reverted),
                    delete: None,
                    log,
                    foreign: Vec::new(),
                }
            })
            .collect();
        let dropped = self.driver.reset_schema(&writes).await?;
        self.reporter.event(&Event::Reset { dropped });
        Ok(())
    }

    async fn step(&mut self, step: &Step) -> Result<(), Failure> {
        let result = match step.action {
            StepAction::Apply | StepAction::Revert => self.run_sql(step).await,
            StepAction::Baseline
            | StepAction::AcceptChecksum
            | StepAction::ClearFailed
            | StepAction::Forget
            | StepAction::ResolveStatement { .. } => self
                .record(step)
                .await
                .map_err(|e| self.failure(step, None, &e)),
        };
        if result.is_ok() {
            self.note_applied(step);
        }
        result
    }

    /// Steps that only write history.
    async fn record(&mut self, step: &Step) -> Result<(), DriverError> {
        let now = Timestamp::now();
        let previous = self.history.iter().find(|r| r.id == step.id);
        let write = match step.action {
            StepAction::Baseline => {
                let mut row = self.row(step, HistoryStatus::Applied, now);
                row.finished_at = Some(now);
                row.duration_ms = Some(0);
                let mut log = self.log(
                    step,
                    LogAction::Baseline,
                    HistoryStatus::Applied,
                    now,
                    Some("recorded as applied without running it".into()),
                );
                log.duration_ms = Some(0);
                HistoryWrite {
                    upsert: Some(row),
                    delete: None,
                    log,
                    // The tool's own history says so too, as after `up`.
                    foreign: self.foreign(step),
                }
            }
            StepAction::AcceptChecksum => {
                let previous = previous.expect("a drifted migration has a row");
                let mut row = previous.clone();
                row.checksum = step.checksum.clone();
                row.down_sql = step.down_sql.clone().or(row.down_sql);
                let detail = format!(
                    "accepted the edited file: checksum {} (was {})",
                    step.checksum.short(),
                    previous.checksum.short()
                );
                HistoryWrite {
                    upsert: Some(row),
                    delete: None,
                    log: self.log(
                        step,
                        LogAction::Repair,
                        HistoryStatus::Applied,
                        now,
                        Some(detail),
                    ),
                    foreign: Vec::new(),
                }
            }
            StepAction::ResolveStatement { statement, done } => {
                let mut row = previous
                    .expect("an interrupted migration has a row")
                    .clone();
                let body = step.script.as_ref().expect("the plan gives the up body");
                let statements = strata_sql::split(&body.sql, self.driver.capabilities().dialect);
                let completed = if done { statement } else { statement - 1 };
                let tracker =
                    ProgressTracker::after(statements.iter().take(completed).map(|s| s.sql));
                let finding = if done {
                    "completed"
                } else {
                    "did not complete"
                };
                let detail = format!(
                    "statement {statement} was in doubt after an interrupted run; the operator found it {finding} (strata repair --statement)"
                );
                // No longer interrupted with a statement in doubt: where it
                // stopped is known now, so `up` resumes there.
                row.status = HistoryStatus::Failed;
                row.progress = (completed > 0).then(|| tracker.current());
                row.error = Some(format!(
                    "{detail}; `strata up` resumes at statement {}",
                    completed + 1
                ));
                HistoryWrite {
                    upsert: Some(row),
                    delete: None,
                    log: self.log(
                        step,
                        LogAction::Repair,
                        HistoryStatus::Failed,
                        now,
                        Some(detail),
                    ),
                    foreign: Vec::new(),
                }
            }
            StepAction::Forget => HistoryWrite {
                upsert: None,
                delete: Some(step.id.clone()),
                log: self.log(
                    step,
                    LogAction::Repair,
                    HistoryStatus::Applied,
                    now,
                    Some(
                        "forgotten: its file was deleted; what it changed stays in the database"
                            .into(),
                    ),
                ),
                foreign: Vec::new(),
            },
            // A revert that failed outside a transaction: the migration
            // stays applied; the user has checked the database.
            _ if previous.is_some_and(|p| p.status == HistoryStatus::Applied) => {
                let mut row = previous.expect("checked").clone();
                row.error = None;
                let detail =
                    "cleared the failed revert's error; the migration stays applied".to_string();
                HistoryWrite {
                    upsert: Some(row),
                    delete: None,
                    log: self.log(
                        step,
                        LogAction::Repair,
                        HistoryStatus::Applied,
                        now,
                        Some(detail),
                    ),
                    foreign: Vec::new(),
                }
            }
            _ => {
                let status = previous.map_or(HistoryStatus::Failed, |p| p.status);
                let detail = format!(
                    "cleared the {} attempt; the migration is pending again",
                    status.as_str()
                );
                HistoryWrite {
                    upsert: None,
                    delete: Some(step.id.clone()),
                    log: self.log(step, LogAction::Repair, status, now, Some(detail)),
                    foreign: Vec::new(),
                }
            }
        };
        self.driver.write_history(&write).await
    }

    async fn run_sql(&mut self, step: &Step) -> Result<(), Failure> {
        // Progress belongs to one step; none carries over from the last.
        self.progress = None;
        let script = step
            .script
            .as_ref()
            .expect("apply and revert steps have a script");
        let is_script = step.kind == MigrationKind::Script;
        let statements = match step.tx_mode {
            _ if is_script => Vec::new(),
            TxMode::OneCommand => strata_sql::whole(&script.sql),
            _ => strata_sql::split(&script.sql, self.driver.capabilities().dialect),
        };
        let settings = self.engine.tx_settings();
        let applying = step.action == StepAction::Apply;
        let (done, action) = if applying {
            (HistoryStatus::Applied, LogAction::Apply)
        } else {
            (HistoryStatus::Reverted, LogAction::Revert)
        };
        let mut notes = Vec::new();
        if step.retry {
            notes.push(
                match self
                    .history
                    .iter()
                    .find(|r| r.id == step.id)
                    .map(|r| r.status)
                {
                    Some(HistoryStatus::Running) => "retry of an interrupted attempt",
                    _ => "retry of a failed attempt",
                }
                .to_string(),
            );
        }
        if step.out_of_order {
            notes.push("applied out of order".to_string());
        }
        let started = Timestamp::now();
        let t0 = Instant::now();

        if step.tx_mode.is_transactional() && !is_script {
            let note = (!notes.is_empty()).then(|| notes.join("; "));
            let write = HistoryWrite {
                upsert: Some(self.row(step, done, started)),
                delete: None,
                log: self.log(step, action, done, started, note),
                foreign: self.foreign(step),
            };
            return match self
                .driver
                .apply_in_transaction(&statements, &settings, &write)
                .await
            {
                Ok(()) => Ok(()),
                Err(e) => {
                    let failure = self.failure(step, Some((script, &statements)), &e);
                    self.record_failure(step, started, t0, failure).await
                }
            };
        }

        // Outside a transaction the row changes first, so a crash leaves an
        // honest trace: an apply is `running` (with the statements that
        // completed, as they complete); a revert leaves the migration
        // `applied` (its objects may all still be there) with a note that
        // the revert began.
        let tracker = if applying && !is_script {
            let (tracker, judged) = self.resume_point(step, script, &statements).await?;
            notes.extend(judged);
            tracker
        } else {
            ProgressTracker::default()
        };
        let resume = tracker.current().statements as usize;
        self.progress = (resume > 0).then(|| tracker.current());
        let (upsert, status) = if applying {
            let mut running = self.row(step, HistoryStatus::Running, started);
            running.error = Some("apply interrupted before it finished".into());
            running.progress = self.progress.clone();
            (Some(running), HistoryStatus::Running)
        } else {
            let note = format!(
                "a revert without a transaction began at {started}; if this note stays, it was interrupted: check the database, then run `strata down` again"
            );
            (self.previous_with_error(step, note), HistoryStatus::Applied)
        };
        let how = if resume > 0 {
            format!(
                "{} without a transaction, resuming after statement {resume} of {}",
                action.as_str(),
                statements.len()
            )
        } else {
            format!("{} without a transaction", action.as_str())
        };
        let begin = HistoryWrite {
            upsert,
            delete: None,
            log: self.log(step, LogAction::Start, status, started, Some(how)),
            foreign: Vec::new(),
        };
        self.driver
            .write_history(&begin)
            .await
            .map_err(|e| self.failure(step, None, &e))?;
        if resume > 0 {
            let next = statements
                .get(resume)
                .map(|st| script.line + st.line_in(&script.sql));
            self.reporter.event(&Event::Resuming {
                step: self.engine.step_info(step),
                completed: resume,
                total: statements.len(),
                line: next,
            });
            notes.push(format!(
                "resumed after statement {resume} of {}",
                statements.len()
            ));
        }
        let outcome = if is_script {
            let command = if applying { "up" } else { "down" };
            match crate::script::run(self.engine, step, command).await {
                Ok(output) => Ok(output),
                Err(mut message) => {
                    // Queries a stopped script's psql left running on the
                    // server go too.
                    let name = crate::script::application_name(&step.id);
                    if let Ok(n @ 1..) = self.driver.end_sessions(&name).await {
                        message
                            .push_str(&format!("; {n} database session(s) it had open were ended"));
                    }
                    Err(self.script_failure(step, &message))
                }
            }
        } else {
            let ran = self
                .run_each(step, script, &statements, resume, tracker, &settings)
                .await;
            // What the migration SET (search_path, USE other_db) stays with
            // it; a connection that broke shows in the history write below.
            let _ = self.driver.reset_session().await;
            ran.map(|()| None)
        };
        match outcome {
            Ok(output) => {
                notes.extend(output);
                let note = (!notes.is_empty()).then(|| notes.join("; "));
                let write = HistoryWrite {
                    upsert: Some(self.row(step, done, started)),
                    delete: None,
                    log: self.log(step, action, done, started, note),
                    foreign: self.foreign(step),
                };
                self.driver
                    .write_history(&write.finished(t0))
                    .await
                    .map_err(|e| self.failure(step, None, &e))
            }
            Err(failure) => self.record_failure(step, started, t0, failure).await,
        }
    }

    /// Runs `statements[from..]` one at a time; when applying, records
    /// after each how many have completed.
    async fn run_each(
        &mut self,
        step: &Step,
        script: &Body,
        statements: &[Statement<'_>],
        from: usize,
        mut tracker: ProgressTracker,
        settings: &strata_driver::TxSettings,
    ) -> Result<(), Failure> {
        let applying = step.action == StepAction::Apply;
        let own_transactions = own_transactions(statements, &script.sql);
        for (i, st) in statements.iter().enumerate().skip(from) {
            if step.retry
                && let Some(index) = strata_sql::concurrent_index_name(st, &script.sql)
            {
                let dropped = self
                    .driver
                    .drop_invalid_index(&index)
                    .await
                    .map_err(|e| self.failure(step, None, &e))?;
                if let Some(name) = dropped {
                    self.reporter.event(&Event::Warning {
                        message: format!(
                            "dropped the INVALID index {name} that the failed attempt of {} left behind, before building it again",
                            step.id
                        ),
                    });
                }
            }
            // A statement that can share a transaction with its progress
            // write is never in doubt after a crash: both happen or neither.
            let atomic =
                applying && !own_transactions && self.driver.records_atomically(st, &script.sql);
            let mut next = tracker.clone();
            let progress = next.completed(st.sql);
            let ran = if atomic {
                self.driver
                    .execute_recorded(st, settings, &step.id, &progress)
                    .await
            } else {
                self.driver
                    .execute_each(std::slice::from_ref(st), settings)
                    .await
            };
            match ran {
                Ok(()) => {}
                Err(DriverError::Statement(mut se)) => {
                    se.index = i;
                    let e = DriverError::Statement(se);
                    return Err(self.failure(step, Some((script, statements)), &e));
                }
                // No answer from the server (the connection was lost): the
                // statement may or may not have completed.
                Err(e) => {
                    let line = script.line + st.line_in(&script.sql);
                    let location = format!("{}:{line}", self.engine.display_path(&script.path));
                    let message = if atomic {
                        format!(
                            "migration {} ({}) stopped at statement {} ({location}): {e}\nit ran in one transaction with its progress record, so it either completed and is recorded or did not happen; `strata up` resumes from what history says",
                            step.id,
                            step.name,
                            i + 1
                        )
                    } else {
                        format!(
                            "migration {} ({}) stopped while statement {} ({location}) was running: {e}\nwhether it completed is in doubt; `strata up` resumes there after asking the catalog (or `strata repair {} --statement {} --done|--not-done` records what you find)",
                            step.id,
                            step.name,
                            i + 1,
                            step.id,
                            i + 1
                        )
                    };
                    let mut failure = Failure::new(message, Some(location));
                    failure.in_doubt = applying && !atomic;
                    return Err(failure);
                }
            }
            if applying {
                if !atomic {
                    self.driver
                        .record_progress(&step.id, &progress)
                        .await
                        .map_err(|e| self.failure(step, None, &e))?;
                }
                tracker = next;
                self.progress = Some(progress);
            }
        }
        Ok(())
    }

    /// Where an apply of `step` starts: after the statements an earlier,
    /// interrupted or failed attempt completed (unless `--restart`), when
    /// the file's first statements are still the ones that ran. The
    /// tracker returned has counted those statements. After an
    /// interruption, the statement after them is in doubt unless it ran in
    /// one transaction with its progress write: it is judged (see
    /// [`crate::in_doubt`]), and what was found is returned as a note.
    async fn resume_point(
        &mut self,
        step: &Step,
        script: &Body,
        statements: &[Statement<'_>],
    ) -> Result<(ProgressTracker, Option<String>), Failure> {
        let Some(previous) = self.history.iter().find(|r| {
            r.id == step.id && matches!(r.status, HistoryStatus::Failed | HistoryStatus::Running)
        }) else {
            return Ok((ProgressTracker::default(), None));
        };
        if self.restart {
            return Ok((ProgressTracker::default(), None));
        }
        let interrupted = previous.status == HistoryStatus::Running;
        let n = previous
            .progress
            .as_ref()
            .map_or(0, |p| usize::try_from(p.statements).unwrap_or(usize::MAX));
        let mut tracker = ProgressTracker::after(statements.iter().take(n).map(|s| s.sql));
        if n > 0 {
            let same = n <= statements.len()
                && previous.progress.as_ref().map(|p| &p.hash) == Some(&tracker.current().hash);
            if !same {
                let location =
                    format!("{}:{}", self.engine.display_path(&script.path), script.line);
                return Err(Failure::new(
                    format!(
                        "migration {} ({}) was stopped after {n} of its statements completed, but the file's first {n} statements are no longer the ones that ran (it was edited since)\ncheck the database, then run `strata up --restart` to run the whole migration again, or undo what ran and `strata repair {}` to clear the attempt",
                        step.id, step.name, step.id
                    ),
                    Some(location),
                ));
            }
        }
        let Some(st) = statements.get(n).filter(|_| interrupted) else {
            return Ok((tracker, None));
        };
        if !own_transactions(statements, &script.sql)
            && self.driver.records_atomically(st, &script.sql)
        {
            // It ran in one transaction with its progress write: not
            // recorded means not done.
            return Ok((tracker, None));
        }
        let number = n + 1;
        let line = script.line + st.line_in(&script.sql);
        let location = format!("{}:{line}", self.engine.display_path(&script.path));
        let dialect = self.driver.capabilities().dialect;
        let verdict = crate::in_doubt::judge(&mut *self.driver, st, &script.sql, dialect)
            .await
            .map_err(|e| self.failure(step, None, &e))?;
        let note = match verdict {
            Verdict::Rerun => format!(
                "statement {number} ({location}) was in doubt after the interrupted run; it can run again harmlessly, so it does"
            ),
            Verdict::NotDone(seen) => format!(
                "statement {number} ({location}) was in doubt after the interrupted run; the catalog shows it did not complete ({seen}), so it runs again"
            ),
            Verdict::Done(seen) => {
                tracker.completed(st.sql);
                format!(
                    "statement {number} ({location}) was in doubt after the interrupted run; the catalog shows it completed ({seen}), so it counts as done"
                )
            }
            Verdict::Unknown => {
                return Err(Failure::new(
                    format!(
                        "migration {} ({}) was interrupted while statement {number} ({location}) may have been running: whether it completed is in doubt, and the catalog cannot tell for this statement\ncheck the database, then record what you find with `strata repair {} --statement {number} --done` (it completed) or `--not-done` (it did not), and run `strata up` again",
                        step.id, step.name, step.id
                    ),
                    Some(location),
                ));
            }
        };
        self.reporter.event(&Event::Warning {
            message: format!("{}: {note}", step.id),
        });
        Ok((tracker, Some(note)))
    }

    /// Records a failed step honestly and returns the failure.
    async fn record_failure(
        &mut self,
        step: &Step,
        started: Timestamp,
        t0: Instant,
        failure: Failure,
    ) -> Result<(), Failure> {
        let applying = step.action == StepAction::Apply;
        let now = Timestamp::now();
        let elapsed = Some(t0.elapsed().as_millis() as i64);
        // A failed revert leaves the migration applied (a transactional one
        // changed nothing at all), so `down` can be retried.
        let status = if applying {
            HistoryStatus::Failed
        } else {
            HistoryStatus::Applied
        };
        let mut log = self.log(
            step,
            LogAction::Fail,
            status,
            started,
            Some(failure.message.clone()),
        );
        log.duration_ms = elapsed;
        let upsert = if applying {
            let status = if failure.in_doubt {
                HistoryStatus::Running
            } else {
                HistoryStatus::Failed
            };
            let mut row = self.row(step, status, started);
            row.finished_at = Some(now);
            row.duration_ms = elapsed;
            row.error = Some(failure.message.clone());
            row.progress = self.progress.take();
            Some(row)
        } else if step.tx_mode.is_transactional() && step.kind != MigrationKind::Script {
            None
        } else {
            self.previous_with_error(step, failure.message.clone())
        };
        if let Err(e) = self
            .driver
            .write_history(&HistoryWrite {
                upsert,
                delete: None,
                log,
                foreign: Vec::new(),
            })
            .await
        {
            return Err(Failure::new(
                format!(
                    "{}\nalso, recording the failure in history failed: {e}",
                    failure.message
                ),
                failure.location,
            ));
        }
        Err(failure)
    }

    /// A script migration that failed: its message, and the script's path.
    fn script_failure(&self, step: &Step, message: &str) -> Failure {
        let location = step.path.as_deref().map(|p| self.engine.display_path(p));
        Failure::new(
            format!(
                "migration {} ({}) {}: {message}\nthe script ran outside any transaction; check what it changed before running it again",
                step.id,
                step.name,
                if step.action == StepAction::Apply {
                    "failed"
                } else {
                    "could not be reverted"
                }
            ),
            location,
        )
    }

    fn failure(
        &self,
        step: &Step,
        script: Option<(&Body, &[Statement<'_>])>,
        error: &DriverError,
    ) -> Failure {
        let verb = match step.action {
            StepAction::Apply => "failed",
            StepAction::Revert => "could not be reverted",
            _ => "could not be recorded",
        };
        let location = match (script, error) {
            (Some((body, statements)), DriverError::Statement(e)) => Some(format!(
                "{}:{}",
                self.engine.display_path(&body.path),
                statement_line(body, statements, e)
            )),
            (Some((body, _)), _) => Some(format!(
                "{}:{}",
                self.engine.display_path(&body.path),
                body.line
            )),
            _ => None,
        };
        let mut message = format!("migration {} ({}) {verb}", step.id, step.name);
        if let Some(loc) = &location {
            message.push_str(&format!(" at {loc}"));
        }
        message.push_str(&format!(": {error}"));
        if let DriverError::Statement(e) = error {
            if let Some(d) = &e.detail {
                message.push_str(&format!("\ndetail: {d}"));
            }
            if let Some(h) = &e.hint {
                message.push_str(&format!("\nhint: {h}"));
            }
        }
        if step.tx_mode.is_transactional() {
            message.push_str(&format!(
                "\nnothing of this migration was kept (its transaction was rolled back); fix {} and run `strata {}` again",
                match step.action { StepAction::Apply => "the file", _ => "the down section" },
                if step.action == StepAction::Apply { "up" } else { "down" }
            ));
        } else if let (StepAction::Apply, Some(_), DriverError::Statement(e)) =
            (step.action, script, error)
        {
            let n = e.index;
            message.push_str(&match n {
                0 => "\nthe migration runs without a transaction; its first statement failed, so nothing of it ran; fix it and run `strata up` again".to_string(),
                _ => format!(
                    "\nthe migration runs without a transaction, statement by statement: statements 1-{n} completed and stay applied (history records them); fix statement {} and run `strata up` to resume there, or `strata up --restart` to run it from the top",
                    n + 1
                ),
            });
        } else {
            message.push_str("\nthe migration ran without a transaction, so the statements before the failing one stayed applied; check the database before running it again");
        }
        // PostgreSQL's lock_not_available, MySQL's lock wait timeout.
        let lock_timeout = matches!(
            error,
            DriverError::Statement(e) if matches!(e.code.as_deref(), Some("55P03" | "1205"))
        );
        Failure {
            message,
            location,
            lock_timeout,
            in_doubt: false,
        }
    }
}

/// Whether a migration opens and commits transactions itself: it keeps
/// them, and strata wraps none of its statements in one of its own.
fn own_transactions(statements: &[Statement<'_>], script: &str) -> bool {
    statements
        .iter()
        .any(|s| strata_sql::is_transaction_control(s, script))
}

/// Drizzle's journal `when` for the migration file at `path`.
fn journal_when(path: &Path) -> Option<i64> {
    let tag = path.file_stem()?.to_str()?;
    let journal =
        std::fs::read_to_string(path.parent()?.join("meta").join("_journal.json")).ok()?;
    let doc: serde_json::Value = serde_json::from_str(&journal).ok()?;
    doc.get("entries")?
        .as_array()?
        .iter()
        .find(|e| e.get("tag").and_then(|t| t.as_str()) == Some(tag))?
        .get("when")?
        .as_i64()
}

/// The file line of the statement that failed (and of the error position
/// within it, when the server gave one).
fn statement_line(body: &Body, statements: &[Statement<'_>], e: &StatementError) -> usize {
    let Some(st) = statements.get(e.index) else {
        return body.line;
    };
    let offset = match e.position {
        Some(p) => st.offset + strata_sql::char_position_to_offset(st.sql, p),
        None => st.token_offset,
    };
    body.line + strata_sql::line_at(&body.sql, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_positions_map_to_file_lines() {
        let body = Body {
            sql: "create table a (id int);\n\n-- why\ninsert into a\n  values (nope);\n".into(),
            line: 4,
            path: "m.sql".into(),
        };
        let statements = strata_sql::split(&body.sql, strata_sql::Dialect::Postgres);
        let err = |position| StatementError {
            index: 1,
            message: String::new(),
            code: None,
            position,
            detail: None,
            hint: None,
        };
        // No position: the statement's first token (line 4 of the body).
        assert_eq!(statement_line(&body, &statements, &err(None)), 4 + 3);
        // Position of `nope` within the statement text.
        let pos = statements[1].sql.find("nope").unwrap() + 1;
        assert_eq!(statement_line(&body, &statements, &err(Some(pos))), 4 + 4);
    }
}
