//! Drizzle: `<NNNN>_<name>.sql` files listed in `meta/_journal.json`; no
//! down.

mod history;
mod journal;

use crate::common::{Parts, finish, line_of, problem, read_body, version_and_name};
use crate::formats::{DirView, Evidence, Format, ToolHistory};
use crate::{Diagnostic, Found, SourceSpec, files_sorted, read_text};
use std::collections::HashSet;
use strata_model::TxMode;
use strata_sql::EngineKind;

/// Drizzle: the journal decides which files are migrations and in what
/// order; a `.sql` file missing from it is reported and never run.
/// Statements are separated by `--> statement-breakpoint` comments, which
/// the splitter treats as the comments they are.
pub struct DrizzleFormat;

impl Format for DrizzleFormat {
    fn name(&self) -> &'static str {
        "drizzle"
    }

    fn detect(&self, dir: &DirView) -> Option<Evidence> {
        journal::path(dir.dir).is_file().then(|| Evidence::Certain {
            engine: journal::read(dir.dir)
                .and_then(|j| j.dialect)
                .and_then(|d| EngineKind::parse(&d)),
        })
    }

    fn history(&self) -> Option<&dyn ToolHistory> {
        Some(&history::DrizzleHistory)
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let journal_path = journal::path(&source.path);
        let text = read_text(&journal_path).map_err(|mut d| {
            d.help = "drizzle-kit writes meta/_journal.json beside the migrations; point `path` at drizzle's `out` directory".into();
            vec![d]
        })?;
        let journal = journal::parse(&text).map_err(|e| {
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
            match read_body(&sql) {
                Ok(up) => migrations.push(
                    Parts {
                        version,
                        name,
                        up,
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
