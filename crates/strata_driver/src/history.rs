//! strata's history table and its log, defined once: their columns, the
//! DDL and every statement that reads or writes them, written out per
//! dialect, and the values each write binds. A driver only runs these
//! statements and binds [`Param`]s the way its client does.

use crate::TableName;
use strata_model::{HistoryRow, LogEntry, MigrationId, Progress, TaskRun, Timestamp};
use strata_sql::Dialect;

/// What a column holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    /// A point in time (bound and read as Unix milliseconds, stored as the
    /// dialect stores times).
    Time,
    Bool,
}

/// One column: its name, what it holds, whether it may be NULL, and its
/// MySQL type (which needs a length for keys and a size for long text).
struct Column {
    name: &'static str,
    kind: Kind,
    null: bool,
    mysql: &'static str,
}

const fn col(name: &'static str, kind: Kind, null: bool, mysql: &'static str) -> Column {
    Column {
        name,
        kind,
        null,
        mysql,
    }
}

use Kind::{Bool, Int, Text, Time};

/// The history table: one row per migration, keyed by (source, version).
const HISTORY: [Column; 19] = [
    col("source", Text, false, "VARCHAR(191)"),
    col("version", Text, false, "VARCHAR(191)"),
    col("name", Text, false, "VARCHAR(1024)"),
    col("kind", Text, false, "VARCHAR(32)"),
    col("checksum", Text, false, "VARCHAR(128)"),
    col("checksum_algorithm", Text, false, "VARCHAR(32)"),
    col("status", Text, false, "VARCHAR(16)"),
    col("batch", Int, false, "BIGINT"),
    col("started_at", Time, false, "DATETIME(3)"),
    col("finished_at", Time, true, "DATETIME(3)"),
    col("duration_ms", Int, true, "BIGINT"),
    col("applied_by", Text, false, "VARCHAR(255)"),
    col("strata_version", Text, false, "VARCHAR(64)"),
    col("environment", Text, true, "VARCHAR(255)"),
    col("error", Text, true, "TEXT"),
    col("down_sql", Text, true, "LONGTEXT"),
    col("out_of_order", Bool, false, "BOOLEAN"),
    col("statements_done", Int, true, "BIGINT"),
    col("statements_hash", Text, true, "VARCHAR(64)"),
];

/// The log: one entry per thing that happened, in order (`seq` first,
/// generated).
const LOG: [Column; 14] = [
    col("source", Text, false, "VARCHAR(191)"),
    col("version", Text, false, "VARCHAR(191)"),
    col("name", Text, false, "VARCHAR(1024)"),
    col("action", Text, false, "VARCHAR(16)"),
    col("status", Text, false, "VARCHAR(16)"),
    col("checksum", Text, true, "VARCHAR(128)"),
    col("checksum_algorithm", Text, true, "VARCHAR(32)"),
    col("batch", Int, false, "BIGINT"),
    col("at", Time, false, "DATETIME(3)"),
    col("duration_ms", Int, true, "BIGINT"),
    col("applied_by", Text, false, "VARCHAR(255)"),
    col("strata_version", Text, false, "VARCHAR(64)"),
    col("environment", Text, true, "VARCHAR(255)"),
    col("detail", Text, true, "TEXT"),
];

/// The task runs: one row per `strata run`, keyed by its run id.
const TASK_RUNS: [Column; 14] = [
    col("run_id", Text, false, "VARCHAR(191)"),
    col("source", Text, false, "VARCHAR(191)"),
    col("task", Text, false, "VARCHAR(1024)"),
    col("checksum", Text, false, "VARCHAR(128)"),
    col("args", Text, false, "TEXT"),
    col("started_at", Time, false, "DATETIME(3)"),
    col("finished_at", Time, true, "DATETIME(3)"),
    col("duration_ms", Int, true, "BIGINT"),
    col("exit_status", Int, true, "BIGINT"),
    col("ok", Bool, false, "BOOLEAN"),
    col("output", Text, true, "TEXT"),
    col("run_by", Text, false, "VARCHAR(255)"),
    col("strata_version", Text, false, "VARCHAR(64)"),
    col("environment", Text, true, "VARCHAR(255)"),
];

