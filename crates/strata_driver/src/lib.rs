//! The seam between the engine and a database: one [`Driver`] per engine,
//! supplying primitives only (run statements, transactions, history rows,
//! the migration lock). Ordering, validation and bookkeeping live once, in
//! the engine, which asks [`Capabilities`] rather than which database it has.

pub mod backup;
mod held;
pub mod history;
mod ident;
pub mod lease;
pub mod rows;
mod secrets;
pub mod session;
mod url;

use async_trait::async_trait;
use std::fmt;
use std::time::Duration;
pub use strata_model::ForeignWrite;
use strata_model::{HistoryRow, LogEntry, MigrationId, Progress};
use strata_sql::{Dialect, Statement};

pub use backup::Backup;
pub use held::Held;
pub use ident::{OWN_SUFFIXES, TableName, quote_ident, quote_ident_for};
pub use rows::{Cells, Rows, TextRow, TextRows, cell, cell_text};
pub use secrets::hide_secrets;
pub use session::{Session, Transaction};
pub use url::{
    ConnectParams, SslMode, percent_decode, redact_endpoint, redact_in, redact_url, split_password,
    with_database,
};

/// Something a statement creates or drops, to look up in the catalog when
/// whether the statement completed is in doubt.
#[derive(Debug, Clone, Copy)]
pub enum CatalogObject<'a> {
    Object {
        kind: strata_sql::ObjectKind,
        name: &'a strata_sql::ObjectName,
    },
    Column {
        table: &'a strata_sql::ObjectName,
        column: &'a strata_sql::ObjectName,
    },
    Constraint {
        table: &'a strata_sql::ObjectName,
        name: &'a strata_sql::ObjectName,
    },
}

/// How long connecting may take, TLS and authentication included, when the
/// URL sets no `connect_timeout`.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Why a connection attempt was given up after `timeout`.
pub fn connect_timed_out(timeout: std::time::Duration) -> String {
    format!(
        "no complete answer within {}s (connect_timeout, TLS and authentication included): check the host and port, or raise connect_timeout in the URL",
        timeout.as_secs()
    )
}

/// What an engine can and cannot do; the engine branches on these, never on
/// the engine's name.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    pub dialect: Dialect,
    /// DDL can be rolled back, so a migration and its history row commit
    /// together.
    pub transactional_ddl: bool,
}

/// Per-migration limits from the environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct TxSettings {
    pub lock_timeout: Option<Duration>,
    pub statement_timeout: Option<Duration>,
}

/// A change to the history: the migration's row (upserted or deleted) and
/// the timeline entry describing it, written together.
#[derive(Debug, Clone)]
pub struct HistoryWrite {
    pub upsert: Option<HistoryRow>,
    pub delete: Option<MigrationId>,
    pub log: LogEntry,
    /// Rows of another tool's history table, kept up to date in the same
    /// transaction (`keep_foreign_history`).
    pub foreign: Vec<ForeignWrite>,
}

/// How the migration lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockMode {
    /// The engine's own lock: a PostgreSQL session advisory lock; for SQLite
    /// a lease row written under the database's write lock.
    #[default]
    Native,
    /// A row with holder and expiry, renewed while running: for connections
    /// through a transaction-mode pooler where session locks do not work.
    Lease,
}

/// A session holding a lock a migration's statement waits for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BlockingSession {
    pub pid: i64,
    pub application: String,
    pub user: String,
    pub state: String,
    /// When its current (or last) query started.
    pub query_start: Option<String>,
    /// Its query, cut to 200 characters.
    pub query: String,
}

impl fmt::Display for BlockingSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {}", self.pid)?;
        if !self.application.is_empty() {
            write!(f, " ({})", self.application)?;
        }
        write!(f, " user {}, {}", self.user, self.state)?;
        if let Some(start) = &self.query_start {
            write!(f, " since {start}")?;
        }
        write!(f, ": {}", self.query)
    }
}

/// Looks, from a connection of its own, at who blocks the session running
/// the migration, while a statement waits.
#[async_trait]
pub trait BlockerProbe: Send {
    async fn blockers(&mut self) -> Result<Vec<BlockingSession>>;
}

