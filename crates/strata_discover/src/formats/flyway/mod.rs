//! Flyway: `V<version>__<description>.sql` (versions compare part by part:
//! `1_10` after `1_9`, `1.2.10` after `1.2.9`), `U<version>__` undo files
//! (the down of that version), `R__<description>.sql` repeatables (run after
//! the versioned ones, again whenever they change) and `B<version>__`
//! baselines (on an empty database, they stand in for every versioned
//! migration up to their version). Like Flyway, a script holding a
//! statement that cannot run in a transaction runs outside one.

mod history;

use crate::common::{body, finish, problem, read_normalized, sql_files};
use crate::formats::{DirView, Evidence, Format, NewMigration, Scaffold, ToolHistory};
use crate::{Diagnostic, Found, SourceSpec};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use strata_model::{Migration, MigrationId, MigrationKind, TxMode, Version};

pub struct FlywayFormat;

enum Kind {
    Versioned,
    Undo,
    Repeatable,
    Baseline,
}

/// `V1.2__add_users` -> (Versioned, "1.2", "add_users").
fn parse_name(stem: &str) -> Option<(Kind, &str, &str)> {
    let (head, description) = stem.split_once("__")?;
    let kind = match head.chars().next()? {
        'V' => Kind::Versioned,
        'U' => Kind::Undo,
        'R' => Kind::Repeatable,
        'B' => Kind::Baseline,
        _ => return None,
    };
    Some((kind, &head[1..], description))
}

/// The transaction mode Flyway would use for `text`, and a warning when the
/// script mixes statements that can and cannot run in a transaction.
fn mode(path: &Path, text: &str) -> (TxMode, Option<Diagnostic>) {
    let statements = strata_sql::split(text, strata_sql::Dialect::Postgres);
    let outside: Vec<_> = statements
        .iter()
        .filter(|st| strata_sql::cannot_run_in_transaction(st, text))
        .collect();
    match outside.first() {
        None => (TxMode::Transaction, None),
        Some(first) => {
            let warning = (outside.len() < statements.len()).then(|| {
                problem(
                    path,
                    1 + first.line_in(text),
                    "this statement cannot run in a transaction, so the whole script runs outside one",
                    "Flyway refuses such a mixed script unless `mixed` is on; move the statement into a migration of its own",
                )
            });
            (TxMode::NoTransaction, warning)
        }
    }
}

impl Format for FlywayFormat {
    fn name(&self) -> &'static str {
        "flyway"
    }

    fn scaffold(&self, new: &NewMigration) -> Result<Scaffold, String> {
        let next = match new.version {
            Some(version) => version.to_string(),
            None => next_flyway_version(new),
        };
        let mut scaffold = Scaffold::file(
            format!("V{next}__{}.sql", new.slug),
            format!("-- {}\n", new.words()),
        );
        if let Some(sql) = &new.sql {
            // Flyway itself runs a migration with CREATE INDEX
            // CONCURRENTLY outside a transaction.
            scaffold.files[0]
                .1
                .push_str(&format!("{}\n", sql.up.trim_end()));
            scaffold.note = sql.down_dropped("flyway");
        }
        Ok(scaffold)
    }

    fn detect(&self, dir: &DirView) -> Option<Evidence> {
        dir.sql_names()
            .any(|n| (n.starts_with('V') && n.contains("__")) || n.starts_with("R__"))
            .then_some(Evidence::Certain { engine: None })
    }

    fn history(&self) -> Option<&dyn ToolHistory> {
        Some(&history::FlywayHistory)
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut migrations = Vec::new();
        let mut undo: BTreeMap<Version, (PathBuf, String)> = BTreeMap::new();
        for (path, stem) in sql_files(source)? {
            let Some((kind, number, description)) = parse_name(&stem) else {
                warnings.push(problem(
                    &path,
                    0,
                    "skipped: not V<version>__, U<version>__, R__ or B<version>__",
                    "rename it to make it a Flyway migration",
                ));
                continue;
            };
            let version = match kind {
                Kind::Repeatable if number.is_empty() => Ok(Version::repeatable(description)),
                Kind::Repeatable => {
                    problems.push(problem(
                        &path,
                        0,
                        "a repeatable migration has no version",
                        "name it R__<description>.sql",
                    ));
                    continue;
                }
                Kind::Baseline => Version::baseline(number),
                Kind::Versioned | Kind::Undo => Version::parse_with_separators(number, &['.', '_']),
            };
            let version = match version {
                Ok(v) => v,
                Err(e) => {
                    problems.push(problem(
                        &path,
                        0,
                        e.to_string(),
                        "write the version as digits separated by . or _ (V1.2__name.sql)",
                    ));
                    continue;
                }
            };
            let text = match read_normalized(&path) {
                Ok(t) => t,
                Err(d) => {
                    problems.push(d);
                    continue;
                }
            };
            if let Kind::Undo = kind {
                undo.insert(version, (path, text));
                continue;
            }
            let (tx_mode, warning) = mode(&path, &text);
            warnings.extend(warning);
            migrations.push(Migration {
                id: MigrationId::new(source.name.clone(), version),
                name: description.to_string(),
                kind: match kind {
                    Kind::Repeatable => MigrationKind::Repeatable,
                    Kind::Baseline => MigrationKind::Baseline,
                    _ => MigrationKind::Versioned,
                },
                checksum: crate::common::checksum(&text, tx_mode),
                up: body(text, 1, &path),
                down: None,
                verify: None,
                tx_mode,
                unsupported: None,
                requires: Vec::new(),
                description: None,
                path,
            });
        }
        // Flyway also reads subdirectories; strata reads one level.
        for dir in crate::dirs_sorted(source)? {
            warnings.push(problem(
                &dir,
                0,
                "a subdirectory of a Flyway location: strata does not read its files",
                "add it as a [[source]] of its own (format = \"flyway\"), or move its files up",
            ));
        }
        for (version, (path, text)) in undo {
            match migrations
                .iter_mut()
                .find(|m| m.id.version == version && m.kind == MigrationKind::Versioned)
            {
                Some(m) => m.down = Some(body(text, 1, &path)),
                None => problems.push(problem(
                    &path,
                    0,
                    format!("an undo file for version {version}, which has no V file"),
                    "add the V file or delete the undo file",
                )),
            }
        }
        finish(migrations, problems, warnings)
    }
}

/// One more than the highest `V` version in the folder.
fn next_flyway_version(new: &NewMigration) -> String {
    let highest = std::fs::read_dir(&new.source.path)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version = name.strip_prefix('V')?.split("__").next()?.to_string();
            version.split(['.', '_']).next()?.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0);
    (highest + 1).to_string()
}
