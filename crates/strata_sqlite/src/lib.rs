//! SQLite behind the [`Driver`] trait. SQLite rolls DDL back, so every
//! migration commits atomically with its history row. The migration lock is
//! a lease row ([`strata_driver::lease`]) in the database itself; a holder
//! that died on this host (and in this PID namespace) is recognised by its
//! process id and replaced.

mod backup;

use async_trait::async_trait;
pub use backup::{SqliteBackup, check_backup};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Duration;
use strata_driver::history::{
    HistorySql, Param, delete_params, log_params, progress_params, upsert_params,
};
use strata_driver::lease::{self, Claimant, Lease, LeaseStore};
use strata_driver::{
    Capabilities, CatalogObject, Driver, DriverError, HistoryWrite, LockAttempt, LockHolder,
    LockMode, Result, SqlErrorKind, StatementError, TableName, TxSettings,
};
use strata_model::{HistoryRow, LogEntry, MigrationId, Progress, Timestamp};
use strata_sql::{Dialect, Statement};

/// How long a lease lasts, renewed before each step, before another process
/// may take it over when its holder cannot be checked (a holder on another
/// host or in another PID namespace).
const LEASE: Duration = Duration::from_secs(3600);

/// How long a statement waits for another connection's write lock.
const BUSY: Duration = Duration::from_secs(30);
/// How long one attempt at the migration lock waits for it.
const LOCK_BUSY: Duration = Duration::from_millis(100);

pub struct SqliteDriver {
    conn: Connection,
    display: String,
    table: TableName,
    sql: HistorySql,
    holder: Option<String>,
    /// In a dry run: transactions become savepoints of one that is rolled
    /// back.
    dry_run: bool,
}

/// Opens (creating if needed) the database at `path` (`:memory:` for an
/// in-memory one). `display` is how the database is named in messages.
pub fn connect(path: &str, table: TableName, display: String) -> Result<SqliteDriver> {
    let conn = Connection::open(path).map_err(|e| DriverError::Connect {
        url: display.clone(),
        message: e.to_string(),
    })?;
    conn.busy_timeout(BUSY).map_err(DriverError::database)?;
    Ok(SqliteDriver {
        conn,
        display,
        sql: HistorySql::new(Dialect::Sqlite, &table),
        table,
        holder: None,
        dry_run: false,
    })
}

fn db_err(e: rusqlite::Error) -> DriverError {
    DriverError::database(e)
}

fn statement_error(index: usize, e: rusqlite::Error) -> DriverError {
    let (code, kind) = match &e {
        rusqlite::Error::SqliteFailure(f, _) => (
            Some(format!("{:?}", f.code)),
            match f.code {
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                    SqlErrorKind::LockTimeout
                }
                rusqlite::ErrorCode::OperationInterrupted => SqlErrorKind::Cancelled,
                _ if is_missing_table(&e) => SqlErrorKind::MissingTable,
                _ => SqlErrorKind::Other,
            },
        ),
        _ => (None, SqlErrorKind::Other),
    };
    DriverError::Statement(Box::new(StatementError {
        index,
        message: e.to_string(),
        kind,
        code,
        position: None,
        detail: None,
        hint: None,
    }))
}

/// A value as text, as strata reads history rows, other tools' tables and
/// verify results.
fn text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

fn is_missing_table(e: &rusqlite::Error) -> bool {
    let m = e.to_string();
    m.contains("no such table") || m.contains("unknown database")
}

impl SqliteDriver {
    fn write_progress(&self, id: &MigrationId, progress: &Progress) -> Result<()> {
        self.exec(&self.sql.progress, progress_params(id, progress))
    }

    /// Runs one of the history statements with its values.
    fn exec(&self, sql: &str, values: Vec<Param>) -> Result<()> {
        let values = values.into_iter().map(|p| match p {
            Param::Text(t) => t.map_or(Value::Null, Value::Text),
            Param::Int(n) => n.map_or(Value::Null, Value::Integer),
            Param::Bool(b) => Value::Integer(i64::from(b)),
            Param::Time(t) => Param::rfc3339(&t).map_or(Value::Null, Value::Text),
        });
        self.conn
            .prepare_cached(sql)
            .and_then(|mut st| st.execute(rusqlite::params_from_iter(values)))
            .map(drop)
            .map_err(db_err)
    }

