//! MySQL and MariaDB behind the [`Driver`] trait, with their real
//! semantics: DDL commits implicitly, so a migration is never atomic here.
//! The engine runs every migration statement by statement and records each
//! completed statement in its history row; the history writes themselves
//! are InnoDB transactions. The migration lock is `GET_LOCK`, held by this
//! connection and released when it ends.

mod backup;
mod schema;
mod url;

use async_trait::async_trait;
pub use backup::{MysqlBackup, check_backup, check_backup_from};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Row, Value};
use std::sync::Arc;
use strata_driver::history::{HistorySql, Param};
use strata_driver::{
    Capabilities, CatalogObject, Driver, DriverError, Held, HistoryWrite, LockAttempt, LockHolder,
    LockMode, Result, Rows, Session, SqlErrorKind, StatementError, TableName, Transaction,
    TxSettings,
};
use strata_model::{Checksum, Timestamp};
use strata_sql::{Dialect, Statement};

pub use url::ConnectOptions;

/// `ER_NO_SUCH_TABLE`.
const NO_SUCH_TABLE: u16 = 1146;

/// The session strata works in: times are written and read as UTC,
/// strings as full UTF-8.
const SESSION: &str = "SET time_zone = '+00:00', NAMES utf8mb4";

/// A session's time zone, client and results character sets and
/// connection collation.
type SessionSettings = (String, String, String, String);

/// MySQL or MariaDB behind [`Driver`], on a connection of its own
/// (`'static`) or one lent by the program embedding strata
/// ([`MysqlDriver::lent`]).
pub struct MysqlDriver<'a> {
    conn: Held<'a, Conn>,
    /// A lent connection's own session settings, which [`SESSION`]
    /// changes: given back by [`MysqlDriver::give_back`].
    session_before: Option<SessionSettings>,
    display: String,
    /// Qualified with its database once connected.
    table: TableName,
    sql: Arc<HistorySql>,
    /// The database of the URL, which every migration starts in.
    database: Option<String>,
    mariadb: bool,
    /// The `GET_LOCK` name while this connection holds it.
    lock: Option<String>,
    dry_run: bool,
}

/// Connects to a `mysql://` or `mariadb://` URL (see [`ConnectOptions`]
/// for the TLS parameters understood).
pub async fn connect(url: &str, table: TableName) -> Result<MysqlDriver<'static>> {
    let options = ConnectOptions::parse(url)?;
    let display = options.display.clone();
    let conn = options.connect().await?;
    on(Held::Own(conn), None, display, table).await
}

impl<'a> MysqlDriver<'a> {
    /// A driver on the program's own `conn`, for one run: strata takes its
    /// lock and writes its history there. Its session's time zone and
    /// character set are strata's while the run lasts; call
    /// [`MysqlDriver::give_back`] after it.
    pub async fn lent(conn: &'a mut Conn, table: TableName) -> Result<MysqlDriver<'a>> {
        // DDL would commit the program's transaction without a word.
        // (MariaDB tells; a server without the variable is not asked.)
        let in_transaction: Option<i64> = conn
            .query_first("SELECT @@in_transaction")
            .await
            .unwrap_or(None);
        if in_transaction == Some(1) {
            return Err(DriverError::Database(
                "the connection is inside a transaction: commit or roll it back before migrating (MySQL would commit it at strata's first statement)".into(),
            ));
        }
        let before: Option<SessionSettings> = conn
            .query_first(
                "SELECT @@session.time_zone, @@session.character_set_client, @@session.character_set_results, @@session.collation_connection",
            )
            .await
            .map_err(db_err)?;
        let database: Option<String> = conn
            .query_first("SELECT DATABASE()")
            .await
            .map_err(db_err)?;
        let display = format!(
            "the program's connection to database {}",
            database.as_deref().unwrap_or("(none)")
        );
        on(Held::Lent(conn), before, display, table).await
    }

    /// Puts a lent connection's session settings back as they were.
    pub async fn give_back(mut self) -> Result<()> {
        match self.session_before.take() {
            Some(values) => self
                .conn
                .exec_drop(
                    "SET time_zone = ?, character_set_client = ?, character_set_results = ?, collation_connection = ?",
                    values,
                )
                .await
                .map_err(db_err),
            None => Ok(()),
        }
    }
}

async fn on<'a>(
    mut conn: Held<'a, Conn>,
    session_before: Option<SessionSettings>,
    display: String,
    table: TableName,
) -> Result<MysqlDriver<'a>> {
    let version: Option<String> = conn.query_first("SELECT VERSION()").await.map_err(db_err)?;
    let mariadb = version.is_some_and(|v| v.contains("MariaDB"));
    conn.query_drop(SESSION).await.map_err(db_err)?;
    // History tables are named with their database, so a migration's
    // `USE other_db` cannot send strata's bookkeeping there.
    let database: Option<String> = conn
        .query_first("SELECT DATABASE()")
        .await
        .map_err(db_err)?;
    let mut table = table;
    if table.schema.is_none() {
        table.schema = database.clone();
    }
    Ok(MysqlDriver {
        conn,
        session_before,
        display,
        sql: Arc::new(HistorySql::new(Dialect::Mysql, &table)),
        table,
        database,
        mariadb,
        lock: None,
        dry_run: false,
    })
}

