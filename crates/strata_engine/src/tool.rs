//! The migration tools strata reads the history of (`adopt`) and keeps the
//! history of (`keep_foreign_history`).

use strata_model::{Lane, Version};
use strata_sql::Dialect;

/// A tool whose history strata can adopt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Supabase,
    Prisma,
    Drizzle,
    Sqlx,
    GolangMigrate,
    Dbmate,
    Goose,
    Diesel,
    Flyway,
}

impl Tool {
    pub const ALL: [Tool; 9] = [
        Tool::Supabase,
        Tool::Prisma,
        Tool::Drizzle,
        Tool::Sqlx,
        Tool::GolangMigrate,
        Tool::Dbmate,
        Tool::Goose,
        Tool::Diesel,
        Tool::Flyway,
    ];

    /// The name, which is also the source format it reads.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Supabase => "supabase",
            Tool::Prisma => "prisma",
            Tool::Drizzle => "drizzle",
            Tool::Sqlx => "sqlx",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Dbmate => "dbmate",
            Tool::Goose => "goose",
            Tool::Diesel => "diesel",
            Tool::Flyway => "flyway",
        }
    }

    pub fn parse(s: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.name() == s)
    }

    /// What a version is matched by: Diesel records its directory's
    /// version without the dashes, so digits; the others by the version's
    /// parts (so `1_1` and `1.1` match, and `11` does not).
    pub(crate) fn key(self, version: &str) -> String {
        match Version::parse_any(version) {
            Ok(v) if v.lane() != Lane::Numbered => v.as_str().to_string(),
            _ if self == Tool::Diesel => digits(version),
            Ok(v) => v.canonical(),
            Err(_) => version.to_string(),
        }
    }

    /// The query that reads the tool's history, as its documentation
    /// describes the table (on SQLite, tables have no schema).
    pub(crate) fn query(self, dialect: Dialect) -> &'static str {
        match (self, dialect == Dialect::Sqlite) {
            (Tool::Supabase, _) => "SELECT version FROM supabase_migrations.schema_migrations",
            (Tool::Prisma, _) => {
                "SELECT migration_name, CASE WHEN finished_at IS NOT NULL AND rolled_back_at IS NULL THEN 'applied' ELSE 'not applied' END FROM _prisma_migrations ORDER BY started_at"
            }
            (Tool::Drizzle, false) => {
                "SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY created_at, id"
            }
            (Tool::Drizzle, true) => {
                "SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at, id"
            }
            (Tool::Sqlx, _) => "SELECT version, success FROM _sqlx_migrations ORDER BY version",
            (Tool::GolangMigrate, _) => "SELECT version, dirty FROM schema_migrations",
            (Tool::Dbmate, _) => "SELECT version FROM schema_migrations ORDER BY version",
            (Tool::Goose, _) => "SELECT version_id, is_applied FROM goose_db_version ORDER BY id",
            (Tool::Diesel, _) => "SELECT version FROM __diesel_schema_migrations ORDER BY version",
            (Tool::Flyway, _) => {
                "SELECT script, type, success, version FROM flyway_schema_history ORDER BY installed_rank"
            }
        }
    }
}

/// Digits only, so `2024-01-01-120000` (a Diesel directory) matches the
/// `20240101120000` Diesel records.
pub(crate) fn digits(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .trim_start_matches('0')
        .to_string()
}