/// Who holds the migration lock, as far as the database can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LockHolder {
    pub pid: Option<i64>,
    pub application_name: Option<String>,
    pub client: Option<String>,
    pub since: Option<String>,
    /// What the holder is doing: the statement it runs, or its state
    /// (`idle`), where the engine tells.
    pub doing: Option<String>,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(pid) = self.pid {
            parts.push(format!("pid {pid}"));
        }
        if let Some(a) = self.application_name.as_deref().filter(|a| !a.is_empty()) {
            parts.push(format!("application {a}"));
        }
        if let Some(c) = &self.client {
            parts.push(format!("client {c}"));
        }
        if let Some(s) = &self.since {
            parts.push(format!("since {s}"));
        }
        if let Some(d) = &self.doing {
            parts.push(d.clone());
        }
        if parts.is_empty() {
            f.write_str("another session")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// The result of one attempt to take the migration lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockAttempt {
    Acquired,
    Held(LockHolder),
}

/// What kind of failure a rejected statement was, as far as the engine
/// tells: the engine decides on these, never on an engine's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqlErrorKind {
    /// It gave up waiting for a lock (PostgreSQL's `lock_not_available`,
    /// MySQL's lock wait timeout): worth retrying.
    LockTimeout,
    /// A table it names does not exist.
    MissingTable,
    /// The database chose it as a deadlock's victim.
    Deadlock,
    /// It was cancelled (a statement timeout, a cancel request).
    Cancelled,
    #[default]
    Other,
}

/// A statement the database rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementError {
    /// Index of the failing statement in the slice that was run.
    pub index: usize,
    pub message: String,
    pub kind: SqlErrorKind,
    /// SQLSTATE or the engine's error code, for messages.
    pub code: Option<String>,
    /// 1-based character position within the statement, when reported.
    pub position: Option<usize>,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("{}", .0.message)]
    Statement(Box<StatementError>),
    #[error(
        "history table {table}, row {row}: {message}; fix or delete that row (it was not written by this version of strata)"
    )]
    BadHistory {
        table: String,
        row: String,
        message: String,
    },
    #[error("{0}")]
    Database(String),
}

impl DriverError {
    pub fn database(e: impl fmt::Display) -> Self {
        DriverError::Database(e.to_string())
    }

    /// A connection refused because its database does not exist
    /// (PostgreSQL's 3D000, MySQL's 1049), as the servers word it.
    pub fn is_missing_database(&self) -> bool {
        match self {
            DriverError::Connect { message, .. } => {
                (message.contains("database") && message.contains("does not exist"))
                    || message.contains("Unknown database")
            }
            _ => false,
        }
    }
}

pub type Result<T, E = DriverError> = std::result::Result<T, E>;

/// One open connection to a database, able to run migrations on it. What
/// every engine does alike is written once, as the defaults here over the
/// connection's [`Session`] primitives; a driver writes what its engine
/// does differently.
///
/// A driver that holds the migration lock releases it when dropped (a
/// PostgreSQL session lock ends with its connection; a lease row is deleted
/// or expires), so every error path lets go of the lock.
#[async_trait]
pub trait Driver: Session {
    fn capabilities(&self) -> Capabilities;

    /// The connection, with any password redacted, for messages.
    fn describe(&self) -> String;

    /// The history table, for messages.
    fn history_table(&self) -> String {
        self.history_sql().table.clone()
    }

    /// The database's schema, with the tables named in `skip` (bare
    /// names: strata's own, other tools' history) and what belongs to them
    /// left out.
    async fn read_schema(&mut self, skip: &[String]) -> Result<strata_schema::Schema>;

    /// Creates the history and log tables if they do not exist.
    async fn ensure_history(&mut self) -> Result<()> {
        for table in self.history_sql().create.clone() {
            self.batch(&table).await?;
        }
        Ok(())
    }

    /// Every history row; empty when the table does not exist yet.
    async fn read_history(&mut self) -> Result<Vec<HistoryRow>> {
        session::read_history(self).await
    }

    /// The timeline, oldest first; empty when the table does not exist yet.
    async fn read_log(&mut self) -> Result<Vec<LogEntry>> {
        session::read_log(self).await
    }

    /// Writes a history change on its own (atomically).
    async fn write_history(&mut self, write: &HistoryWrite) -> Result<()> {
        session::write_history(self, write).await
    }

    /// The schema fingerprint recorded after the last run that changed
    /// the database; `None` before one is.
    async fn read_fingerprint(&mut self) -> Result<Option<history::Fingerprint>> {
        session::read_fingerprint(self).await
    }

    /// Records the schema fingerprint, replacing the one before.
    async fn record_fingerprint(&mut self, fingerprint: &history::Fingerprint) -> Result<()> {
        session::record_fingerprint(self, fingerprint).await
    }

    /// Every maintenance task run, oldest first.
    async fn read_task_runs(&mut self) -> Result<Vec<strata_model::TaskRun>> {
        session::read_task_runs(self).await
    }

