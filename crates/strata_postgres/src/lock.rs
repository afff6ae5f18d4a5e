//! The migration lock: a session advisory lock keyed by the history
//! table's identity, or (for transaction-mode poolers, where session locks
//! do not work) a lease row in a table of its own, renewed from a
//! connection of its own while the run goes on.

use crate::connect::open;
use crate::{PgDriver, db_err, is_missing_relation, text_rows};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use strata_driver::lease::{self, Claimant, Lease, LeaseStore};
use strata_driver::{DriverError, LockAttempt, LockHolder, Result};
use strata_sql::Dialect;
use tokio_postgres::Client;
use tokio_postgres::types::{ToSql, Type};

/// How long a lease lasts without renewal, and how often it is renewed.
const LEASE_TTL: Duration = Duration::from_secs(30);
const LEASE_RENEW: Duration = Duration::from_secs(10);

pub(crate) enum HeldLock {
    Advisory(i64),
    Lease {
        client: Arc<Client>,
        holder: String,
        renew: tokio::task::JoinHandle<()>,
        /// Set by the renewing task when the lease could not be renewed.
        lost: Arc<AtomicBool>,
    },
}

pub(crate) fn lease_lost_error(what_happened: &str) -> DriverError {
    DriverError::Database(format!(
        "the migration lock's lease could not be renewed, so another run may hold it now: {what_happened}; check `strata status`, then run again"
    ))
}

impl PgDriver<'_> {
    /// The advisory lock key: a hash of the history table's identity, so
    /// projects with different history tables do not block each other.
    pub(crate) async fn lock_key(&mut self) -> Result<i64> {
        let schema = self.schema()?;
        let digest = Sha256::digest(format!("strata:{schema}.{}", self.table.table).as_bytes());
        Ok(i64::from_be_bytes(digest[..8].try_into().expect("8 bytes")))
    }

    pub(crate) async fn release(&mut self) -> Result<()> {
        match self.lock.take() {
            None => Ok(()),
            Some(HeldLock::Advisory(key)) => self
                .client
                .execute("SELECT pg_advisory_unlock($1)", &[&key])
                .await
                .map(drop)
                .map_err(db_err),
            Some(HeldLock::Lease {
                client,
                holder,
                renew,
                ..
            }) => {
                renew.abort();
                let sql = self.give_back_sql();
                client
                    .execute(&sql, &[&holder])
                    .await
                    .map(drop)
                    .map_err(db_err)
            }
        }
    }

    pub(crate) async fn advisory_holder(&mut self, key: i64) -> Result<LockHolder> {
        let classid = ((key as u64) >> 32) as u32;
        let objid = key as u64 as u32;
        let rows = self
            .client
            .query(
                "SELECT a.pid::int8, a.application_name, coalesce(host(a.client_addr), 'local socket'), to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                        CASE WHEN a.state = 'active' THEN 'running since ' || to_char(a.query_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ': ' || rtrim(left(regexp_replace(a.query, '\\s+', ' ', 'g'), 200), '; ') ELSE a.state END
                   FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                  WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1
                    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[&classid, &objid],
            )
            .await
            .map_err(db_err)?;
        Ok(rows
            .first()
            .map_or_else(LockHolder::default, |r| LockHolder {
                pid: r.get(0),
                application_name: r.get(1),
                client: r.get(2),
                since: r.get(3),
                doing: r
                    .get::<_, Option<String>>(4)
                    .map(|q| strata_driver::hide_secrets(&q)),
            }))
    }

    /// The connection that manages the lease, opened once: lease queries
    /// must not run inside a migration's transaction.
    pub(crate) async fn lease_client(&mut self) -> Result<Arc<Client>> {
        if let Some(c) = &self.lease_client {
            return Ok(c.clone());
        }
        let Some(target) = &self.target else {
            return Err(DriverError::Database(
                "a lease lock needs connections of strata's own: give the migrator a URL instead of a client, or use the native lock".into(),
            ));
        };
        let client = Arc::new(open(target).await?);
        let create = lease::create_table(Dialect::Postgres, &self.lock_table().quoted());
        // Two processes creating the table at once: the loser fails on the
        // catalog (a unique violation, or "relation"/"type ... already
        // exists") once the winner has committed, so a second try finds
        // the table and succeeds.
        let mut tries = 0;
        while let Err(e) = client.batch_execute(&create).await {
            let raced = e
                .as_db_error()
                .is_some_and(|d| matches!(d.code().code(), "23505" | "42P07" | "42710"));
            tries += 1;
            if !raced || tries == 3 {
                return Err(db_err(e));
            }
        }
        self.lease_client = Some(client.clone());
        Ok(client)
    }

    /// The holder of a lease that still holds, if any.
    pub(crate) async fn lease_holder(&self, client: &Client) -> Result<Option<LockHolder>> {
        let mut store = PgLeases {
            client,
            table: self.lock_table().quoted(),
        };
        Ok(store
            .current()
            .await?
            .filter(Lease::holds)
            .map(|l| l.holder()))
    }

    pub(crate) async fn try_lease(&mut self) -> Result<LockAttempt> {
        let key = self.lock_key().await?;
        let client = self.lease_client().await?;
        // A run holding the session lock (native mode) excludes a lease: a
        // transaction-level try, released as the statement ends, tells.
        let free: bool = client
            .query_typed_one(
                "SELECT pg_try_advisory_xact_lock($1)",
                &[(&key, Type::INT8)],
            )
            .await
            .map_err(db_err)?
            .get(0);
        if !free {
            return Ok(LockAttempt::Held(self.advisory_holder(key).await?));
        }
        let lock = self.lock_table().quoted();
        let me = Claimant::me();
        let mut store = PgLeases {
            client: &client,
            table: lock.clone(),
        };
        if let LockAttempt::Held(holder) = lease::try_take(&mut store, &me, LEASE_TTL).await? {
            return Ok(LockAttempt::Held(holder));
        }
        let (holder, ttl) = (me.holder, LEASE_TTL.as_millis() as i64);
        let renew_sql = format!(
            "UPDATE {lock} SET expires_at = now() + $2 * interval '1 millisecond' WHERE name = 'migrate' AND holder = $1"
        );
        let lost = Arc::new(AtomicBool::new(false));
        let (renew_client, renew_holder, renew_lost) =
            (client.clone(), holder.clone(), lost.clone());
        let renew = tokio::spawn(async move {
            loop {
                tokio::time::sleep(LEASE_RENEW).await;
                let renewed = renew_client
                    .execute_typed(
                        &renew_sql,
                        &[(&renew_holder, Type::TEXT), (&ttl, Type::INT8)],
                    )
                    .await;
                // An error or no row: the lease is no longer ours.
                if !matches!(renewed, Ok(1)) {
                    renew_lost.store(true, Ordering::SeqCst);
                    return;
                }
            }
        });
        self.lock = Some(HeldLock::Lease {
            client,
            holder,
            renew,
            lost,
        });
        Ok(LockAttempt::Acquired)
    }

    /// Deletes the lease of holder `$1`.
    fn give_back_sql(&self) -> String {
        format!(
            "DELETE FROM {} WHERE holder = $1",
            self.lock_table().quoted()
        )
    }

    /// Whether a lease this driver took has been lost (renewal failed).
    pub(crate) fn lease_lost(&self) -> bool {
        matches!(&self.lock, Some(HeldLock::Lease { lost, .. }) if lost.load(Ordering::SeqCst))
    }
}

