//! History and log rows read back as text columns (as every driver reads
//! [`crate::history::HistorySql::select`]), parsed once for all. Times are
//! Unix milliseconds, or RFC 3339 text.

use crate::DriverError;
use strata_model::{
    Checksum, HistoryRow, HistoryStatus, LogAction, LogEntry, MigrationId, MigrationKind, Progress,
    TaskRun, Timestamp, Version,
};

/// Rows with every column as text (NULL as `None`).
pub type Rows = Vec<Vec<Option<String>>>;

/// A row whose cells are read by position: one of [`Rows`], or of
/// [`TextRows`].
pub trait Cells {
    /// Column `i`: `None` for NULL (or no such column).
    fn get(&self, i: usize) -> Option<&str>;
}

impl Cells for [Option<String>] {
    fn get(&self, i: usize) -> Option<&str> {
        self.get(i).and_then(Option::as_deref)
    }
}

impl Cells for Vec<Option<String>> {
    fn get(&self, i: usize) -> Option<&str> {
        self.as_slice().get(i).and_then(Option::as_deref)
    }
}

/// Column `i` of a row: `None` for NULL (or no such column).
pub fn cell<R: Cells + ?Sized>(row: &R, i: usize) -> Option<String> {
    row.get(i).map(str::to_string)
}

/// [`cell`], NULL read as the empty string.
pub fn cell_text<R: Cells + ?Sized>(row: &R, i: usize) -> String {
    cell(row, i).unwrap_or_default()
}

/// Rows read as text into one buffer, each cell a span of it (NULL as
/// `None`): ten thousand history rows of nineteen columns are a few
/// allocations, not two hundred thousand strings.
#[derive(Debug, Default)]
pub struct TextRows {
    text: String,
    /// Where each cell ends in `text` (it starts where the one before it
    /// ended), with [`NULL`] set for a NULL: eight bytes a cell.
    cells: Vec<usize>,
    /// Where each row's cells end in `cells`.
    ends: Vec<usize>,
}

/// The bit of a cell's end that marks it NULL.
const NULL: usize = 1 << (usize::BITS - 1);

impl TextRows {
    /// Adds a row of cells.
    pub fn push<'a>(&mut self, row: impl IntoIterator<Item = Option<&'a str>>) {
        for cell in row {
            let end = match cell {
                Some(t) => {
                    self.text.push_str(t);
                    self.text.len()
                }
                None => self.text.len() | NULL,
            };
            self.cells.push(end);
        }
        self.ends.push(self.cells.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Each row, its cells read by position.
    pub fn iter(&self) -> impl Iterator<Item = TextRow<'_>> {
        (0..self.len()).map(|i| TextRow(self.row(i)))
    }

    /// The cells of row `i`.
    fn row(&self, i: usize) -> Cols<'_> {
        let start = i.checked_sub(1).map_or(0, |p| self.ends[p]);
        Cols {
            rows: self,
            at: start,
            end: self.ends[i],
        }
    }

    /// Cell `i` (of all the rows' cells).
    fn cell(&self, i: usize) -> Option<&str> {
        let end = self.cells[i];
        let start = i.checked_sub(1).map_or(0, |p| self.cells[p] & !NULL);
        (end & NULL == 0).then(|| &self.text[start..end])
    }
}

impl From<Rows> for TextRows {
    fn from(rows: Rows) -> Self {
        let mut out = TextRows::default();
        for row in &rows {
            out.push(row.iter().map(Option::as_deref));
        }
        out
    }
}

impl<'a> IntoIterator for &'a TextRows {
    type Item = TextRow<'a>;
    type IntoIter = Box<dyn Iterator<Item = TextRow<'a>> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// One row of [`TextRows`].
pub struct TextRow<'a>(Cols<'a>);

impl Cells for TextRow<'_> {
    fn get(&self, i: usize) -> Option<&str> {
        let at = self.0.at + i;
        (at < self.0.end).then(|| self.0.rows.cell(at)).flatten()
    }
}

/// A row's cells, read in table order.
#[derive(Clone)]
struct Cols<'a> {
    rows: &'a TextRows,
    /// The next cell, and the end of the row, in `rows.cells`.
    at: usize,
    end: usize,
}

type Parsed<T> = Result<T, String>;

impl<'a> Cols<'a> {
    fn nth_str(&mut self, i: usize) -> Option<&'a str> {
        self.at = (self.at + i).min(self.end);
        self.next_str()
    }
    fn next_str(&mut self) -> Option<&'a str> {
        if self.at >= self.end {
            return None;
        }
        self.at += 1;
        self.rows.cell(self.at - 1)
    }
    fn opt(&mut self) -> Option<String> {
        self.next_str().map(str::to_string)
    }
    fn text(&mut self, what: &str) -> Parsed<String> {
        self.opt().ok_or_else(|| format!("{what} is NULL"))
    }
    fn str(&mut self, what: &str) -> Parsed<&'a str> {
        self.next_str().ok_or_else(|| format!("{what} is NULL"))
    }
    fn opt_int(&mut self, what: &str) -> Parsed<Option<i64>> {
        self.next_str()
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
        self.next_str()
            .map(|t| match t.parse::<i64>() {
                Ok(ms) => Ok(Timestamp::from_unix_millis(ms)),
                Err(_) => {
                    Timestamp::parse_rfc3339(t).ok_or_else(|| format!("{what} `{t}` is not a time"))
                }
            })
            .transpose()
    }
    fn time(&mut self, what: &str) -> Parsed<Timestamp> {
        self.opt_time(what)?
            .ok_or_else(|| format!("{what} is NULL"))
    }
    fn word<T>(&mut self, what: &str, parse: impl Fn(&str) -> Option<T>) -> Parsed<T> {
        let t = self.str(what)?;
        parse(t).ok_or_else(|| format!("unknown {what} `{t}`"))
    }
    fn flag(&mut self) -> bool {
        matches!(self.next_str(), Some("t" | "true" | "1"))
    }
    fn id(&mut self) -> Parsed<MigrationId> {
        let source = self.text("source")?;
        let version = Version::parse_recorded(self.str("version")?).map_err(|e| e.to_string())?;
        Ok(MigrationId::new(source, version))
    }
}

