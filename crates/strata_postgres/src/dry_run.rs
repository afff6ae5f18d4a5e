//! Dry runs: everything in one transaction that is rolled back, each
//! migration in a savepoint of it; what a rollback cannot undo (sequence
//! positions) is said.

use crate::{PgDriver, db_err};
use strata_driver::{Result, Session};

/// A sequence (`schema.name`, quoted as needed) and where it stands: its
/// last value (`None` before its first use) and its start value.
pub(crate) type SequencePosition = (String, Option<String>, String);

impl PgDriver<'_> {
    /// Every sequence and where it stands (the last value reads as NULL
    /// where this user may not see it).
    async fn sequence_positions(&mut self) -> Result<Vec<SequencePosition>> {
        let rows = self
            .query(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value::text, start_value::text FROM pg_sequences",
            )
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .filter_map(|mut r| {
                let start = r.pop()??;
                let last = r.pop()?;
                Some((r.pop()??, last, start))
            })
            .collect())
    }

    /// Starts or ends a dry run ([`strata_driver::Driver::dry_run`]).
    pub(crate) async fn set_dry_run(&mut self, on: bool) -> Result<Vec<String>> {
        if on {
            self.sequences_before = self.sequence_positions().await?;
            self.client.batch_execute("BEGIN").await.map_err(db_err)?;
            self.dry_run = true;
            return Ok(Vec::new());
        }
        self.client
            .batch_execute("ROLLBACK")
            .await
            .map_err(db_err)?;
        self.dry_run = false;
        let before = std::mem::take(&mut self.sequences_before);
        let after = self.sequence_positions().await?;
        // strata's own log numbers its rows with a sequence that only runs
        // under the migration lock, which this run holds: put it back.
        let log = self.log_table().quoted();
        let own: Option<String> = self
            .client
            .query_one(
                "SELECT CASE WHEN to_regclass($1) IS NOT NULL THEN pg_get_serial_sequence($1, 'seq') END",
                &[&log],
            )
            .await
            .map_err(db_err)?
            .get(0);
        let mut left = Vec::new();
        for (name, last, start) in before {
            if after.iter().any(|(n, l, _)| *n == name && *l == last) {
                continue;
            }
            if own.as_deref() == Some(name.as_str()) {
                let (value, called) = match &last {
                    Some(v) => (v, true),
                    None => (&start, false),
                };
                let value: i64 = value.parse().unwrap_or(1);
                self.client
                    .execute(
                        "SELECT setval($1::text::regclass, $2, $3)",
                        &[&name, &value, &called],
                    )
                    .await
                    .map_err(db_err)?;
            } else if after.iter().any(|(n, _, _)| *n == name) {
                left.push(format!(
                    "the dry run advanced sequence {name} (PostgreSQL never rolls a sequence back: the values it handed out are skipped, nothing else changed)"
                ));
            }
        }
        Ok(left)
    }
}
