//! The history rows and log entries each step writes, another tool's
//! history kept alongside, and the honest record of a failed step.

use super::Run;
use super::failure::Failure;
use crate::EngineError;
use crate::events::Event;
use std::time::Instant;
use strata_discover::Change;
use strata_driver::{DriverError, ForeignWrite, HistoryWrite};
use strata_model::{
    HistoryRow, HistoryStatus, LogAction, LogEntry, MigrationKind, ProgressTracker, STRATA_VERSION,
    Timestamp,
};
use strata_plan::{Step, StepAction};

impl Run<'_> {
    pub(super) fn environment(&self) -> Option<String> {
        self.engine.env_name.clone()
    }

    pub(super) fn row(&self, step: &Step, status: HistoryStatus, started: Timestamp) -> HistoryRow {
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
    pub(super) fn foreign(&self, step: &Step) -> Vec<ForeignWrite> {
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
        let Some(history) = strata_discover::format(&source.format).and_then(|f| f.history())
        else {
            return Vec::new();
        };
        let mut versions = self
            .applied
            .get(&step.id.source)
            .cloned()
            .unwrap_or_default();
        let applying = matches!(step.action, StepAction::Apply | StepAction::Baseline);
        if applying {
            versions.insert(step.id.version.clone());
        } else {
            versions.remove(&step.id.version);
        }
        let text = step
            .script
            .as_ref()
            .map(|b| b.sql.to_string())
            .unwrap_or_default();
        let file = step.path.as_deref().map(|p| self.engine.root().join(p));
        let raw = file
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .unwrap_or_else(|| text.into_bytes());
        let change = Change {
            applying,
            id: &step.id,
            name: &step.name,
            raw: &raw,
            path: file.as_deref(),
            current: versions.last(),
            dialect: self.driver.capabilities().dialect,
        };
        history.record(&change)
    }

    /// Notes a step's effect on the applied versions.
    pub(super) fn note_applied(&mut self, step: &Step) {
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
    pub(super) fn previous_with_error(&self, step: &Step, error: String) -> Option<HistoryRow> {
        let mut row = self.history.iter().find(|r| r.id == step.id)?.clone();
        row.error = Some(error);
        Some(row)
    }

    pub(super) fn log(
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
    pub(super) async fn reset(&mut self, all_history: &[HistoryRow]) -> Result<(), EngineError> {
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

    /// Steps that only write history.
    pub(super) async fn record(&mut self, step: &Step) -> Result<(), DriverError> {
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
                self.repair(step, Some(row), HistoryStatus::Applied, now, detail)
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
                self.repair(step, Some(row), HistoryStatus::Failed, now, detail)
            }
            StepAction::Forget => self.repair(
                step,
                None,
                HistoryStatus::Applied,
                now,
                "forgotten: its file was deleted; what it changed stays in the database".into(),
            ),
            // A revert that failed outside a transaction: the migration
            // stays applied; the user has checked the database.
            _ if previous.is_some_and(|p| p.status == HistoryStatus::Applied) => {
                let mut row = previous.expect("checked").clone();
                row.error = None;
                let detail =
                    "cleared the failed revert's error; the migration stays applied".to_string();
                self.repair(step, Some(row), HistoryStatus::Applied, now, detail)
            }
            _ => {
                let status = previous.map_or(HistoryStatus::Failed, |p| p.status);
                let detail = format!(
                    "cleared the {} attempt; the migration is pending again",
                    status.as_str()
                );
                self.repair(step, None, status, now, detail)
            }
        };
        self.driver.write_history(&write).await
    }

    /// A repair of `step`'s row: `row` written in its place, or (`None`)
    /// the row deleted; logged with `detail`.
    fn repair(
        &self,
        step: &Step,
        row: Option<HistoryRow>,
        status: HistoryStatus,
        now: Timestamp,
        detail: String,
    ) -> HistoryWrite {
        HistoryWrite {
            delete: row.is_none().then(|| step.id.clone()),
            upsert: row,
            log: self.log(step, LogAction::Repair, status, now, Some(detail)),
            foreign: Vec::new(),
        }
    }

    /// Records a failed step honestly and returns the failure.
    pub(super) async fn record_failure(
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
}
