//! MySQL and MariaDB behind the [`Driver`] trait, with their real
//! semantics: DDL commits implicitly, so a migration is never atomic here.
//! The engine runs every migration statement by statement and records each
//! completed statement in its history row; the history writes themselves
//! are InnoDB transactions. The migration lock is `GET_LOCK`, held by this
//! connection and released when it ends.

mod backup;
mod url;

use async_trait::async_trait;
pub use backup::{MysqlBackup, check_backup};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Row, Value};
use strata_driver::history::{
    HistorySql, Param, delete_params, log_params, progress_params, upsert_params,
};
use strata_driver::{
    Capabilities, CatalogObject, Driver, DriverError, HistoryWrite, LockAttempt, LockHolder,
    LockMode, Result, SqlErrorKind, StatementError, TableName, TxSettings, verify_says_missing,
};
use strata_model::{Checksum, HistoryRow, LogEntry, MigrationId, Progress, Timestamp};
use strata_sql::{Dialect, Statement};

pub use url::ConnectOptions;

/// `ER_NO_SUCH_TABLE`.
const NO_SUCH_TABLE: u16 = 1146;

/// The session strata works in: times are written and read as UTC,
/// strings as full UTF-8.
const SESSION: &str = "SET time_zone = '+00:00', NAMES utf8mb4";

pub struct MysqlDriver {
    conn: Conn,
    display: String,
    /// Qualified with its database once connected.
    table: TableName,
    sql: std::sync::Arc<HistorySql>,
    /// The database of the URL, which every migration starts in.
    database: Option<String>,
    mariadb: bool,
    /// The `GET_LOCK` name while this connection holds it.
    lock: Option<String>,
    dry_run: bool,
}

