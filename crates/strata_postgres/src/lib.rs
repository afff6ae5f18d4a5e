//! PostgreSQL behind the [`Driver`] trait, on tokio-postgres with rustls.
//!
//! A migration's statements are sent as one pipeline (the server still runs
//! them one after another in one transaction), then its history row with the
//! commit, so what strata adds per migration is about two round trips.
//! The migration lock is a session advisory lock keyed by the history
//! table's identity, or a lease row for transaction-mode poolers.

mod backup;
mod catalog;
mod connect;
mod dry_run;
mod history;
mod lock;
mod probe;
mod schema;
mod tls;

use async_trait::async_trait;
pub use backup::{PgBackup, check_backup, check_backup_from};
use connect::Target;
pub use connect::{client_env, connect};
use futures_util::SinkExt;
use futures_util::future::{BoxFuture, FutureExt, join_all};
use history::{Bound, Writes};
use lock::{HeldLock, lease_lost_error};
use probe::PgBlockerProbe;
use std::sync::Arc;
use std::time::Duration;
use strata_driver::history::{HistorySql, Param};
use strata_driver::{
    BlockerProbe, Capabilities, CatalogObject, Driver, DriverError, Held, HistoryWrite,
    LockAttempt, LockMode, Result, Rows, Session, SqlErrorKind, StatementError, TableName,
    TextRows, Transaction, TxSettings, quote_ident,
};
use strata_sql::{Dialect, Statement};
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{Client, SimpleQueryMessage};

/// How many statements of a migration are in flight at once.
const PIPELINE: usize = 512;

/// PostgreSQL behind [`Driver`], on a connection of its own (`'static`)
/// or one lent by the program embedding strata ([`PgDriver::lent`]).
pub struct PgDriver<'a> {
    client: Held<'a, Client>,
    /// How to open more connections (a lease, the blocker probe): none on a
    /// lent client.
    target: Option<Target>,
    display: String,
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
    sequences_before: Vec<dry_run::SequencePosition>,
    /// A lent client's own session settings (`search_path`, `TimeZone`,
    /// ...): put back after each migration's `RESET ALL`.
    session: Vec<(String, String)>,
}

/// The most useful text of a tokio-postgres error (the server's message
/// when there is one, with any source error appended).
pub(crate) fn pg_message(e: &tokio_postgres::Error) -> String {
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

pub(crate) fn db_err(e: tokio_postgres::Error) -> DriverError {
    db_err_ref(&e)
}

pub(crate) fn db_err_ref(e: &tokio_postgres::Error) -> DriverError {
    DriverError::Database(pg_message(e))
}

/// A statement the server rejected, as the `index`th of those sent.
pub(crate) fn statement_error(index: usize, e: &tokio_postgres::Error) -> DriverError {
    let db = e.as_db_error();
    DriverError::Statement(Box::new(StatementError {
        index,
        message: pg_message(e),
        kind: match db.map(|d| d.code().code()) {
            Some("55P03") => SqlErrorKind::LockTimeout,
            Some("42P01" | "3F000") => SqlErrorKind::MissingTable,
            Some("40P01") => SqlErrorKind::Deadlock,
            Some("57014") => SqlErrorKind::Cancelled,
            _ => SqlErrorKind::Other,
        },
        code: db.map(|d| d.code().code().to_string()),
        position: db.and_then(|d| match d.position() {
            Some(tokio_postgres::error::ErrorPosition::Original(p)) => Some(*p as usize),
            _ => None,
        }),
        detail: db.and_then(|d| d.detail().map(str::to_string)),
        hint: db.and_then(|d| d.hint().map(str::to_string)),
    }))
}

pub(crate) fn is_missing_relation(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|d| matches!(d.code().code(), "42P01" | "3F000"))
}

fn millis(d: Duration) -> u128 {
    d.as_millis().max(1)
}

impl PgDriver<'_> {
    /// The first column of the one row `sql` returns.
    async fn value<T: for<'a> FromSql<'a>>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<T> {
        let row = self.client.query_one(sql, params).await.map_err(db_err)?;
        Ok(row.get(0))
    }

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
}

