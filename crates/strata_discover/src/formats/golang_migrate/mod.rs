//! golang-migrate: `<N>_<title>.up.sql` / `.down.sql`, each file sent as
//! one command.

mod history;

use crate::common::{Parts, finish, problem, version_and_name};
use crate::formats::{DirView, Evidence, Format, NewMigration, Scaffold, ToolHistory};
use crate::{Diagnostic, Found, SourceSpec, files_sorted};
use std::collections::BTreeMap;
use std::path::PathBuf;
use strata_model::{TxMode, Version};

use crate::common::read_body;

/// golang-migrate: versions are often unpadded numbers (10 after 9); a
/// file is sent as one command, so a file holding one `CREATE INDEX
/// CONCURRENTLY` works. Files that do not parse are skipped with a warning,
/// as golang-migrate skips them.
pub struct GolangMigrateFormat;

impl Format for GolangMigrateFormat {
    fn name(&self) -> &'static str {
        "golang-migrate"
    }

    fn scaffold(&self, new: &NewMigration) -> Result<Scaffold, String> {
        let base = format!("{}_{}", crate::common::next_version(new), new.slug);
        let (up, down) = match &new.sql {
            None => (String::new(), String::new()),
            Some(sql) => {
                sql.in_transaction("golang-migrate")?;
                (
                    format!("{}\n", sql.up.trim_end()),
                    format!("{}\n", sql.down.unwrap_or_default().trim_end()),
                )
            }
        };
        Ok(Scaffold {
            files: vec![
                (format!("{base}.up.sql").into(), up),
                (format!("{base}.down.sql").into(), down),
            ],
            note: None,
        })
    }

    fn detect(&self, dir: &DirView) -> Option<Evidence> {
        // sqlx writes the same pairs; asked before this one.
        (dir.versioned() > 0 && dir.pairs()).then(|| Evidence::Likely {
            note: (!dir.hints.golang_migrate).then(|| {
                "`.up.sql`/`.down.sql` pairs are both golang-migrate's and sqlx's layout, and no go.mod or Cargo.toml says which: read as golang-migrate (each file one command, outside strata's transaction); if sqlx writes them, set format = \"sqlx\" (a transaction each)".to_string()
            }),
        })
    }

    fn history(&self) -> Option<&dyn ToolHistory> {
        Some(&history::GolangMigrateHistory)
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let mut warnings = Vec::new();
        let mut problems = Vec::new();
        // golang-migrate pairs an up and a down by version alone: the
        // titles may differ (the up's names the migration).
        let mut pairs: BTreeMap<Version, Pair> = BTreeMap::new();
        for path in files_sorted(source)? {
            let Some(file) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            let (stem, up) = match (file.strip_suffix(".up.sql"), file.strip_suffix(".down.sql")) {
                (Some(s), _) => (s, true),
                (_, Some(s)) => (s, false),
                _ => {
                    if file.ends_with(".sql") {
                        warnings.push(problem(&path, 0, "skipped: not `<N>_<title>.up.sql` or `.down.sql`, so golang-migrate ignores it too", "rename it to make it a migration"));
                    }
                    continue;
                }
            };
            let Some((version, name)) = version_and_name(stem, &[]) else {
                warnings.push(problem(
                    &path,
                    0,
                    "skipped: the version is not a number",
                    "rename it `<N>_<title>.up.sql`",
                ));
                continue;
            };
            let entry = pairs.entry(version.clone()).or_default();
            let slot = if up { &mut entry.up } else { &mut entry.down };
            if let Some((other, _)) = slot {
                problems.push(problem(
                    &path,
                    0,
                    format!(
                        "version {version} has a second {} file (the first is {}); golang-migrate refuses this too",
                        if up { "up" } else { "down" },
                        other.display()
                    ),
                    "every migration needs its own version; rename or delete one of them",
                ));
                continue;
            }
            *slot = Some((path, name));
        }
        let mut migrations = Vec::new();
        for (version, pair) in pairs {
            let Some((up, name)) = pair.up else {
                let (down, _) = pair.down.expect("an entry has a file");
                problems.push(problem(
                    &down,
                    0,
                    "a down file without its up file",
                    "add the .up.sql file beside it, or delete it",
                ));
                continue;
            };
            let down = pair.down.map(|(path, _)| path);
            match (read_body(&up), down.as_deref().map(read_body).transpose()) {
                (Ok(up_body), Ok(down_body)) => migrations.push(
                    Parts {
                        version,
                        name,
                        up: up_body,
                        down: down_body,
                        tx_mode: TxMode::OneCommand,
                        unsupported: None,
                        path: up,
                    }
                    .build(source),
                ),
                (Err(e), _) | (_, Err(e)) => problems.push(e),
            }
        }
        finish(migrations, problems, warnings)
    }
}

/// The files of one golang-migrate version: path and title of each.
#[derive(Default)]
struct Pair {
    up: Option<(PathBuf, String)>,
    down: Option<(PathBuf, String)>,
}