    /// The rows of `sql` with every column as text, or `None` when a table
    /// it reads does not exist.
    fn text_rows(&self, sql: &str) -> Result<Option<Vec<Vec<Option<String>>>>> {
        let mut st = match self.conn.prepare(sql) {
            Ok(st) => st,
            Err(e) if is_missing_table(&e) => return Ok(None),
            Err(e) => return Err(db_err(e)),
        };
        let columns = st.column_count();
        let rows = st
            .query_map([], |r| {
                (0..columns)
                    .map(|i| r.get_ref(i).map(text))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(db_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_err)?;
        Ok(Some(rows))
    }

    fn log_table(&self) -> TableName {
        self.table.with_suffix("_log")
    }

    fn lock_table(&self) -> TableName {
        self.table.with_suffix("_lock")
    }

    fn run_statements(&self, statements: &[Statement<'_>]) -> Result<()> {
        for (i, st) in statements.iter().enumerate() {
            self.conn
                .execute_batch(st.sql)
                .map_err(|e| statement_error(i, e))?;
        }
        Ok(())
    }

    fn write(&self, w: &HistoryWrite) -> Result<()> {
        if let Some(r) = &w.upsert {
            self.exec(&self.sql.upsert, upsert_params(r))?;
        }
        if let Some(id) = &w.delete {
            self.exec(&self.sql.delete, delete_params(id))?;
        }
        self.exec(&self.sql.log, log_params(&w.log))?;
        for f in &w.foreign {
            self.conn
                .execute(&f.sql, rusqlite::params_from_iter(f.params.iter()))
                .map_err(db_err)?;
        }
        Ok(())
    }

    fn in_write_transaction<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let (begin, commit, rollback) = if self.dry_run {
            (
                "SAVEPOINT strata_step",
                "RELEASE strata_step",
                "ROLLBACK TO strata_step; RELEASE strata_step",
            )
        } else {
            ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")
        };
        self.conn.execute_batch(begin).map_err(db_err)?;
        match f() {
            Ok(v) => {
                if let Err(e) = self.conn.execute_batch(commit) {
                    let _ = self.conn.execute_batch(rollback);
                    return Err(db_err(e));
                }
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch(rollback);
                Err(e)
            }
        }
    }

    fn release_lease(&mut self) -> Result<()> {
        if let Some(holder) = self.holder.take() {
            self.conn
                .execute(
                    &format!(
                        "DELETE FROM {} WHERE holder = ?1",
                        self.lock_table().quoted()
                    ),
                    params![holder],
                )
                .map_err(db_err)?;
        }
        Ok(())
    }
}

impl Drop for SqliteDriver {
    fn drop(&mut self) {
        let _ = self.release_lease();
    }
}

/// The lease row, in the database itself; this process's clock decides
/// expiry (Unix milliseconds in `expires_at`).
#[async_trait]
impl LeaseStore for SqliteDriver {
    async fn current(&mut self) -> Result<Option<Lease>> {
        let sql = format!(
            "SELECT holder, pid, host, acquired_at, expires_at FROM {} WHERE name = 'migrate'",
            self.lock_table().quoted()
        );
        let now = Timestamp::now().unix_millis();
        self.conn
            .query_row(&sql, [], |r| {
                Ok(Lease {
                    holder: r.get(0)?,
                    pid: r.get(1)?,
                    scope: r.get(2)?,
                    since: r.get(3)?,
                    expired: r.get::<_, i64>(4)? <= now,
                })
            })
            .optional()
            .or_else(|e| {
                if is_missing_table(&e) {
                    Ok(None)
                } else {
                    Err(e)
                }
            })
            .map_err(db_err)
    }

    async fn take(
        &mut self,
        me: &Claimant,
        ttl: Duration,
        replacing: Option<&Lease>,
    ) -> Result<bool> {
        let lock = self.lock_table().quoted();
        let now = Timestamp::now();
        let expires = now.unix_millis() + ttl.as_millis() as i64;
        let changed = match replacing {
            None => self.conn.execute(
                &format!("INSERT OR IGNORE INTO {lock} (name, holder, pid, host, acquired_at, expires_at) VALUES ('migrate', ?1, ?2, ?3, ?4, ?5)"),
                params![me.holder, me.pid, me.scope, now.rfc3339(), expires],
            ),
            Some(old) => {
                // An expired lease its holder renewed since is not taken.
                let renewed_since = if old.expired { now.unix_millis() } else { i64::MAX };
                self.conn.execute(
                    &format!("UPDATE {lock} SET holder = ?1, pid = ?2, host = ?3, acquired_at = ?4, expires_at = ?5 WHERE name = 'migrate' AND holder = ?6 AND expires_at <= ?7"),
                    params![me.holder, me.pid, me.scope, now.rfc3339(), expires, old.holder, renewed_since],
                )
            }
        };
        Ok(changed.map_err(db_err)? == 1)
    }
}

#[async_trait]
impl Driver for SqliteDriver {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            dialect: Dialect::Sqlite,
            transactional_ddl: true,
        }
    }

