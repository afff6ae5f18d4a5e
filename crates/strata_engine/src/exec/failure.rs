//! What a failed step says: the migration, the file and line of the failing
//! statement, what was kept and what to do next.

use super::Run;
use strata_driver::{DriverError, SqlErrorKind, StatementError};
use strata_model::Body;
use strata_plan::{Step, StepAction};
use strata_sql::Statement;

/// A failed step: the message (naming the migration, file and line) and
/// where the failing statement is.
pub(super) struct Failure {
    pub message: String,
    pub location: Option<String>,
    /// A statement gave up waiting for a lock (worth retrying).
    pub lock_timeout: bool,
    /// The server never answered for the failing statement, which may have
    /// completed: its row stays `running`, so the next run judges it.
    pub in_doubt: bool,
}

impl Failure {
    pub fn new(message: String, location: Option<String>) -> Self {
        Failure {
            message,
            location,
            lock_timeout: false,
            in_doubt: false,
        }
    }
}

impl Run<'_> {
    /// A script migration that failed: its message, and the script's path.
    pub(super) fn script_failure(&self, step: &Step, message: &str) -> Failure {
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

    pub(super) fn failure(
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
        let lock_timeout = matches!(
            error,
            DriverError::Statement(e) if e.kind == SqlErrorKind::LockTimeout
        );
        Failure {
            message,
            location,
            lock_timeout,
            in_doubt: false,
        }
    }
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
            sql: "create table a (id int);\n\n-- why\ninsert into a\n  values (nope);\n"
                .to_string()
                .into(),
            line: 4,
            path: "m.sql".into(),
        };
        let statements = strata_sql::split(&body.sql, strata_sql::Dialect::Postgres);
        let err = |position| StatementError {
            index: 1,
            message: String::new(),
            kind: SqlErrorKind::Other,
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
