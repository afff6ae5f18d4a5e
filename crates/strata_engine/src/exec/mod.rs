//! The executor: lock, read history, plan, check approval, then run each
//! step of that same plan with an honest history row, and release the lock
//! on every path.
//!
//! - [`policy`]: the environment's rules (protected, destructive, approval);
//! - [`lifecycle`]: hooks, backups and notifications around a run;
//! - [`steps`]: the step loop (retries, verify-after, dry-run skips);
//! - [`apply`]: one step's SQL or script, in or outside a transaction;
//! - [`resume`]: where an interrupted apply starts again;
//! - [`bookkeeping`]: the history rows and log entries each step writes;
//! - [`failure`]: what a failed step says;
//! - [`blockers`]: who a waiting statement waits for.

mod apply;
mod blockers;
mod bookkeeping;
mod failure;
mod lifecycle;
mod policy;
mod resume;
mod steps;

use crate::config::NotifyOn;
use crate::events::{Event, Reporter};
use crate::notify::Notice;
use crate::report::{Report, Request, RequestKind, ms};
use crate::{Engine, EngineError};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;
use strata_discover::Found;
use strata_driver::Driver;
use strata_model::{HistoryRow, Migration, Progress, Version};
use strata_plan::Plan;

/// One run's state while executing a plan.
pub(super) struct Run<'a> {
    pub(super) engine: &'a Engine,
    pub(super) driver: &'a mut dyn Driver,
    pub(super) reporter: &'a dyn Reporter,
    pub(super) batch: i64,
    pub(super) history: &'a [HistoryRow],
    /// Applied versions per source as the run goes (for a foreign history
    /// that keeps only the current version).
    pub(super) applied: HashMap<String, BTreeSet<Version>>,
    pub(super) restart: bool,
    /// A dry run: scripts that can run without changing anything do so,
    /// and nothing is recorded of them.
    pub(super) dry_run: bool,
    /// The statements of the current statement-by-statement apply that
    /// completed, kept in its history row if it fails.
    pub(super) progress: Option<Progress>,
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
        self.run_with(request, reporter, None).await
    }

    /// [`Engine::run`] on a connection the program embedding strata lent
    /// (a driver made with `PgDriver::lent` and the like), which stays the
    /// program's: strata takes its lock there and gives it back.
    pub async fn run_on(
        &self,
        request: &Request,
        reporter: &dyn Reporter,
        driver: &mut dyn Driver,
    ) -> Result<Report, EngineError> {
        self.run_with(request, reporter, Some(driver)).await
    }

    async fn run_with(
        &self,
        request: &Request,
        reporter: &dyn Reporter,
        lent: Option<&mut dyn Driver>,
    ) -> Result<Report, EngineError> {
        let work = async {
            let result = self.run_unaudited_on(request, reporter, lent).await;
            // Every failure is told, a refusal before anything ran (drift,
            // a missing file, no connection, no approval) as much as a
            // failed migration.
            if let Err(error) = &result {
                let report = error.report();
                let notice = Notice {
                    on: NotifyOn::Failure,
                    command: request.command(),
                    plan_hash: report.map_or("", |r| r.plan_hash.as_str()),
                    steps: report.map_or(0, Report::steps),
                    dry_run: request.dry_run,
                    report,
                    error: Some(error.to_string()),
                };
                self.notifier.send(&notice).delivered(reporter).await;
            }
            result
        };
        self.audited(request.command(), request.dry_run, reporter, work)
            .await
    }

    pub(crate) async fn run_unaudited(
        &self,
        request: &Request,
        reporter: &dyn Reporter,
    ) -> Result<Report, EngineError> {
        self.run_unaudited_on(request, reporter, None).await
    }

    async fn run_unaudited_on(
        &self,
        request: &Request,
        reporter: &dyn Reporter,
        lent: Option<&mut dyn Driver>,
    ) -> Result<Report, EngineError> {
        let started = Instant::now();
        let migrations = self
            .migrations_in_background(request.first_reading())
            .ready()?;
        let terminate = request.terminate_stale.then_some(request.yes);
        let mut session = match lent {
            Some(driver) => self.locked_on(driver, reporter).await?,
            None => self.locked(reporter, terminate).await?,
        };
        // The history is read while the files still are.
        let history = session.driver().read_history().await;
        let result = match (migrations.join(), history) {
            (Ok(mut found), Ok(mut history)) => {
                for warning in &found.warnings {
                    reporter.event(&Event::Warning {
                        message: warning.to_string(),
                    });
                }
                let result = self
                    .run_locked(
                        session.driver(),
                        request,
                        (&mut found, &mut history),
                        reporter,
                        started,
                    )
                    .await;
                // Ten thousand migrations and history rows take
                // milliseconds to free: another thread does it while the
                // lock is released.
                std::thread::spawn(move || drop((found, history)));
                result
            }
            (Err(e), _) => Err(e),
            (_, Err(e)) => Err(e.into()),
        };
        // The schema as the run left it, read once the migrations and the
        // history are let go of (a catalog of ten thousand tables is
        // tens of megabytes while it is read).
        if let Ok(report) = &result
            && !report.dry_run
            && report.steps() > 0
        {
            self.record_fingerprint(session.driver(), reporter).await;
        }
        session.release(result).await
    }

    /// Runs `request` holding the lock, on the migrations `found` on disk
    /// and every history row as read (`all_history`).
    async fn run_locked(
        &self,
        driver: &mut dyn Driver,
        request: &Request,
        (found, all_history): (&mut Found, &mut Vec<HistoryRow>),
        reporter: &dyn Reporter,
        started: Instant,
    ) -> Result<Report, EngineError> {
        if let (RequestKind::Fresh, Some(only)) = (&request.kind, &self.only_source) {
            return Err(EngineError::FreshOneSource(only.clone()));
        }
        let target = self.plan_target(&driver.capabilities())?;
        let table = driver.history_table();
        let plan = self.plan_with_sql(found, |migrations| {
            self.plan_on(request, &target, migrations, all_history, &table)
        })?;
        let migrations = &found.migrations[..];
        let history = self.selected_rows(all_history);
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
        if !request.dry_run && self.has_squashes() {
            self.reconcile_foreign_histories(driver, all_history, migrations)
                .await?;
        }
        for message in &plan.warnings {
            reporter.event(&Event::Warning {
                message: message.clone(),
            });
        }
        reporter.event(&Event::Started {
            command: request.command().into(),
            database: driver.describe(),
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
                    (all_history, &history),
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
        reporter.event(&report.finished());
        Ok(report)
    }
}

impl Engine {
    /// The plan of `request` on `migrations`, placing the history rows of
    /// named migrations first.
    fn plan_on(
        &self,
        request: &Request,
        target: &strata_plan::Target,
        migrations: &[Migration],
        all_history: &mut [HistoryRow],
        table: &str,
    ) -> Result<Plan, EngineError> {
        self.place(all_history, migrations, table)?;
        let mut rows = self.selected_rows(all_history);
        if self.has_squashes() {
            self.squash_view(rows.to_mut(), migrations)?;
        }
        Ok(request.kind.plan(migrations, &rows, target)?)
    }

    /// The rows of the selected sources: copied only when some are not.
    fn selected_rows<'h>(&self, all: &'h [HistoryRow]) -> Cow<'h, [HistoryRow]> {
        if all.iter().all(|r| self.selects(&r.id.source)) {
            all.into()
        } else {
            all.iter()
                .filter(|r| self.selects(&r.id.source))
                .cloned()
                .collect::<Vec<_>>()
                .into()
        }
    }
}
