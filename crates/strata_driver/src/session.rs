//! What a driver's connection must do ([`Session`]: run SQL, bind values,
//! read rows as text, open a transaction its way), and the parts of a
//! driver written once over it: history reads and writes, a migration run
//! in one transaction, a statement recorded with its effect, a verify
//! section. [`crate::Driver`]'s defaults call these; an engine overrides
//! one only where it does better (PostgreSQL pipelines a migration).

use crate::history::{
    HistorySql, Param, delete_params, log_params, progress_params, task_finish_params, task_params,
    upsert_params,
};
use crate::rows::{Rows, TextRows};
use crate::{DriverError, HistoryWrite, Result, SqlErrorKind, TxSettings};
use async_trait::async_trait;
use std::sync::Arc;
use strata_model::{HistoryRow, LogEntry, MigrationId, Progress, TaskRun};
use strata_sql::Statement;

/// How a connection opens, commits and rolls back a transaction (a
/// savepoint inside a dry run's transaction).
#[derive(Debug, Clone, Copy)]
pub struct Transaction {
    pub begin: &'static str,
    pub commit: &'static str,
    pub rollback: &'static str,
}

impl Transaction {
    pub const PLAIN: Transaction = Transaction {
        begin: "BEGIN",
        commit: "COMMIT",
        rollback: "ROLLBACK",
    };
    /// A savepoint inside a dry run's transaction.
    pub const SAVEPOINT: Transaction = Transaction {
        begin: "SAVEPOINT strata_step",
        commit: "RELEASE SAVEPOINT strata_step",
        rollback: "ROLLBACK TO SAVEPOINT strata_step; RELEASE SAVEPOINT strata_step",
    };
}

/// One connection's primitives.
#[async_trait]
pub trait Session: Send {
    /// The history statements for this connection's dialect and table.
    fn history_sql(&self) -> Arc<HistorySql>;

    /// How a transaction is written here now.
    fn transaction(&self) -> Transaction;

    /// Statements setting the per-migration limits: `local` ones are run
    /// inside the migration's transaction and end with it.
    fn limits(&self, settings: &TxSettings, local: bool) -> Vec<String> {
        let _ = (settings, local);
        Vec::new()
    }

    /// Puts back the limits set for the session (`local = false`).
    fn reset_limits(&self) -> Option<&'static str> {
        None
    }

    /// Runs SQL that returns nothing strata reads.
    async fn batch(&mut self, sql: &str) -> Result<()>;

    /// Runs one statement binding `params` (`$1`... or `?` as the dialect
    /// writes them).
    async fn exec(&mut self, sql: &str, params: Vec<Param>) -> Result<()>;

    /// Runs one statement of a migration; a rejection is
    /// [`DriverError::Statement`] (its index is set by the caller).
    async fn run(&mut self, statement: &Statement<'_>) -> Result<()>;

    /// The rows of `sql` as text, `None` when it returns no result set (it
    /// is not a query). A rejection is [`DriverError::Statement`], of kind
    /// [`SqlErrorKind::MissingTable`] when a table it reads does not exist.
    async fn query(&mut self, sql: &str) -> Result<Option<Rows>>;

    /// The rows of a query (`sql` must be one): none when it returns none.
    async fn rows(&mut self, sql: &str) -> Result<Rows> {
        Ok(self.query(sql).await?.unwrap_or_default())
    }

    /// The rows of a query in one buffer ([`Session::query_rows`]): what a
    /// read of many rows (a catalog) keeps, a few allocations in all.
    async fn text_rows(&mut self, sql: &str) -> Result<TextRows> {
        Ok(self.query_rows(sql).await?.unwrap_or_default())
    }

    /// [`Session::query`]'s rows in one buffer, as history reads take
    /// them; a driver that reads rows one at a time fills it as they come.
    async fn query_rows(&mut self, sql: &str) -> Result<Option<TextRows>> {
        Ok(self.query(sql).await?.map(TextRows::from))
    }
}

impl DriverError {
    /// This error, as the failure of statement `index` of those run.
    pub fn at(self, index: usize) -> DriverError {
        match self {
            DriverError::Statement(mut e) => {
                e.index = index;
                DriverError::Statement(e)
            }
            other => other,
        }
    }
}

/// The rows of `sql`, or `None` when a table it reads does not exist (yet).
pub async fn rows_if_exists<S: Session + ?Sized>(s: &mut S, sql: &str) -> Result<Option<Rows>> {
    unless_missing(s.query(sql).await)
}

/// Strata's own table `sql` reads, in one buffer; empty when the table
/// does not exist yet.
async fn own_rows<S: Session + ?Sized>(s: &mut S, sql: &str) -> Result<TextRows> {
    Ok(unless_missing(s.query_rows(sql).await)?.unwrap_or_default())
}