/// A history row from its columns as text, in table order: source,
/// version, name, kind, checksum, checksum_algorithm, status, batch,
/// started_at, finished_at, duration_ms, applied_by, strata_version,
/// environment, error, down_sql, out_of_order, statements_done,
/// statements_hash.
fn history_row(mut c: Cols<'_>) -> Parsed<HistoryRow> {
    Ok(HistoryRow {
        id: c.id()?,
        name: c.text("name")?,
        kind: c.word("kind", MigrationKind::parse)?,
        checksum: Checksum {
            hex: c.text("checksum")?,
            algorithm: Checksum::algorithm_named(c.str("checksum_algorithm")?),
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
        out_of_order: c.flag(),
        progress: c.opt_int("statements_done")?.map(|statements| Progress {
            statements,
            hash: c.opt().unwrap_or_default(),
        }),
    })
}

/// A log entry from its columns as text, in table order: seq, source,
/// version, name, action, status, checksum, checksum_algorithm, batch, at,
/// duration_ms, applied_by, strata_version, environment, detail.
fn log_entry(mut c: Cols<'_>) -> Parsed<LogEntry> {
    Ok(LogEntry {
        seq: c.int("seq")?,
        id: c.id()?,
        name: c.text("name")?,
        action: c.word("action", LogAction::parse)?,
        status: c.word("status", HistoryStatus::parse)?,
        checksum: {
            let hex = c.opt();
            let algorithm = c.next_str().unwrap_or_default();
            hex.map(|hex| Checksum {
                hex,
                algorithm: Checksum::algorithm_named(algorithm),
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
fn task_run(mut c: Cols<'_>) -> Parsed<TaskRun> {
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
        ok: c.flag(),
        output: c.opt(),
        run_by: c.text("run_by")?,
        strata_version: c.text("strata_version")?,
        environment: c.opt(),
    })
}

/// Every task run of `table`, or the first that does not parse, named.
pub fn task_runs(table: &str, rows: &TextRows) -> Result<Vec<TaskRun>, DriverError> {
    parse_all(table, rows, |r| format!("run {}", col(r, 0)), task_run)
}

/// Every history row of `table`, or the first that does not parse, named.
pub fn history_rows(table: &str, rows: &TextRows) -> Result<Vec<HistoryRow>, DriverError> {
    parse_all(
        table,
        rows,
        |r| format!("{}/{}", col(r, 0), col(r, 1)),
        history_row,
    )
}

/// Every entry of the log `table`, or the first that does not parse, named.
pub fn log_entries(table: &str, rows: &TextRows) -> Result<Vec<LogEntry>, DriverError> {
    parse_all(
        table,
        rows,
        |r| format!("log entry {}", col(r, 0)),
        log_entry,
    )
}

/// Column `i` of a row as text, `?` when NULL, for naming the row.
fn col<'a>(row: &Cols<'a>, i: usize) -> &'a str {
    row.clone().nth_str(i).unwrap_or("?")
}

/// Every row parsed by `parse`, or the first that does not parse, named
/// by `label` as a damaged row of `table`.
fn parse_all<T>(
    table: &str,
    rows: &TextRows,
    label: impl Fn(&Cols<'_>) -> String,
    parse: impl Fn(Cols<'_>) -> Parsed<T>,
) -> Result<Vec<T>, DriverError> {
    // Sized at once: collecting results grows the vector step by step,
    // copying ten thousand rows several times.
    let mut parsed = Vec::with_capacity(rows.len());
    for i in 0..rows.len() {
        parsed.push(
            parse(rows.row(i)).map_err(|message| DriverError::BadHistory {
                table: table.to_string(),
                row: label(&rows.row(i)),
                message,
            })?,
        );
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rows_keep_rows_apart_and_null_apart_from_empty() {
        let mut rows = TextRows::default();
        rows.push([Some("a"), None, Some("")]);
        rows.push([Some("bc"), Some("d"), None]);
        let read = |i: usize| {
            let mut c = rows.row(i);
            [c.next_str(), c.next_str(), c.next_str(), c.next_str()]
        };
        assert_eq!(rows.len(), 2);
        assert_eq!(read(0), [Some("a"), None, Some(""), None]);
        assert_eq!(read(1), [Some("bc"), Some("d"), None, None]);
        assert_eq!(col(&rows.row(1), 1), "d");
        assert_eq!(col(&rows.row(0), 1), "?");
    }

    #[test]
    fn a_damaged_row_is_named_by_its_id() {
        let mut rows = TextRows::default();
        let mut row = vec![Some("app"), Some("7"), Some("x"), Some("versioned")];
        row.extend([None; 15]);
        rows.push(row);
        match history_rows("strata_history", &rows) {
            Err(DriverError::BadHistory {
                table,
                row,
                message,
            }) => assert_eq!(
                (table.as_str(), row.as_str(), message.as_str()),
                ("strata_history", "app/7", "checksum is NULL")
            ),
            other => panic!("{other:?}"),
        }
    }
}