    fn describe(&self) -> String {
        self.display.clone()
    }

    fn history_table(&self) -> String {
        self.table.to_string()
    }

    async fn ensure_history(&mut self) -> Result<()> {
        let [history, log] = &self.sql.create;
        self.conn
            .execute_batch(&format!("{history};\n{log};"))
            .map_err(db_err)
    }

    async fn read_history(&mut self) -> Result<Vec<HistoryRow>> {
        let rows = self.text_rows(&self.sql.select)?.unwrap_or_default();
        strata_driver::rows::history_rows(&self.table.to_string(), rows)
    }

    async fn read_log(&mut self) -> Result<Vec<LogEntry>> {
        let rows = self.text_rows(&self.sql.select_log)?.unwrap_or_default();
        strata_driver::rows::log_entries(&self.log_table().to_string(), rows)
    }

    async fn write_history(&mut self, write: &HistoryWrite) -> Result<()> {
        self.in_write_transaction(|| self.write(write))
    }

    async fn server_version(&mut self) -> Result<String> {
        self.conn
            .query_row("SELECT 'SQLite ' || sqlite_version()", [], |r| r.get(0))
            .map_err(db_err)
    }

    async fn can_create(&mut self) -> Result<bool> {
        // Creating a table in a transaction that is rolled back.
        let probe = self.conn.execute_batch(
            "SAVEPOINT strata_probe; CREATE TABLE strata_doctor_probe (id INTEGER); ROLLBACK TO strata_probe; RELEASE strata_probe;",
        );
        if probe.is_err() {
            let _ = self
                .conn
                .execute_batch("ROLLBACK TO strata_probe; RELEASE strata_probe;");
        }
        Ok(probe.is_ok())
    }

    async fn record_progress(&mut self, id: &MigrationId, progress: &Progress) -> Result<()> {
        self.write_progress(id, progress)
    }

    fn records_atomically(&self, statement: &Statement<'_>, script: &str) -> bool {
        // What SQLite refuses, or ignores, inside a transaction.
        let first = strata_sql::first_word(statement, script);
        !matches!(first.as_str(), "PRAGMA" | "VACUUM" | "ATTACH" | "DETACH")
            && !strata_sql::is_transaction_control(statement, script)
    }

    async fn execute_recorded(
        &mut self,
        statement: &Statement<'_>,
        settings: &TxSettings,
        id: &MigrationId,
        progress: &Progress,
    ) -> Result<()> {
        let _ = settings;
        self.in_write_transaction(|| {
            self.run_statements(std::slice::from_ref(statement))?;
            self.write_progress(id, progress)
        })
    }

    async fn catalog_has(&mut self, object: &CatalogObject<'_>) -> Result<Option<bool>> {
        use strata_sql::ObjectKind as K;
        let count = |sql: &str, a: &str, b: &str| -> Result<Option<bool>> {
            self.conn
                .query_row(sql, params![a, b], |r| r.get::<_, i64>(0))
                .map(|n| Some(n > 0))
                .map_err(db_err)
        };
        match *object {
            CatalogObject::Object { kind, name } => {
                let kind = match kind {
                    K::Table => "table",
                    K::View => "view",
                    K::Index => "index",
                    K::Trigger => "trigger",
                    _ => return Ok(None),
                };
                count(
                    "SELECT count(*) FROM sqlite_master WHERE type = ?1 AND name = ?2 COLLATE NOCASE",
                    kind,
                    &name.key,
                )
            }
            CatalogObject::Column { table, column } => count(
                "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2 COLLATE NOCASE",
                &table.key,
                &column.key,
            ),
            CatalogObject::Constraint { .. } => Ok(None),
        }
    }