/// The schema fingerprint: one row, the schema as the last run that
/// changed the database left it, and the history it left.
const FINGERPRINT: [Column; 3] = [
    col("history_digest", Text, false, "VARCHAR(64)"),
    col("fingerprint", Text, false, "VARCHAR(64)"),
    col("recorded_at", Text, false, "VARCHAR(64)"),
];

/// A schema fingerprint as recorded: SHA-256 of the canonical dump, of
/// the history rows it goes with, and when (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub history_digest: String,
    pub fingerprint: String,
    pub recorded_at: String,
}

/// The columns a finished run fills in (after the run id).
const TASK_FINISH: [&str; 5] = ["finished_at", "duration_ms", "exit_status", "ok", "output"];

const STATUSES: &str = "CHECK (status IN ('applied', 'failed', 'reverted', 'running'))";

/// A value a history statement binds.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(bool),
    /// A time, bound as the dialect's statements expect it: Unix
    /// milliseconds where the SQL converts them (PostgreSQL, MySQL), RFC
    /// 3339 text where times are stored as text (SQLite).
    Time(Option<Timestamp>),
}

impl Param {
    fn text(s: &str) -> Param {
        Param::Text(Some(s.to_string()))
    }

    /// The time as SQLite stores it.
    pub fn rfc3339(t: &Option<Timestamp>) -> Option<String> {
        t.map(Timestamp::rfc3339)
    }
}

/// Every statement on the history and log tables, for one dialect and one
/// history table.
#[derive(Debug, Clone)]
pub struct HistorySql {
    /// The history table, its log and its task runs, as messages name them.
    pub table: String,
    pub log_table: String,
    pub task_table: String,
    pub fingerprint_table: String,
    /// Creates the history table, the log, the task runs and the schema
    /// fingerprint if they do not exist: one statement each.
    pub create: [String; 4],
    /// Every history row, its columns in table order, times as Unix
    /// milliseconds (or RFC 3339 text) as [`crate::rows`] reads them.
    pub select: String,
    /// The log, oldest first, `seq` first.
    pub select_log: String,
    /// Inserts or replaces a migration's row: binds [`upsert_params`].
    pub upsert: String,
    /// Deletes a migration's row: binds [`delete_params`].
    pub delete: String,
    /// Appends to the log: binds [`log_params`].
    pub log: String,
    /// Records a running migration's completed statements: binds
    /// [`progress_params`].
    pub progress: String,
    /// Every task run, oldest first.
    pub select_task_runs: String,
    /// Records a task run as it starts: binds [`task_params`].
    pub task_start: String,
    /// Completes it: binds [`task_finish_params`].
    pub task_finish: String,
    /// The recorded schema fingerprint (no row or one).
    pub select_fingerprint: String,
    /// Clears it, before [`HistorySql::insert_fingerprint`] in one
    /// transaction.
    pub clear_fingerprint: String,
    /// Records one: binds [`fingerprint_params`].
    pub insert_fingerprint: String,
}