/// The lease row, kept through a connection of its own (outside any
/// migration's transaction); PostgreSQL's clock decides expiry.
struct PgLeases<'a> {
    client: &'a Client,
    /// The lock table, quoted.
    table: String,
}

#[async_trait]
impl LeaseStore for PgLeases<'_> {
    async fn current(&mut self) -> Result<Option<Lease>> {
        let sql = format!(
            "SELECT holder, pid::text, host, to_char(acquired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), (expires_at <= now())::text FROM {} WHERE name = 'migrate'",
            self.table
        );
        let rows = match text_rows(self.client, &sql).await {
            Ok(rows) => rows.unwrap_or_default(),
            Err(e) if is_missing_relation(&e) => return Ok(None),
            Err(e) => return Err(db_err(e)),
        };
        Ok(rows.into_iter().next().map(|mut r| {
            let mut col = |i: usize| r.get_mut(i).and_then(Option::take);
            Lease {
                holder: col(0).unwrap_or_default(),
                pid: col(1).and_then(|p| p.parse().ok()).unwrap_or_default(),
                scope: col(2).unwrap_or_default(),
                since: col(3),
                expired: col(4).as_deref() == Some("true"),
            }
        }))
    }

    async fn take(
        &mut self,
        me: &Claimant,
        ttl: Duration,
        replacing: Option<&Lease>,
    ) -> Result<bool> {
        let ttl = ttl.as_millis() as i64;
        let t = &self.table;
        let values: [(&(dyn ToSql + Sync), Type); 4] = [
            (&me.holder, Type::TEXT),
            (&me.pid, Type::INT8),
            (&me.scope, Type::TEXT),
            (&ttl, Type::INT8),
        ];
        let row = match replacing {
            None => {
                let sql = format!(
                    "INSERT INTO {t} (name, holder, pid, host, acquired_at, expires_at) VALUES ('migrate', $1, $2, $3, now(), now() + $4 * interval '1 millisecond') ON CONFLICT (name) DO NOTHING RETURNING holder"
                );
                self.client.query_typed_opt(&sql, &values).await
            }
            Some(old) => {
                let expired = if old.expired {
                    " AND expires_at <= now()"
                } else {
                    ""
                };
                let sql = format!(
                    "UPDATE {t} SET holder = $1, pid = $2, host = $3, acquired_at = now(), expires_at = now() + $4 * interval '1 millisecond' WHERE name = 'migrate' AND holder = $5{expired} RETURNING holder"
                );
                let mut all = values.to_vec();
                all.push((&old.holder, Type::TEXT));
                self.client.query_typed_opt(&sql, &all).await
            }
        };
        Ok(row.map_err(db_err)?.is_some())
    }
}

impl Drop for PgDriver<'_> {
    fn drop(&mut self) {
        // An advisory lock ends with the session, which ends with `client`.
        // A lease is deleted if the runtime is still there to do it, and
        // otherwise expires within LEASE_TTL.
        if let Some(HeldLock::Lease {
            client,
            holder,
            renew,
            ..
        }) = self.lock.take()
        {
            renew.abort();
            let sql = self.give_back_sql();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = client.execute(&sql, &[&holder]).await;
                });
            }
        }
    }
}