/// Runs `sql` as a simple query, handing each row's text columns to `each`
/// as the row arrives (the server's messages for ten thousand history rows
/// are never all held); whether it returned a result set.
async fn each_row(
    client: &Client,
    sql: &str,
    mut each: impl FnMut(&mut dyn Iterator<Item = Option<&str>>) + Send,
) -> std::result::Result<bool, tokio_postgres::Error> {
    use futures_util::TryStreamExt;
    let stream = client.simple_query_raw(sql).await?;
    futures_util::pin_mut!(stream);
    let mut query = false;
    while let Some(message) = stream.try_next().await? {
        match message {
            SimpleQueryMessage::RowDescription(_) => query = true,
            SimpleQueryMessage::Row(r) => each(&mut (0..r.len()).map(|i| r.get(i))),
            _ => {}
        }
    }
    Ok(query)
}

/// The rows of `sql` with every column as text, `None` when it returns no
/// result set.
pub(crate) async fn text_rows(
    client: &Client,
    sql: &str,
) -> std::result::Result<Option<Rows>, tokio_postgres::Error> {
    let mut rows = Vec::new();
    let query = each_row(client, sql, |r| {
        rows.push(r.map(|c| c.map(str::to_string)).collect())
    })
    .await?;
    Ok(query.then_some(rows))
}

#[async_trait]
impl Session for PgDriver<'_> {
    fn history_sql(&self) -> Arc<HistorySql> {
        self.writes.sql.clone()
    }

    fn transaction(&self) -> Transaction {
        if self.dry_run {
            Transaction::SAVEPOINT
        } else {
            Transaction::PLAIN
        }
    }

    fn limits(&self, settings: &TxSettings, local: bool) -> Vec<String> {
        let scope = if local { "LOCAL " } else { "" };
        let set = |name: &str, d: Option<Duration>| {
            d.map(|d| format!("SET {scope}{name} = '{}ms'", millis(d)))
        };
        set("lock_timeout", settings.lock_timeout)
            .into_iter()
            .chain(set("statement_timeout", settings.statement_timeout))
            .collect()
    }

    fn reset_limits(&self) -> Option<&'static str> {
        Some("RESET lock_timeout; RESET statement_timeout")
    }

    async fn batch(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).await.map_err(db_err)
    }

    async fn exec(&mut self, sql: &str, params: Vec<Param>) -> Result<()> {
        history::execute(&self.client, sql, &history::owned(params))
            .await
            .map(drop)
            .map_err(db_err)
    }

    async fn run(&mut self, statement: &Statement<'_>) -> Result<()> {
        run_statement(&self.client, statement)
            .await
            .map_err(|e| statement_error(0, &e))
    }

    async fn query(&mut self, sql: &str) -> Result<Option<Rows>> {
        text_rows(&self.client, sql)
            .await
            .map_err(|e| statement_error(0, &e))
    }

    async fn query_rows(&mut self, sql: &str) -> Result<Option<TextRows>> {
        let mut rows = TextRows::default();
        let query = each_row(&self.client, sql, |r| rows.push(r))
            .await
            .map_err(|e| statement_error(0, &e))?;
        Ok(query.then_some(rows))
    }
}