/// Rows (none for a statement that is not a query), or `None` when a table
/// read does not exist.
fn unless_missing<T: Default>(read: Result<Option<T>>) -> Result<Option<T>> {
    match read {
        Ok(rows) => Ok(Some(rows.unwrap_or_default())),
        Err(DriverError::Statement(e)) if e.kind == SqlErrorKind::MissingTable => Ok(None),
        Err(DriverError::Statement(e)) => Err(DriverError::Database(e.message)),
        Err(e) => Err(e),
    }
}

pub async fn read_history<S: Session + ?Sized>(s: &mut S) -> Result<Vec<HistoryRow>> {
    let sql = s.history_sql();
    let rows = own_rows(s, &sql.select).await?;
    crate::rows::history_rows(&sql.table, &rows)
}

pub async fn read_log<S: Session + ?Sized>(s: &mut S) -> Result<Vec<LogEntry>> {
    let sql = s.history_sql();
    let rows = own_rows(s, &sql.select_log).await?;
    crate::rows::log_entries(&sql.log_table, &rows)
}

/// The statements of a history change, in the current transaction.
pub async fn write<S: Session + ?Sized>(s: &mut S, w: &HistoryWrite) -> Result<()> {
    let sql = s.history_sql();
    if let Some(r) = &w.upsert {
        s.exec(&sql.upsert, upsert_params(r)).await?;
    }
    if let Some(id) = &w.delete {
        s.exec(&sql.delete, delete_params(id)).await?;
    }
    s.exec(&sql.log, log_params(&w.log)).await?;
    for f in &w.foreign {
        let params = f.params.iter().cloned().map(Param::Text).collect();
        s.exec(&f.sql, params).await?;
    }
    Ok(())
}

/// Ends the transaction `tx` begun: commits when `result` is a success,
/// rolls back otherwise (and when the commit fails).
pub async fn end<S: Session + ?Sized>(
    s: &mut S,
    tx: Transaction,
    result: Result<()>,
) -> Result<()> {
    let result = match result {
        Ok(()) => s.batch(tx.commit).await,
        failed => failed,
    };
    if result.is_err() {
        let _ = s.batch(tx.rollback).await;
    }
    result
}

/// Writes a history change on its own, atomically.
pub async fn write_history<S: Session + ?Sized>(s: &mut S, w: &HistoryWrite) -> Result<()> {
    let tx = s.transaction();
    s.batch(tx.begin).await?;
    let result = write(s, w).await;
    end(s, tx, result).await
}

