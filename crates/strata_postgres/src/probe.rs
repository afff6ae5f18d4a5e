//! Who blocks a migration's statement, asked from a connection of its own
//! while the statement waits.

use crate::connect::{Target, open};
use crate::db_err;
use async_trait::async_trait;
use strata_driver::{BlockerProbe, BlockingSession, Result};
use tokio_postgres::Client;

/// Reports the sessions blocking `pid`, over a connection of its own
/// opened on first use.
pub(crate) struct PgBlockerProbe {
    pub target: Target,
    pub pid: i32,
    pub client: Option<Client>,
}

#[async_trait]
impl BlockerProbe for PgBlockerProbe {
    async fn blockers(&mut self) -> Result<Vec<BlockingSession>> {
        if self.client.is_none() {
            self.client = Some(open(&self.target).await?);
        }
        let client = self.client.as_ref().expect("just opened");
        let rows = client
            .query(
                "SELECT pid, coalesce(application_name, ''), coalesce(usename::text, ''), coalesce(state, ''), \
                        to_char(query_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
                        left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), 200) \
                 FROM pg_stat_activity WHERE pid = ANY(pg_blocking_pids($1)) ORDER BY pid",
                &[&self.pid],
            )
            .await
            .map_err(db_err)?;
        Ok(rows
            .iter()
            .map(|r| BlockingSession {
                pid: i64::from(r.get::<_, i32>(0)),
                application: r.get(1),
                user: r.get(2),
                state: r.get(3),
                query_start: r.get(4),
                query: strata_driver::hide_secrets(&r.get::<_, String>(5)),
            })
            .collect())
    }
}
