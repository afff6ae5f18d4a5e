//! Where an interrupted or failed statement-by-statement apply starts
//! again, judging the statement that was in doubt.

use super::Run;
use super::apply::own_transactions;
use super::failure::Failure;
use crate::events::Event;
use crate::in_doubt::Verdict;
use strata_model::{Body, HistoryStatus, ProgressTracker};
use strata_plan::Step;
use strata_sql::Statement;

impl Run<'_> {
    /// Where an apply of `step` starts: after the statements an earlier,
    /// interrupted or failed attempt completed (unless `--restart`), when
    /// the file's first statements are still the ones that ran. The
    /// tracker returned has counted those statements. After an
    /// interruption, the statement after them is in doubt unless it ran in
    /// one transaction with its progress write: it is judged (see
    /// [`crate::in_doubt`]), and what was found is returned as a note.
    pub(super) async fn resume_point(
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
}
