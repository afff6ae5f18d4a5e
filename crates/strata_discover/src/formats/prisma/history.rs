//! `_prisma_migrations`: one row per attempt, by directory name, with a
//! SHA-256 checksum of the file; a rolled-back row stays, marked.

use crate::formats::{Change, ForeignWrite, Recorded, ToolHistory, col};
use sha2::{Digest, Sha256};
use strata_model::{Migration, Timestamp, hex};
use strata_sql::Dialect;

pub(crate) struct PrismaHistory;

impl ToolHistory for PrismaHistory {
    fn table(&self) -> &'static str {
        "_prisma_migrations"
    }

    fn query(&self, _: Dialect) -> String {
        "SELECT migration_name, CASE WHEN finished_at IS NOT NULL AND rolled_back_at IS NULL THEN 'applied' ELSE 'not applied' END FROM _prisma_migrations ORDER BY started_at".into()
    }

    fn read(&self, rows: &[Vec<Option<String>>], _: &[Migration], _: &str) -> Recorded {
        let mut recorded = Recorded::default();
        for r in rows {
            let name = col(r, 0).unwrap_or_default();
            let version = name.split('_').next().unwrap_or_default().to_string();
            if col(r, 1).as_deref() == Some("applied") {
                recorded.applied.push(version);
            } else {
                recorded
                    .dirty
                    .push(format!("{name} (unfinished or rolled back)"));
            }
        }
        recorded
    }

    fn record(&self, change: &Change<'_>) -> Vec<ForeignWrite> {
        let mut writes = ForeignWrite::create(&[
            "CREATE TABLE IF NOT EXISTS _prisma_migrations (id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMP, migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMP, started_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, applied_steps_count INTEGER NOT NULL DEFAULT 0)",
        ]);
        let migration_name = format!("{}_{}", change.id.version, change.name);
        writes.push(if change.applying {
            let checksum = hex(&Sha256::digest(change.raw));
            let seed = hex(&Sha256::digest(
                format!("{}{}", change.id, Timestamp::now().unix_millis()).as_bytes(),
            ));
            let id = format!(
                "{}-{}-4{}-8{}-{}",
                &seed[..8],
                &seed[8..12],
                &seed[13..16],
                &seed[17..20],
                &seed[20..32]
            );
            ForeignWrite::new(
                "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ($1, $2, CURRENT_TIMESTAMP, $3, CURRENT_TIMESTAMP, 1)",
                vec![Some(id), Some(checksum), Some(migration_name)],
            )
        } else {
            ForeignWrite::new(
                "UPDATE _prisma_migrations SET rolled_back_at = CURRENT_TIMESTAMP WHERE migration_name = $1 AND rolled_back_at IS NULL",
                vec![Some(migration_name)],
            )
        });
        writes
    }
}