/// A statement on one line, at most 200 characters, for messages.
fn one_line(sql: &str) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = flat.trim_end_matches([';', ' ']).to_string();
    match flat.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &flat[..i]),
        None => flat,
    }
}

fn db_err(e: mysql_async::Error) -> DriverError {
    DriverError::database(e)
}

fn statement_error(e: mysql_async::Error) -> DriverError {
    match e {
        mysql_async::Error::Server(s) => DriverError::Statement(Box::new(StatementError {
            index: 0,
            message: format!(
                "{} (MySQL error {}, SQLSTATE {})",
                s.message, s.code, s.state
            ),
            kind: match s.code {
                1205 => SqlErrorKind::LockTimeout,
                NO_SUCH_TABLE => SqlErrorKind::MissingTable,
                1213 => SqlErrorKind::Deadlock,
                // Query execution interrupted; maximum statement execution
                // time exceeded.
                1317 | 3024 => SqlErrorKind::Cancelled,
                _ => SqlErrorKind::Other,
            },
            code: Some(s.code.to_string()),
            position: None,
            detail: None,
            hint: None,
        })),
        other => DriverError::database(other),
    }
}

/// A value as text, as the engine reads foreign tables and verify results.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(d) => Some(d.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// `$1`, `$2` ... placeholders (as the engine writes foreign history SQL)
/// become MySQL's `?`, with the parameters in the order they appear.
fn positional(sql: &str, params: &[Param]) -> (String, Vec<Value>) {
    let mut out = String::with_capacity(sql.len());
    let mut values = Vec::new();
    let mut chars = sql.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '$' {
            let digits: String = sql[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse::<usize>() {
                for _ in 0..digits.len() {
                    chars.next();
                }
                out.push('?');
                values.push(params.get(n - 1).map_or(Value::NULL, value));
                continue;
            }
        }
        out.push(c);
    }
    // The history statements bind in order, with `?` already.
    if values.is_empty() {
        values = params.iter().map(value).collect();
    }
    (out, values)
}

fn value(p: &Param) -> Value {
    match p.clone() {
        Param::Text(t) => t.into(),
        Param::Int(n) => n.into(),
        Param::Bool(b) => b.into(),
        Param::Time(t) => t.map(|t| t.unix_millis()).into(),
    }
}

impl MysqlDriver<'_> {
    /// The `GET_LOCK` name for this history table in this database (at
    /// most 64 characters, as MySQL requires).
    async fn lock_name(&mut self) -> Result<String> {
        let name = format!(
            "strata:{}.{}",
            self.table.schema.clone().unwrap_or_default(),
            self.table.table
        );
        Ok(if name.len() <= 64 {
            name
        } else {
            format!("strata:{}", &Checksum::of_body(&name).hex[..32])
        })
    }

    async fn holder(&mut self, name: &str) -> Result<LockHolder> {
        let row: Option<Row> = self
            .conn
            .exec_first(
                "SELECT p.ID, p.USER, p.HOST, p.TIME, p.INFO FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(?)",
                (name,),
            )
            .await
            .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(LockHolder::default());
        };
        let get = |i: usize| row.as_ref(i).and_then(text);
        let seconds: i64 = get(3).and_then(|t| t.parse().ok()).unwrap_or(0);
        let since = Timestamp::from_unix_millis(Timestamp::now().unix_millis() - seconds * 1000);
        Ok(LockHolder {
            pid: get(0).and_then(|p| p.parse().ok()),
            application_name: get(1),
            client: get(2),
            since: Some(format!(
                "{} (connection busy or idle for {seconds} s)",
                since.rfc3339()
            )),
            doing: get(4)
                .map(|q| format!("running: {}", one_line(&strata_driver::hide_secrets(&q)))),
        })
    }
}

