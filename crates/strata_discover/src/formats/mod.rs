//! The registry of migration tools strata reads: each tool is one folder
//! here whose [`Format`] says how to recognise its layout ([`Format::detect`],
//! for `strata init`), how to read its migrations ([`Format::discover`]),
//! and, when the tool keeps a history table, how to read that table for
//! `strata adopt` and keep it up to date for `keep_foreign_history`
//! ([`Format::history`]). Detection and discovery loop over [`all`], and
//! `adopt` and the foreign-history writes find a tool in it by name: adding
//! a tool is adding a folder and a line to [`all`].

pub(crate) mod marked;

mod dbmate;
mod diesel;
mod drizzle;
mod flyway;
mod golang_migrate;
mod goose;
mod prisma;
mod python;
mod script;
mod sqlx;
mod strata;
mod supabase;

use crate::{Diagnostic, Found, SourceSpec};
use std::path::{Path, PathBuf};
pub use strata_model::ForeignWrite;
use strata_model::{Migration, MigrationId, Version};
use strata_sql::{Dialect, EngineKind};

pub use dbmate::DbmateFormat;
pub use diesel::DieselFormat;
pub use drizzle::DrizzleFormat;
pub use flyway::FlywayFormat;
pub use golang_migrate::GolangMigrateFormat;
pub use goose::GooseFormat;
pub use prisma::{PrismaFormat, prisma_provider};
pub use python::{PythonFormat, docstring};
pub(crate) use script::is_script;
pub use script::{ScriptFormat, dry_runnable, python_functions};
pub use sqlx::SqlxFormat;
pub use strata::NativeFormat;
pub use supabase::SupabaseFormat;

/// A migration tool's layout (and history table, if it keeps one).
pub trait Format: Sync {
    /// The name used in `format = "..."` and `adopt --from`.
    fn name(&self) -> &'static str;

    /// Reads every migration of `source`, or every problem found.
    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>>;

    /// Whether `dir` holds this tool's migrations, and how sure that is.
    /// Formats are asked in the order of [`all`]: the first
    /// [`Evidence::Certain`] wins, else the first [`Evidence::Likely`];
    /// a directory no format claims is strata's own when its files are
    /// versioned.
    fn detect(&self, dir: &DirView) -> Option<Evidence> {
        let _ = dir;
        None
    }

    /// A new migration in this tool's own layout ([`Scaffold`]), or why
    /// strata does not write one.
    fn scaffold(&self, new: &NewMigration) -> Result<Scaffold, String> {
        let _ = new;
        Err(format!(
            "strata does not write new {} migrations; create it with the tool's own command",
            self.name()
        ))
    }

    /// Whether its migrations may go without a version in their names,
    /// placed by the source's order ([`crate::ORDER_FILE`]).
    fn has_named_migrations(&self) -> bool {
        false
    }

    /// The tool's own history table, when it keeps one.
    fn history(&self) -> Option<&dyn ToolHistory> {
        None
    }
}

/// What `strata new NAME --source S` asks of a format.
pub struct NewMigration<'a> {
    pub source: &'a SourceSpec,
    /// The name in snake_case (`create_users`).
    pub slug: &'a str,
    /// When it is made: versions are taken from it.
    pub at: strata_model::Timestamp,
    /// Its SQL, written for the user (`strata generate`): the files hold
    /// it instead of a template to fill.
    pub sql: Option<Bodies<'a>>,
    /// Its version, where it is not to be taken from [`NewMigration::at`]
    /// (`strata squash`: the version of the last migration squashed).
    pub version: Option<&'a str>,
}

/// The SQL a new migration is written with.
#[derive(Debug, Clone, Copy)]
pub struct Bodies<'a> {
    pub up: &'a str,
    /// `None`: it has no down.
    pub down: Option<&'a str>,
    /// `false`: it must run outside a transaction (`CREATE INDEX
    /// CONCURRENTLY`), each statement on its own.
    pub transaction: bool,
}