    async fn apply_in_transaction(
        &mut self,
        statements: &[Statement<'_>],
        _settings: &TxSettings,
        record: &HistoryWrite,
    ) -> Result<()> {
        let started = std::time::Instant::now();
        self.in_write_transaction(|| {
            self.run_statements(statements)?;
            self.write(&record.finished(started))
        })
    }

    async fn execute_each(
        &mut self,
        statements: &[Statement<'_>],
        _settings: &TxSettings,
    ) -> Result<()> {
        self.run_statements(statements)
    }

    async fn try_lock(&mut self, _mode: LockMode) -> Result<LockAttempt> {
        let lock = self.lock_table().quoted();
        // Wait only briefly for the write lock here: the engine's loop does
        // the waiting, says who holds it and honours --lock-timeout.
        self.conn.busy_timeout(LOCK_BUSY).map_err(db_err)?;
        let me = Claimant::me();
        let attempt = match self
            .conn
            .execute_batch(&lease::create_table(Dialect::Sqlite, &lock))
        {
            Ok(()) => lease::try_take(self, &me, LEASE).await,
            Err(e) => Err(db_err(e)),
        };
        self.conn.busy_timeout(BUSY).map_err(db_err)?;
        let attempt = match attempt {
            Err(DriverError::Database(m)) if m.contains("database is locked") => {
                LockAttempt::Held(LockHolder {
                    client: Some("another connection holding the database's write lock".into()),
                    ..LockHolder::default()
                })
            }
            other => other?,
        };
        if attempt == LockAttempt::Acquired {
            self.holder = Some(me.holder);
        }
        Ok(attempt)
    }

    async fn unlock(&mut self) -> Result<()> {
        self.release_lease()
    }

    async fn verify(&mut self, statements: &[Statement<'_>]) -> Result<Option<String>> {
        self.conn.execute_batch("BEGIN").map_err(db_err)?;
        let mut verdict = None;
        for (i, st) in statements.iter().enumerate() {
            let outcome = if i + 1 == statements.len() {
                self.conn.prepare(st.sql).and_then(|mut prepared| {
                    if prepared.column_count() == 0 {
                        return prepared.execute([]).map(|_| None);
                    }
                    let mut rows = prepared.query([])?;
                    let first = match rows.next()? {
                        None => None,
                        Some(row) => Some(text(row.get_ref(0)?)),
                    };
                    Ok(strata_driver::verify_says_missing(
                        st.sql,
                        first.as_ref().map(|v| v.as_deref()),
                    ))
                })
            } else {
                self.conn.execute_batch(st.sql).map(|()| None)
            };
            match outcome {
                Ok(None) => {}
                Ok(missing) => {
                    verdict = missing;
                    break;
                }
                Err(e) => {
                    verdict = Some(e.to_string());
                    break;
                }
            }
        }
        self.conn.execute_batch("ROLLBACK").map_err(db_err)?;
        Ok(verdict)
    }

    async fn dry_run(&mut self, on: bool) -> Result<Vec<String>> {
        // AUTOINCREMENT counters live in sqlite_sequence, which rolls back
        // with everything else.
        let sql = if on { "BEGIN IMMEDIATE" } else { "ROLLBACK" };
        self.conn.execute_batch(sql).map_err(db_err)?;
        self.dry_run = on;
        Ok(Vec::new())
    }

    async fn query_text(&mut self, sql: &str) -> Result<Option<Vec<Vec<Option<String>>>>> {
        self.text_rows(sql)
    }

    async fn check_lock(&mut self) -> Result<()> {
        let Some(holder) = &self.holder else {
            return Ok(());
        };
        let renewed = self
            .conn
            .execute(
                &format!(
                    "UPDATE {} SET expires_at = ?2 WHERE name = 'migrate' AND holder = ?1",
                    self.lock_table().quoted()
                ),
                params![
                    holder,
                    Timestamp::now().unix_millis() + LEASE.as_millis() as i64
                ],
            )
            .map_err(db_err)?;
        if renewed == 1 {
            Ok(())
        } else {
            Err(DriverError::Database(
                "the migration lock was taken over by another run (its lease had expired): stopped; check `strata status`, then run again".into(),
            ))
        }
    }

    async fn reset_schema(&mut self, history: &[HistoryWrite]) -> Result<Vec<String>> {
        let ours = [
            self.table.table.clone(),
            self.log_table().table,
            self.lock_table().table,
        ];
        let objects: Vec<(String, String)> = {
            let mut st = self
                .conn
                .prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND type IN ('view', 'trigger', 'table') ORDER BY CASE type WHEN 'trigger' THEN 0 WHEN 'view' THEN 1 ELSE 2 END, name")
                .map_err(db_err)?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_err)?
                .collect::<std::result::Result<_, _>>()
                .map_err(db_err)?
        };
        let objects: Vec<_> = objects
            .into_iter()
            .filter(|(_, n)| !ours.contains(n))
            .collect();
        let foreign_keys: bool = self
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .map_err(db_err)?;
        self.conn
            .execute_batch("PRAGMA foreign_keys = OFF")
            .map_err(db_err)?;
        let result = self.in_write_transaction(|| {
            for (kind, name) in &objects {
                self.conn
                    .execute_batch(&format!(
                        "DROP {} IF EXISTS {}",
                        kind.to_uppercase(),
                        strata_driver::quote_ident(name)
                    ))
                    .map_err(db_err)?;
            }
            history.iter().try_for_each(|w| self.write(w))
        });
        if foreign_keys {
            self.conn
                .execute_batch("PRAGMA foreign_keys = ON")
                .map_err(db_err)?;
        }
        result?;
        Ok(objects
            .into_iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect())
    }
}
