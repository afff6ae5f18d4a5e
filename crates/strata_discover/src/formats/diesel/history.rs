//! `__diesel_schema_migrations`: one row per applied migration, by its
//! directory's version without the dashes.

use crate::formats::{Change, ForeignWrite, Recorded, ToolHistory, digits};
use strata_model::{Lane, Migration, Version};
use strata_sql::Dialect;

pub(crate) struct DieselHistory;

impl ToolHistory for DieselHistory {
    fn table(&self) -> &'static str {
        "__diesel_schema_migrations"
    }

    fn query(&self, _: Dialect) -> String {
        "SELECT version FROM __diesel_schema_migrations ORDER BY version".into()
    }

    fn read(&self, rows: &[Vec<Option<String>>], _: &[Migration], _: &str) -> Recorded {
        Recorded::versions(rows)
    }

    /// Diesel records its directory's version without the dashes: matched
    /// by its digits.
    fn key(&self, version: &str) -> String {
        match Version::parse_any(version) {
            Ok(v) if v.lane() != Lane::Numbered => v.as_str().to_string(),
            _ => digits(version),
        }
    }

    fn record(&self, change: &Change<'_>) -> Vec<ForeignWrite> {
        let mut writes = ForeignWrite::create(&[
            "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        ]);
        let version: String = change
            .id
            .version
            .to_string()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        writes.push(if change.applying {
            ForeignWrite::new(
                "INSERT INTO __diesel_schema_migrations (version) VALUES ($1)",
                vec![Some(version)],
            )
        } else {
            ForeignWrite::new(
                "DELETE FROM __diesel_schema_migrations WHERE version = $1",
                vec![Some(version)],
            )
        });
        writes
    }
}
