//! PostgreSQL behind the [`Driver`] trait, on tokio-postgres with rustls.
//!
//! A migration's statements are sent as one pipeline (the server still runs
//! them one after another in one transaction), then its history row with the
//! commit, so what strata adds per migration is about two round trips.
//! The migration lock is a session advisory lock keyed by the history
//! table's identity, or a lease row for transaction-mode poolers.

mod backup;
mod history;
mod tls;

use async_trait::async_trait;
pub use backup::{PgBackup, check_backup};
use futures_util::SinkExt;
use futures_util::future::{BoxFuture, FutureExt, join_all};
use history::{Bound, Writes};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use strata_driver::history::HistorySql;
use strata_driver::{
    BlockerProbe, BlockingSession, Capabilities, CatalogObject, Driver, DriverError, ErrorKind,
    HistoryWrite, LockAttempt, LockHolder, LockMode, Result, StatementError, TableName, TxSettings,
    quote_ident, redact_url,
};
use strata_model::{HistoryRow, LogEntry, MigrationId, Progress, Timestamp};
use strata_sql::{Dialect, Statement};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

pub use tls::SslMode;

/// How long a lease lasts without renewal, and how often it is renewed.
/// How many statements of a migration are in flight at once.
const PIPELINE: usize = 512;

const LEASE_TTL: Duration = Duration::from_secs(30);
const LEASE_RENEW: Duration = Duration::from_secs(10);

/// Everything needed to open (another) connection.
#[derive(Clone)]
struct Target {
    config: tokio_postgres::Config,
    ssl: SslMode,
    root_cert: Option<String>,
    display: String,
}

pub struct PgDriver {
    client: Client,
    target: Target,
    /// The history table, always schema-qualified once connected (the
    /// schema configured, or `current_schema()` at connect time), so a
    /// migration that changes `search_path` (`SET search_path = ''`, as
    /// pg_dump output does) cannot send strata's bookkeeping elsewhere.
    table: TableName,
    /// Whether the configuration named the schema (strata then creates it).
    named_schema: bool,
    writes: Writes,
    lock: Option<HeldLock>,
    lease_client: Option<Arc<Client>>,
    /// In a dry run: transactions become savepoints of one that is rolled
    /// back.
    dry_run: bool,
    /// Where every sequence stood when the dry run began: a rollback does
    /// not take back the values a sequence handed out.
    sequences_before: Vec<SequencePosition>,
}

/// A sequence (`schema.name`, quoted as needed) and where it stands: its
/// last value (`None` before its first use) and its start value.
type SequencePosition = (String, Option<String>, String);

enum HeldLock {
    Advisory(i64),
    Lease {
        client: Arc<Client>,
        holder: String,
        renew: tokio::task::JoinHandle<()>,
        /// Set by the renewing task when the lease could not be renewed.
        lost: Arc<AtomicBool>,
    },
}

/// Connects to `url` (`postgres://` or `postgresql://`, with `sslmode` and
/// `sslrootcert` understood as libpq does).
pub async fn connect(url: &str, table: TableName) -> Result<PgDriver> {
    let display = redact_url(url);
    let fail = |message: String| DriverError::Connect {
        url: display.clone(),
        message,
    };
    let (rest, ssl, root_cert) = split_tls_params(url).map_err(&fail)?;
    let mut config: tokio_postgres::Config = rest
        .parse()
        .map_err(|e: tokio_postgres::Error| fail(format!("the URL is not valid: {e}")))?;
    if config.get_application_name().is_none() {
        config.application_name("strata");
    }
    // No host: the local server's Unix socket, as libpq does.
    if config.get_hosts().is_empty() {
        let dir = ["/var/run/postgresql", "/tmp"]
            .into_iter()
            .find(|d| std::path::Path::new(d).is_dir())
            .unwrap_or("/tmp");
        config.host_path(dir);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(strata_driver::CONNECT_TIMEOUT);
    }
    let target = Target {
        config,
        ssl,
        root_cert,
        display,
    };
    let client = open(&target).await?;
    let named_schema = table.schema.is_some();
    let mut table = table;
    if !named_schema {
        table.schema = client
            .query_one("SELECT current_schema()", &[])
            .await
            .map_err(db_err)?
            .get(0);
    }
    Ok(PgDriver {
        client,
        target,
        writes: Writes::new(HistorySql::new(Dialect::Postgres, &table)),
        table,
        named_schema,
        lock: None,
        lease_client: None,
        dry_run: false,
        sequences_before: Vec::new(),
    })
}

