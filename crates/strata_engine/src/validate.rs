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
    /// The file it is in (as [`Engine::display_path`] shows it), when it
    /// is in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The 1-based line, when it is on one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl Finding {
    fn new(kind: &'static str, message: String) -> Self {
        Finding {
            kind,
            message,
            path: None,
            line: None,
        }
    }

    fn at(mut self, path: String, line: Option<usize>) -> Self {
        self.path = Some(path);
        self.line = line;
        self
    }
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
                    let (path, line) = (self.display_path(&body.path), body.line + at);
                    found.push(
                        Finding::new(
                            "syntax",
                            format!(
                                "{path}:{line}: PostgreSQL syntax: {message}, in `{text}` (the server would refuse it; fix the statement)"
                            ),
                        )
                        .at(path, Some(line)),
                    );
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
                    .map(|d| {
                        Finding::new("file", d.to_string()).at(self.display_path(&d.path), d.line)
                    })
                    .collect());
            }
            Err(EngineError::Plan(e)) => {
                return Ok(vec![Finding::new("order", e.to_string())]);
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
                return Ok(vec![Finding::new("plan", e.to_string())]);
            }
        };
        // Planned as `up` plans, so what `up` would refuse is found here.
        let up = RequestKind::Up(UpOptions::default());
        Ok(match up.plan(&found.migrations, &history, &target) {
            Ok(_) => Vec::new(),
            Err(PlanError::Blocked(problems)) => problems
                .iter()
                .map(|p| {
                    let (kind, path) = match p {
                        strata_plan::Problem::Drifted { path, .. } => ("drift", Some(path)),
                        strata_plan::Problem::Missing { .. } => ("missing", None),
                        strata_plan::Problem::OutOfOrder { path, .. } => {
                            ("out_of_order", Some(path))
                        }
                    };
                    let finding = Finding::new(kind, p.to_string());
                    match path {
                        Some(path) => finding.at(self.display_path(path), None),
                        None => finding,
                    }
                })
                .collect(),
            Err(e) => vec![Finding::new("plan", e.to_string())],
        })
    }
}