impl HistorySql {
    /// The statements for history table `table` (its log is `table_log`).
    pub fn new(dialect: Dialect, table: &TableName) -> HistorySql {
        let t = table.quoted_for(dialect);
        let l = table.with_suffix("_log").quoted_for(dialect);
        let r = table.with_suffix("_task_runs").quoted_for(dialect);
        let f = table.with_suffix("_schema").quoted_for(dialect);
        let names = |cols: &[Column]| cols.iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
        let selected = |cols: &[Column]| {
            cols.iter()
                .map(|c| match c.kind {
                    Time => read_time(dialect, c.name),
                    _ => c.name.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let values = |cols: &[Column]| {
            cols.iter()
                .enumerate()
                .map(|(i, c)| {
                    let p = placeholder(dialect, i + 1);
                    match c.kind {
                        Time => write_time(dialect, &p),
                        _ => p,
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let replace = HISTORY[2..]
            .iter()
            .map(|c| match dialect {
                Dialect::Mysql => format!("{0} = VALUES({0})", c.name),
                _ => format!("{0} = excluded.{0}", c.name),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let conflict = match dialect {
            Dialect::Mysql => "ON DUPLICATE KEY UPDATE".to_string(),
            _ => "ON CONFLICT (source, version) DO UPDATE SET".to_string(),
        };
        let key = |from: usize| {
            format!(
                "source = {} AND version = {}",
                placeholder(dialect, from),
                placeholder(dialect, from + 1)
            )
        };
        let finish = TASK_FINISH
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let p = placeholder(dialect, i + 1);
                match *name {
                    "finished_at" => format!("{name} = {}", write_time(dialect, &p)),
                    _ => format!("{name} = {p}"),
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        HistorySql {
            table: table.to_string(),
            log_table: table.with_suffix("_log").to_string(),
            task_table: table.with_suffix("_task_runs").to_string(),
            fingerprint_table: table.with_suffix("_schema").to_string(),
            create: [
                create(dialect, &t, None, &HISTORY, "PRIMARY KEY (source, version)"),
                create(dialect, &l, Some(seq(dialect)), &LOG, ""),
                create(dialect, &r, None, &TASK_RUNS, "PRIMARY KEY (run_id)"),
                create(dialect, &f, None, &FINGERPRINT, ""),
            ],
            select_fingerprint: format!("SELECT {} FROM {f}", names(&FINGERPRINT)),
            clear_fingerprint: format!("DELETE FROM {f}"),
            insert_fingerprint: format!(
                "INSERT INTO {f} ({}) VALUES ({})",
                names(&FINGERPRINT),
                values(&FINGERPRINT)
            ),
            select_task_runs: format!(
                "SELECT {} FROM {r} ORDER BY started_at, run_id",
                selected(&TASK_RUNS)
            ),
            task_start: format!(
                "INSERT INTO {r} ({}) VALUES ({})",
                names(&TASK_RUNS),
                values(&TASK_RUNS)
            ),
            task_finish: format!(
                "UPDATE {r} SET {finish} WHERE run_id = {}",
                placeholder(dialect, TASK_FINISH.len() + 1)
            ),
            select: format!("SELECT {} FROM {t}", selected(&HISTORY)),
            select_log: format!("SELECT seq, {} FROM {l} ORDER BY seq", selected(&LOG)),
            upsert: format!(
                "INSERT INTO {t} ({}) VALUES ({}) {conflict} {replace}",
                names(&HISTORY),
                values(&HISTORY)
            ),
            delete: format!("DELETE FROM {t} WHERE {}", key(1)),
            log: format!(
                "INSERT INTO {l} ({}) VALUES ({})",
                names(&LOG),
                values(&LOG)
            ),
            progress: format!(
                "UPDATE {t} SET statements_done = {}, statements_hash = {} WHERE {}",
                placeholder(dialect, 1),
                placeholder(dialect, 2),
                key(3)
            ),
        }
    }
}

fn placeholder(dialect: Dialect, n: usize) -> String {
    match dialect {
        Dialect::Postgres => format!("${n}"),
        Dialect::Sqlite => format!("?{n}"),
        Dialect::Mysql => "?".into(),
    }
}

/// A time column read as Unix milliseconds (SQLite keeps RFC 3339 text,
/// read as it is).
fn read_time(dialect: Dialect, column: &str) -> String {
    match dialect {
        // date_part is double precision: several times cheaper than
        // extract's numeric on thousands of rows, and exact once rounded
        // (times are written as whole milliseconds).
        Dialect::Postgres => format!("round(date_part('epoch', {column}) * 1000)::int8"),
        Dialect::Mysql => format!("CAST(UNIX_TIMESTAMP({column}) * 1000 AS SIGNED)"),
        Dialect::Sqlite => column.to_string(),
    }
}

/// A time parameter (Unix milliseconds; RFC 3339 text on SQLite) as the
/// column stores it.
fn write_time(dialect: Dialect, p: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("to_timestamp({p}::int8::float8 / 1000)"),
        Dialect::Mysql => format!("FROM_UNIXTIME({p} / 1000)"),
        Dialect::Sqlite => p.to_string(),
    }
}

/// The log's generated sequence column.
fn seq(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "seq int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        Dialect::Sqlite => "seq INTEGER PRIMARY KEY AUTOINCREMENT",
        Dialect::Mysql => "seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
    }
}

fn create(dialect: Dialect, table: &str, seq: Option<&str>, cols: &[Column], key: &str) -> String {
    let mut lines: Vec<String> = seq.map(str::to_string).into_iter().collect();
    for c in cols {
        let ty = match (dialect, c.kind) {
            (Dialect::Mysql, _) => c.mysql,
            (Dialect::Postgres, Text) => "text",
            (Dialect::Postgres, Int) => "int8",
            (Dialect::Postgres, Time) => "timestamptz",
            (Dialect::Postgres, Bool) => "boolean",
            (Dialect::Sqlite, Text | Time) => "TEXT",
            (Dialect::Sqlite, Int | Bool) => "INTEGER",
        };
        let mut line = format!("{} {ty}", c.name);
        match (c.null, dialect) {
            (false, _) => line.push_str(" NOT NULL"),
            (true, Dialect::Mysql) => line.push_str(" NULL"),
            (true, _) => {}
        }
        if c.kind == Bool {
            line.push_str(match dialect {
                Dialect::Postgres => " DEFAULT false",
                Dialect::Sqlite => " DEFAULT 0",
                Dialect::Mysql => " DEFAULT FALSE",
            });
        }
        if c.name == "status" && seq.is_none() && dialect != Dialect::Mysql {
            line.push(' ');
            line.push_str(STATUSES);
        }
        lines.push(line);
    }
    if !key.is_empty() {
        lines.push(key.to_string());
    }
    if dialect == Dialect::Mysql && cols.iter().any(|c| c.name == "status") && seq.is_none() {
        lines.push(STATUSES.to_string());
    }
    let options = match dialect {
        Dialect::Mysql => " ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin",
        _ => "",
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (\n    {}\n){options}",
        lines.join(",\n    ")
    )
}

/// The values [`HistorySql::insert_fingerprint`] binds for `f`.
pub fn fingerprint_params(f: &Fingerprint) -> Vec<Param> {
    vec![
        Param::text(&f.history_digest),
        Param::text(&f.fingerprint),
        Param::text(&f.recorded_at),
    ]
}

/// The values [`HistorySql::upsert`] binds for `r`.
pub fn upsert_params(r: &HistoryRow) -> Vec<Param> {
    vec![
        Param::text(&r.id.source),
        Param::text(r.id.version.as_str()),
        Param::text(&r.name),
        Param::text(r.kind.as_str()),
        Param::text(&r.checksum.hex),
        Param::text(&r.checksum.algorithm),
        Param::text(r.status.as_str()),
        Param::Int(Some(r.batch)),
        Param::Time(Some(r.started_at)),
        Param::Time(r.finished_at),
        Param::Int(r.duration_ms),
        Param::text(&r.applied_by),
        Param::text(&r.strata_version),
        Param::Text(r.environment.clone()),
        Param::Text(r.error.clone()),
        Param::Text(r.down_sql.clone()),
        Param::Bool(r.out_of_order),
        Param::Int(r.progress.as_ref().map(|p| p.statements)),
        Param::Text(r.progress.as_ref().map(|p| p.hash.clone())),
    ]
}

/// The values [`HistorySql::delete`] binds for `id`.
pub fn delete_params(id: &MigrationId) -> Vec<Param> {
    vec![Param::text(&id.source), Param::text(id.version.as_str())]
}

/// The values [`HistorySql::log`] binds for `l`.
pub fn log_params(l: &LogEntry) -> Vec<Param> {
    vec![
        Param::text(&l.id.source),
        Param::text(l.id.version.as_str()),
        Param::text(&l.name),
        Param::text(l.action.as_str()),
        Param::text(l.status.as_str()),
        Param::Text(l.checksum.as_ref().map(|c| c.hex.clone())),
        Param::Text(l.checksum.as_ref().map(|c| c.algorithm.to_string())),
        Param::Int(Some(l.batch)),
        Param::Time(Some(l.at)),
        Param::Int(l.duration_ms),
        Param::text(&l.applied_by),
        Param::text(&l.strata_version),
        Param::Text(l.environment.clone()),
        Param::Text(l.detail.clone()),
    ]
}

/// The values [`HistorySql::progress`] binds.
pub fn progress_params(id: &MigrationId, progress: &Progress) -> Vec<Param> {
    vec![
        Param::Int(Some(progress.statements)),
        Param::text(&progress.hash),
        Param::text(&id.source),
        Param::text(id.version.as_str()),
    ]
}

/// The values [`HistorySql::task_start`] binds for `r`.
pub fn task_params(r: &TaskRun) -> Vec<Param> {
    vec![
        Param::text(&r.run_id),
        Param::text(&r.source),
        Param::text(&r.task),
        Param::text(&r.checksum),
        Param::text(&r.args),
        Param::Time(Some(r.started_at)),
        Param::Time(r.finished_at),
        Param::Int(r.duration_ms),
        Param::Int(r.exit_status),
        Param::Bool(r.ok),
        Param::Text(r.output.clone()),
        Param::text(&r.run_by),
        Param::text(&r.strata_version),
        Param::Text(r.environment.clone()),
    ]
}

/// The values [`HistorySql::task_finish`] binds for `r`.
pub fn task_finish_params(r: &TaskRun) -> Vec<Param> {
    vec![
        Param::Time(r.finished_at),
        Param::Int(r.duration_ms),
        Param::Int(r.exit_status),
        Param::Bool(r.ok),
        Param::Text(r.output.clone()),
        Param::text(&r.run_id),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_name_every_column_once_and_bind_as_many_values() {
        let table = TableName::parse("app.strata_history").unwrap();
        for dialect in [Dialect::Postgres, Dialect::Sqlite, Dialect::Mysql] {
            let sql = HistorySql::new(dialect, &table);
            let binds = |s: &str| match dialect {
                Dialect::Mysql => s.matches('?').count(),
                Dialect::Postgres => s.matches('$').count(),
                Dialect::Sqlite => s.matches('?').count(),
            };
            assert_eq!(binds(&sql.upsert), HISTORY.len(), "{dialect:?}");
            assert_eq!(binds(&sql.log), LOG.len(), "{dialect:?}");
            assert_eq!(binds(&sql.delete), 2);
            assert_eq!(binds(&sql.progress), 4);
            assert_eq!(binds(&sql.task_start), TASK_RUNS.len());
            assert_eq!(binds(&sql.task_finish), TASK_FINISH.len() + 1);
            assert!(sql.create[0].contains("PRIMARY KEY (source, version)"));
            assert!(sql.create[1].contains("seq"));
        }
        let pg = HistorySql::new(Dialect::Postgres, &table);
        assert!(
            pg.select.starts_with("SELECT source, version, name"),
            "{}",
            pg.select
        );
        assert!(
            pg.upsert.contains("to_timestamp($9::int8::float8 / 1000)"),
            "{}",
            pg.upsert
        );
    }
}