/// Removes `sslmode`/`sslrootcert` (which tokio-postgres does not read the
/// libpq way) from the URL's query.
fn split_tls_params(url: &str) -> std::result::Result<(String, SslMode, Option<String>), String> {
    // Parameters start after the host: a password may hold a `?`.
    let host_start = url.find('@').map_or(0, |a| a + 1);
    let (base, query) = match url[host_start..].find('?') {
        Some(q) => (&url[..host_start + q], &url[host_start + q + 1..]),
        None => (url, ""),
    };
    let mut ssl = SslMode::Prefer;
    let mut root = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => ssl = SslMode::parse(v)?,
            "sslrootcert" => root = Some(percent_decode(v)),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, ssl, root))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if let Some(b) = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| u8::from_str_radix(&s[i + 1..i + 3], 16).ok())
            .flatten()
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Connects, the whole of it (TCP, TLS, authentication) bounded by the
/// connect timeout: tokio-postgres bounds only the TCP connect, and a
/// server that accepts and never answers would hang strata.
async fn open(target: &Target) -> Result<Client> {
    let timeout = target
        .config
        .get_connect_timeout()
        .copied()
        .unwrap_or(strata_driver::CONNECT_TIMEOUT);
    tokio::time::timeout(timeout, open_unbounded(target))
        .await
        .unwrap_or_else(|_| {
            Err(DriverError::Connect {
                url: target.display.clone(),
                message: strata_driver::connect_timed_out(timeout),
            })
        })
}

async fn open_unbounded(target: &Target) -> Result<Client> {
    let fail = |e: String| DriverError::Connect {
        url: target.display.clone(),
        message: e,
    };
    let mut config = target.config.clone();
    // As libpq does, TLS is never used over a Unix socket, whatever sslmode.
    let unix_only = config
        .get_hosts()
        .iter()
        .all(|h| matches!(h, tokio_postgres::config::Host::Unix(_)));
    if target.ssl == SslMode::Disable || unix_only {
        let (client, conn) = config
            .connect(NoTls)
            .await
            .map_err(|e| fail(pg_message(&e)))?;
        tokio::spawn(conn);
        return Ok(client);
    }
    config.ssl_mode(match target.ssl {
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    });
    let tls = tls::client_config(target.ssl, target.root_cert.as_deref()).map_err(&fail)?;
    let (client, conn) = config
        .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        .await
        .map_err(|e| fail(pg_message(&e)))?;
    tokio::spawn(conn);
    Ok(client)
}

/// The most useful text of a tokio-postgres error (the server's message
/// when there is one, with any source error appended).
fn pg_message(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

fn db_err(e: tokio_postgres::Error) -> DriverError {
    db_err_ref(&e)
}

fn db_err_ref(e: &tokio_postgres::Error) -> DriverError {
    DriverError::Database(pg_message(e))
}

fn statement_error(index: usize, e: &tokio_postgres::Error) -> StatementError {
    let db = e.as_db_error();
    StatementError {
        index,
        message: pg_message(e),
        kind: match db.map(|d| d.code().code()) {
            Some("55P03") => ErrorKind::LockTimeout,
            Some("42P01") => ErrorKind::MissingTable,
            Some("40P01") => ErrorKind::Deadlock,
            Some("57014") => ErrorKind::Cancelled,
            _ => ErrorKind::Other,
        },
        code: db.map(|d| d.code().code().to_string()),
        position: db.and_then(|d| match d.position() {
            Some(tokio_postgres::error::ErrorPosition::Original(p)) => Some(*p as usize),
            _ => None,
        }),
        detail: db.and_then(|d| d.detail().map(str::to_string)),
        hint: db.and_then(|d| d.hint().map(str::to_string)),
    }
}

fn is_missing_relation(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|d| matches!(d.code().code(), "42P01" | "3F000"))
}

fn lease_lost_error(what_happened: &str) -> DriverError {
    DriverError::Database(format!(
        "the migration lock's lease could not be renewed, so another run may hold it now: {what_happened}; check `strata status`, then run again"
    ))
}

