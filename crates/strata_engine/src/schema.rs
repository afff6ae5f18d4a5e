//! The database's schema, read through its driver (`strata schema dump`),
//! and its fingerprint, recorded after each run that changes the database
//! (`strata doctor` compares it with the schema now).

use crate::events::{Event, Reporter};
use crate::{Engine, EngineError};
use sha2::{Digest, Sha256};
use strata_driver::Driver;
use strata_driver::history::Fingerprint;
use strata_model::{HistoryRow, Timestamp};
use strata_schema::{Migration, Schema};

/// What the recorded fingerprint says of the schema now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaSince {
    /// None recorded yet (no run has changed the database since strata
    /// began recording them).
    NotRecorded,
    /// The history changed since it was recorded (a run that did not
    /// finish, a `repair`): it no longer says what the last run left.
    HistoryMoved {
        recorded_at: String,
    },
    Unchanged {
        recorded_at: String,
    },
    Changed {
        recorded_at: String,
    },
}

impl Engine {
    /// The schema of this engine's database: strata's own tables and the
    /// history tables of the project's other tools are left out.
    pub async fn schema(&self) -> Result<Schema, EngineError> {
        let mut driver = self.connect().await?;
        let skip = self.not_the_schema(&driver.history_table());
        Ok(self.read_schema(driver.as_mut(), &skip).await?)
    }

    /// Records the schema as a run left it, with the history it goes
    /// with. Not recording it is a warning, not a failure: the run's
    /// migrations are applied and recorded.
    pub(crate) async fn record_fingerprint(
        &self,
        driver: &mut dyn Driver,
        reporter: &dyn Reporter,
    ) {
        if !self.project.config.project.records_fingerprint() {
            return;
        }
        let recorded = async {
            let skip = self.not_the_schema(&driver.history_table());
            let schema = self.read_schema(driver, &skip).await?;
            let history = driver.read_history().await?;
            driver
                .record_fingerprint(&Fingerprint {
                    history_digest: history_digest(&history),
                    fingerprint: schema.fingerprint(),
                    recorded_at: Timestamp::now().rfc3339(),
                })
                .await
        };
        if let Err(e) = recorded.await {
            reporter.event(&Event::Warning {
                message: format!(
                    "could not record the schema's fingerprint ({e}): `strata doctor` cannot tell a change made after this run without it (`strata drift` still can)"
                ),
            });
        }
    }

    /// Whether the schema is as the last run that changed the database
    /// left it: one catalog read, no scratch database.
    pub(crate) async fn schema_since(
        &self,
        driver: &mut dyn Driver,
    ) -> Result<SchemaSince, EngineError> {
        let Some(recorded) = driver.read_fingerprint().await? else {
            return Ok(SchemaSince::NotRecorded);
        };
        let recorded_at = recorded.recorded_at.clone();
        if history_digest(&driver.read_history().await?) != recorded.history_digest {
            return Ok(SchemaSince::HistoryMoved { recorded_at });
        }
        let skip = self.not_the_schema(&driver.history_table());
        let now = self.read_schema(driver, &skip).await?.fingerprint();
        Ok(if now == recorded.fingerprint {
            SchemaSince::Unchanged { recorded_at }
        } else {
            SchemaSince::Changed { recorded_at }
        })
    }

    /// The statements that turn `from` into `to` on this engine's kind
    /// of database.
    pub fn migration(&self, from: &Schema, to: &Schema) -> Result<Migration, EngineError> {
        let dialect = self.database()?.engine().dialect();
        Ok(strata_schema::migration(from, to, dialect))
    }

    /// The schema of `driver`'s database without `skip` (see
    /// [`Engine::not_the_schema`]) and the configured tools' own schemas.
    async fn read_schema(
        &self,
        driver: &mut dyn Driver,
        skip: &[String],
    ) -> Result<Schema, strata_driver::DriverError> {
        let mut schema = driver.read_schema(skip).await?;
        let tools: Vec<String> = self
            .project
            .config
            .sources
            .iter()
            .filter_map(|s| strata_discover::format(&s.format).and_then(|f| f.history()))
            .filter_map(|h| h.own_schema().map(str::to_string))
            .collect();
        schema.leave_out_schemas(&tools);
        Ok(schema)
    }

    /// The tables (bare names) that are bookkeeping, not schema: strata's
    /// history, log, task runs, lock and schema fingerprint, each
    /// configured tool's history table, and those `[project] schema_ignore`
    /// names.
    fn not_the_schema(&self, history_table: &str) -> Vec<String> {
        let table = history_table
            .rsplit('.')
            .next()
            .unwrap_or(history_table)
            .trim_matches('"');
        let mut skip: Vec<String> = strata_driver::OWN_SUFFIXES
            .iter()
            .map(|suffix| format!("{table}{suffix}"))
            .collect();
        for source in &self.project.config.sources {
            if let Some(history) = strata_discover::format(&source.format).and_then(|f| f.history())
            {
                skip.push(history.table().to_string());
            }
        }
        skip.extend(self.project.config.project.schema_ignore.iter().cloned());
        skip.sort();
        skip.dedup();
        skip
    }
}

/// SHA-256 of what the history says ran and when, row by row in key order:
/// equal exactly when no migration was applied, reverted, repaired or
/// marked since.
fn history_digest(rows: &[HistoryRow]) -> String {
    let mut sorted: Vec<&HistoryRow> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        (a.id.source.as_str(), a.id.version.as_str())
            .cmp(&(b.id.source.as_str(), b.id.version.as_str()))
    });
    let mut hasher = Sha256::new();
    for r in sorted {
        hasher.update(format!(
            "{}\0{}\0{}\0{}\0{}\0{:?}\n",
            r.id.source,
            r.id.version.as_str(),
            r.status.as_str(),
            r.checksum.hex,
            r.started_at.rfc3339(),
            r.finished_at.map(Timestamp::rfc3339)
        ));
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
