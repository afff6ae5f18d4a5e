//! One step: its SQL in one transaction with its history row, or outside a
//! transaction statement by statement (recording progress as it goes), or
//! its script.

use super::Run;
use super::failure::Failure;
use crate::events::Event;
use std::time::Instant;
use strata_driver::{DriverError, HistoryWrite};
use strata_model::{
    Body, HistoryStatus, LogAction, MigrationKind, ProgressTracker, Timestamp, TxMode,
};
use strata_plan::{Step, StepAction};
use strata_sql::Statement;

impl Run<'_> {
    pub(super) async fn step(&mut self, step: &Step) -> Result<(), Failure> {
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

    pub(super) async fn run_sql(&mut self, step: &Step) -> Result<(), Failure> {
        // Progress belongs to one step; none carries over from the last.
        self.progress = None;
        let script = step
            .script
            .as_ref()
            .expect("apply and revert steps have a script");
        let is_script = step.kind == MigrationKind::Script;
        if is_script && self.dry_run {
            // A script that says it can: run with dry_run, nothing recorded.
            return crate::script::run(&self.engine.script_env(&step.id.source), step, "dry-run")
                .await
                .map(drop)
                .map_err(|m| {
                    Failure::new(
                        format!(
                            "migration {} ({}) failed its dry run: {m}",
                            step.id, step.name
                        ),
                        step.path.as_deref().map(|p| self.engine.display_path(p)),
                    )
                });
        }
        let statements = match step.tx_mode {
            _ if is_script => Vec::new(),
            TxMode::OneCommand => strata_sql::whole(&script.sql),
            _ => strata_sql::split(&script.sql, self.driver.capabilities().dialect),
        };
        for st in &statements {
            crate::trace::statement(
                &step.id,
                &step.name,
                script.line + st.line_in(&script.sql),
                st.sql,
            );
        }
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
            match crate::script::run(&self.engine.script_env(&step.id.source), step, command).await
            {
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
    pub(super) async fn run_each(
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
}

/// Whether a migration opens and commits transactions itself: it keeps
/// them, and strata wraps none of its statements in one of its own.
pub(super) fn own_transactions(statements: &[Statement<'_>], script: &str) -> bool {
    statements
        .iter()
        .any(|s| strata_sql::is_transaction_control(s, script))
}