fn millis(d: Duration) -> u128 {
    d.as_millis().max(1)
}

/// `SET [LOCAL]` statements for the per-migration limits.
fn settings_sql(settings: &TxSettings, local: bool) -> String {
    let scope = if local { "LOCAL " } else { "" };
    let mut sql = String::new();
    if let Some(d) = settings.lock_timeout {
        sql.push_str(&format!("SET {scope}lock_timeout = '{}ms';", millis(d)));
    }
    if let Some(d) = settings.statement_timeout {
        sql.push_str(&format!(
            "SET {scope}statement_timeout = '{}ms';",
            millis(d)
        ));
    }
    sql
}

impl PgDriver {
    fn log_table(&self) -> TableName {
        self.table.with_suffix("_log")
    }

    fn lock_table(&self) -> TableName {
        self.table.with_suffix("_lock")
    }

    /// The schema of the history table (resolved when connecting).
    fn schema(&self) -> Result<String> {
        self.table.schema.clone().ok_or_else(|| {
            DriverError::Database(
                "the connection has no current schema (search_path names no existing schema); set search_path or name the history table as schema.table".into(),
            )
        })
    }

    /// The advisory lock key: a hash of the history table's identity, so
    /// projects with different history tables do not block each other.
    async fn lock_key(&mut self) -> Result<i64> {
        let schema = self.schema()?;
        let digest = Sha256::digest(format!("strata:{schema}.{}", self.table.table).as_bytes());
        Ok(i64::from_be_bytes(digest[..8].try_into().expect("8 bytes")))
    }

    /// Opens a migration's transaction (a savepoint in a dry run).
    fn begin_sql(&self) -> &'static str {
        if self.dry_run {
            "SAVEPOINT strata_step"
        } else {
            "BEGIN"
        }
    }

    fn commit_sql(&self) -> &'static str {
        if self.dry_run {
            "RELEASE SAVEPOINT strata_step"
        } else {
            "COMMIT"
        }
    }

    fn rollback_sql(&self) -> &'static str {
        if self.dry_run {
            "ROLLBACK TO SAVEPOINT strata_step; RELEASE SAVEPOINT strata_step"
        } else {
            "ROLLBACK"
        }
    }

    /// Every sequence and where it stands (the last value reads as NULL
    /// where this user may not see it).
    async fn sequence_positions(&self) -> Result<Vec<SequencePosition>> {
        let rows = self
            .table_rows(
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

    /// The rows of `sql` as text, or `None` when its table does not exist
    /// (yet): one round trip, no statement to prepare.
    async fn table_rows(&self, sql: &str) -> Result<Option<Vec<Vec<Option<String>>>>> {
        match self.client.simple_query(sql).await {
            Ok(m) => Ok(Some(text_rows(m))),
            Err(e) if is_missing_relation(&e) => Ok(None),
            Err(e) => Err(db_err(e)),
        }
    }

    async fn release(&mut self) -> Result<()> {
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
                let sql = format!(
                    "DELETE FROM {} WHERE holder = $1",
                    self.lock_table().quoted()
                );
                client
                    .execute(&sql, &[&holder])
                    .await
                    .map(drop)
                    .map_err(db_err)
            }
        }
    }

    async fn advisory_holder(&mut self, key: i64) -> Result<LockHolder> {
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
                doing: r.get(4),
            }))
    }

    /// The connection that manages the lease, opened once: lease queries
    /// must not run inside a migration's transaction.
    async fn lease_client(&mut self) -> Result<Arc<Client>> {
        if let Some(c) = &self.lease_client {
            return Ok(c.clone());
        }
        let client = Arc::new(open(&self.target).await?);
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, holder text NOT NULL, pid int8 NOT NULL, host text NOT NULL, acquired_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL)",
            self.lock_table().quoted()
        );
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

    /// The holder of an unexpired lease, if any.
    async fn lease_holder(&self, client: &Client) -> Result<Option<LockHolder>> {
        let sql = format!(
            "SELECT pid::text, holder, host, to_char(acquired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM {} WHERE name = 'migrate' AND expires_at > now()",
            self.lock_table().quoted()
        );
        let rows = match client.simple_query(&sql).await {
            Ok(m) => text_rows(m),
            Err(e) if is_missing_relation(&e) => return Ok(None),
            Err(e) => return Err(db_err(e)),
        };
        Ok(rows.into_iter().next().map(|r| LockHolder {
            pid: r[0].as_deref().and_then(|p| p.parse().ok()),
            application_name: Some("strata (lease)".into()),
            client: Some(format!(
                "{} on {}",
                r[1].as_deref().unwrap_or("?"),
                r[2].as_deref().unwrap_or("?")
            )),
            since: r[3].clone(),
            doing: None,
        }))
    }

    async fn try_lease(&mut self) -> Result<LockAttempt> {
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
        let holder = format!(
            "{} pid {} ({})",
            strata_driver::os_identity(),
            std::process::id(),
            Timestamp::now().unix_millis()
        );
        let ttl = LEASE_TTL.as_millis() as i64;
        let pid = i64::from(std::process::id());
        let host = strata_driver::host_name();
        let take = format!(
            "INSERT INTO {lock} AS l (name, holder, pid, host, expires_at) VALUES ('migrate', $1, $2, $3, now() + $4 * interval '1 millisecond')
             ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, pid = EXCLUDED.pid, host = EXCLUDED.host, acquired_at = now(), expires_at = EXCLUDED.expires_at
             WHERE l.expires_at < now() RETURNING holder"
        );
        let got = client
            .query_typed_opt(
                &take,
                &[
                    (&holder, Type::TEXT),
                    (&pid, Type::INT8),
                    (&host, Type::TEXT),
                    (&ttl, Type::INT8),
                ],
            )
            .await
            .map_err(db_err)?;
        if got.is_none() {
            let holder = self.lease_holder(&client).await?.unwrap_or_default();
            return Ok(LockAttempt::Held(holder));
        }
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

    /// Whether a lease this driver took has been lost (renewal failed).
    fn lease_lost(&self) -> bool {
        matches!(&self.lock, Some(HeldLock::Lease { lost, .. }) if lost.load(Ordering::SeqCst))
    }
}

