//! sqlx: `<version>_<name>.sql` files, or reversible `.up.sql` +
//! `.down.sql` pairs, with `-- no-transaction` as the first line to run
//! outside a transaction.

mod history;

use crate::common::{Parts, body, finish, problem, read_normalized, version_and_name};
use crate::formats::{DirView, Evidence, Format, NewMigration, Scaffold, ToolHistory, versioned};
use crate::{Diagnostic, Found, SourceSpec, files_sorted};
use std::collections::BTreeMap;
use std::path::PathBuf;
use strata_model::TxMode;

/// sqlx: simple `<version>_<desc>.sql` files or reversible pairs, not both
/// in one directory (sqlx refuses that too).
pub struct SqlxFormat;

const SQLX_NO_TX: &str = "-- no-transaction";

impl Format for SqlxFormat {
    fn name(&self) -> &'static str {
        "sqlx"
    }

    fn scaffold(&self, new: &NewMigration) -> Result<Scaffold, String> {
        let base = format!("{}_{}", new.stamp(), new.slug);
        let reversible = std::fs::read_dir(&new.source.path)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".up.sql"));
        let Some(sql) = &new.sql else {
            return Ok(if reversible {
                Scaffold {
                    files: vec![
                        (
                            format!("{base}.up.sql").into(),
                            format!("-- {}\n", new.words()),
                        ),
                        (format!("{base}.down.sql").into(), String::new()),
                    ],
                    note: None,
                }
            } else {
                Scaffold::file(format!("{base}.sql"), format!("-- {}\n", new.words()))
            });
        };
        // sqlx reads the directive on the first line only.
        let directive = if sql.transaction {
            String::new()
        } else {
            format!("{SQLX_NO_TX}\n")
        };
        let up = format!("{directive}-- {}\n{}\n", new.words(), sql.up.trim_end());
        let simple = !reversible
            && std::fs::read_dir(&new.source.path)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".sql"));
        Ok(match sql.down {
            Some(down) if !simple => Scaffold {
                files: vec![
                    (format!("{base}.up.sql").into(), up),
                    (
                        format!("{base}.down.sql").into(),
                        format!("{directive}{}\n", down.trim_end()),
                    ),
                ],
                note: None,
            },
            _ => Scaffold {
                files: vec![(format!("{base}.sql").into(), up)],
                note: sql.down.map(|_| "this sqlx source's migrations are single files, without downs: the down strata generated was not written".to_string()),
            },
        })
    }

    /// Plain versioned files or up/down pairs, in a repository whose
    /// Cargo.toml names sqlx. Pairs are golang-migrate's too: `sqlx
    /// migrate add -r` names them with timestamps, golang-migrate often
    /// with small numbers, so a go.mod naming golang-migrate wins unless
    /// every version is a timestamp.
    fn detect(&self, dir: &DirView) -> Option<Evidence> {
        let timestamps = dir
            .sql_names()
            .filter(|n| versioned(n))
            .all(|n| n.split('_').next().is_some_and(|v| v.len() == 14));
        let ours = dir.hints.sqlx && (!dir.pairs() || timestamps || !dir.hints.golang_migrate);
        (dir.versioned() > 0 && ours).then_some(Evidence::Likely { note: None })
    }

    fn history(&self) -> Option<&dyn ToolHistory> {
        Some(&history::SqlxHistory)
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        // version -> (name, simple or up file, down file)
        let mut files: BTreeMap<String, (Option<PathBuf>, Option<PathBuf>, bool)> = BTreeMap::new();
        let (mut simple, mut reversible) = (None, None);
        for path in files_sorted(source)? {
            let Some(file) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            if !file.ends_with(".sql") {
                continue;
            }
            let (stem, role) = if let Some(s) = file.strip_suffix(".up.sql") {
                (s, "up")
            } else if let Some(s) = file.strip_suffix(".down.sql") {
                (s, "down")
            } else {
                (file.strip_suffix(".sql").unwrap_or(&file), "simple")
            };
            if version_and_name(stem, &[]).is_none() {
                problems.push(problem(
                    &path,
                    0,
                    "the name is not `<version>_<description>.sql`",
                    "rename it (version = digits), as sqlx requires",
                ));
                continue;
            }
            if role == "simple" {
                simple.get_or_insert(path.clone());
            } else {
                reversible.get_or_insert(path.clone());
            }
            let entry = files.entry(stem.to_string()).or_default();
            match role {
                "down" => entry.1 = Some(path),
                _ => {
                    entry.0 = Some(path);
                    entry.2 = role == "simple";
                }
            }
        }
        if let (Some(s), Some(r)) = (&simple, &reversible) {
            problems.push(problem(
                s,
                0,
                format!("simple and reversible migrations are mixed (also {})", r.display()),
                "sqlx refuses a directory that mixes `<v>_<d>.sql` and `.up.sql`/`.down.sql`; use one kind",
            ));
        }
        let mut migrations = Vec::new();
        for (stem, (up, down, _)) in files {
            let (version, name) = version_and_name(&stem, &[]).expect("checked above");
            let Some(up) = up else {
                let down = down.expect("an entry has a file");
                problems.push(problem(
                    &down,
                    0,
                    "a down file without its up file",
                    "add the .up.sql file beside it, or delete it",
                ));
                continue;
            };
            let read = |p: &PathBuf| read_normalized(p);
            let (up_text, down_text) = match (read(&up), down.as_ref().map(read).transpose()) {
                (Ok(u), Ok(d)) => (u, d),
                (Err(e), _) | (_, Err(e)) => {
                    problems.push(e);
                    continue;
                }
            };
            // The up file decides how the migration runs.
            let no_tx = up_text.trim_start().starts_with(SQLX_NO_TX);
            migrations.push(
                Parts {
                    version,
                    name,
                    down: down_text.zip(down.as_ref()).map(|(t, p)| body(t, 1, p)),
                    up: body(up_text, 1, &up),
                    tx_mode: TxMode::unless(no_tx),
                    unsupported: None,
                    path: up,
                }
                .build(source),
            );
        }
        finish(migrations, problems, Vec::new())
    }
}