#[async_trait]
impl Session for MysqlDriver<'_> {
    fn history_sql(&self) -> Arc<HistorySql> {
        self.sql.clone()
    }

    fn transaction(&self) -> Transaction {
        Transaction {
            begin: "START TRANSACTION",
            ..Transaction::PLAIN
        }
    }

    /// Session settings either way (MySQL has no transaction-local ones);
    /// the next migration sets its own.
    fn limits(&self, settings: &TxSettings, _local: bool) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t) = settings.lock_timeout {
            out.push(format!(
                "SET SESSION lock_wait_timeout = {}",
                t.as_secs().max(1)
            ));
        }
        if let Some(t) = settings.statement_timeout {
            out.push(if self.mariadb {
                format!("SET SESSION max_statement_time = {}", t.as_secs_f64())
            } else {
                format!("SET SESSION max_execution_time = {}", t.as_millis())
            });
        }
        out
    }

    async fn batch(&mut self, sql: &str) -> Result<()> {
        self.conn.query_drop(sql).await.map_err(db_err)
    }

    async fn exec(&mut self, sql: &str, params: Vec<Param>) -> Result<()> {
        let (sql, values) = positional(sql, &params);
        self.conn
            .exec_drop(sql, Params::Positional(values))
            .await
            .map_err(db_err)
    }

    async fn run(&mut self, statement: &Statement<'_>) -> Result<()> {
        self.conn
            .query_drop(statement.sql)
            .await
            .map_err(statement_error)
    }

    async fn query(&mut self, sql: &str) -> Result<Option<Rows>> {
        let result = self.conn.query_iter(sql).await.map_err(statement_error)?;
        let query = !result.columns_ref().is_empty();
        let rows: Vec<Row> = result.collect_and_drop().await.map_err(statement_error)?;
        Ok(query.then(|| {
            rows.iter()
                .map(|r| (0..r.len()).map(|i| r.as_ref(i).and_then(text)).collect())
                .collect()
        }))
    }
}

