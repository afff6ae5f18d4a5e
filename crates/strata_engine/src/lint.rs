//! `strata lint`: which migrations to look at, in which dialect, with which
//! rule levels.

use crate::config::CONFIG_FILE;
use crate::target::DatabaseTarget;
use crate::{Engine, EngineError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use strata_lint::{Finding, LintConfig, Linter};
use strata_plan::MigrationState;
use strata_sql::{Dialect, EngineKind};

/// What `strata lint` found.
#[derive(Debug, serde::Serialize)]
pub struct LintReport {
    pub findings: Vec<Finding>,
    /// How many migrations were linted.
    pub migrations: usize,
    /// `paths`, `pending` (an environment was chosen) or `all`.
    pub scope: &'static str,
}

impl Engine {
    /// The `[lint]` settings, with the environment's on top.
    fn lint_config(&self) -> LintConfig {
        let base = &self.project.config.lint;
        match &self.env.lint {
            Some(env) => base.overlay(env),
            None => base.clone(),
        }
    }

    /// Lints the migrations under `paths`; without paths, the pending ones
    /// when an environment (or database) was chosen, otherwise all.
    pub async fn lint(
        &self,
        paths: &[PathBuf],
        pending_only: bool,
    ) -> Result<LintReport, EngineError> {
        let linter = Linter::new(&self.lint_config()).map_err(|message| EngineError::Config {
            path: self.project.path.clone().unwrap_or_else(|| PathBuf::from(CONFIG_FILE)),
            message,
            help: "set [lint] rules = { \"rule-name\" = \"off\" | \"warning\" | \"error\" }; `strata lint --explain` lists the rules".into(),
        })?;
        let mut migrations = self.migrations()?.migrations;
        let scope = if !paths.is_empty() {
            let wanted = paths
                .iter()
                .map(|p| self.lint_path(p))
                .collect::<Result<Vec<_>, _>>()?;
            let root = self.root();
            // Thousands of files share a directory: its real path is
            // worked out once.
            let mut real = HashMap::new();
            migrations.retain(|m| {
                let at = located(&root.join(&m.path), &mut real);
                wanted.iter().any(|w| at.starts_with(w))
            });
            "paths"
        } else if pending_only {
            let (status, _) = self.status().await?;
            migrations.retain(|m| {
                status
                    .iter()
                    .any(|s| s.id == m.id && s.state == MigrationState::Pending)
            });
            "pending"
        } else {
            "all"
        };
        // Each file is parsed and checked on its own: on every core.
        let findings = strata_model::parallel_map(migrations.iter().collect(), |m| {
            linter.lint(m, self.dialect_of(&m.id.source))
        })
        .into_iter()
        .flatten()
        .collect();
        Ok(LintReport {
            findings,
            migrations: migrations.len(),
            scope,
        })
    }

    /// `path` made absolute, refused when it is not in a selected source.
    fn lint_path(&self, path: &Path) -> Result<PathBuf, EngineError> {
        let full = located(path, &mut HashMap::new());
        if !full.exists() {
            return Err(EngineError::Config {
                path: path.to_path_buf(),
                message: "no such file or directory".into(),
                help: "pass a migration file or a directory of migrations".into(),
            });
        }
        let in_source = self.sources().iter().any(|s| {
            let dir = canonical(&s.path);
            full.starts_with(&dir) || dir.starts_with(&full)
        });
        if !in_source {
            let sources: Vec<String> = self
                .sources()
                .iter()
                .map(|s| format!("{} ({})", s.name, s.path.display()))
                .collect();
            return Err(EngineError::Config {
                path: path.to_path_buf(),
                message: "is not in any source of this project".into(),
                help: format!(
                    "lint files inside a source ({}), or add the directory as a [[source]] in strata.toml",
                    sources.join(", ")
                ),
            });
        }
        Ok(full)
    }

    /// The dialect `source`'s migrations are written in: its `engine`,
    /// else the database's, else PostgreSQL.
    pub fn dialect_of(&self, source: &str) -> Dialect {
        let declared = self
            .project
            .config
            .sources
            .iter()
            .find(|s| s.name == source)
            .and_then(|s| s.engine.as_deref())
            .and_then(EngineKind::parse);
        declared
            .or_else(|| self.database().ok().map(DatabaseTarget::engine))
            .map_or(Dialect::Postgres, EngineKind::dialect)
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Where a path is, as the user sees the project: a directory where it
/// really is, a file in its directory's real place under its own name (a
/// linked file is where the link is, not where it leads). `real` keeps the
/// real paths of the directories already seen.
fn located(p: &Path, real: &mut HashMap<PathBuf, PathBuf>) -> PathBuf {
    let mut real_dir = |dir: &Path| {
        real.entry(dir.to_path_buf())
            .or_insert_with(|| canonical(dir))
            .clone()
    };
    match (p.is_dir(), p.parent(), p.file_name()) {
        (true, _, _) => real_dir(p),
        (false, Some(dir), Some(name)) if !dir.as_os_str().is_empty() => real_dir(dir).join(name),
        (false, _, Some(name)) => real_dir(Path::new(".")).join(name),
        (false, _, None) => canonical(p),
    }
}
