//! Layouts where each file is one migration, its whole text the up body:
//! Supabase (`supabase/migrations/<timestamp>_<name>.sql`) and sqlx
//! (`<version>_<name>.sql`, or reversible `.up.sql` + `.down.sql`, with
//! `-- no-transaction` as the first line to run outside a transaction).

use crate::common::{Parts, body, finish, problem, sql_files, version_and_name};
use crate::{Diagnostic, Format, Found, SourceSpec, files_sorted, read_text};
use std::collections::BTreeMap;
use std::path::PathBuf;
use strata_model::{TxMode, normalize_text};

/// Supabase: the whole file is up, there is no down, each file runs in a
/// transaction. Like the Supabase CLI, a `.sql` file whose name does not
/// start with a timestamp is skipped, with a warning.
pub struct SupabaseFormat;

impl Format for SupabaseFormat {
    fn name(&self) -> &'static str {
        "supabase"
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let mut migrations = Vec::new();
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        for (path, stem) in sql_files(source)? {
            let Some((version, name)) = version_and_name(&stem, &[]) else {
                warnings.push(problem(
                    &path,
                    0,
                    "skipped: the name is not `<timestamp>_<name>.sql`, so the Supabase CLI does not run it either",
                    "rename it (e.g. 20240101120000_add_users.sql) to make it a migration",
                ));
                continue;
            };
            match read_text(&path) {
                Ok(text) => migrations.push(
                    Parts {
                        version,
                        name,
                        up: body(normalize_text(&text).into_owned(), 1, &path),
                        down: None,
                        tx_mode: TxMode::Transaction,
                        unsupported: None,
                        path,
                    }
                    .build(source),
                ),
                Err(d) => problems.push(d),
            }
        }
        finish(migrations, problems, warnings)
    }
}

/// sqlx: simple `<version>_<desc>.sql` files or reversible pairs, not both
/// in one directory (sqlx refuses that too).
pub struct SqlxFormat;

const SQLX_NO_TX: &str = "-- no-transaction";

impl Format for SqlxFormat {
    fn name(&self) -> &'static str {
        "sqlx"
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
            let read = |p: &PathBuf| read_text(p).map(|t| normalize_text(&t).into_owned());
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