/// Runs `statements` one after another, stopping at the first rejection.
pub async fn run_all<S: Session + ?Sized>(s: &mut S, statements: &[Statement<'_>]) -> Result<()> {
    for (i, st) in statements.iter().enumerate() {
        s.run(st).await.map_err(|e| e.at(i))?;
    }
    Ok(())
}

/// Begins a transaction and sets the limits in it.
async fn begin<S: Session + ?Sized>(s: &mut S, settings: &TxSettings) -> Result<Transaction> {
    let tx = s.transaction();
    s.batch(tx.begin).await?;
    for set in s.limits(settings, true) {
        if let Err(e) = s.batch(&set).await {
            let _ = s.batch(tx.rollback).await;
            return Err(e);
        }
    }
    Ok(tx)
}

/// Runs `statements` and writes `record` (finished once they have run) in
/// one transaction.
pub async fn apply<S: Session + ?Sized>(
    s: &mut S,
    statements: &[Statement<'_>],
    settings: &TxSettings,
    record: &HistoryWrite,
) -> Result<()> {
    let started = std::time::Instant::now();
    let tx = begin(s, settings).await?;
    let result = match run_all(s, statements).await {
        Ok(()) => write(s, &record.finished(started)).await,
        failed => failed,
    };
    end(s, tx, result).await
}

/// Records a running migration's completed statements.
pub async fn record_progress<S: Session + ?Sized>(
    s: &mut S,
    id: &MigrationId,
    progress: &Progress,
) -> Result<()> {
    let sql = s.history_sql();
    s.exec(&sql.progress, progress_params(id, progress)).await
}

/// Runs `statement` and records `progress` in one transaction.
pub async fn execute_recorded<S: Session + ?Sized>(
    s: &mut S,
    statement: &Statement<'_>,
    settings: &TxSettings,
    id: &MigrationId,
    progress: &Progress,
) -> Result<()> {
    let tx = begin(s, settings).await?;
    let result = match s.run(statement).await {
        Ok(()) => record_progress(s, id, progress).await,
        failed => failed,
    };
    end(s, tx, result).await
}

/// Runs `statements` outside any transaction, under the session's limits.
pub async fn execute_each<S: Session + ?Sized>(
    s: &mut S,
    statements: &[Statement<'_>],
    settings: &TxSettings,
) -> Result<()> {
    let limits = s.limits(settings, false);
    for set in &limits {
        s.batch(set).await?;
    }
    let result = run_all(s, statements).await;
    if let Some(reset) = s.reset_limits().filter(|_| !limits.is_empty()) {
        let _ = s.batch(reset).await;
    }
    result
}

/// Runs a verify section in a transaction that is rolled back: `None` when
/// the change is there, or why not ([`crate::verify_says_missing`] reads
/// the last statement's first row; a last statement that is not a query
/// gives no verdict).
pub async fn verify<S: Session + ?Sized>(
    s: &mut S,
    statements: &[Statement<'_>],
) -> Result<Option<String>> {
    let tx = s.transaction();
    s.batch(tx.begin).await?;
    let mut verdict = None;
    for (i, st) in statements.iter().enumerate() {
        let outcome = if i + 1 == statements.len() {
            s.query(st.sql).await.map(|rows| {
                rows.and_then(|rows| {
                    let first = rows.first().map(|r| r.first().and_then(|v| v.as_deref()));
                    crate::verify_says_missing(st.sql, first)
                })
            })
        } else {
            s.run(st).await.map(|()| None)
        };
        match outcome {
            Ok(None) => {}
            Ok(missing) => verdict = missing,
            Err(e) => verdict = Some(e.to_string()),
        }
        if verdict.is_some() {
            break;
        }
    }
    s.batch(tx.rollback).await?;
    Ok(verdict)
}

/// Drops what `drops` names and writes `history`, in one transaction (on
/// engines whose DDL is transactional).
pub async fn reset<S: Session + ?Sized>(
    s: &mut S,
    drops: &[String],
    history: &[HistoryWrite],
) -> Result<()> {
    let tx = s.transaction();
    s.batch(tx.begin).await?;
    let mut result = Ok(());
    for sql in drops {
        result = s.batch(sql).await;
        if result.is_err() {
            break;
        }
    }
    for w in history {
        if result.is_ok() {
            result = write(s, w).await;
        }
    }
    end(s, tx, result).await
}

/// Every task run, oldest first; none when the table does not exist yet.
/// The recorded schema fingerprint; `None` before the first is recorded.
pub async fn read_fingerprint<S: Session + ?Sized>(
    s: &mut S,
) -> Result<Option<crate::history::Fingerprint>> {
    let sql = s.history_sql();
    let rows = rows_if_exists(s, &sql.select_fingerprint).await?;
    Ok(rows
        .unwrap_or_default()
        .first()
        .map(|row| crate::history::Fingerprint {
            history_digest: crate::rows::cell_text(row, 0),
            fingerprint: crate::rows::cell_text(row, 1),
            recorded_at: crate::rows::cell_text(row, 2),
        }))
}

/// Replaces the recorded schema fingerprint, in one transaction.
pub async fn record_fingerprint<S: Session + ?Sized>(
    s: &mut S,
    f: &crate::history::Fingerprint,
) -> Result<()> {
    let sql = s.history_sql();
    s.batch(&sql.create[3]).await?;
    let tx = s.transaction();
    s.batch(tx.begin).await?;
    let result = match s.batch(&sql.clear_fingerprint).await {
        Ok(()) => {
            s.exec(
                &sql.insert_fingerprint,
                crate::history::fingerprint_params(f),
            )
            .await
        }
        failed => failed,
    };
    end(s, tx, result).await
}

pub async fn read_task_runs<S: Session + ?Sized>(s: &mut S) -> Result<Vec<TaskRun>> {
    let sql = s.history_sql();
    let rows = own_rows(s, &sql.select_task_runs).await?;
    crate::rows::task_runs(&sql.task_table, &rows)
}

/// Records a task run as it starts, on its own.
pub async fn start_task<S: Session + ?Sized>(s: &mut S, run: &TaskRun) -> Result<()> {
    let sql = s.history_sql();
    s.exec(&sql.task_start, task_params(run)).await
}

/// Completes a task run's record and adds `log` to the timeline, together.
pub async fn finish_task<S: Session + ?Sized>(
    s: &mut S,
    run: &TaskRun,
    log: &LogEntry,
) -> Result<()> {
    let sql = s.history_sql();
    let tx = s.transaction();
    s.batch(tx.begin).await?;
    let result = match s.exec(&sql.task_finish, task_finish_params(run)).await {
        Ok(()) => s.exec(&sql.log, log_params(log)).await,
        failed => failed,
    };
    end(s, tx, result).await
}
