//! `strata check`: whether the data still holds together. Every foreign
//! key (NOT VALID ones too) is checked for rows whose reference is missing;
//! on PostgreSQL also CHECK constraints marked NOT VALID, INVALID indexes,
//! sequences behind their column and tables whose row-level security has
//! no policy; on SQLite the file's own integrity. Read only, each query
//! under a statement timeout, each check timed.

use crate::report::ms;
use crate::{Engine, EngineError};
use std::time::{Duration, Instant};
use strata_driver::{Cells, Driver, quote_ident_for};
use strata_sql::Dialect;

/// How `strata check` reads.
#[derive(Debug, Clone, Copy)]
pub struct IntegrityOptions {
    /// Read about this percentage of each table's rows for the row checks
    /// instead of all of them (PostgreSQL's `TABLESAMPLE SYSTEM`; a random
    /// filter on MySQL).
    pub sample_percent: Option<f64>,
    /// Each query gives up after this long (that check says so; the others
    /// go on).
    pub timeout: Duration,
}

impl Default for IntegrityOptions {
    fn default() -> Self {
        IntegrityOptions {
            sample_percent: None,
            timeout: Duration::from_secs(60),
        }
    }
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Ok,
    /// Worth reading, maybe meant (row-level security that lets no one
    /// in), or a check that could not finish.
    Warning,
    /// The data does not hold together.
    Violation,
}

/// One check of one object.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IntegrityCheck {
    /// `foreign_key`, `check_constraint`, `index`, `sequence`,
    /// `row_security` or `sqlite_integrity`.
    pub check: &'static str,
    /// The object checked: `table.constraint`, an index, a sequence.
    pub object: String,
    pub severity: Severity,
    pub message: String,
    /// Rows found in violation, where rows are counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// A few of them, by key (`column=value`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sample: Vec<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    pub duration_ms: u64,
}

/// How many offending rows are shown.
const SAMPLE: usize = 5;

impl IntegrityCheck {
    /// A check of `object` that found nothing wrong (yet).
    fn of(check: &'static str, object: String) -> IntegrityCheck {
        IntegrityCheck {
            check,
            object,
            severity: Severity::Ok,
            message: String::new(),
            rows: None,
            sample: Vec::new(),
            fix: None,
            duration_ms: 0,
        }
    }

    /// A query that could not finish (a timeout most often): a warning.
    fn unfinished(&mut self, message: String) {
        self.severity = Severity::Warning;
        self.message = message;
        self.fix = Some("give it longer (--timeout) or read a sample (--sample 1)".into());
    }

