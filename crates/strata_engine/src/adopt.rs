//! `strata adopt --from TOOL`: reads the history another tool left in the
//! database and records those migrations as applied in strata's history,
//! running nothing.

use crate::audit::{Audited, Outcome};
use crate::events::Reporter;
use crate::{Engine, EngineError};
use std::collections::HashMap;
use strata_discover::{Format, SourceSpec, ToolHistory};
use strata_driver::{Driver, HistoryWrite};
use strata_model::{
    HistoryRow, HistoryStatus, Lane, LogAction, LogEntry, Migration, MigrationKind, STRATA_VERSION,
    Timestamp,
};

/// What `adopt` found and did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AdoptReport {
    pub tool: String,
    pub source: String,
    pub dry_run: bool,
    /// Migrations recorded as applied (or that would be, with --dry-run).
    pub adopted: Vec<String>,
    /// Applied according to the tool, but strata has no file for them.
    pub foreign_only: Vec<String>,
    /// Files the tool has no record of: `strata up` will apply them.
    pub pending: Vec<String>,
    /// Already in strata's history: left as they are.
    pub already: Vec<String>,
    /// A migration the tool marked dirty or failed: reported, not adopted.
    pub dirty: Vec<String>,
}

impl Audited for AdoptReport {
    fn outcome(&self) -> Outcome<'_> {
        Outcome::Adopted {
            adopted: self.adopted.len(),
        }
    }
}

/// A migration tool whose history strata can adopt: a format of the
/// registry ([`strata_discover::formats`]) with a history table.
pub type Tool = &'static dyn Format;

/// The tool named `name`, when strata can adopt its history.
pub fn tool(name: &str) -> Option<Tool> {
    strata_discover::format(name).filter(|f| f.history().is_some())
}

/// The names of the tools whose history strata can adopt, sorted.
pub fn tool_names() -> Vec<&'static str> {
    strata_discover::names(strata_discover::tools())
}

fn history_of(tool: Tool) -> &'static dyn ToolHistory {
    tool.history().expect("a tool has a history table")
}

impl Engine {
    /// Adopts `tool`'s history into the source that reads its layout (or
    /// `--source`).
    pub async fn adopt(
        &self,
        tool: Tool,
        dry_run: bool,
        reporter: &dyn Reporter,
    ) -> Result<AdoptReport, EngineError> {
        let source = self.adopt_source(tool)?;
        self.audited(
            "adopt",
            dry_run,
            reporter,
            self.adopt_into(tool, &source, dry_run, reporter),
        )
        .await
    }

    /// Adopts, then records in strata.toml that the source keeps the tool's
    /// history from now on.
    pub async fn adopt_and_keep(
        &self,
        tool: Tool,
        reporter: &dyn Reporter,
    ) -> Result<AdoptReport, EngineError> {
        if !history_of(tool).keepable() {
            return Err(EngineError::Adopt(format!(
                "strata cannot keep {}'s history (it checks a checksum strata does not compute); adopt without --keep-foreign-history",
                tool.name()
            )));
        }
        let source = self.adopt_source(tool)?;
        let report = self
            .audited(
                "adopt",
                false,
                reporter,
                self.adopt_into(tool, &source, false, reporter),
            )
            .await?;
        self.project
            .enable_source_flag(&source, "keep_foreign_history")?;
        Ok(report)
    }

    async fn adopt_into(
        &self,
        tool: Tool,
        source: &str,
        dry_run: bool,
        reporter: &dyn Reporter,
    ) -> Result<AdoptReport, EngineError> {
        let source = source.to_string();
        let migrations: Vec<Migration> = self
            .migrations()?
            .migrations
            .into_iter()
            .filter(|m| m.id.source == source)
            .collect();
        let mut session = self.locked(reporter, None).await?;
        let result = self
            .adopt_locked(session.driver(), tool, &source, &migrations, dry_run)
            .await;
        session.release(result).await
    }

    /// The source to adopt into: `--source`, else the one source of the
    /// tool's format, else the one source of strata's own format laid out
    /// as the tool lays it out (a `migrations/` of `<ts>_<name>.sql` is both
    /// strata's and sqlx's).
    fn adopt_source(&self, tool: Tool) -> Result<String, EngineError> {
        let named = |pick: &dyn Fn(&SourceSpec) -> bool| -> Vec<&str> {
            self.sources()
                .iter()
                .filter(|s| self.only_source().is_some() || pick(s))
                .map(|s| s.name.as_str())
                .collect()
        };
        let mut candidates = named(&|s| s.format == tool.name());
        if candidates.is_empty() && history_of(tool).shares_strata_layout() {
            candidates = named(&|s| s.format == "strata");
        }
        match candidates.as_slice() {
            [one] => Ok(one.to_string()),
            [] => Err(EngineError::Adopt(format!(
                "no source has format = \"{}\"; run `strata init` to add one, or pass --source NAME",
                tool.name()
            ))),
            many => Err(EngineError::Adopt(format!(
                "several sources have format = \"{}\" ({}); pass --source NAME",
                tool.name(),
                many.join(", ")
            ))),
        }
    }

