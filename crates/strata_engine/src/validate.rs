//! `strata validate`: static checks without running anything: every file
//! parses, versions are unique per source, requirements resolve; with a
//! database, applied migrations still match their files and nothing pending
//! is out of order.

use crate::{Engine, EngineError};
use strata_discover::DiscoverError;
use strata_model::{Migration, MigrationKind};
use strata_plan::{PlanError, RequestKind, UpOptions};
use strata_sql::Dialect;

/// One problem `validate` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    /// `file`, `syntax`, `order`, `drift`, `missing`, `out_of_order` or
    /// `plan`.
    pub kind: &'static str,
    pub message: String,
}

impl Engine {
    /// PostgreSQL SQL that does not parse (squawk-syntax's parser): the
    /// first error of each statement, with its file and line. SQLite and
    /// MySQL syntax is left to `strata up --dry-run` (no parser strata
    /// has reads those dialects without refusing valid SQL).
    fn syntax_findings(&self, migrations: &[Migration]) -> Vec<Finding> {
        let mut found = Vec::new();
        for m in migrations.iter().filter(|m| {
            m.kind != MigrationKind::Script
                && m.unsupported.is_none()
                && self.dialect_of(&m.id.source) == Dialect::Postgres
        }) {
            for body in std::iter::once(&m.up).chain(&m.down).chain(&m.verify) {
                for (range, message) in strata_lint::syntax_errors(&body.sql) {
                    let at = strata_sql::line_at(&body.sql, range.start);
                    // The line itself, since the parser names tokens.
                    let text: String = body
                        .sql
                        .lines()
                        .nth(at)
                        .unwrap_or("")
                        .trim()
                        .chars()
                        .take(80)
                        .collect();
                    found.push(Finding {
                        kind: "syntax",
                        message: format!(
                            "{}:{}: PostgreSQL syntax: {message}, in `{text}` (the server would refuse it; fix the statement)",
                            self.display_path(&body.path),
                            body.line + at
                        ),
                    });
                }
            }
        }
        found
    }

    /// The findings; `with_database` also compares with the history.
    pub async fn validate(&self, with_database: bool) -> Result<Vec<Finding>, EngineError> {
        let found = match self.migrations() {
            Ok(found) => found,
            Err(EngineError::Discover(DiscoverError::Invalid(diags))) => {
                return Ok(diags
                    .iter()
                    .map(|d| Finding {
                        kind: "file",
                        message: d.to_string(),
                    })
                    .collect());
            }
            Err(EngineError::Plan(e)) => {
                return Ok(vec![Finding {
                    kind: "order",
                    message: e.to_string(),
                }]);
            }
            Err(e) => return Err(e),
        };
        let syntax = self.syntax_findings(&found.migrations);
        if !with_database || !syntax.is_empty() {
            return Ok(syntax);
        }
        let mut driver = self.connect().await?;
        let history = self
            .history_rows(driver.as_mut(), &found.migrations)
            .await?;
        let caps = driver.capabilities();
        let target = match self.plan_target(&caps) {
            Ok(target) => target,
            Err(e) => {
                return Ok(vec![Finding {
                    kind: "plan",
                    message: e.to_string(),
                }]);
            }
        };
        // Planned as `up` plans, so what `up` would refuse is found here.
        let up = RequestKind::Up(UpOptions::default());
        Ok(match up.plan(&found.migrations, &history, &target) {
            Ok(_) => Vec::new(),
            Err(PlanError::Blocked(problems)) => problems
                .iter()
                .map(|p| Finding {
                    kind: match p {
                        strata_plan::Problem::Drifted { .. } => "drift",
                        strata_plan::Problem::Missing { .. } => "missing",
                        strata_plan::Problem::OutOfOrder { .. } => "out_of_order",
                    },
                    message: p.to_string(),
                })
                .collect(),
            Err(e) => vec![Finding {
                kind: "plan",
                message: e.to_string(),
            }],
        })
    }
}