    /// Records a task run as it starts (so a killed run stays visible).
    async fn start_task(&mut self, run: &strata_model::TaskRun) -> Result<()> {
        session::start_task(self, run).await
    }

    /// Completes a task run's record, with its timeline entry.
    async fn finish_task(&mut self, run: &strata_model::TaskRun, log: &LogEntry) -> Result<()> {
        session::finish_task(self, run, log).await
    }

    /// Runs `statements` and writes `record` in one transaction: both happen
    /// or neither does. On failure the transaction is rolled back. The
    /// record's finish time and duration are filled in by the driver
    /// ([`HistoryWrite::finished`]) once the statements have run.
    async fn apply_in_transaction(
        &mut self,
        statements: &[Statement<'_>],
        settings: &TxSettings,
        record: &HistoryWrite,
    ) -> Result<()> {
        session::apply(self, statements, settings, record).await
    }

    /// Records that the first `progress.statements` statements of the
    /// running migration `id` completed (one small write after each
    /// statement of a statement-by-statement run).
    async fn record_progress(&mut self, id: &MigrationId, progress: &Progress) -> Result<()> {
        session::record_progress(self, id, progress).await
    }

    /// Whether this engine runs `statement` (of `script`) and a history
    /// write in one transaction, so a crash can never leave it done but
    /// unrecorded ([`Driver::execute_recorded`]). Statements the engine
    /// commits by themselves (PostgreSQL's `CREATE INDEX CONCURRENTLY`,
    /// MySQL's DDL) cannot be: after a crash they are in doubt.
    fn records_atomically(&self, statement: &Statement<'_>, script: &str) -> bool {
        let _ = (statement, script);
        false
    }

    /// Runs `statement` and records `progress` for the running migration
    /// `id` in one transaction (only for statements
    /// [`Driver::records_atomically`] accepts).
    async fn execute_recorded(
        &mut self,
        statement: &Statement<'_>,
        settings: &TxSettings,
        id: &MigrationId,
        progress: &Progress,
    ) -> Result<()> {
        session::execute_recorded(self, statement, settings, id, progress).await
    }

    /// Whether the catalog shows `object`: `Some(true)` or `Some(false)`,
    /// `None` when this engine cannot tell. An index that exists but is not
    /// valid (a failed `CREATE INDEX CONCURRENTLY`) is not there.
    async fn catalog_has(&mut self, object: &CatalogObject<'_>) -> Result<Option<bool>> {
        let _ = object;
        Ok(None)
    }

    /// Puts back the session settings a migration run outside a
    /// transaction may have changed (`SET search_path`, `USE other_db`), so
    /// they do not leak into strata's bookkeeping or the next migration.
    async fn reset_session(&mut self) -> Result<()> {
        Ok(())
    }

    /// Ends the server sessions named `application_name` (those a stopped
    /// script left behind, whose queries would otherwise run on); how many.
    /// Engines that cannot tell a session's program end none.
    async fn end_sessions(&mut self, application_name: &str) -> Result<usize> {
        let _ = application_name;
        Ok(0)
    }

    /// Runs `statements` one by one outside any transaction, stopping at the
    /// first error.
    async fn execute_each(
        &mut self,
        statements: &[Statement<'_>],
        settings: &TxSettings,
    ) -> Result<()> {
        session::execute_each(self, statements, settings).await
    }

    /// One attempt to take the migration lock, without waiting.
    async fn try_lock(&mut self, mode: LockMode) -> Result<LockAttempt>;

    /// Ends the server session `pid` that holds the migration lock (a
    /// killed run's session the server keeps running: `--terminate-stale`);
    /// whether it was ended. Engines that cannot end none.
    async fn terminate_holder(&mut self, pid: i64) -> Result<bool> {
        let _ = pid;
        Ok(false)
    }

    /// Confirms the migration lock is still held, renewing a lease where
    /// that is how it is kept; called before each step, so a lost lock
    /// stops the run rather than letting two runs go on.
    async fn check_lock(&mut self) -> Result<()>;

    /// Releases the migration lock taken by [`Driver::try_lock`].
    async fn unlock(&mut self) -> Result<()>;

    /// Runs a verify section in a transaction that is rolled back: `None`
    /// when the change is there, or why not (a statement failed, or the
    /// last query returned no rows or a false/0 first value).
    async fn verify(&mut self, statements: &[Statement<'_>]) -> Result<Option<String>> {
        session::verify(self, statements).await
    }

    /// The rows of `sql` with every column as text (NULL as `None`), or
    /// `None` when a table it reads does not exist: for reading another
    /// tool's history table.
    async fn query_text(&mut self, sql: &str) -> Result<Option<Rows>> {
        session::rows_if_exists(self, sql).await
    }

    /// Starts (`true`) or ends (`false`) a dry run: everything between
    /// runs in one transaction that is rolled back at the end, each
    /// migration in a savepoint of it. Ending one returns what the rollback
    /// could not undo, one sentence each (PostgreSQL sequences).
    async fn dry_run(&mut self, on: bool) -> Result<Vec<String>>;

    /// The locks this session holds now (`relation mode`), where the
    /// engine can tell; for a dry run's report.
    async fn locks(&mut self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// The server's version, as it reports it.
    async fn server_version(&mut self) -> Result<String>;

    /// Whether this user may create tables where migrations run.
    async fn can_create(&mut self) -> Result<bool>;

    /// INVALID indexes in the current schema (`schema.name`), as failed
    /// concurrent builds leave them; none where there are no such builds.
    async fn invalid_indexes(&mut self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Drops index `name` (`schema.name` or a name in the current schema)
    /// if it exists and is INVALID, as a failed `CREATE INDEX
    /// CONCURRENTLY` leaves it; returns the name dropped. Engines without
    /// such builds have nothing to do.
    async fn drop_invalid_index(&mut self, _name: &str) -> Result<Option<String>> {
        Ok(None)
    }

    /// Drops every object in the connection's current schema except
    /// strata's own tables, and writes `history` (the rows marked reverted),
    /// in one transaction; returns what was dropped, for the report.
    async fn reset_schema(&mut self, history: &[HistoryWrite]) -> Result<Vec<String>>;

    /// A probe reporting the sessions that block this one (PostgreSQL);
    /// `None` where the engine cannot tell.
    async fn blocker_probe(&mut self) -> Result<Option<Box<dyn BlockerProbe>>> {
        Ok(None)
    }
}

/// `user@host` of this process, recorded as `applied_by` and as the holder
/// of a lease lock.
pub fn os_identity() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .or_else(user_from_passwd)
        .unwrap_or_else(|| "unknown".into());
    format!("{user}@{}", host_name())
}

/// The name of this process's user from /etc/passwd (Unix without $USER,
/// as in containers and CI).
fn user_from_passwd() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)? == uid).then(|| name.to_string())
    })
}