impl Drop for PgDriver {
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
            let sql = format!(
                "DELETE FROM {} WHERE holder = $1",
                self.lock_table().quoted()
            );
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = client.execute(&sql, &[&holder]).await;
                });
            }
        }
    }
}

/// Reads the text columns of a simple-query result.
fn text_rows(messages: Vec<SimpleQueryMessage>) -> Vec<Vec<Option<String>>> {
    messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

#[async_trait]
impl Driver for PgDriver {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            engine: strata_sql::EngineKind::Postgres,
            dialect: Dialect::Postgres,
            transactional_ddl: true,
        }
    }

    fn describe(&self) -> String {
        self.target.display.clone()
    }

    fn history_table(&self) -> String {
        self.table.to_string()
    }

    async fn ensure_history(&mut self) -> Result<()> {
        let schema = match &self.table.schema {
            Some(s) if self.named_schema => {
                format!("CREATE SCHEMA IF NOT EXISTS {};", quote_ident(s))
            }
            _ => String::new(),
        };
        let [history, log] = &self.writes.sql.create;
        self.client
            .batch_execute(&format!("{schema}{history};{log};"))
            .await
            .map_err(db_err)?;
        if matches!(self.lock, Some(HeldLock::Advisory(_))) && !self.writes.is_prepared() {
            self.writes.prepare(&self.client).await?;
        }
        Ok(())
    }

    async fn read_history(&mut self) -> Result<Vec<HistoryRow>> {
        let rows = self.table_rows(&self.writes.sql.select).await?;
        strata_driver::rows::history_rows(&self.table.to_string(), rows.unwrap_or_default())
    }

    async fn read_log(&mut self) -> Result<Vec<LogEntry>> {
        let rows = self.table_rows(&self.writes.sql.select_log).await?;
        strata_driver::rows::log_entries(&self.log_table().to_string(), rows.unwrap_or_default())
    }

    async fn write_history(&mut self, write: &HistoryWrite) -> Result<()> {
        let bound = Bound::new(write);
        let (begin, commit, rollback) = (self.begin_sql(), self.commit_sql(), self.rollback_sql());
        let client = &self.client;
        let mut ops = vec![client.batch_execute(begin).boxed()];
        ops.extend(bound.ops(client, &self.writes));
        ops.push(client.batch_execute(commit).boxed());
        let results = join_all(ops).await;
        if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
            let _ = client.batch_execute(rollback).await;
            return Err(db_err(e));
        }
        Ok(())
    }

    async fn apply_in_transaction(
        &mut self,
        statements: &[Statement<'_>],
        settings: &TxSettings,
        record: &HistoryWrite,
    ) -> Result<()> {
        let begin = format!("{};{}", self.begin_sql(), settings_sql(settings, true));
        let (commit, rollback) = (self.commit_sql(), self.rollback_sql());
        let started = std::time::Instant::now();
        let client = &self.client;
        // The statements go out pipelined, a window at a time (a file of
        // hundreds of thousands of INSERTs must not hold a request for each
        // in memory); the history row follows with the commit once their
        // duration is known.
        let mut begin = Some(client.batch_execute(&begin));
        for (window, chunk) in statements.chunks(PIPELINE).enumerate() {
            let mut ops: Vec<BoxFuture<'_, std::result::Result<(), tokio_postgres::Error>>> =
                Vec::with_capacity(chunk.len() + 1);
            let first = begin.take().map(|b| ops.push(b.boxed())).is_some();
            ops.extend(chunk.iter().map(|st| run_statement(client, st).boxed()));
            let results = join_all(ops).await;
            if let Some((i, Err(e))) = results.iter().enumerate().find(|(_, r)| r.is_err()) {
                let _ = client.batch_execute(rollback).await;
                return Err(match (first, i) {
                    (true, 0) => db_err_ref(e),
                    (true, i) => DriverError::Statement(Box::new(statement_error(
                        window * PIPELINE + i - 1,
                        e,
                    ))),
                    (false, i) => {
                        DriverError::Statement(Box::new(statement_error(window * PIPELINE + i, e)))
                    }
                });
            }
        }
        if let Some(b) = begin {
            // No statement at all (an empty down): the transaction still
            // carries the history row.
            b.await.map_err(db_err)?;
        }
        if self.lease_lost() {
            let _ = client.batch_execute(rollback).await;
            return Err(lease_lost_error("this migration was rolled back"));
        }
        let record = record.finished(started);
        let bound = Bound::new(&record);
        // What the migration SET stays with it: the bookkeeping (and the
        // next migration) see the session as it was.
        let mut ops = vec![client.batch_execute("RESET ALL").boxed()];
        ops.extend(bound.ops(client, &self.writes));
        ops.push(client.batch_execute(commit).boxed());
        let results = join_all(ops).await;
        if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
            let _ = client.batch_execute(rollback).await;
            return Err(DriverError::Database(format!(
                "writing the history row failed, so the migration was rolled back: {}",
                pg_message(&e)
            )));
        }
        Ok(())
    }

    async fn server_version(&mut self) -> Result<String> {
        let row = self
            .client
            .query_one(
                "SELECT 'PostgreSQL ' || current_setting('server_version')",
                &[],
            )
            .await
            .map_err(db_err)?;
        Ok(row.get(0))
    }

    async fn can_create(&mut self) -> Result<bool> {
        let row = self
            .client
            .query_one(
                "SELECT coalesce(has_schema_privilege(current_schema(), 'CREATE'), false)",
                &[],
            )
            .await
            .map_err(db_err)?;
        Ok(row.get(0))
    }

    async fn invalid_indexes(&mut self) -> Result<Vec<String>> {
        let rows = self
            .client
            .query(
                "SELECT n.nspname || '.' || c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE NOT x.indisvalid AND n.nspname = current_schema() ORDER BY 1",
                &[],
            )
            .await
            .map_err(db_err)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn drop_invalid_index(&mut self, name: &str) -> Result<Option<String>> {
        let (schema, index) = match name.split_once('.') {
            Some((s, i)) => (Some(s.to_string()), i.to_string()),
            None => (None, name.to_string()),
        };
        let row = self
            .client
            .query_opt(
                "SELECT n.nspname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE NOT x.indisvalid AND c.relname = $1 AND n.nspname = coalesce($2, current_schema())",
                &[&index, &schema],
            )
            .await
            .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let schema: String = row.get(0);
        let qualified = format!("{}.{}", quote_ident(&schema), quote_ident(&index));
        self.client
            .batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {qualified}"))
            .await
            .map_err(db_err)?;
        Ok(Some(format!("{schema}.{index}")))
    }

    async fn record_progress(&mut self, id: &MigrationId, progress: &Progress) -> Result<()> {
        history::record_progress(&self.client, &self.writes, id, progress)
            .await
            .map(drop)
            .map_err(db_err)
    }

    fn records_atomically(&self, statement: &Statement<'_>, script: &str) -> bool {
        !strata_sql::cannot_run_in_transaction(statement, script)
            && !strata_sql::is_transaction_control(statement, script)
    }

    async fn execute_recorded(
        &mut self,
        statement: &Statement<'_>,
        settings: &TxSettings,
        id: &MigrationId,
        progress: &Progress,
    ) -> Result<()> {
        let begin = format!("BEGIN;{}", settings_sql(settings, true));
        let client = &self.client;
        client.batch_execute(&begin).await.map_err(db_err)?;
        if let Err(e) = run_statement(client, statement).await {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(DriverError::Statement(Box::new(statement_error(0, &e))));
        }
        // The statement's effect and the record of it commit together.
        let (recorded, committed) = tokio::join!(
            history::record_progress(client, &self.writes, id, progress),
            client.batch_execute("COMMIT")
        );
        if let Err(e) = recorded.map(drop).and(committed) {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(db_err(e));
        }
        Ok(())
    }

    async fn catalog_has(&mut self, object: &CatalogObject<'_>) -> Result<Option<bool>> {
        use strata_sql::ObjectKind as K;
        let (sql, name, schema, extra) = match *object {
            CatalogObject::Object { kind, name } => {
                let sql = match kind {
                    K::Table | K::View | K::MaterializedView | K::Sequence => {
                        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = coalesce($2, current_schema()) AND $3::text IS NULL"
                    }
                    K::Index => {
                        "SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = coalesce($2, current_schema()) AND x.indisvalid AND $3::text IS NULL"
                    }
                    K::Type => {
                        "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typname = $1 AND n.nspname = coalesce($2, current_schema()) AND $3::text IS NULL"
                    }
                    K::Function | K::Procedure => {
                        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = $1 AND n.nspname = coalesce($2, current_schema()) AND $3::text IS NULL"
                    }
                    K::Schema => {
                        "SELECT count(*) FROM pg_namespace WHERE nspname = $1 AND $2::text IS NULL AND $3::text IS NULL"
                    }
                    K::Extension => {
                        "SELECT count(*) FROM pg_extension WHERE extname = $1 AND $2::text IS NULL AND $3::text IS NULL"
                    }
                    // Triggers and policies are named per table; the
                    // statement's table is not at hand here.
                    K::Trigger | K::Policy => return Ok(None),
                };
                (sql, name.key.clone(), name.schema_key(), None)
            }
            CatalogObject::Column { table, column } => (
                "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = coalesce($2, current_schema()) AND a.attname = $3 AND NOT a.attisdropped",
                table.key.clone(),
                table.schema_key(),
                Some(column.key.clone()),
            ),
            CatalogObject::Constraint { table, name } => (
                "SELECT count(*) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = coalesce($2, current_schema()) AND k.conname = $3",
                table.key.clone(),
                table.schema_key(),
                Some(name.key.clone()),
            ),
        };
        let row = self
            .client
            .query_one(sql, &[&name, &schema, &extra])
            .await
            .map_err(db_err)?;
        let n: i64 = row.get(0);
        Ok(Some(n > 0))
    }

    async fn execute_each(
        &mut self,
        statements: &[Statement<'_>],
        settings: &TxSettings,
    ) -> Result<()> {
        let set = settings_sql(settings, false);
        if !set.is_empty() {
            self.client.batch_execute(&set).await.map_err(db_err)?;
        }
        let mut result = Ok(());
        for (i, st) in statements.iter().enumerate() {
            if let Err(e) = run_statement(&self.client, st).await {
                result = Err(DriverError::Statement(Box::new(statement_error(i, &e))));
                break;
            }
        }
        if !set.is_empty() {
            let _ = self
                .client
                .batch_execute("RESET lock_timeout; RESET statement_timeout")
                .await;
        }
        result
    }

    async fn try_lock(&mut self, mode: LockMode) -> Result<LockAttempt> {
        if mode == LockMode::Lease {
            return self.try_lease().await;
        }
        let key = self.lock_key().await?;
        let row = self
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await
            .map_err(db_err)?;
        if !row.get::<_, bool>(0) {
            return Ok(LockAttempt::Held(self.advisory_holder(key).await?));
        }
        // A run in lease mode excludes this one too.
        if let Some(holder) = self.lease_holder(&self.client).await? {
            self.client
                .execute("SELECT pg_advisory_unlock($1)", &[&key])
                .await
                .map_err(db_err)?;
            return Ok(LockAttempt::Held(holder));
        }
        self.lock = Some(HeldLock::Advisory(key));
        Ok(LockAttempt::Acquired)
    }

    async fn unlock(&mut self) -> Result<()> {
        self.release().await
    }

    async fn verify(&mut self, statements: &[Statement<'_>]) -> Result<Option<String>> {
        self.client.batch_execute("BEGIN").await.map_err(db_err)?;
        let mut verdict = None;
        for (i, st) in statements.iter().enumerate() {
            match self.client.simple_query(st.sql).await {
                Ok(messages) if i + 1 == statements.len() => {
                    let rows = text_rows(messages);
                    let first = rows.first().map(|r| r.first().and_then(|v| v.as_deref()));
                    // A last statement that returns nothing (not a query)
                    // has no verdict to give.
                    if !rows.is_empty()
                        || st
                            .sql
                            .trim_start()
                            .to_ascii_lowercase()
                            .starts_with("select")
                    {
                        verdict = strata_driver::verify_says_missing(st.sql, first);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    verdict = Some(pg_message(&e));
                    break;
                }
            }
        }
        self.client
            .batch_execute("ROLLBACK")
            .await
            .map_err(db_err)?;
        Ok(verdict)
    }

    async fn query_text(&mut self, sql: &str) -> Result<Option<Vec<Vec<Option<String>>>>> {
        self.table_rows(sql).await
    }

    async fn dry_run(&mut self, on: bool) -> Result<Vec<String>> {
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

    async fn locks(&mut self) -> Result<Vec<String>> {
        // The migration's relations, not the catalogs, TOAST tables or
        // strata's own history tables.
        let rows = self
            .table_rows(
                "SELECT c.relname || ' ' || l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                  WHERE l.pid = pg_backend_pid() AND l.granted
                    AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace, 'pg_toast'::regnamespace)
                  ORDER BY 1",
            )
            .await?
            .unwrap_or_default();
        let ours = self.table.table.clone();
        Ok(rows
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .filter(|l| !l.starts_with(&ours))
            .collect())
    }

    async fn end_sessions(&mut self, application_name: &str) -> Result<usize> {
        let row = self
            .client
            .query_one(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
                  WHERE application_name = $1 AND pid <> pg_backend_pid()",
                &[&application_name],
            )
            .await
            .map_err(db_err)?;
        let ended: i64 = row.get(0);
        Ok(usize::try_from(ended).unwrap_or(0))
    }

    async fn terminate_holder(&mut self, pid: i64) -> Result<bool> {
        let pid = i32::try_from(pid)
            .map_err(|_| DriverError::Database(format!("{pid} is not a PostgreSQL backend pid")))?;
        let row = self
            .client
            // Only a session of this database (the lock is per database).
            .query_one(
                "SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) FROM pg_stat_activity WHERE pid = $1 AND datname = current_database()",
                &[&pid],
            )
            .await
            .map_err(db_err)?;
        Ok(row.get(0))
    }

    async fn reset_session(&mut self) -> Result<()> {
        self.client.batch_execute("RESET ALL").await.map_err(db_err)
    }

    async fn check_lock(&mut self) -> Result<()> {
        if self.lease_lost() {
            return Err(lease_lost_error("stopped before the next migration"));
        }
        Ok(())
    }

    async fn blocker_probe(&mut self) -> Result<Option<Box<dyn BlockerProbe>>> {
        let row = self
            .client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .map_err(db_err)?;
        Ok(Some(Box::new(PgBlockerProbe {
            target: self.target.clone(),
            pid: row.get(0),
            client: None,
        })))
    }

    async fn reset_schema(&mut self, history: &[HistoryWrite]) -> Result<Vec<String>> {
        // The migrations' objects live in the current schema, which is not
        // necessarily where the history table is.
        let schema: Option<String> = self
            .client
            .query_one("SELECT current_schema()", &[])
            .await
            .map_err(db_err)?
            .get(0);
        let schema = schema.ok_or_else(|| {
            DriverError::Database("the connection has no current schema; set search_path".into())
        })?;
        let ours = vec![
            self.table.table.clone(),
            self.log_table().table,
            self.lock_table().table,
        ];
        let not_extension_member = |classid: &str, oid: &str| {
            format!(
                "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{classid}'::regclass AND d.objid = {oid} AND d.deptype = 'e')"
            )
        };
        let sql = format!(
            "SELECT 'DROP EXTENSION IF EXISTS ' || quote_ident(e.extname) || ' CASCADE', 'extension ' || e.extname
               FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = $1
             UNION ALL
             SELECT 'DROP ' || CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END
                    || ' IF EXISTS ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' CASCADE',
                    CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' WHEN 'S' THEN 'sequence ' ELSE 'table ' END || c.relname
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT c.relispartition
                AND c.relname <> ALL ($2) AND {rel}
                AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
             UNION ALL
             SELECT 'DROP ' || CASE p.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END || ' IF EXISTS ' || quote_ident(n.nspname) || '.' || quote_ident(p.proname)
                    || '(' || pg_get_function_identity_arguments(p.oid) || ') CASCADE', 'function ' || p.proname
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = $1 AND {proc}
             UNION ALL
             SELECT 'DROP ' || CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END || ' IF EXISTS ' || quote_ident(n.nspname) || '.' || quote_ident(t.typname) || ' CASCADE',
                    'type ' || t.typname
               FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE n.nspname = $1 AND t.typtype IN ('e', 'd', 'r', 'c')
                AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
                AND {typ}",
            rel = not_extension_member("pg_class", "c.oid"),
            proc = not_extension_member("pg_proc", "p.oid"),
            typ = not_extension_member("pg_type", "t.oid"),
        );
        let rows = self
            .client
            .query(&sql, &[&schema, &ours])
            .await
            .map_err(db_err)?;
        let (drops, names): (Vec<String>, Vec<String>) = rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
            .unzip();
        let client = &self.client;
        let result = async {
            client.batch_execute("BEGIN").await?;
            if !drops.is_empty() {
                client.batch_execute(&drops.join("; ")).await?;
            }
            for write in history {
                for op in Bound::new(write).ops(client, &self.writes) {
                    op.await?;
                }
            }
            client.batch_execute("COMMIT").await
        }
        .await;
        if let Err(e) = result {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(db_err(e));
        }
        Ok(names)
    }
}

/// Runs one statement of a migration. `COPY ... FROM STDIN` followed by its
/// data (as psql takes it) goes through the COPY protocol with that data.
async fn run_statement(
    client: &Client,
    statement: &Statement<'_>,
) -> std::result::Result<(), tokio_postgres::Error> {
    let Some((command, data)) = strata_sql::copy_data(statement) else {
        return client.batch_execute(statement.sql).await;
    };
    let sink = client
        .copy_in(command.trim_end().trim_end_matches(';'))
        .await?;
    let mut sink = std::pin::pin!(sink);
    sink.send(bytes::Bytes::copy_from_slice(data.as_bytes()))
        .await?;
    sink.as_mut().finish().await.map(drop)
}

/// Reports the sessions blocking `pid`, over a connection of its own
/// opened on first use.
struct PgBlockerProbe {
    target: Target,
    pid: i32,
    client: Option<Client>,
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
                query: r.get(5),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_of_the_url() {
        let (rest, mode, root) = split_tls_params(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u@h/db?connect_timeout=3");
        assert_eq!(mode, SslMode::VerifyFull);
        assert_eq!(root.as_deref(), Some("/tmp/ca.pem"));
        let (rest, mode, _) = split_tls_params("postgres://h/db").unwrap();
        assert_eq!((rest.as_str(), mode), ("postgres://h/db", SslMode::Prefer));
        assert!(split_tls_params("postgres://h/db?sslmode=sometimes").is_err());
        let (rest, mode, _) = split_tls_params("postgres://u:a?b@h/db?sslmode=require").unwrap();
        assert_eq!(
            (rest.as_str(), mode),
            ("postgres://u:a?b@h/db", SslMode::Require)
        );
    }
}
