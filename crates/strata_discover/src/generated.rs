//! Layouts written by ORMs: Prisma (`prisma/migrations/<dir>/migration.sql`
//! with `migration_lock.toml`) and Drizzle (`<NNNN>_<name>.sql` listed in
//! `meta/_journal.json`). Neither has a down.

use crate::common::{Parts, body, finish, line_of, problem, version_and_name};
use crate::{Diagnostic, Format, Found, SourceSpec, files_sorted, read_text};
use std::collections::HashSet;
use strata_model::{TxMode, normalize_text};

/// Prisma: the directory name is version and name (`20240101120000_init`,
/// or a short number such as `0_init` for a baseline); Prisma sends the
/// file as one command, and so does strata.
pub struct PrismaFormat;

/// The `provider` of a Prisma `migration_lock.toml`, if there is one.
pub fn prisma_provider(dir: &std::path::Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Lock {
        provider: String,
    }
    let text = std::fs::read_to_string(dir.join("migration_lock.toml")).ok()?;
    toml::from_str::<Lock>(&text).ok().map(|l| l.provider)
}

impl Format for PrismaFormat {
    fn name(&self) -> &'static str {
        "prisma"
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut migrations = Vec::new();
        for dir in crate::dirs_sorted(source)? {
            let sql = dir.join("migration.sql");
            if !sql.is_file() {
                warnings.push(problem(
                    &dir,
                    0,
                    "skipped: the directory has no migration.sql",
                    "Prisma would stop here; add the file or remove the directory",
                ));
                continue;
            }
            let dir_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let Some((version, name)) = version_and_name(dir_name, &[]) else {
                problems.push(problem(
                    &dir,
                    0,
                    "the directory name is not `<version>_<name>`",
                    "rename it as `prisma migrate dev` would, e.g. 20240101120000_init",
                ));
                continue;
            };
            match read_text(&sql) {
                Ok(text) => migrations.push(
                    Parts {
                        version,
                        name,
                        up: body(normalize_text(&text).into_owned(), 1, &sql),
                        down: None,
                        tx_mode: TxMode::OneCommand,
                        unsupported: None,
                        path: sql,
                    }
                    .build(source),
                ),
                Err(d) => problems.push(d),
            }
        }
        finish(migrations, problems, warnings)
    }
}

/// Drizzle: the journal decides which files are migrations and in what
/// order; a `.sql` file missing from it is reported and never run.
/// Statements are separated by `--> statement-breakpoint` comments, which
/// the splitter treats as the comments they are.
pub struct DrizzleFormat;

#[derive(serde::Deserialize)]
struct Journal {
    entries: Vec<JournalEntry>,
}

#[derive(serde::Deserialize)]
struct JournalEntry {
    idx: u64,
    tag: String,
}

impl Format for DrizzleFormat {
    fn name(&self) -> &'static str {
        "drizzle"
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let journal_path = source.path.join("meta").join("_journal.json");
        let text = read_text(&journal_path).map_err(|mut d| {
            d.help = "drizzle-kit writes meta/_journal.json beside the migrations; point `path` at drizzle's `out` directory".into();
            vec![d]
        })?;
        let journal: Journal = serde_json::from_str(&text).map_err(|e| {
            vec![problem(
                &journal_path,
                e.line(),
                format!("not a drizzle journal: {e}"),
                "regenerate it with drizzle-kit, or fix the JSON",
            )]
        })?;
        let mut problems = Vec::new();
        let mut migrations = Vec::new();
        let mut listed = HashSet::new();
        let mut previous: Option<u64> = None;
        let mut previous_version: Option<strata_model::Version> = None;
        for entry in &journal.entries {
            let sql = source.path.join(format!("{}.sql", entry.tag));
            listed.insert(sql.clone());
            let entry_line = text
                .find(&format!("\"{}\"", entry.tag))
                .map_or(0, |o| line_of(&text, o));
            if previous.is_some_and(|p| entry.idx <= p) {
                problems.push(problem(
                    &journal_path,
                    entry_line,
                    format!("entry `{}` is out of order (idx {})", entry.tag, entry.idx),
                    "the journal's idx values must increase; regenerate it with drizzle-kit",
                ));
            }
            previous = Some(entry.idx);
            let Some((version, name)) = version_and_name(&entry.tag, &[]) else {
                problems.push(problem(
                    &journal_path,
                    entry_line,
                    format!("tag `{}` is not `<NNNN>_<name>`", entry.tag),
                    "regenerate the journal with drizzle-kit",
                ));
                continue;
            };
            if previous_version.as_ref().is_some_and(|p| &version <= p) {
                problems.push(problem(
                    &journal_path,
                    entry_line,
                    format!(
                        "entry `{}` comes after a higher-numbered file in the journal",
                        entry.tag
                    ),
                    "the journal decides the order; rename the files so their numbers follow it",
                ));
            }
            previous_version = Some(version.clone());
            if !sql.is_file() {
                problems.push(problem(
                    &journal_path,
                    entry_line,
                    format!(
                        "the journal lists `{}` but {} does not exist",
                        entry.tag,
                        sql.display()
                    ),
                    "restore the file, or regenerate the journal",
                ));
                continue;
            }
            match read_text(&sql) {
                Ok(t) => migrations.push(
                    Parts {
                        version,
                        name,
                        up: body(normalize_text(&t).into_owned(), 1, &sql),
                        down: None,
                        tx_mode: TxMode::Transaction,
                        unsupported: None,
                        path: sql,
                    }
                    .build(source),
                ),
                Err(d) => problems.push(d),
            }
        }
        let warnings = files_sorted(source)?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "sql") && !listed.contains(p))
            .map(|p| {
                problem(
                    &p,
                    0,
                    "not in meta/_journal.json, so it is never run",
                    "generate migrations with drizzle-kit, or delete the file",
                )
            })
            .collect();
        finish(migrations, problems, warnings)
    }
}