    async fn adopt_locked(
        &self,
        driver: &mut dyn Driver,
        tool: Tool,
        source: &str,
        migrations: &[Migration],
        dry_run: bool,
    ) -> Result<AdoptReport, EngineError> {
        let dialect = driver.capabilities().dialect;
        let table = history_of(tool);
        let rows = driver.query_text(&table.query(dialect)).await?.ok_or_else(|| {
            EngineError::Adopt(format!(
                "{} has no {} history table here; nothing to adopt (check --env / --database-url)",
                self.database_display(),
                tool.name()
            ))
        })?;
        // The versions the tool says are applied, in its own words.
        let said = table.read(&rows, migrations, source);
        let applied = said.applied;
        let mut report = AdoptReport {
            tool: tool.name().into(),
            source: source.into(),
            dry_run,
            dirty: said.dirty,
            foreign_only: said.foreign_only,
            ..AdoptReport::default()
        };

        let history = self.history_rows(driver, migrations).await?;
        let key = |v: &str| table.key(v);
        let recorded: HashMap<String, &HistoryRow> = history
            .iter()
            .filter(|r| r.id.source == source && r.status == HistoryStatus::Applied)
            .map(|r| (key(r.id.version.as_str()), r))
            .collect();
        let by_version: HashMap<String, &Migration> = migrations
            .iter()
            .map(|m| (key(m.id.version.as_str()), m))
            .collect();
        let mut adopt = Vec::new();
        for v in &applied {
            match by_version.get(&key(v)) {
                Some(m) if recorded.contains_key(&key(v)) => report.already.push(m.id.to_string()),
                Some(m) => {
                    if !adopt.iter().any(|a: &&Migration| a.id == m.id) {
                        adopt.push(*m);
                    }
                }
                None => report.foreign_only.push(format!("{source}/{v}")),
            }
        }
        let applied_keys: Vec<String> = applied.iter().map(|v| key(v)).collect();
        report.pending = migrations
            .iter()
            .filter(|m| m.id.version.lane() != Lane::Baseline)
            .filter(|m| !applied_keys.contains(&key(m.id.version.as_str())))
            .filter(|m| !recorded.contains_key(&key(m.id.version.as_str())))
            .map(|m| m.id.to_string())
            .collect();
        report.adopted = adopt.iter().map(|m| m.id.to_string()).collect();
        if dry_run || adopt.is_empty() {
            return Ok(report);
        }

        driver.ensure_history().await?;
        let batch = driver
            .read_history()
            .await?
            .iter()
            .map(|r| r.batch)
            .max()
            .unwrap_or(0)
            + 1;
        let now = Timestamp::now();
        let by = strata_driver::os_identity();
        // One batch each, in order, so `down` reverts the latest adopted
        // migration alone, as the tool's own down would.
        for (batch, m) in (batch..).zip(adopt) {
            let detail = format!("adopted from {}'s history", tool.name());
            let row = HistoryRow {
                id: m.id.clone(),
                name: m.name.clone(),
                kind: MigrationKind::Adopted,
                checksum: m.checksum.clone(),
                status: HistoryStatus::Applied,
                batch,
                started_at: now,
                finished_at: Some(now),
                duration_ms: Some(0),
                applied_by: by.clone(),
                strata_version: STRATA_VERSION.into(),
                environment: self.env_name.clone(),
                error: None,
                down_sql: m.down.as_ref().map(|b| b.sql.to_string()),
                out_of_order: false,
                progress: None,
            };
            let log = LogEntry {
                seq: 0,
                id: m.id.clone(),
                name: m.name.clone(),
                action: LogAction::Adopt,
                status: HistoryStatus::Applied,
                checksum: Some(m.checksum.clone()),
                batch,
                at: now,
                duration_ms: Some(0),
                applied_by: by.clone(),
                strata_version: STRATA_VERSION.into(),
                environment: self.env_name.clone(),
                detail: Some(detail),
            };
            driver
                .write_history(&HistoryWrite {
                    upsert: Some(row),
                    delete: None,
                    log,
                    foreign: Vec::new(),
                })
                .await?;
        }
        Ok(report)
    }
}
