//! `__drizzle_migrations` (in schema `drizzle` on PostgreSQL): one row per
//! applied file, by the SHA-256 of its text, with the journal's `when`.

use super::journal;
use crate::formats::{Change, ForeignWrite, Recorded, ToolHistory, col};
use sha2::{Digest, Sha256};
use strata_model::{Migration, Timestamp, hex};
use strata_sql::Dialect;

pub(crate) struct DrizzleHistory;

/// The table: schema-qualified where the database has schemas.
fn table(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "drizzle.__drizzle_migrations",
        _ => "__drizzle_migrations",
    }
}

impl ToolHistory for DrizzleHistory {
    fn table(&self) -> &'static str {
        "__drizzle_migrations"
    }

    fn own_schema(&self) -> Option<&'static str> {
        Some("drizzle")
    }

    fn query(&self, dialect: Dialect) -> String {
        format!(
            "SELECT hash, created_at FROM {} ORDER BY created_at, id",
            table(dialect)
        )
    }

    fn read(&self, rows: &[Vec<Option<String>>], migrations: &[Migration], _: &str) -> Recorded {
        // Drizzle applies in journal order: the first N files ran.
        let mut recorded = Recorded {
            applied: migrations
                .iter()
                .take(rows.len())
                .map(|m| m.id.version.to_string())
                .collect(),
            ..Recorded::default()
        };
        for r in rows.iter().skip(migrations.len()) {
            recorded
                .foreign_only
                .push(format!("hash {}", col(r, 0).unwrap_or_default()));
        }
        recorded
    }

    fn record(&self, change: &Change<'_>) -> Vec<ForeignWrite> {
        let mut writes = ForeignWrite::create(match change.dialect {
            Dialect::Postgres => &[
                "CREATE SCHEMA IF NOT EXISTS drizzle",
                "CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)",
            ],
            _ => &[
                "CREATE TABLE IF NOT EXISTS __drizzle_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)",
            ],
        });
        let table = table(change.dialect);
        let hash = Some(hex(&Sha256::digest(change.raw)));
        writes.push(if change.applying {
            // Drizzle runs entries whose `when` is later than the last
            // row's created_at: record the journal's own.
            let when = change
                .path
                .and_then(journal::when)
                .unwrap_or_else(|| Timestamp::now().unix_millis());
            ForeignWrite::new(
                &format!("INSERT INTO {table} (hash, created_at) VALUES ($1, CAST($2 AS BIGINT))"),
                vec![hash, Some(when.to_string())],
            )
        } else {
            ForeignWrite::new(&format!("DELETE FROM {table} WHERE hash = $1"), vec![hash])
        });
        writes
    }
}
