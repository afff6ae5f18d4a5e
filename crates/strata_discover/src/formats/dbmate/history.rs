//! `schema_migrations` as dbmate keeps it: one row per applied version.

use crate::formats::{Change, ForeignWrite, Recorded, ToolHistory};
use strata_model::Migration;
use strata_sql::Dialect;

pub(crate) struct DbmateHistory;

impl ToolHistory for DbmateHistory {
    fn table(&self) -> &'static str {
        "schema_migrations"
    }

    fn query(&self, _: Dialect) -> String {
        "SELECT version FROM schema_migrations ORDER BY version".into()
    }

    fn read(&self, rows: &[Vec<Option<String>>], _: &[Migration], _: &str) -> Recorded {
        Recorded::versions(rows)
    }

    fn record(&self, change: &Change<'_>) -> Vec<ForeignWrite> {
        let mut writes = ForeignWrite::create(&[
            "CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) NOT NULL PRIMARY KEY)",
        ]);
        let version = Some(change.id.version.to_string());
        writes.push(if change.applying {
            ForeignWrite::new(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                vec![version],
            )
        } else {
            ForeignWrite::new(
                "DELETE FROM schema_migrations WHERE version = $1",
                vec![version],
            )
        });
        writes
    }
}
