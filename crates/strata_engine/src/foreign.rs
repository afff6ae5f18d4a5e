//! `keep_foreign_history`: while a team moves to strata, every migration
//! strata applies or reverts also updates the history table of the tool
//! the source came from, in the same transaction, so that tool still sees
//! the truth and can be used alongside.

use crate::tool::Tool;
use sha2::{Digest, Sha256, Sha384};
use strata_driver::ForeignWrite;
use strata_model::{Timestamp, Version, hex};
use strata_plan::{Step, StepAction};
use strata_sql::Dialect;

/// The tools whose tables strata can keep up to date. Flyway is not among
/// them: it checks a CRC32 of every script it recorded.
pub fn supported(format: &str) -> bool {
    Tool::parse(format).is_some_and(|t| t != Tool::Flyway)
}

fn write(sql: &str, params: Vec<Option<String>>) -> ForeignWrite {
    ForeignWrite {
        sql: sql.to_string(),
        params,
    }
}

/// What the writes need to know besides the step.
pub struct Context<'a> {
    /// The SQL of the database the table is in (on SQLite, tables have
    /// no schema).
    pub dialect: Dialect,
    /// The version a golang-migrate table holds afterwards (it keeps one
    /// row).
    pub current: Option<&'a Version>,
    /// The migration file as the tool hashes it: its raw bytes.
    pub raw: &'a [u8],
    /// Drizzle's journal `when` for the file.
    pub journal_when: Option<i64>,
}

/// The tool's table as the tool creates it, for a database where it does
/// not exist yet (a new database, or after `strata fresh`).
fn create(tool: Tool, sqlite: bool) -> Vec<ForeignWrite> {
    let ddl: &[&str] = match (tool, sqlite) {
        (Tool::Supabase, _) => &[
            "CREATE SCHEMA IF NOT EXISTS supabase_migrations",
            "CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY, statements text[], name text)",
        ],
        (Tool::Prisma, _) => &[
            "CREATE TABLE IF NOT EXISTS _prisma_migrations (id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMP, migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMP, started_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, applied_steps_count INTEGER NOT NULL DEFAULT 0)",
        ],
        (Tool::Drizzle, false) => &[
            "CREATE SCHEMA IF NOT EXISTS drizzle",
            "CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)",
        ],
        (Tool::Drizzle, true) => &[
            "CREATE TABLE IF NOT EXISTS __drizzle_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)",
        ],
        (Tool::Sqlx, false) => &[
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)",
        ],
        (Tool::Sqlx, true) => &[
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)",
        ],
        (Tool::GolangMigrate, _) => &[
            "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)",
        ],
        (Tool::Dbmate, _) => &[
            "CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) NOT NULL PRIMARY KEY)",
        ],
        (Tool::Goose, false) => &[
            "CREATE TABLE IF NOT EXISTS goose_db_version (id serial NOT NULL PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NULL DEFAULT now())",
        ],
        (Tool::Goose, true) => &[
            "CREATE TABLE IF NOT EXISTS goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')))",
        ],
        (Tool::Diesel, _) => &[
            "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        ],
        (Tool::Flyway, _) => &[],
    };
    ddl.iter().map(|sql| write(sql, Vec::new())).collect()
}

/// The statements that record `step` in `tool`'s table, creating the
/// table first where it is missing.
pub fn writes(tool: Tool, step: &Step, cx: &Context<'_>) -> Vec<ForeignWrite> {
    let mut all = create(tool, cx.dialect == Dialect::Sqlite);
    all.extend(rows(tool, step, cx));
    all
}

