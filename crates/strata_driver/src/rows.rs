//! History and log rows read back as text columns (as every driver reads
//! [`crate::history::HistorySql::select`]), parsed once for all. Times are
//! Unix milliseconds, or RFC 3339 text.

use crate::DriverError;
use strata_model::{
    Checksum, HistoryRow, HistoryStatus, LogAction, LogEntry, MigrationId, MigrationKind, Progress,
    TaskRun, Timestamp, Version,
};

struct Cols(std::vec::IntoIter<Option<String>>);

type Parsed<T> = Result<T, String>;

impl Cols {
    fn opt(&mut self) -> Option<String> {
        self.0.next().flatten()
    }
    fn text(&mut self, what: &str) -> Parsed<String> {
        self.opt().ok_or_else(|| format!("{what} is NULL"))
    }
    fn opt_int(&mut self, what: &str) -> Parsed<Option<i64>> {
        self.opt()
            .map(|t| {
                t.parse()
                    .map_err(|_| format!("{what} `{t}` is not a number"))
            })
            .transpose()
    }
    fn int(&mut self, what: &str) -> Parsed<i64> {
        self.opt_int(what)?.ok_or_else(|| format!("{what} is NULL"))
    }
    /// A time: Unix milliseconds, or RFC 3339 text (as SQLite keeps it).
    fn opt_time(&mut self, what: &str) -> Parsed<Option<Timestamp>> {
        self.opt()
            .map(|t| match t.parse::<i64>() {
                Ok(ms) => Ok(Timestamp::from_unix_millis(ms)),
                Err(_) => Timestamp::parse_rfc3339(&t)
                    .ok_or_else(|| format!("{what} `{t}` is not a time")),
            })
            .transpose()
    }
    fn time(&mut self, what: &str) -> Parsed<Timestamp> {
        self.opt_time(what)?
            .ok_or_else(|| format!("{what} is NULL"))
    }
    fn word<T>(&mut self, what: &str, parse: impl Fn(&str) -> Option<T>) -> Parsed<T> {
        let t = self.text(what)?;
        parse(&t).ok_or_else(|| format!("unknown {what} `{t}`"))
    }
    fn id(&mut self) -> Parsed<MigrationId> {
        let source = self.text("source")?;
        let version = Version::parse_recorded(&self.text("version")?).map_err(|e| e.to_string())?;
        Ok(MigrationId::new(source, version))
    }
}

/// A history row from its columns as text, in table order: source,
/// version, name, kind, checksum, checksum_algorithm, status, batch,
/// started_at, finished_at, duration_ms, applied_by, strata_version,
/// environment, error, down_sql, out_of_order, statements_done,
/// statements_hash.
fn history_row(row: Vec<Option<String>>) -> Parsed<HistoryRow> {
    let mut c = Cols(row.into_iter());
    Ok(HistoryRow {
        id: c.id()?,
        name: c.text("name")?,
        kind: c.word("kind", MigrationKind::parse)?,
        checksum: Checksum {
            hex: c.text("checksum")?,
            algorithm: c.text("checksum_algorithm")?,
        },
        status: c.word("status", HistoryStatus::parse)?,
        batch: c.int("batch")?,
        started_at: c.time("started_at")?,
        finished_at: c.opt_time("finished_at")?,
        duration_ms: c.opt_int("duration_ms")?,
        applied_by: c.text("applied_by")?,
        strata_version: c.text("strata_version")?,
        environment: c.opt(),
        error: c.opt(),
        down_sql: c.opt(),
        out_of_order: matches!(c.opt().as_deref(), Some("t" | "true" | "1")),
        progress: c.opt_int("statements_done")?.map(|statements| Progress {
            statements,
            hash: c.opt().unwrap_or_default(),
        }),
    })
}

/// A log entry from its columns as text, in table order: seq, source,
/// version, name, action, status, checksum, checksum_algorithm, batch, at,
/// duration_ms, applied_by, strata_version, environment, detail.
fn log_entry(row: Vec<Option<String>>) -> Parsed<LogEntry> {
    let mut c = Cols(row.into_iter());
    Ok(LogEntry {
        seq: c.int("seq")?,
        id: c.id()?,
        name: c.text("name")?,
        action: c.word("action", LogAction::parse)?,
        status: c.word("status", HistoryStatus::parse)?,
        checksum: {
            let hex = c.opt();
            let algorithm = c.opt();
            hex.map(|hex| Checksum {
                hex,
                algorithm: algorithm.unwrap_or_default(),
            })
        },
        batch: c.int("batch")?,
        at: c.time("at")?,
        duration_ms: c.opt_int("duration_ms")?,
        applied_by: c.text("applied_by")?,
        strata_version: c.text("strata_version")?,
        environment: c.opt(),
        detail: c.opt(),
    })
}

/// A task run from its columns as text, in table order.
fn task_run(row: Vec<Option<String>>) -> Parsed<TaskRun> {
    let mut c = Cols(row.into_iter());
    Ok(TaskRun {
        run_id: c.text("run_id")?,
        source: c.text("source")?,
        task: c.text("task")?,
        checksum: c.text("checksum")?,
        args: c.text("args")?,
        started_at: c.time("started_at")?,
        finished_at: c.opt_time("finished_at")?,
        duration_ms: c.opt_int("duration_ms")?,
        exit_status: c.opt_int("exit_status")?,
        ok: matches!(c.opt().as_deref(), Some("t" | "true" | "1")),
        output: c.opt(),
        run_by: c.text("run_by")?,
        strata_version: c.text("strata_version")?,
        environment: c.opt(),
    })
}

/// Every task run of `table`, or the first that does not parse, named.
pub fn task_runs(table: &str, rows: Vec<Vec<Option<String>>>) -> Result<Vec<TaskRun>, DriverError> {
    parse_all(table, rows, |r| format!("run {}", col(r, 0)), task_run)
}

/// Every history row of `table`, or the first that does not parse, named.
pub fn history_rows(
    table: &str,
    rows: Vec<Vec<Option<String>>>,
) -> Result<Vec<HistoryRow>, DriverError> {
    parse_all(
        table,
        rows,
        |r| format!("{}/{}", col(r, 0), col(r, 1)),
        history_row,
    )
}

/// Every entry of the log `table`, or the first that does not parse, named.
pub fn log_entries(
    table: &str,
    rows: Vec<Vec<Option<String>>>,
) -> Result<Vec<LogEntry>, DriverError> {
    parse_all(
        table,
        rows,
        |r| format!("log entry {}", col(r, 0)),
        log_entry,
    )
}

/// Column `i` of a row as text, `?` when NULL, for naming the row.
fn col(row: &[Option<String>], i: usize) -> &str {
    row.get(i).and_then(|v| v.as_deref()).unwrap_or("?")
}

/// Every row parsed by `parse`, or the first that does not parse, named
/// by `label` as a damaged row of `table`.
fn parse_all<T>(
    table: &str,
    rows: Vec<Vec<Option<String>>>,
    label: impl Fn(&[Option<String>]) -> String,
    parse: impl Fn(Vec<Option<String>>) -> Parsed<T>,
) -> Result<Vec<T>, DriverError> {
    rows.into_iter()
        .map(|row| {
            let row_label = label(&row);
            parse(row).map_err(|message| DriverError::BadHistory {
                table: table.to_string(),
                row: row_label,
                message,
            })
        })
        .collect()
}
