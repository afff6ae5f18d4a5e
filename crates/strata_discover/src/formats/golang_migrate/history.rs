//! `schema_migrations` as golang-migrate keeps it: one row, the current
//! version and whether it is dirty (stopped in it).

use crate::formats::{Change, ForeignWrite, Recorded, ToolHistory, col, digits, truthy};
use strata_model::Migration;
use strata_sql::Dialect;

pub(crate) struct GolangMigrateHistory;

impl ToolHistory for GolangMigrateHistory {
    fn table(&self) -> &'static str {
        "schema_migrations"
    }

    fn query(&self, _: Dialect) -> String {
        "SELECT version, dirty FROM schema_migrations".into()
    }

    fn read(&self, rows: &[Vec<Option<String>>], migrations: &[Migration], _: &str) -> Recorded {
        let mut recorded = Recorded::default();
        // One row: the current version; every file up to it ran.
        let Some(r) = rows.first() else {
            return recorded;
        };
        let current = col(r, 0).unwrap_or_default();
        let dirty = truthy(col(r, 1).as_deref());
        let current_digits = digits(&current);
        for m in migrations {
            let v = digits(m.id.version.as_str());
            let below = (v.len(), &v) < (current_digits.len(), &current_digits);
            if below || (v == current_digits && !dirty) {
                recorded.applied.push(m.id.version.to_string());
            }
        }
        if dirty {
            recorded
                .dirty
                .push(format!("{current} (dirty: golang-migrate stopped in it)"));
        } else if !migrations
            .iter()
            .any(|m| digits(m.id.version.as_str()) == current_digits)
        {
            // Applied by golang-migrate, but no file here.
            recorded.applied.push(current);
        }
        recorded
    }

    fn shares_strata_layout(&self) -> bool {
        true
    }

    fn record(&self, change: &Change<'_>) -> Vec<ForeignWrite> {
        let mut writes = ForeignWrite::create(&[
            "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)",
        ]);
        writes.push(ForeignWrite::new(
            "DELETE FROM schema_migrations",
            Vec::new(),
        ));
        if let Some(current) = change.current {
            writes.push(ForeignWrite::new(
                "INSERT INTO schema_migrations (version, dirty) VALUES (CAST($1 AS BIGINT), FALSE)",
                vec![Some(current.canonical())],
            ));
        }
        writes
    }
}
