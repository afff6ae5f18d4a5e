//! `goose_db_version`: a row per apply (and, in older goose, per revert);
//! the latest row of a version says whether it is applied.

use crate::formats::{Change, ForeignWrite, Recorded, ToolHistory, col, digits, truthy};
use std::collections::HashMap;
use strata_model::Migration;
use strata_sql::Dialect;

pub(crate) struct GooseHistory;

impl ToolHistory for GooseHistory {
    fn table(&self) -> &'static str {
        "goose_db_version"
    }

    fn query(&self, _: Dialect) -> String {
        "SELECT version_id, is_applied FROM goose_db_version ORDER BY id".into()
    }

    fn read(&self, rows: &[Vec<Option<String>>], _: &[Migration], _: &str) -> Recorded {
        let mut latest: HashMap<String, bool> = HashMap::new();
        let mut seen = Vec::new();
        for r in rows {
            let v = col(r, 0).unwrap_or_default();
            if digits(&v).is_empty() {
                continue; // goose's own version 0 row
            }
            if !latest.contains_key(&v) {
                seen.push(v.clone());
            }
            latest.insert(v, truthy(col(r, 1).as_deref()));
        }
        Recorded {
            applied: seen.into_iter().filter(|v| latest[v]).collect(),
            ..Recorded::default()
        }
    }

    fn record(&self, change: &Change<'_>) -> Vec<ForeignWrite> {
        let mut writes = ForeignWrite::create(&[if change.dialect == Dialect::Sqlite {
            "CREATE TABLE IF NOT EXISTS goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')))"
        } else {
            "CREATE TABLE IF NOT EXISTS goose_db_version (id serial NOT NULL PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NULL DEFAULT now())"
        }]);
        let version = Some(change.id.version.canonical());
        // Current goose deletes a version's rows on down.
        writes.push(if change.applying {
            ForeignWrite::new(
                "INSERT INTO goose_db_version (version_id, is_applied) VALUES (CAST($1 AS BIGINT), TRUE)",
                vec![version],
            )
        } else {
            ForeignWrite::new(
                "DELETE FROM goose_db_version WHERE version_id = CAST($1 AS BIGINT)",
                vec![version],
            )
        });
        writes
    }
}
