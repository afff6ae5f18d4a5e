//! SQLite behind the [`Driver`] trait. SQLite rolls DDL back, so every
//! migration commits atomically with its history row. The migration lock is
//! a lease row ([`strata_driver::lease`]) in the database itself; a holder
//! that died on this host (and in this PID namespace) is recognised by its
//! process id and replaced.

mod backup;

use async_trait::async_trait;
pub use backup::{SqliteBackup, check_backup, check_backup_from};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Arc;
use std::time::Duration;
use strata_driver::history::{HistorySql, Param};
use strata_driver::lease::{self, Claimant, Lease, LeaseStore};
use strata_driver::{
    Capabilities, CatalogObject, Driver, DriverError, Held, HistoryWrite, LockAttempt, LockHolder,
    LockMode, Result, Rows, Session, SqlErrorKind, StatementError, TableName, Transaction,
};
use strata_model::Timestamp;
use strata_sql::{Dialect, Statement};

/// How long a lease lasts, renewed before each step, before another process
/// may take it over when its holder cannot be checked (a holder on another
/// host or in another PID namespace).
const LEASE: Duration = Duration::from_secs(3600);

/// How long a statement waits for another connection's write lock.
const BUSY: Duration = Duration::from_secs(30);
/// How long one attempt at the migration lock waits for it.
const LOCK_BUSY: Duration = Duration::from_millis(100);

/// SQLite behind [`Driver`], on a connection of its own (`'static`) or one
/// lent by the program embedding strata ([`SqliteDriver::lent`]).
pub struct SqliteDriver<'a> {
    conn: Held<'a, Connection>,
    /// A lent connection's own busy timeout, given back when the run ends.
    busy_before: Option<i64>,
    display: String,
    table: TableName,
    sql: Arc<HistorySql>,
    holder: Option<String>,
    /// In a dry run: transactions become savepoints of one that is rolled
    /// back.
    dry_run: bool,
}

/// Opens (creating if needed) the database at `path` (`:memory:` for an
/// in-memory one). `display` is how the database is named in messages.
pub fn connect(path: &str, table: TableName, display: String) -> Result<SqliteDriver<'static>> {
    let conn = Connection::open(path).map_err(|e| DriverError::Connect {
        url: display.clone(),
        message: e.to_string(),
    })?;
    conn.busy_timeout(BUSY).map_err(DriverError::database)?;
    Ok(SqliteDriver::on(Held::Own(conn), None, display, table))
}