pub fn host_name() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// Where a process id means something: this host and PID namespace (two
/// containers that share a host name do not share process ids).
pub fn process_scope() -> String {
    match std::fs::read_link("/proc/self/ns/pid") {
        Ok(ns) => format!("{} {}", host_name(), ns.display()),
        Err(_) => host_name(),
    }
}

/// Whether process `pid` in this process's scope is alive; `true` when that cannot be
/// told, so a lease is only taken over once it expires.
pub fn process_alive(pid: i64) -> bool {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

impl HistoryWrite {
    /// Fills the finish time and duration of the row and the log entry from
    /// `started` (called by drivers once the statements have run, so the
    /// duration is what they took).
    pub fn finished(&self, started: std::time::Instant) -> HistoryWrite {
        let elapsed = started.elapsed().as_millis() as i64;
        let mut w = self.clone();
        if let Some(row) = w.upsert.as_mut() {
            row.finished_at = Some(strata_model::Timestamp::from_unix_millis(
                row.started_at.unix_millis() + elapsed,
            ));
            row.duration_ms = Some(elapsed);
        }
        w.log.duration_ms = Some(elapsed);
        w
    }
}

/// Whether the last query of a verify section says its change is missing,
/// from the first value of its first row. A verify passes when its
/// statements run without error; its last query is also read as an
/// assertion (`SELECT count(*) FROM t`, `SELECT 1 WHERE EXISTS (...)`): it
/// fails when it returns no rows or a first value of false or 0. A query
/// ending in `LIMIT 0` only checks that what it names exists, so returning
/// no rows is its success.
pub fn verify_says_missing(sql: &str, first_row: Option<Option<&str>>) -> Option<String> {
    let tail: Vec<String> = sql
        .trim_end()
        .trim_end_matches(';')
        .split_whitespace()
        .rev()
        .take(2)
        .map(str::to_ascii_lowercase)
        .collect();
    if tail == ["0", "limit"] {
        return None;
    }
    match first_row {
        None => Some("the verify query returned no rows".into()),
        Some(Some(v)) if matches!(v.to_ascii_lowercase().as_str(), "f" | "false" | "0") => {
            Some(format!("the verify query returned {v}"))
        }
        _ => None,
    }
}
