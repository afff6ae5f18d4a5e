//! Layouts where up and down live in separate files: golang-migrate
//! (`<N>_<title>.up.sql` / `.down.sql`, each file sent as one command) and
//! Diesel (`<version>_<name>/up.sql` + `down.sql`, optional
//! `metadata.toml` with `run_in_transaction`).

use crate::common::{Parts, body, finish, problem, version_and_name};
use crate::{Diagnostic, Format, Found, SourceSpec, files_sorted, read_text};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use strata_model::{Body, TxMode, Version, normalize_text};

fn read_body(path: &Path) -> Result<Body, Diagnostic> {
    read_text(path).map(|t| body(normalize_text(&t).into_owned(), 1, path))
}

/// golang-migrate: versions are often unpadded numbers (10 after 9); a
/// file is sent as one command, so a file holding one `CREATE INDEX
/// CONCURRENTLY` works. Files that do not parse are skipped with a warning,
/// as golang-migrate skips them.
pub struct GolangMigrateFormat;

impl Format for GolangMigrateFormat {
    fn name(&self) -> &'static str {
        "golang-migrate"
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

/// Diesel: one directory per migration; `up.sql` runs in a transaction
/// unless `metadata.toml` says `run_in_transaction = false`.
pub struct DieselFormat;

#[derive(serde::Deserialize)]
struct DieselMetadata {
    #[serde(default = "yes")]
    run_in_transaction: bool,
}

fn yes() -> bool {
    true
}

impl Format for DieselFormat {
    fn name(&self) -> &'static str {
        "diesel"
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut migrations = Vec::new();
        for dir in crate::dirs_sorted(source)? {
            let Some(dir_name) = dir.file_name().and_then(|n| n.to_str()).map(str::to_string)
            else {
                continue;
            };
            let up = dir.join("up.sql");
            if !up.is_file() {
                warnings.push(problem(
                    &dir,
                    0,
                    "skipped: the directory has no up.sql",
                    "add up.sql (and down.sql) to make it a migration",
                ));
                continue;
            }
            // Diesel versions are digits, often with dashes: 2024-01-01-120000.
            let Some((version, name)) = version_and_name(&dir_name, &['-']) else {
                problems.push(problem(&dir, 0, "the directory name is not `<version>_<name>`", "rename it as `diesel migration generate` would, e.g. 2024-01-01-120000_create_users"));
                continue;
            };
            let metadata = dir.join("metadata.toml");
            let in_transaction = if metadata.is_file() {
                let text = match read_text(&metadata) {
                    Ok(t) => t,
                    Err(d) => {
                        problems.push(d);
                        continue;
                    }
                };
                match toml::from_str::<DieselMetadata>(&text) {
                    Ok(m) => m.run_in_transaction,
                    Err(e) => {
                        let line = e
                            .span()
                            .map_or(0, |s| crate::common::line_of(&text, s.start));
                        problems.push(problem(
                            &metadata,
                            line,
                            format!("not valid metadata: {}", e.message()),
                            "write `run_in_transaction = false` or remove the file",
                        ));
                        continue;
                    }
                }
            } else {
                true
            };
            let down = dir.join("down.sql");
            match (
                read_body(&up),
                down.is_file().then(|| read_body(&down)).transpose(),
            ) {
                (Ok(up_body), Ok(down_body)) => migrations.push(
                    Parts {
                        version,
                        name,
                        up: up_body,
                        down: down_body,
                        tx_mode: TxMode::unless(!in_transaction),
                        unsupported: None,
                        path: dir,
                    }
                    .build(source),
                ),
                (Err(e), _) | (_, Err(e)) => problems.push(e),
            }
        }
        finish(migrations, problems, warnings)
    }
}
