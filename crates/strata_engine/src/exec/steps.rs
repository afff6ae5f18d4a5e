//! The step loop, the same for real and dry runs: the lock checked before
//! each step, per-migration hooks, retries after a lock timeout, the
//! verify section after an apply, and the events the user sees.

use super::Run;
use super::blockers::watch_blockers;
use super::failure::Failure;
use crate::events::{Event, Reporter};
use crate::hooks::{HookContext, HookPoint};
use crate::report::ms;
use crate::report::{Report, Request};
use crate::{Engine, EngineError};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};
use strata_driver::Driver;
use strata_model::{HistoryRow, HistoryStatus, Migration, MigrationKind, Version};
use strata_plan::{Plan, Step, StepAction};

impl Engine {
    /// Runs the steps of `plan` (the one loop for real and dry runs).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn execute(
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
        // A plan made on files read without their SQL only tells whether
        // there is anything to run; running it would run nothing.
        if let Some(step) = plan
            .steps
            .iter()
            .find(|s| s.script.as_ref().is_some_and(|b| !b.is_read()))
        {
            return Err(EngineError::Refused(format!(
                "{} was planned without reading its SQL (a strata bug: please report it); nothing ran",
                step.id
            )));
        }
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
            dry_run: report.dry_run,
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
        // In a dry run, a step that ran SQL holds it in the open
        // transaction, which a script's own connection cannot see.
        let mut sql_ran = false;
        for (index, step) in plan.steps.iter().enumerate() {
            if let Err(e) = run.driver.check_lock().await {
                report.duration_ms = ms(started.elapsed());
                reporter.event(&report.finished());
                return Err(EngineError::LockLost {
                    message: e.to_string(),
                    report: Box::new(report.clone()),
                });
            }
            let info = self.step_info(step);
            let runs_outside = step.action.runs_sql()
                && (!step.tx_mode.is_transactional() || step.kind == MigrationKind::Script);
            let tries_itself = step.kind == MigrationKind::Script
                && step.action == StepAction::Apply
                && step
                    .script
                    .as_ref()
                    .is_some_and(|b| strata_discover::dry_runnable(&b.sql));
            if report.dry_run && runs_outside && (!tries_itself || sql_ran) {
                report.skipped += 1;
                let (reason, sql) = if tries_itself {
                    (
                        "earlier steps of this dry run hold their changes in a transaction the script's own connection cannot see",
                        None,
                    )
                } else if run.driver.capabilities().transactional_ddl {
                    (
                        "it runs outside a transaction, so a dry run cannot try it and roll it back",
                        None,
                    )
                } else {
                    (
                        "this database commits DDL as it runs, so a dry run shows the SQL without executing it",
                        step.script.as_ref().map(|b| b.sql.to_string()),
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
                self.hooks
                    .run(HookPoint::BeforeEach, &mut *run.driver, &context, reporter)
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
                        let first = self.env.lock_retry_wait.unwrap_or(Duration::from_secs(2));
                        let pause = first * (1 << attempt.min(4));
                        attempt += 1;
                        reporter.event(&Event::Warning {
                            message: format!(
                                "{} gave up waiting for a lock and was rolled back; retry {attempt} of {} in {}",
                                step.id,
                                self.env.lock_retries,
                                humantime::format_duration(pause)
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
                    sql_ran |= step.kind != MigrationKind::Script;
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
                        self.hooks
                            .run(HookPoint::AfterEach, &mut *run.driver, &context, reporter)
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
                    reporter.event(&report.finished());
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

    /// Runs the verify section of the migration `step` just applied
    /// (`verify_after`): a missing change stops the run, the migration
    /// staying applied.
    pub(super) async fn verify_after(
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
        let missing = self.missing_change(driver, m, verify).await?;
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
}