impl Bodies<'_> {
    /// Refused for a format that runs every migration in a transaction
    /// or as one command (which PostgreSQL runs as one transaction).
    pub fn in_transaction(&self, format: &str) -> Result<(), String> {
        if self.transaction {
            return Ok(());
        }
        Err(format!(
            "{format} runs each migration in one transaction, and this one must run outside one (CREATE INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE): write it to a source of another format, or without CONCURRENTLY"
        ))
    }

    /// What the user is told when the format keeps no down.
    pub fn down_dropped(&self, format: &str) -> Option<String> {
        self.down.map(|_| {
            format!("{format} migrations have no down: the down strata generated was not written (`strata down` derives one where it can)")
        })
    }
}

impl NewMigration<'_> {
    /// `yyyymmddhhmmss`, as most tools version their files.
    pub fn stamp(&self) -> String {
        self.version
            .map_or_else(|| self.at.compact(), str::to_string)
    }

    /// The words of the name, for a description (`create users`).
    pub fn words(&self) -> String {
        self.slug.replace('_', " ")
    }
}

/// The files of a new migration (paths relative to the source folder, with
/// their text), and what the user should know.
#[derive(Debug, Default)]
pub struct Scaffold {
    pub files: Vec<(PathBuf, String)>,
    pub note: Option<String>,
}

impl Scaffold {
    pub fn file(path: impl Into<PathBuf>, text: impl Into<String>) -> Scaffold {
        Scaffold {
            files: vec![(path.into(), text.into())],
            note: None,
        }
    }
}

/// Every format strata reads, in the order detection asks them.
pub fn all() -> &'static [&'static dyn Format] {
    &[
        &DrizzleFormat,
        &PrismaFormat,
        &DieselFormat,
        &GooseFormat,
        &DbmateFormat,
        &NativeFormat,
        &FlywayFormat,
        &SupabaseFormat,
        &SqlxFormat,
        &GolangMigrateFormat,
        &PythonFormat,
        &ScriptFormat,
    ]
}

/// The format named `name`.
pub fn format(name: &str) -> Option<&'static dyn Format> {
    all().iter().copied().find(|f| f.name() == name)
}

/// The formats whose tool keeps a history table (for `adopt --from`), in
/// registry order.
pub fn tools() -> impl Iterator<Item = &'static dyn Format> {
    all().iter().copied().filter(|f| f.history().is_some())
}

/// The names of `formats`, sorted, for messages.
pub fn names(formats: impl Iterator<Item = &'static dyn Format>) -> Vec<&'static str> {
    let mut names: Vec<&str> = formats.map(|f| f.name()).collect();
    names.sort_unstable();
    names
}

/// The formats whose tool's history strata can keep
/// (`keep_foreign_history`).
pub fn keepable() -> impl Iterator<Item = &'static dyn Format> {
    tools().filter(|f| f.history().is_some_and(|h| h.keepable()))
}

/// How sure a format is that a directory is its.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// Something only this tool writes (a journal, a marker line, its
    /// file names); `engine` when the layout names the database.
    Certain { engine: Option<EngineKind> },
    /// A layout several tools share, chosen by the repository's hints.
    Likely { note: Option<String> },
}

/// What detection sees of one directory.
pub struct DirView<'a> {
    pub dir: &'a Path,
    /// Its entries, sorted.
    pub entries: Vec<PathBuf>,
    /// The names of its `.sql` files, and their text.
    pub sql: Vec<(String, String)>,
    /// What the repository says about the tools it uses.
    pub hints: &'a Hints,
}

/// What the repository says about the tools it uses.
#[derive(Debug, Default)]
pub struct Hints {
    /// A Cargo.toml names sqlx.
    pub sqlx: bool,
    /// A go.mod names golang-migrate.
    pub golang_migrate: bool,
}