    /// A violation by the rows of a counting query (`count(*) OVER ()`,
    /// then the columns `keys` name): how many, and a few by key.
    fn violated_by(&mut self, rows: &strata_driver::Rows, keys: &[String]) -> u64 {
        let count: u64 = rows
            .first()
            .and_then(|r| r.get(0))
            .and_then(|c| c.parse().ok())
            .unwrap_or_default();
        self.severity = Severity::Violation;
        self.rows = Some(count);
        self.sample = rows
            .iter()
            .map(|r| {
                keys.iter()
                    .enumerate()
                    .map(|(i, k)| format!("{k}={}", r.get(i + 1).unwrap_or("NULL")))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        count
    }
}

/// A foreign key, read from the catalog.
struct ForeignKey {
    name: String,
    /// Schema-qualified where the schema is not the default one, quoted.
    table: String,
    shown_table: String,
    columns: Vec<String>,
    parent: String,
    shown_parent: String,
    parent_columns: Vec<String>,
    not_valid: bool,
}

impl Engine {
    /// Every integrity check of this engine's database, in a read-only
    /// session.
    pub async fn integrity(
        &self,
        options: &IntegrityOptions,
    ) -> Result<Vec<IntegrityCheck>, EngineError> {
        let mut driver = self.connect().await?;
        let dialect = driver.capabilities().dialect;
        read_only(driver.as_mut(), dialect).await?;
        let mut checks = Vec::new();
        let keys = match dialect {
            Dialect::Postgres => postgres_foreign_keys(driver.as_mut()).await?,
            Dialect::Mysql => mysql_foreign_keys(driver.as_mut()).await?,
            Dialect::Sqlite => sqlite_foreign_keys(driver.as_mut()).await?,
        };
        for key in &keys {
            checks.push(orphans(driver.as_mut(), dialect, key, options).await);
        }
        match dialect {
            Dialect::Postgres => {
                postgres_checks(driver.as_mut(), options, &mut checks).await?;
            }
            Dialect::Sqlite => checks.push(sqlite_integrity(driver.as_mut()).await?),
            Dialect::Mysql => {}
        }
        Ok(checks)
    }
}

/// Makes the session read only, with a statement timeout where the engine
/// has one.
async fn read_only(driver: &mut dyn Driver, dialect: Dialect) -> Result<(), EngineError> {
    driver
        .batch(match dialect {
            Dialect::Postgres => "SET default_transaction_read_only = on",
            Dialect::Mysql => "SET SESSION TRANSACTION READ ONLY",
            Dialect::Sqlite => "PRAGMA query_only = ON",
        })
        .await?;
    Ok(())
}

/// Sets the statement timeout of the row checks (`None`: none, for the
/// catalog queries), where the engine has one.
async fn time_limit(driver: &mut dyn Driver, dialect: Dialect, limit: Option<Duration>) {
    // 0 (`--timeout 0`) is no limit, as the servers read it.
    let ms = limit.map_or(0, |t| t.as_millis());
    let _ = match dialect {
        Dialect::Postgres => driver.batch(&format!("SET statement_timeout = {ms}")).await,
        // MariaDB's name for it (seconds), else MySQL's (milliseconds).
        Dialect::Mysql => match driver
            .batch(&format!(
                "SET SESSION max_statement_time = {}",
                ms as f64 / 1000.0
            ))
            .await
        {
            Ok(()) => Ok(()),
            Err(_) => {
                driver
                    .batch(&format!("SET SESSION max_execution_time = {ms}"))
                    .await
            }
        },
        Dialect::Sqlite => Ok(()),
    };
}

/// The rows of a catalog query (whose tables cannot be missing).
async fn catalog(driver: &mut dyn Driver, sql: &str) -> Result<strata_driver::Rows, EngineError> {
    driver.query_text(sql).await?.ok_or_else(|| {
        EngineError::Refused(format!(
            "a catalog query of `strata check` read a table this server does not have (please report it): {sql}"
        ))
    })
}

/// Column lists come out of catalog queries joined with this.
const SEP: char = '\u{1f}';

fn columns(cell: Option<&str>) -> Vec<String> {
    cell.unwrap_or_default()
        .split(SEP)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// The user's schemas (PostgreSQL): not the system's.
const PG_USER_SCHEMA: &str =
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'";

/// `schema.name` quoted, the schema left out when it is `public`; and as
/// shown.
fn pg_name(schema: &str, name: &str) -> (String, String) {
    let q = |s: &str| quote_ident_for(Dialect::Postgres, s);
    if schema == "public" {
        (q(name), name.to_string())
    } else {
        (
            format!("{}.{}", q(schema), q(name)),
            format!("{schema}.{name}"),
        )
    }
}

async fn postgres_foreign_keys(driver: &mut dyn Driver) -> Result<Vec<ForeignKey>, EngineError> {
    let sql = format!(
        "SELECT c.conname, n.nspname, t.relname, pn.nspname, p.relname, NOT c.convalidated,
            (SELECT string_agg(a.attname, chr(31) ORDER BY k.i) FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n),
            (SELECT string_agg(a.attname, chr(31) ORDER BY k.i) FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
               JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n)
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
         JOIN pg_class p ON p.oid = c.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
         WHERE c.contype = 'f' AND c.conparentid = 0 AND {PG_USER_SCHEMA}
         ORDER BY n.nspname, t.relname, c.conname"
    );
    Ok(catalog(driver, &sql)
        .await?
        .iter()
        .map(|r| {
            let (table, shown_table) =
                pg_name(r.get(1).unwrap_or_default(), r.get(2).unwrap_or_default());
            let (parent, shown_parent) =
                pg_name(r.get(3).unwrap_or_default(), r.get(4).unwrap_or_default());
            ForeignKey {
                name: r.get(0).unwrap_or_default().to_string(),
                table,
                shown_table,
                parent,
                shown_parent,
                not_valid: r.get(5) == Some("t"),
                columns: columns(r.get(6)),
                parent_columns: columns(r.get(7)),
            }
        })
        .collect())
}

async fn mysql_foreign_keys(driver: &mut dyn Driver) -> Result<Vec<ForeignKey>, EngineError> {
    let sql = "SELECT CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME,
            GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION SEPARATOR 0x1f),
            GROUP_CONCAT(REFERENCED_COLUMN_NAME ORDER BY ORDINAL_POSITION SEPARATOR 0x1f)
         FROM information_schema.KEY_COLUMN_USAGE
         WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
         GROUP BY CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME
         ORDER BY TABLE_NAME, CONSTRAINT_NAME";
    Ok(catalog(driver, sql)
        .await?
        .iter()
        .map(|r| ForeignKey::in_one_schema(Dialect::Mysql, r.get(0).unwrap_or_default(), r))
        .collect())
}

async fn sqlite_foreign_keys(driver: &mut dyn Driver) -> Result<Vec<ForeignKey>, EngineError> {
    // A key without named parent columns references the parent's primary
    // key.
    let sql = "SELECT f.id, t.name, f.\"table\", group_concat(f.\"from\", char(31)),
            group_concat(coalesce(f.\"to\", (SELECT p.name FROM pragma_table_info(f.\"table\") p WHERE p.pk = f.seq + 1)), char(31))
         FROM sqlite_schema t, pragma_foreign_key_list(t.name) f
         WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         GROUP BY t.name, f.id ORDER BY t.name, f.id";
    Ok(catalog(driver, sql)
        .await?
        .iter()
        // Unnamed: known by its columns.
        .map(|r| ForeignKey::in_one_schema(Dialect::Sqlite, &columns(r.get(3)).join(","), r))
        .collect())
}

impl ForeignKey {
    /// A key of a database without schemas (MySQL, SQLite), from a
    /// catalog row of table, parent, columns and parent columns in cells
    /// 1 to 4.
    fn in_one_schema(dialect: Dialect, name: &str, r: &[Option<String>]) -> ForeignKey {
        let cell = |i| Cells::get(r, i).unwrap_or_default();
        let (table, parent) = (cell(1), cell(2));
        ForeignKey {
            name: name.to_string(),
            table: quote_ident_for(dialect, table),
            shown_table: table.to_string(),
            parent: quote_ident_for(dialect, parent),
            shown_parent: parent.to_string(),
            not_valid: false,
            columns: columns(Cells::get(r, 3)),
            parent_columns: columns(Cells::get(r, 4)),
        }
    }
}

/// Why a row check could not run: a table it reads is missing.
const MISSING: &str = "a table it reads is not there";

/// What a check that found nothing says: of every row, or of a sample.
fn sampled(options: &IntegrityOptions, every: &str) -> String {
    match options.sample_percent {
        None => every.to_string(),
        Some(p) => format!(
            "nothing found in a sample of about {p}% of the rows; run without --sample to check every row"
        ),
    }
}

/// A row check's rows, under `--timeout`, or why it could not finish.
async fn rows_of(
    driver: &mut dyn Driver,
    sql: &str,
    options: &IntegrityOptions,
) -> Result<strata_driver::Rows, String> {
    let dialect = driver.capabilities().dialect;
    time_limit(driver, dialect, Some(options.timeout)).await;
    let rows = driver.query_text(sql).await;
    time_limit(driver, dialect, None).await;
    match rows {
        Ok(Some(rows)) => Ok(rows),
        Ok(None) => Err(MISSING.into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The rows a sample reads (`FROM table alias ...`).
fn from_sampled(
    dialect: Dialect,
    table: &str,
    alias: &str,
    sample: Option<f64>,
) -> (String, String) {
    match (dialect, sample) {
        (Dialect::Postgres, Some(p)) => (
            format!("{table} {alias} TABLESAMPLE SYSTEM ({p})"),
            String::new(),
        ),
        (Dialect::Mysql, Some(p)) => (
            format!("{table} {alias}"),
            format!(" AND RAND() < {}", p / 100.0),
        ),
        _ => (format!("{table} {alias}"), String::new()),
    }
}

/// `ORDER BY` the `n` columns after the count, so that the rows shown are
/// the same from run to run.
fn by_position(n: usize) -> String {
    (2..n + 2)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows of the key's table whose reference is missing from its parent
/// (rows with a NULL in the key reference nothing, as the key itself
/// says): counted, a few shown. The parent is looked up by its key, which
/// has an index.
async fn orphans(
    driver: &mut dyn Driver,
    dialect: Dialect,
    key: &ForeignKey,
    options: &IntegrityOptions,
) -> IntegrityCheck {
    let started = Instant::now();
    let q = |s: &str| quote_ident_for(dialect, s);
    let not_null: Vec<String> = key
        .columns
        .iter()
        .map(|c| format!("c.{} IS NOT NULL", q(c)))
        .collect();
    let matches: Vec<String> = key
        .columns
        .iter()
        .zip(&key.parent_columns)
        .map(|(c, p)| format!("p.{} = c.{}", q(p), q(c)))
        .collect();
    let shown: Vec<String> = key
        .columns
        .iter()
        .map(|c| match dialect {
            Dialect::Postgres => format!("c.{}::text", q(c)),
            Dialect::Mysql => format!("CAST(c.{} AS CHAR)", q(c)),
            Dialect::Sqlite => format!("CAST(c.{} AS TEXT)", q(c)),
        })
        .collect();
    let (from, filter) = from_sampled(dialect, &key.table, "c", options.sample_percent);
    let sql = format!(
        "SELECT count(*) OVER (), {} FROM {from} WHERE {}{filter} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {}) ORDER BY {} LIMIT {SAMPLE}",
        shown.join(", "),
        not_null.join(" AND "),
        key.parent,
        matches.join(" AND "),
        by_position(shown.len())
    );
    let object = format!("{}.{}", key.shown_table, key.name);
    let not_valid = if key.not_valid { " (NOT VALID)" } else { "" };
    let described = format!(
        "({}) references {} ({})",
        key.columns.join(", "),
        key.shown_parent,
        key.parent_columns.join(", ")
    );
    let mut check = IntegrityCheck::of("foreign_key", object);
    match rows_of(driver, &sql, options).await {
        Err(e) if e == MISSING => {
            check.severity = Severity::Violation;
            check.message = format!(
                "{described}{not_valid}: {} does not exist",
                key.shown_parent
            );
            check.fix = Some(format!(
                "create {}, or drop the foreign key",
                key.shown_parent
            ));
        }
        Err(e) => check.unfinished(format!("could not be checked{not_valid}: {e}")),
        Ok(rows) if rows.is_empty() => {
            check.rows = Some(0);
            check.message = format!(
                "{described}{not_valid}: {}",
                sampled(options, "every row's reference is there")
            );
        }
        Ok(rows) => {
            let count = check.violated_by(&rows, &key.columns);
            check.message = format!(
                "{described}{not_valid}: {count} row(s){} reference a missing row",
                if options.sample_percent.is_some() {
                    " in the sample"
                } else {
                    ""
                }
            );
            check.fix = Some(if key.not_valid {
                "delete or repair those rows, then VALIDATE CONSTRAINT".into()
            } else {
                "delete or repair those rows (they were written while the key was not enforced)"
                    .into()
            });
        }
    }
    check.duration_ms = ms(started.elapsed());
    check
}

/// PostgreSQL's other checks: NOT VALID checks that rows break, INVALID
/// indexes, sequences behind their column, row-level security without a
/// policy.
async fn postgres_checks(
    driver: &mut dyn Driver,
    options: &IntegrityOptions,
    checks: &mut Vec<IntegrityCheck>,
) -> Result<(), EngineError> {
    let unchecked = format!(
        "SELECT n.nspname, t.relname, c.conname, pg_get_expr(c.conbin, c.conrelid),
            (SELECT string_agg(a.attname, chr(31) ORDER BY k.i) FROM pg_index x
               CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n
             WHERE x.indrelid = t.oid AND x.indisprimary)
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE c.contype = 'c' AND NOT c.convalidated AND c.conparentid = 0 AND {PG_USER_SCHEMA}
         ORDER BY 1, 2, 3"
    );
    for r in catalog(driver, &unchecked).await? {
        let started = Instant::now();
        let (table, shown) = pg_name(r.get(0).unwrap_or_default(), r.get(1).unwrap_or_default());
        let name = r.get(2).unwrap_or_default();
        let expr = r.get(3).unwrap_or_default();
        let keys = columns(r.get(4));
        let shown_keys = if keys.is_empty() {
            "c.ctid::text".to_string()
        } else {
            keys.iter()
                .map(|k| format!("c.{}::text", quote_ident_for(Dialect::Postgres, k)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (from, _) = from_sampled(Dialect::Postgres, &table, "c", options.sample_percent);
        let sql = format!(
            "SELECT count(*) OVER (), {shown_keys} FROM {from} WHERE NOT ({expr}) ORDER BY {} LIMIT {SAMPLE}",
            by_position(keys.len().max(1))
        );
        let mut check = IntegrityCheck::of("check_constraint", format!("{shown}.{name}"));
        match rows_of(driver, &sql, options).await {
            Err(e) => check.unfinished(format!(
                "CHECK ({expr}) NOT VALID could not be checked: {e}"
            )),
            Ok(rows) if rows.is_empty() => {
                check.rows = Some(0);
                check.message = format!(
                    "CHECK ({expr}) NOT VALID: {}",
                    sampled(options, "every row satisfies it")
                );
                check.fix = Some(format!(
                    "ALTER TABLE {table} VALIDATE CONSTRAINT {} (it takes a SHARE UPDATE EXCLUSIVE lock only)",
                    quote_ident_for(Dialect::Postgres, name)
                ));
            }
            Ok(rows) => {
                let key_names = if keys.is_empty() {
                    vec!["ctid".to_string()]
                } else {
                    keys.clone()
                };
                let count = check.violated_by(&rows, &key_names);
                check.message = format!("CHECK ({expr}) NOT VALID: {count} row(s) break it");
                check.fix = Some("repair those rows, then VALIDATE CONSTRAINT; until then an UPDATE of one fails".into());
            }
        }
        check.duration_ms = ms(started.elapsed());
        checks.push(check);
    }

    let started = Instant::now();
    let invalid = format!(
        "SELECT n.nspname, i.relname, t.relname, x.indisunique, x.indisprimary
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = i.relnamespace
         WHERE NOT x.indisvalid AND {PG_USER_SCHEMA} ORDER BY 1, 2"
    );
    for r in catalog(driver, &invalid).await? {
        let (index, shown) = pg_name(r.get(0).unwrap_or_default(), r.get(1).unwrap_or_default());
        let what = match (r.get(4), r.get(3)) {
            (Some("t"), _) => "primary key index",
            (_, Some("t")) => "unique index",
            _ => "index",
        };
        checks.push(IntegrityCheck {
            check: "index",
            object: shown,
            severity: Severity::Violation,
            message: format!(
                "{what} on {} is INVALID (a CREATE INDEX CONCURRENTLY or REINDEX that failed): queries do not use it{}",
                r.get(2).unwrap_or_default(),
                if what == "index" { "" } else { ", and the rows it should keep unique may not be" }
            ),
            rows: None,
            sample: Vec::new(),
            fix: Some(if what == "index" {
                format!("DROP INDEX CONCURRENTLY {index}; then build it again (REINDEX INDEX CONCURRENTLY {index} also does)")
            } else {
                format!("find the duplicates that failed the build (SELECT its columns, count(*) ... GROUP BY ... HAVING count(*) > 1) and resolve them; then DROP INDEX CONCURRENTLY {index} and build it again")
            }),
            duration_ms: ms(started.elapsed()),
        });
    }

    let sequences = format!(
        "SELECT n.nspname, s.relname, q.last_value, q.increment_by, q.start_value, tn.nspname, t.relname, a.attname
         FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
         JOIN pg_sequences q ON q.schemaname = n.nspname AND q.sequencename = s.relname
         JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
              AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
         JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
         WHERE s.relkind = 'S' AND {PG_USER_SCHEMA} ORDER BY 1, 2"
    );
    for r in catalog(driver, &sequences).await? {
        let started = Instant::now();
        let (sequence, shown) = pg_name(r.get(0).unwrap_or_default(), r.get(1).unwrap_or_default());
        let (table, shown_table) =
            pg_name(r.get(5).unwrap_or_default(), r.get(6).unwrap_or_default());
        let column = r.get(7).unwrap_or_default();
        let number = |i: usize| r.get(i).and_then(|v| v.parse::<i128>().ok());
        let (Some(increment), Some(start)) = (number(3), number(4)) else {
            continue;
        };
        // The value the next nextval() returns.
        let next = number(2).map_or(start, |last| last + increment);
        let quoted_column = quote_ident_for(Dialect::Postgres, column);
        let extreme = if increment > 0 { "max" } else { "min" };
        let sql = format!("SELECT {extreme}({quoted_column})::text FROM {table}");
        let mut check = IntegrityCheck::of("sequence", shown.clone());
        match rows_of(driver, &sql, options).await {
            Err(e) => {
                check.severity = Severity::Warning;
                check.message = format!("could not read {shown_table}.{column}'s {extreme}: {e}");
            }
            Ok(rows) => {
                let extreme_value = rows
                    .first()
                    .and_then(|row| row.get(0))
                    .and_then(|v| v.parse::<i128>().ok());
                let behind = extreme_value
                    .is_some_and(|v| if increment > 0 { v >= next } else { v <= next });
                check.message = match extreme_value {
                    Some(v) if behind => format!(
                        "gives {next} next, but {shown_table}.{column} already holds {v}: the next insert that takes a value from it collides"
                    ),
                    Some(v) => {
                        format!("gives {next} next, past {shown_table}.{column}'s {extreme} {v}")
                    }
                    None => format!("gives {next} next; {shown_table}.{column} is empty"),
                };
                if behind {
                    check.severity = Severity::Violation;
                    check.fix = Some(format!(
                        "SELECT setval('{}', (SELECT {extreme}({quoted_column}) FROM {table}))",
                        sequence.replace('\'', "''")
                    ));
                }
            }
        }
        check.duration_ms = ms(started.elapsed());
        checks.push(check);
    }

    let started = Instant::now();
    let open = format!(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relrowsecurity AND c.relkind IN ('r', 'p') AND {PG_USER_SCHEMA}
           AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
         ORDER BY 1, 2"
    );
    for r in catalog(driver, &open).await? {
        let (table, shown) = pg_name(r.get(0).unwrap_or_default(), r.get(1).unwrap_or_default());
        checks.push(IntegrityCheck {
            check: "row_security",
            object: shown,
            severity: Severity::Warning,
            message: "row-level security is enabled and no policy exists: no role but its owner, superusers and BYPASSRLS roles sees or writes a row".into(),
            rows: None,
            sample: Vec::new(),
            fix: Some(format!(
                "CREATE POLICY ... ON {table} for the roles that should see rows (or leave it, if denying everyone is meant)"
            )),
            duration_ms: ms(started.elapsed()),
        });
    }
    Ok(())
}

/// SQLite's own check of the file (`PRAGMA quick_check`).
async fn sqlite_integrity(driver: &mut dyn Driver) -> Result<IntegrityCheck, EngineError> {
    let started = Instant::now();
    let rows = catalog(driver, "PRAGMA quick_check").await?;
    let problems: Vec<String> = rows
        .iter()
        .filter_map(|r| r.get(0).map(str::to_string))
        .filter(|m| m != "ok")
        .collect();
    Ok(IntegrityCheck {
        check: "sqlite_integrity",
        object: "database file".into(),
        severity: if problems.is_empty() {
            Severity::Ok
        } else {
            Severity::Violation
        },
        message: if problems.is_empty() {
            "PRAGMA quick_check: ok".into()
        } else {
            format!("PRAGMA quick_check found {} problem(s)", problems.len())
        },
        rows: None,
        fix: (!problems.is_empty()).then(|| {
            "restore a backup (`strata backups`), or .recover it with the sqlite3 shell".into()
        }),
        sample: problems.into_iter().take(SAMPLE).collect(),
        duration_ms: ms(started.elapsed()),
    })
}