/// Connects to a `mysql://` or `mariadb://` URL (see [`ConnectOptions`]
/// for the TLS parameters understood).
pub async fn connect(url: &str, table: TableName) -> Result<MysqlDriver> {
    let options = ConnectOptions::parse(url)?;
    let display = options.display.clone();
    let mut conn = options.connect().await?;
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
        display,
        sql: std::sync::Arc::new(HistorySql::new(Dialect::Mysql, &table)),
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

fn statement_error(index: usize, e: mysql_async::Error) -> DriverError {
    match e {
        mysql_async::Error::Server(s) => DriverError::Statement(Box::new(StatementError {
            index,
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

fn is_missing_table(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Server(s) if s.code == NO_SUCH_TABLE)
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
fn positional(sql: &str, params: &[Option<String>]) -> (String, Vec<Value>) {
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
                values.push(match params.get(n - 1).cloned().flatten() {
                    Some(s) => Value::from(s),
                    None => Value::NULL,
                });
                continue;
            }
        }
        out.push(c);
    }
    (out, values)
}

impl MysqlDriver {
    async fn progress_write(&mut self, id: &MigrationId, progress: &Progress) -> Result<()> {
        let sql = self.sql.clone();
        self.exec(&sql.progress, progress_params(id, progress))
            .await
    }

    /// Runs one of the history statements with its values.
    async fn exec(&mut self, sql: &str, values: Vec<Param>) -> Result<()> {
        let values = values
            .into_iter()
            .map(|p| match p {
                Param::Text(t) => t.into(),
                Param::Int(n) => n.into(),
                Param::Bool(b) => b.into(),
                Param::Time(t) => t.map(|t| t.unix_millis()).into(),
            })
            .collect();
        self.conn
            .exec_drop(sql, Params::Positional(values))
            .await
            .map_err(db_err)
    }

    fn log_table(&self) -> TableName {
        self.table.with_suffix("_log")
    }

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
            doing: get(4).map(|q| format!("running: {}", one_line(&q))),
        })
    }

    fn settings_sql(&self, settings: &TxSettings) -> Vec<String> {
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

    async fn write(&mut self, w: &HistoryWrite) -> Result<()> {
        let sql = self.sql.clone();
        if let Some(r) = &w.upsert {
            self.exec(&sql.upsert, upsert_params(r)).await?;
        }
        if let Some(id) = &w.delete {
            self.exec(&sql.delete, delete_params(id)).await?;
        }
        self.exec(&sql.log, log_params(&w.log)).await?;
        for f in &w.foreign {
            let (sql, params) = positional(&f.sql, &f.params);
            self.conn
                .exec_drop(sql, Params::Positional(params))
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    /// Runs `f` in an InnoDB transaction (DML only: DDL would commit it).
    async fn in_transaction(&mut self, w: &HistoryWrite) -> Result<()> {
        self.conn
            .query_drop("START TRANSACTION")
            .await
            .map_err(db_err)?;
        match self.write(w).await {
            Ok(()) => self.conn.query_drop("COMMIT").await.map_err(db_err),
            Err(e) => {
                let _ = self.conn.query_drop("ROLLBACK").await;
                Err(e)
            }
        }
    }

    async fn rows(&mut self, sql: &str) -> Result<Option<Vec<Vec<Option<String>>>>> {
        match self.conn.query::<Row, _>(sql).await {
            Ok(rows) => Ok(Some(
                rows.iter()
                    .map(|r| (0..r.len()).map(|i| r.as_ref(i).and_then(text)).collect())
                    .collect(),
            )),
            Err(e) if is_missing_table(&e) => Ok(None),
            Err(e) => Err(db_err(e)),
        }
    }
}

#[async_trait]
impl Driver for MysqlDriver {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            dialect: Dialect::Mysql,
            transactional_ddl: false,
        }
    }

    fn describe(&self) -> String {
        self.display.clone()
    }

    fn history_table(&self) -> String {
        self.table.to_string()
    }

    async fn ensure_history(&mut self) -> Result<()> {
        // A dry run executes nothing here: creating a table would commit.
        if self.dry_run {
            return Ok(());
        }
        let [history, log] = self.sql.create.clone();
        self.conn.query_drop(history).await.map_err(db_err)?;
        self.conn.query_drop(log).await.map_err(db_err)
    }

    async fn read_history(&mut self) -> Result<Vec<HistoryRow>> {
        let sql = self.sql.clone();
        let rows = self.rows(&sql.select).await?.unwrap_or_default();
        strata_driver::rows::history_rows(&self.table.to_string(), rows)
    }

    async fn read_log(&mut self) -> Result<Vec<LogEntry>> {
        let sql = self.sql.clone();
        let rows = self.rows(&sql.select_log).await?.unwrap_or_default();
        strata_driver::rows::log_entries(&self.log_table().to_string(), rows)
    }

    async fn write_history(&mut self, write: &HistoryWrite) -> Result<()> {
        self.in_transaction(write).await
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

    async fn record_progress(&mut self, id: &MigrationId, progress: &Progress) -> Result<()> {
        self.progress_write(id, progress).await
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

    async fn execute_recorded(
        &mut self,
        statement: &Statement<'_>,
        settings: &TxSettings,
        id: &MigrationId,
        progress: &Progress,
    ) -> Result<()> {
        for set in self.settings_sql(settings) {
            self.conn.query_drop(set).await.map_err(db_err)?;
        }
        self.conn
            .query_drop("START TRANSACTION")
            .await
            .map_err(db_err)?;
        if let Err(e) = self.conn.query_drop(statement.sql).await {
            let _ = self.conn.query_drop("ROLLBACK").await;
            return Err(statement_error(0, e));
        }
        match self.progress_write(id, progress).await {
            Ok(()) => self.conn.query_drop("COMMIT").await.map_err(db_err),
            Err(e) => {
                let _ = self.conn.query_drop("ROLLBACK").await;
                Err(e)
            }
        }
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

    /// Only for steps the engine knows to be free of DDL: MySQL commits
    /// any DDL statement, and the transaction with it.
    async fn apply_in_transaction(
        &mut self,
        statements: &[Statement<'_>],
        settings: &TxSettings,
        record: &HistoryWrite,
    ) -> Result<()> {
        let started = std::time::Instant::now();
        for set in self.settings_sql(settings) {
            self.conn.query_drop(set).await.map_err(db_err)?;
        }
        self.conn
            .query_drop("START TRANSACTION")
            .await
            .map_err(db_err)?;
        for (i, st) in statements.iter().enumerate() {
            if let Err(e) = self.conn.query_drop(st.sql).await {
                let _ = self.conn.query_drop("ROLLBACK").await;
                return Err(statement_error(i, e));
            }
        }
        match self.write(&record.finished(started)).await {
            Ok(()) => self.conn.query_drop("COMMIT").await.map_err(db_err),
            Err(e) => {
                let _ = self.conn.query_drop("ROLLBACK").await;
                Err(e)
            }
        }
    }

    async fn execute_each(
        &mut self,
        statements: &[Statement<'_>],
        settings: &TxSettings,
    ) -> Result<()> {
        for set in self.settings_sql(settings) {
            self.conn.query_drop(set).await.map_err(db_err)?;
        }
        for (i, st) in statements.iter().enumerate() {
            self.conn
                .query_drop(st.sql)
                .await
                .map_err(|e| statement_error(i, e))?;
        }
        Ok(())
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

    async fn verify(&mut self, statements: &[Statement<'_>]) -> Result<Option<String>> {
        self.conn
            .query_drop("START TRANSACTION")
            .await
            .map_err(db_err)?;
        let mut first: Option<Option<String>> = None;
        let mut failed = None;
        let last = statements.last().map_or("", |st| st.sql);
        for st in statements {
            match self.conn.query::<Row, _>(st.sql).await {
                Ok(rows) => first = rows.first().map(|r| r.as_ref(0).and_then(text)),
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
            }
        }
        let _ = self.conn.query_drop("ROLLBACK").await;
        Ok(match failed {
            Some(e) => Some(e),
            None => verify_says_missing(last, first.as_ref().map(Option::as_deref)),
        })
    }

    async fn query_text(&mut self, sql: &str) -> Result<Option<Vec<Vec<Option<String>>>>> {
        self.rows(sql).await
    }

    async fn dry_run(&mut self, on: bool) -> Result<Vec<String>> {
        // Nothing is executed in a MySQL dry run (DDL commits): the engine
        // shows each step's SQL instead.
        self.dry_run = on;
        Ok(Vec::new())
    }

    async fn reset_schema(&mut self, history: &[HistoryWrite]) -> Result<Vec<String>> {
        let own = [self.table.table.clone(), self.log_table().table];
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
        self.conn
            .query_drop("SET FOREIGN_KEY_CHECKS = 0")
            .await
            .map_err(db_err)?;
        let mut result = Ok(());
        for (kind, name) in objects.iter().filter(|(_, n)| !own.contains(n)) {
            let sql = format!(
                "DROP {kind} IF EXISTS {}",
                strata_driver::quote_ident_for(Dialect::Mysql, name)
            );
            if let Err(e) = self.conn.query_drop(sql).await {
                result = Err(db_err(e));
                break;
            }
            dropped.push(format!("{} {name}", kind.to_ascii_lowercase()));
        }
        let _ = self.conn.query_drop("SET FOREIGN_KEY_CHECKS = 1").await;
        result?;
        for w in history {
            self.in_transaction(w).await?;
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
            &[Some("one".into()), None],
        );
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES (?, ?) -- $x");
        assert_eq!(values, vec![Value::NULL, Value::from("one")]);
    }
}