impl<'a> SqliteDriver<'a> {
    /// A driver on the program's own `conn`, for one run: strata writes its
    /// history there and leaves the connection as it was (its busy timeout
    /// is strata's only while the run lasts).
    pub fn lent(conn: &'a mut Connection, table: TableName) -> Result<SqliteDriver<'a>> {
        if !conn.is_autocommit() {
            return Err(DriverError::Database(
                "the connection is inside a transaction: commit or roll it back before migrating (strata runs each migration in a transaction of its own)".into(),
            ));
        }
        let busy: i64 = conn
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .map_err(db_err)?;
        conn.busy_timeout(BUSY).map_err(db_err)?;
        let display = match conn.path().filter(|p| !p.is_empty()) {
            Some(path) => format!("the program's connection to {path}"),
            None => "the program's in-memory database".into(),
        };
        Ok(SqliteDriver::on(
            Held::Lent(conn),
            Some(busy),
            display,
            table,
        ))
    }

    fn on(
        conn: Held<'a, Connection>,
        busy_before: Option<i64>,
        display: String,
        table: TableName,
    ) -> Self {
        SqliteDriver {
            conn,
            busy_before,
            display,
            sql: Arc::new(HistorySql::new(Dialect::Sqlite, &table)),
            table,
            holder: None,
            dry_run: false,
        }
    }
}

fn db_err(e: rusqlite::Error) -> DriverError {
    DriverError::database(e)
}

fn statement_error(e: rusqlite::Error) -> DriverError {
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
        index: 0,
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

impl SqliteDriver<'_> {
    fn lock_table(&self) -> TableName {
        self.table.with_suffix("_lock")
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

impl Drop for SqliteDriver<'_> {
    fn drop(&mut self) {
        let _ = self.release_lease();
        if let Some(ms) = self.busy_before {
            let _ = self
                .conn
                .busy_timeout(Duration::from_millis(ms.max(0) as u64));
        }
    }
}

/// The lease row, in the database itself; this process's clock decides
/// expiry (Unix milliseconds in `expires_at`).
#[async_trait]
impl LeaseStore for SqliteDriver<'_> {
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
impl Session for SqliteDriver<'_> {
    fn history_sql(&self) -> Arc<HistorySql> {
        self.sql.clone()
    }

    fn transaction(&self) -> Transaction {
        if self.dry_run {
            Transaction::SAVEPOINT
        } else {
            Transaction {
                begin: "BEGIN IMMEDIATE",
                ..Transaction::PLAIN
            }
        }
    }

    async fn batch(&mut self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(db_err)
    }

    async fn exec(&mut self, sql: &str, params: Vec<Param>) -> Result<()> {
        let values = params.into_iter().map(|p| match p {
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

    async fn run(&mut self, statement: &Statement<'_>) -> Result<()> {
        self.conn
            .execute_batch(statement.sql)
            .map_err(statement_error)
    }

    async fn query(&mut self, sql: &str) -> Result<Option<Rows>> {
        let mut st = self.conn.prepare(sql).map_err(statement_error)?;
        let columns = st.column_count();
        if columns == 0 {
            return st.execute([]).map(|_| None).map_err(statement_error);
        }
        let rows = st
            .query_map([], |r| {
                (0..columns)
                    .map(|i| r.get_ref(i).map(text))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .and_then(Iterator::collect)
            .map_err(statement_error)?;
        Ok(Some(rows))
    }
}

#[async_trait]
impl Driver for SqliteDriver<'_> {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            dialect: Dialect::Sqlite,
            transactional_ddl: true,
        }
    }

    fn describe(&self) -> String {
        self.display.clone()
    }

    async fn read_schema(&mut self, skip: &[String]) -> Result<strata_schema::Schema> {
        // SQLite keeps each object as the statement that created it: that
        // text is its definition. Tables first, then indexes, views and
        // triggers, each by name; SQLite's own objects left out.
        let mut stmt = self
            .conn
            .prepare(
                "SELECT type, name, tbl_name, sql FROM sqlite_schema \
                 WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                 ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, name",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(db_err)?;
        let mut schema = strata_schema::Schema::default();
        for row in rows {
            let (kind, name, table, sql) = row.map_err(db_err)?;
            if skip.contains(&table) {
                continue;
            }
            schema.statements.push(strata_schema::Statement {
                on: (kind == "index" || kind == "trigger").then_some(table),
                kind,
                name,
                sql,
                parts: Vec::new(),
            });
        }
        drop(stmt);
        read_table_parts(&self.conn, &mut schema.statements).map_err(db_err)?;
        Ok(schema)
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

    fn records_atomically(&self, statement: &Statement<'_>, script: &str) -> bool {
        // What SQLite refuses, or ignores, inside a transaction.
        let first = strata_sql::first_word(statement, script);
        !matches!(first.as_str(), "PRAGMA" | "VACUUM" | "ATTACH" | "DETACH")
            && !strata_sql::is_transaction_control(statement, script)
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

    async fn dry_run(&mut self, on: bool) -> Result<Vec<String>> {
        // AUTOINCREMENT counters live in sqlite_sequence, which rolls back
        // with everything else.
        let sql = if on { "BEGIN IMMEDIATE" } else { "ROLLBACK" };
        self.conn.execute_batch(sql).map_err(db_err)?;
        self.dry_run = on;
        Ok(Vec::new())
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
        let ours = self.table.own_tables();
        let objects: Vec<(String, String)> = self
            .query("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND type IN ('view', 'trigger', 'table') ORDER BY CASE type WHEN 'trigger' THEN 0 WHEN 'view' THEN 1 ELSE 2 END, name")
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| Some((r.first()?.clone()?, r.get(1)?.clone()?)))
            .filter(|(_, n)| !ours.contains(n))
            .collect();
        let drops: Vec<String> = objects
            .iter()
            .map(|(kind, name)| {
                format!(
                    "DROP {} IF EXISTS {}",
                    kind.to_uppercase(),
                    strata_driver::quote_ident(name)
                )
            })
            .collect();
        let foreign_keys: bool = self
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .map_err(db_err)?;
        self.batch("PRAGMA foreign_keys = OFF").await?;
        let result = strata_driver::session::reset(self, &drops, history).await;
        if foreign_keys {
            self.batch("PRAGMA foreign_keys = ON").await?;
        }
        result?;
        Ok(objects
            .into_iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect())
    }
}

/// Each table's columns and foreign keys as SQLite itself reads them from
/// the table's statement (`pragma_table_xinfo`, `pragma_foreign_key_list`),
/// one query each for all tables: what `schema diff` compares column by
/// column and a rebuild copies.
fn read_table_parts(
    conn: &rusqlite::Connection,
    statements: &mut [strata_schema::Statement],
) -> rusqlite::Result<()> {
    use strata_schema::{Part, PartKind};
    let tables: std::collections::HashMap<String, usize> = statements
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == "table")
        .map(|(i, s)| (s.name.clone(), i))
        .collect();
    let mut stmt = conn.prepare(
        "SELECT m.name, c.name, c.type, c.\"notnull\", c.dflt_value, c.pk, c.hidden \
         FROM sqlite_schema m, pragma_table_xinfo(m.name) c \
         WHERE m.type = 'table' ORDER BY m.name, c.cid",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let Some(&i) = tables.get(&r.get::<_, String>(0)?) else {
            continue;
        };
        let name: String = r.get(1)?;
        let mut sql = format!(
            "{} {}",
            strata_driver::quote_ident_for(Dialect::Sqlite, &name),
            r.get::<_, String>(2)?
        );
        if r.get::<_, i64>(3)? != 0 {
            sql.push_str(" NOT NULL");
        }
        if let Some(default) = r.get::<_, Option<String>>(4)? {
            sql.push_str(&format!(" DEFAULT {default}"));
        }
        if r.get::<_, i64>(5)? != 0 {
            sql.push_str(" PRIMARY KEY");
        }
        // 2 and 3: generated (virtual, stored); 1: hidden.
        let kind = match r.get::<_, i64>(6)? {
            0 => PartKind::Column,
            2 | 3 => PartKind::Generated,
            _ => continue,
        };
        statements[i].parts.push(Part { kind, name, sql });
    }
    drop(rows);
    let mut stmt = conn.prepare(
        "SELECT m.name, f.id, f.\"from\", f.\"table\", f.\"to\", f.on_update, f.on_delete \
         FROM sqlite_schema m, pragma_foreign_key_list(m.name) f \
         WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq",
    )?;
    let mut rows = stmt.query([])?;
    /// One foreign key, its columns in order.
    #[derive(Default)]
    struct ForeignKey {
        from: Vec<String>,
        table: String,
        to: Vec<String>,
        actions: String,
    }
    // By (table, key id).
    let mut keys: std::collections::BTreeMap<(usize, i64), ForeignKey> =
        std::collections::BTreeMap::new();
    while let Some(r) = rows.next()? {
        let Some(&i) = tables.get(&r.get::<_, String>(0)?) else {
            continue;
        };
        let key = keys.entry((i, r.get(1)?)).or_default();
        key.from.push(r.get(2)?);
        key.table = r.get(3)?;
        key.to
            .push(r.get::<_, Option<String>>(4)?.unwrap_or_default());
        key.actions = format!(
            " ON UPDATE {} ON DELETE {}",
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?
        );
    }
    for ((i, _), key) in keys {
        // No columns named: the referenced table's primary key.
        let to = if key.to.iter().all(String::is_empty) {
            String::new()
        } else {
            format!("({})", key.to.join(", "))
        };
        let from = key.from.join(", ");
        statements[i].parts.push(Part {
            kind: PartKind::Key,
            name: format!("foreign key ({from})"),
            sql: format!(
                "FOREIGN KEY ({from}) REFERENCES {}{to}{}",
                key.table, key.actions
            ),
        });
    }
    Ok(())
}
