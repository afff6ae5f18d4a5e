//! The lease: the migration lock kept as a row (`name = 'migrate'`) with
//! its holder and an expiry, where the engine has no session lock to use
//! (SQLite) or a transaction-mode pooler makes session locks useless
//! (PostgreSQL's `lock_mode = "lease"`). The protocol is defined once here;
//! each engine keeps the row in a [`LeaseStore`] of its own.
//!
//! A lease excludes others until it expires or, when its holder ran in this
//! process scope (this host and PID namespace), until that process is
//! gone. Taking a lease replaces exactly the one that was read (compare and
//! swap), so two runs can never both take it.

use crate::{LockAttempt, LockHolder, Result, process_alive, process_scope};
use async_trait::async_trait;
use std::time::Duration;
use strata_model::Timestamp;
use strata_sql::Dialect;

/// Who takes a lease: this process.
#[derive(Debug, Clone)]
pub struct Claimant {
    /// `user@host pid N (millis)`: unique even if a process id is reused.
    pub holder: String,
    pub pid: i64,
    /// Where the process id means something ([`process_scope`]).
    pub scope: String,
}

impl Claimant {
    pub fn me() -> Claimant {
        Claimant {
            holder: format!(
                "{} pid {} ({})",
                crate::os_identity(),
                std::process::id(),
                Timestamp::now().unix_millis()
            ),
            pid: i64::from(std::process::id()),
            scope: process_scope(),
        }
    }
}

/// The lease row as it stands.
#[derive(Debug, Clone)]
pub struct Lease {
    pub holder: String,
    pub pid: i64,
    pub scope: String,
    /// When it was taken, as the store shows it.
    pub since: Option<String>,
    /// Its expiry has passed (by the database's clock where it has one).
    pub expired: bool,
}

impl Lease {
    /// Whether it still excludes others: not expired, and its process alive
    /// when that can be told.
    pub fn holds(&self) -> bool {
        !self.expired && (self.scope != process_scope() || process_alive(self.pid))
    }

    /// The holder as a lock holder. Its process id is not a database
    /// session's (`--terminate-stale` cannot end it); the holder text names
    /// it.
    pub fn holder(&self) -> LockHolder {
        LockHolder {
            pid: None,
            application_name: Some("strata (lease)".into()),
            client: Some(format!("{} on {}", self.holder, self.scope)),
            since: self.since.clone(),
            doing: None,
        }
    }
}

/// Where an engine keeps the lease row.
#[async_trait]
pub trait LeaseStore: Send {
    /// The lease, if there is a row (none when the table does not exist).
    async fn current(&mut self) -> Result<Option<Lease>>;

    /// Writes `me`'s lease, lasting `ttl`, in one atomic statement, if the
    /// row is still as read: `None`, there was no row; else the same holder
    /// and, when the lease was taken over because it had
    /// [`Lease::expired`], still expired (its holder may have renewed it
    /// since). Whether it was written.
    async fn take(
        &mut self,
        me: &Claimant,
        ttl: Duration,
        replacing: Option<&Lease>,
    ) -> Result<bool>;
}

/// One attempt to take the lease for `me`.
pub async fn try_take(
    store: &mut dyn LeaseStore,
    me: &Claimant,
    ttl: Duration,
) -> Result<LockAttempt> {
    let current = store.current().await?;
    if let Some(lease) = current.as_ref().filter(|l| l.holds()) {
        return Ok(LockAttempt::Held(lease.holder()));
    }
    if store.take(me, ttl, current.as_ref()).await? {
        return Ok(LockAttempt::Acquired);
    }
    // Another run took it between the read and the write.
    let now = store.current().await?;
    Ok(LockAttempt::Held(
        now.map(|l| l.holder()).unwrap_or_default(),
    ))
}

/// The lease table (`table` quoted for `dialect`). PostgreSQL keeps its
/// times as times (its clock decides expiry); SQLite the time taken as
/// text and the expiry as Unix milliseconds. (MySQL has no lease: its
/// `GET_LOCK` works through every pooler.)
pub fn create_table(dialect: Dialect, table: &str) -> String {
    let (int, acquired, expires) = match dialect {
        Dialect::Postgres => ("int8", "timestamptz", "timestamptz"),
        _ => ("INTEGER", "TEXT", "INTEGER"),
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (name text PRIMARY KEY, holder text NOT NULL, pid {int} NOT NULL, host text NOT NULL, acquired_at {acquired} NOT NULL, expires_at {expires} NOT NULL)"
    )
}
