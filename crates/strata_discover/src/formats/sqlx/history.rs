//! `_sqlx_migrations`: one row per version, with a SHA-384 checksum of the
//! file and whether it succeeded.

use crate::formats::{Change, ForeignWrite, Recorded, ToolHistory, col, truthy};
use sha2::{Digest, Sha384};
use strata_model::{Migration, hex};
use strata_sql::Dialect;

pub(crate) struct SqlxHistory;

impl ToolHistory for SqlxHistory {
    fn table(&self) -> &'static str {
        "_sqlx_migrations"
    }

    fn query(&self, _: Dialect) -> String {
        "SELECT version, success FROM _sqlx_migrations ORDER BY version".into()
    }

    fn read(&self, rows: &[Vec<Option<String>>], _: &[Migration], _: &str) -> Recorded {
        let mut recorded = Recorded::default();
        for r in rows {
            let v = col(r, 0).unwrap_or_default();
            if truthy(col(r, 1).as_deref()) {
                recorded.applied.push(v);
            } else {
                recorded.dirty.push(format!("{v} (failed)"));
            }
        }
        recorded
    }

    fn shares_strata_layout(&self) -> bool {
        true
    }

    fn record(&self, change: &Change<'_>) -> Vec<ForeignWrite> {
        let sqlite = change.dialect == Dialect::Sqlite;
        let mut writes = ForeignWrite::create(&[if sqlite {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)"
        } else {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)"
        }]);
        let version = Some(change.id.version.to_string());
        writes.push(if change.applying {
            let decode = if sqlite {
                "unhex($3)"
            } else {
                "decode($3, 'hex')"
            };
            ForeignWrite::new(
                &format!(
                    "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (CAST($1 AS BIGINT), $2, TRUE, {decode}, 0)"
                ),
                vec![
                    version,
                    Some(change.name.replace('_', " ")),
                    Some(hex(&Sha384::digest(change.raw))),
                ],
            )
        } else {
            ForeignWrite::new(
                "DELETE FROM _sqlx_migrations WHERE version = CAST($1 AS BIGINT)",
                vec![version],
            )
        });
        writes
    }
}