fn rows(tool: Tool, step: &Step, cx: &Context<'_>) -> Vec<ForeignWrite> {
    let (sqlite, current, raw) = (cx.dialect == Dialect::Sqlite, cx.current, cx.raw);
    let applying = matches!(step.action, StepAction::Apply | StepAction::Baseline);
    let version = step.id.version.to_string();
    let v = || Some(version.clone());
    match tool {
        Tool::Supabase if applying => vec![write(
            "INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES ($1, $2)",
            vec![v(), Some(step.name.clone())],
        )],
        Tool::Supabase => vec![write(
            "DELETE FROM supabase_migrations.schema_migrations WHERE version = $1",
            vec![v()],
        )],
        Tool::Prisma if applying => {
            let checksum = hex(&Sha256::digest(raw));
            let seed = hex(&Sha256::digest(
                format!("{}{}", step.id, Timestamp::now().unix_millis()).as_bytes(),
            ));
            let id = format!(
                "{}-{}-4{}-8{}-{}",
                &seed[..8],
                &seed[8..12],
                &seed[13..16],
                &seed[17..20],
                &seed[20..32]
            );
            vec![write(
                "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ($1, $2, CURRENT_TIMESTAMP, $3, CURRENT_TIMESTAMP, 1)",
                vec![
                    Some(id),
                    Some(checksum),
                    Some(format!("{version}_{}", step.name)),
                ],
            )]
        }
        Tool::Prisma => vec![write(
            "UPDATE _prisma_migrations SET rolled_back_at = CURRENT_TIMESTAMP WHERE migration_name = $1 AND rolled_back_at IS NULL",
            vec![Some(format!("{version}_{}", step.name))],
        )],
        Tool::Drizzle => {
            let table = if sqlite {
                "__drizzle_migrations"
            } else {
                "drizzle.__drizzle_migrations"
            };
            let hash = Some(hex(&Sha256::digest(raw)));
            if applying {
                vec![write(
                    &format!(
                        "INSERT INTO {table} (hash, created_at) VALUES ($1, CAST($2 AS BIGINT))"
                    ),
                    // Drizzle runs entries whose `when` is later than the
                    // last row's created_at: record the journal's own.
                    vec![
                        hash,
                        Some(
                            cx.journal_when
                                .unwrap_or_else(|| Timestamp::now().unix_millis())
                                .to_string(),
                        ),
                    ],
                )]
            } else {
                vec![write(
                    &format!("DELETE FROM {table} WHERE hash = $1"),
                    vec![hash],
                )]
            }
        }
        Tool::Sqlx if applying => {
            let checksum = Some(hex(&Sha384::digest(raw)));
            let decode = if sqlite {
                "unhex($3)"
            } else {
                "decode($3, 'hex')"
            };
            vec![write(
                &format!(
                    "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (CAST($1 AS BIGINT), $2, TRUE, {decode}, 0)"
                ),
                vec![v(), Some(step.name.replace('_', " ")), checksum],
            )]
        }
        Tool::Sqlx => vec![write(
            "DELETE FROM _sqlx_migrations WHERE version = CAST($1 AS BIGINT)",
            vec![v()],
        )],
        Tool::GolangMigrate => {
            let mut w = vec![write("DELETE FROM schema_migrations", Vec::new())];
            if let Some(current) = current {
                w.push(write(
                    "INSERT INTO schema_migrations (version, dirty) VALUES (CAST($1 AS BIGINT), FALSE)",
                    vec![Some(current.canonical())],
                ));
            }
            w
        }
        Tool::Dbmate if applying => vec![write(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            vec![v()],
        )],
        Tool::Dbmate => vec![write(
            "DELETE FROM schema_migrations WHERE version = $1",
            vec![v()],
        )],
        // Current goose deletes a version's rows on down.
        Tool::Goose if applying => vec![write(
            "INSERT INTO goose_db_version (version_id, is_applied) VALUES (CAST($1 AS BIGINT), TRUE)",
            vec![Some(step.id.version.canonical())],
        )],
        Tool::Goose => vec![write(
            "DELETE FROM goose_db_version WHERE version_id = CAST($1 AS BIGINT)",
            vec![Some(step.id.version.canonical())],
        )],
        Tool::Diesel => {
            let digits: String = version.chars().filter(char::is_ascii_digit).collect();
            if applying {
                vec![write(
                    "INSERT INTO __diesel_schema_migrations (version) VALUES ($1)",
                    vec![Some(digits)],
                )]
            } else {
                vec![write(
                    "DELETE FROM __diesel_schema_migrations WHERE version = $1",
                    vec![Some(digits)],
                )]
            }
        }
        Tool::Flyway => Vec::new(),
    }
}