#[async_trait]
impl Driver for MysqlDriver<'_> {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            dialect: Dialect::Mysql,
            transactional_ddl: false,
        }
    }

    fn describe(&self) -> String {
        self.display.clone()
    }

    async fn ensure_history(&mut self) -> Result<()> {
        // A dry run executes nothing here: creating a table would commit.
        if self.dry_run {
            return Ok(());
        }
        for table in self.sql.create.clone() {
            self.batch(&table).await?;
        }
        Ok(())
    }

    async fn read_schema(&mut self, skip: &[String]) -> Result<strata_schema::Schema> {
        schema::read(self, skip).await
    }

    async fn server_version(&mut self) -> Result<String> {
        let v: Option<String> = self
            .conn
            .query_first("SELECT VERSION()")
            .await
            .map_err(db_err)?;
        let v = v.unwrap_or_default();
        Ok(if self.mariadb || v.contains("MariaDB") {
            format!("MariaDB {v}")
        } else {
            format!("MySQL {v}")
        })
    }

    async fn can_create(&mut self) -> Result<bool> {
        // A real probe: MySQL's grants are too varied to read reliably
        // (roles, wildcards, partial revokes).
        let probe = format!("`strata_doctor_probe_{}`", std::process::id());
        match self
            .conn
            .query_drop(format!("CREATE TABLE {probe} (id INT)"))
            .await
        {
            Ok(()) => {
                self.conn
                    .query_drop(format!("DROP TABLE {probe}"))
                    .await
                    .map_err(db_err)?;
                Ok(true)
            }
            // Access denied (database, table) or a read-only server.
            Err(mysql_async::Error::Server(s)) if matches!(s.code, 1044 | 1142 | 1290) => Ok(false),
            Err(e) => Err(db_err(e)),
        }
    }

    fn records_atomically(&self, statement: &Statement<'_>, script: &str) -> bool {
        // MySQL commits any DDL (and LOCK TABLES, GRANT, CALL of a routine
        // that does, ...) by itself: only plain data changes and queries
        // stay inside a transaction.
        let first = strata_sql::first_word(statement, script);
        matches!(
            first.as_str(),
            "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "SELECT" | "WITH" | "DO" | "VALUES"
        )
    }

    async fn catalog_has(&mut self, object: &CatalogObject<'_>) -> Result<Option<bool>> {
        use strata_sql::ObjectKind as K;
        let database = self.database.clone();
        let schema = |n: &strata_sql::ObjectName| n.schema_key().or_else(|| database.clone());
        let (sql, params): (&str, Vec<Option<String>>) = match *object {
            CatalogObject::Object { kind, name } => {
                let sql = match kind {
                    K::Table | K::View => {
                        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?"
                    }
                    K::Index => {
                        "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND INDEX_NAME = ?"
                    }
                    K::Function | K::Procedure => {
                        "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_NAME = ?"
                    }
                    K::Trigger => {
                        "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?"
                    }
                    K::Schema => {
                        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE ? IS NOT NULL AND SCHEMA_NAME = ?"
                    }
                    _ => return Ok(None),
                };
                (sql, vec![schema(name), Some(name.key.clone())])
            }
            CatalogObject::Column { table, column } => (
                "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?",
                vec![schema(table), Some(table.key.clone()), Some(column.key.clone())],
            ),
            CatalogObject::Constraint { table, name } => (
                "SELECT (SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = ?)
                      + (SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = ?)",
                vec![
                    schema(table),
                    Some(table.key.clone()),
                    Some(name.key.clone()),
                    schema(table),
                    Some(table.key.clone()),
                    Some(name.key.clone()),
                ],
            ),
        };
        let n: Option<i64> = self.conn.exec_first(sql, params).await.map_err(db_err)?;
        Ok(Some(n.unwrap_or(0) > 0))
    }

    async fn try_lock(&mut self, mode: LockMode) -> Result<LockAttempt> {
        if mode == LockMode::Lease {
            return Err(DriverError::Database(
                "lock_mode = \"lease\" is for PostgreSQL behind a transaction pooler; MySQL and MariaDB use GET_LOCK: remove lock_mode from this environment".into(),
            ));
        }
        let name = self.lock_name().await?;
        let got: Option<Option<i64>> = self
            .conn
            .exec_first("SELECT GET_LOCK(?, 0)", (name.clone(),))
            .await
            .map_err(db_err)?;
        if got.flatten() == Some(1) {
            self.lock = Some(name);
            return Ok(LockAttempt::Acquired);
        }
        Ok(LockAttempt::Held(self.holder(&name).await?))
    }

    async fn reset_session(&mut self) -> Result<()> {
        let mut sql = String::from(SESSION);
        if let Some(db) = &self.database {
            sql = format!(
                "USE {}; {sql}",
                strata_driver::quote_ident_for(Dialect::Mysql, db)
            );
        }
        self.conn.query_drop(sql).await.map_err(db_err)
    }

    async fn terminate_holder(&mut self, pid: i64) -> Result<bool> {
        self.conn
            .query_drop(format!("KILL CONNECTION {pid}"))
            .await
            .map(|()| true)
            .map_err(db_err)
    }

    async fn check_lock(&mut self) -> Result<()> {
        let Some(name) = self.lock.clone() else {
            return Ok(());
        };
        let mine: Option<Option<i64>> = self
            .conn
            .exec_first("SELECT IS_USED_LOCK(?) = CONNECTION_ID()", (name.clone(),))
            .await
            .map_err(db_err)?;
        if mine.flatten() == Some(1) {
            Ok(())
        } else {
            Err(DriverError::Database(format!(
                "the migration lock {name} is no longer held by this connection"
            )))
        }
    }

    async fn unlock(&mut self) -> Result<()> {
        if let Some(name) = self.lock.take() {
            self.conn
                .exec_drop("DO RELEASE_LOCK(?)", (name,))
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    async fn dry_run(&mut self, on: bool) -> Result<Vec<String>> {
        // Nothing is executed in a MySQL dry run (DDL commits): the engine
        // shows each step's SQL instead.
        self.dry_run = on;
        Ok(Vec::new())
    }

    async fn reset_schema(&mut self, history: &[HistoryWrite]) -> Result<Vec<String>> {
        let own = self.table.own_tables();
        let objects: Vec<(String, String)> = self
            .conn
            .query(
                "SELECT CASE TABLE_TYPE WHEN 'VIEW' THEN 'VIEW' WHEN 'SEQUENCE' THEN 'SEQUENCE' ELSE 'TABLE' END, TABLE_NAME
                   FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()
                 UNION ALL
                 SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()
                 UNION ALL
                 SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()",
            )
            .await
            .map_err(db_err)?;
        let mut dropped = Vec::new();
        self.batch("SET FOREIGN_KEY_CHECKS = 0").await?;
        let mut result = Ok(());
        for (kind, name) in objects.iter().filter(|(_, n)| !own.contains(n)) {
            let name_sql = strata_driver::quote_ident_for(Dialect::Mysql, name);
            result = self
                .batch(&format!("DROP {kind} IF EXISTS {name_sql}"))
                .await;
            if result.is_err() {
                break;
            }
            dropped.push(format!("{} {name}", kind.to_ascii_lowercase()));
        }
        let _ = self.batch("SET FOREIGN_KEY_CHECKS = 1").await;
        result?;
        // DDL commits by itself here: each history change is its own
        // transaction.
        for w in history {
            strata_driver::session::write_history(self, w).await?;
        }
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_placeholders_become_positional() {
        let (sql, values) = positional(
            "INSERT INTO t (a, b) VALUES ($2, $1) -- $x",
            &[Param::Text(Some("one".into())), Param::Text(None)],
        );
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES (?, ?) -- $x");
        assert_eq!(values, vec![Value::NULL, Value::from("one")]);
    }
}
