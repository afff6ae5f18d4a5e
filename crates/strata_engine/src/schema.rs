//! The database's schema, read through its driver (`strata schema dump`).

use crate::{Engine, EngineError};
use strata_schema::{Migration, Schema};

impl Engine {
    /// The schema of this engine's database: strata's own tables and the
    /// history tables of the project's other tools are left out.
    pub async fn schema(&self) -> Result<Schema, EngineError> {
        let mut driver = self.connect().await?;
        let skip = self.not_the_schema(&driver.history_table());
        Ok(driver.read_schema(&skip).await?)
    }

    /// The statements that turn `from` into `to` on this engine's kind
    /// of database.
    pub fn migration(&self, from: &Schema, to: &Schema) -> Result<Migration, EngineError> {
        let dialect = self.database()?.engine().dialect();
        Ok(strata_schema::migration(from, to, dialect))
    }

    /// The tables (bare names) that are bookkeeping, not schema: strata's
    /// history, log, task runs and lock, and each configured tool's
    /// history table.
    fn not_the_schema(&self, history_table: &str) -> Vec<String> {
        let table = history_table
            .rsplit('.')
            .next()
            .unwrap_or(history_table)
            .trim_matches('"');
        let mut skip: Vec<String> = ["", "_log", "_task_runs", "_lock"]
            .iter()
            .map(|suffix| format!("{table}{suffix}"))
            .collect();
        for source in &self.project.config.sources {
            if let Some(history) = strata_discover::format(&source.format).and_then(|f| f.history())
            {
                skip.push(history.table().to_string());
            }
        }
        skip.sort();
        skip.dedup();
        skip
    }
}