#[async_trait]
impl Driver for PgDriver<'_> {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            dialect: Dialect::Postgres,
            transactional_ddl: true,
        }
    }

    fn describe(&self) -> String {
        self.display.clone()
    }

    async fn read_schema(&mut self, skip: &[String]) -> Result<strata_schema::Schema> {
        schema::read(self, skip).await
    }

    async fn ensure_history(&mut self) -> Result<()> {
        let schema = match &self.table.schema {
            Some(s) if self.named_schema => {
                format!("CREATE SCHEMA IF NOT EXISTS {};", quote_ident(s))
            }
            _ => String::new(),
        };
        let tables = self.writes.sql.create.join(";");
        self.client
            .batch_execute(&format!("{schema}{tables}"))
            .await
            .map_err(db_err)?;
        if matches!(self.lock, Some(HeldLock::Advisory(_))) && !self.writes.is_prepared() {
            self.writes.prepare(&self.client).await?;
        }
        Ok(())
    }

    async fn write_history(&mut self, write: &HistoryWrite) -> Result<()> {
        let bound = Bound::new(write);
        let tx = self.transaction();
        let client = &self.client;
        let mut ops = vec![client.batch_execute(tx.begin).boxed()];
        ops.extend(bound.ops(client, &self.writes));
        ops.push(client.batch_execute(tx.commit).boxed());
        let results = join_all(ops).await;
        if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
            let _ = client.batch_execute(tx.rollback).await;
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
        let tx = self.transaction();
        let begin = [tx.begin.to_string()]
            .into_iter()
            .chain(self.limits(settings, true))
            .collect::<Vec<_>>()
            .join(";");
        let (commit, rollback) = (tx.commit, tx.rollback);
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
                    (true, i) => statement_error(window * PIPELINE + i - 1, e),
                    (false, i) => statement_error(window * PIPELINE + i, e),
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
        // A lent client's own settings come back with the commit.
        ops.extend(self.session.iter().map(|(name, value)| {
            async move {
                client
                    .execute("SELECT set_config($1, $2, false)", &[name, value])
                    .await
                    .map(drop)
            }
            .boxed()
        }));
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
        self.value(
            "SELECT 'PostgreSQL ' || current_setting('server_version')",
            &[],
        )
        .await
    }

    async fn can_create(&mut self) -> Result<bool> {
        self.value(
            "SELECT coalesce(has_schema_privilege(current_schema(), 'CREATE'), false)",
            &[],
        )
        .await
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

    fn records_atomically(&self, statement: &Statement<'_>, script: &str) -> bool {
        !strata_sql::cannot_run_in_transaction(statement, script)
            && !strata_sql::is_transaction_control(statement, script)
    }

    async fn catalog_has(&mut self, object: &CatalogObject<'_>) -> Result<Option<bool>> {
        self.lookup(object).await
    }

    async fn try_lock(&mut self, mode: LockMode) -> Result<LockAttempt> {
        if mode == LockMode::Lease {
            return self.try_lease().await;
        }
        let key = self.lock_key().await?;
        let taken: bool = self
            .value("SELECT pg_try_advisory_lock($1)", &[&key])
            .await?;
        if !taken {
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

    async fn dry_run(&mut self, on: bool) -> Result<Vec<String>> {
        self.set_dry_run(on).await
    }

    async fn locks(&mut self) -> Result<Vec<String>> {
        // The migration's relations, not the catalogs, TOAST tables or
        // strata's own history tables.
        let rows = self
            .query(
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
        let ended: i64 = self
            .value(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
                  WHERE application_name = $1 AND pid <> pg_backend_pid()",
                &[&application_name],
            )
            .await?;
        Ok(usize::try_from(ended).unwrap_or(0))
    }

    async fn terminate_holder(&mut self, pid: i64) -> Result<bool> {
        let pid = i32::try_from(pid)
            .map_err(|_| DriverError::Database(format!("{pid} is not a PostgreSQL backend pid")))?;
        // Only a session of this database (the lock is per database).
        self.value(
            "SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) FROM pg_stat_activity WHERE pid = $1 AND datname = current_database()",
            &[&pid],
        )
        .await
    }

    async fn reset_session(&mut self) -> Result<()> {
        self.client
            .batch_execute("RESET ALL")
            .await
            .map_err(db_err)?;
        for (name, value) in &self.session {
            self.client
                .execute("SELECT set_config($1, $2, false)", &[name, value])
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    async fn check_lock(&mut self) -> Result<()> {
        if self.lease_lost() {
            return Err(lease_lost_error("stopped before the next migration"));
        }
        Ok(())
    }

    async fn blocker_probe(&mut self) -> Result<Option<Box<dyn BlockerProbe>>> {
        let Some(target) = self.target.clone() else {
            return Ok(None);
        };
        Ok(Some(Box::new(PgBlockerProbe {
            target,
            pid: self.value("SELECT pg_backend_pid()", &[]).await?,
            client: None,
        })))
    }

    async fn reset_schema(&mut self, history: &[HistoryWrite]) -> Result<Vec<String>> {
        // The migrations' objects live in the current schema, which is not
        // necessarily where the history table is.
        let schema: Option<String> = self.value("SELECT current_schema()", &[]).await?;
        let schema = schema.ok_or_else(|| {
            DriverError::Database("the connection has no current schema; set search_path".into())
        })?;
        let ours = self.table.own_tables();
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
        strata_driver::session::reset(self, &drops, history).await?;
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