impl DirView<'_> {
    pub fn subdirs(&self) -> impl Iterator<Item = &PathBuf> {
        self.entries.iter().filter(|p| p.is_dir())
    }

    /// Whether a `.sql` file has a line starting with `marker`.
    pub fn any_line(&self, marker: &str) -> bool {
        self.sql
            .iter()
            .any(|(_, t)| t.lines().any(|l| l.trim_start().starts_with(marker)))
    }

    pub fn sql_names(&self) -> impl Iterator<Item = &str> {
        self.sql.iter().map(|(n, _)| n.as_str())
    }

    /// `.sql` files named `<version>_<name>`.
    pub fn versioned(&self) -> usize {
        self.sql_names().filter(|n| versioned(n)).count()
    }

    /// Whether the `.sql` files come as `.up.sql`/`.down.sql` pairs.
    pub fn pairs(&self) -> bool {
        self.sql_names().any(|n| n.ends_with(".up.sql"))
    }
}

/// A file or directory name that starts with a version: `<digits>_...`.
pub fn versioned(file_name: &str) -> bool {
    file_name
        .split_once('_')
        .is_some_and(|(v, _)| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '-'))
}

pub(crate) fn name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or_default()
}

/// Another tool's history table: read by `strata adopt`, and kept up to
/// date by `keep_foreign_history`.
pub trait ToolHistory: Sync {
    /// The history table's name (without its schema).
    fn table(&self) -> &'static str;

    /// The schema (namespace) the tool makes for its history on
    /// PostgreSQL, when it makes one: not the application's schema.
    fn own_schema(&self) -> Option<&'static str> {
        None
    }

    /// The query that reads the table, as the tool's documentation
    /// describes it.
    fn query(&self, dialect: Dialect) -> String;

    /// What the rows of [`ToolHistory::query`] say of `migrations` (the
    /// source's, in order).
    fn read(
        &self,
        rows: &[Vec<Option<String>>],
        migrations: &[Migration],
        source: &str,
    ) -> Recorded;

    /// What a version is matched by: its parts (so `1_1` and `1.1` match,
    /// and `11` does not), or what the tool records instead.
    fn key(&self, version: &str) -> String {
        match Version::parse_any(version) {
            Ok(v) if v.lane() != strata_model::Lane::Numbered => v.as_str().to_string(),
            Ok(v) => v.canonical(),
            Err(_) => version.to_string(),
        }
    }

    /// Whether `adopt` also reads into a strata source laid out as this
    /// tool lays out its files (a `migrations/` of `<ts>_<name>.sql` is
    /// both strata's and sqlx's).
    fn shares_strata_layout(&self) -> bool {
        false
    }

    /// Whether strata can keep this table up to date
    /// (`keep_foreign_history`); not when the tool checks something strata
    /// does not compute.
    fn keepable(&self) -> bool {
        true
    }

    /// The table as the tool creates it, and the rows that record
    /// `change` (nothing when it is not [`ToolHistory::keepable`]).
    fn record(&self, change: &Change<'_>) -> Vec<ForeignWrite>;
}

/// What another tool's history says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The versions it says are applied, in its own words.
    pub applied: Vec<String>,
    /// Migrations it marks unfinished, failed or rolled back: reported,
    /// not adopted.
    pub dirty: Vec<String>,
    /// What it recorded that no file here stands for.
    pub foreign_only: Vec<String>,
}

impl Recorded {
    /// A table of applied versions, one a row in its first column.
    pub fn versions(rows: &[Vec<Option<String>>]) -> Recorded {
        Recorded {
            applied: rows.iter().filter_map(|r| col(r, 0)).collect(),
            ..Recorded::default()
        }
    }
}

/// A migration strata applied or reverted, as another tool's history
/// records it.
pub struct Change<'a> {
    /// Applied (or baselined), rather than reverted.
    pub applying: bool,
    pub id: &'a MigrationId,
    pub name: &'a str,
    /// The migration file as the tool hashes it: its raw bytes.
    pub raw: &'a [u8],
    /// The file, where there is one.
    pub path: Option<&'a Path>,
    /// The highest version of the source applied afterwards (a table that
    /// keeps one row holds it).
    pub current: Option<&'a Version>,
    pub dialect: Dialect,
}

/// Whether a history value reads as true.
pub(crate) fn truthy(v: Option<&str>) -> bool {
    matches!(v, Some("t" | "true" | "1" | "TRUE"))
}

/// Column `i` of a history row.
pub(crate) fn col(r: &[Option<String>], i: usize) -> Option<String> {
    r.get(i).cloned().flatten()
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
