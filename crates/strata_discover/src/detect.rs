//! Recognises migration directories by their shape, for `strata init`:
//! walks a repository (respecting .gitignore) and says which directory
//! holds which tool's migrations, and which look like migrations but match
//! no layout strata reads.

use std::fs;
use std::path::{Path, PathBuf};

/// A directory recognised as one format's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// Relative to the scanned root.
    pub path: PathBuf,
    pub format: &'static str,
    /// The engine the layout says it targets (Prisma's provider, Drizzle's
    /// dialect), normalised to `postgres`, `sqlite` or `mysql`.
    pub engine: Option<String>,
    /// When the layout fits more than one tool and nothing in the
    /// repository says which: the choice made and how to change it.
    pub note: Option<String>,
}

/// A directory that looks like migrations but matches no layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unclassified {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub detected: Vec<Detected>,
    pub unclassified: Vec<Unclassified>,
}

/// What the repository says about the tools it uses.
#[derive(Default)]
struct Hints {
    /// A Cargo.toml names sqlx.
    sqlx: bool,
    /// A go.mod names golang-migrate.
    golang_migrate: bool,
}

/// Normalises an engine name from a tool's configuration.
pub fn engine_name(raw: &str) -> Option<String> {
    strata_sql::EngineKind::parse(raw).map(|k| k.name().to_string())
}

/// The engine a directory's name says its migrations are for, as in
/// Flyway's `db/migration/mysql` or a goose `migrations/postgres` folder
/// beside a `migrations/mysql` one (the nearest such name wins).
fn engine_in_path(rel: &Path) -> Option<String> {
    rel.components()
        .rev()
        .filter_map(|c| c.as_os_str().to_str())
        .find_map(engine_name)
}

pub fn scan(root: &Path) -> Scan {
    let mut hints = Hints::default();
    let mut dirs = Vec::new();
    for entry in ignore::WalkBuilder::new(root)
        .require_git(false)
        .build()
        .flatten()
    {
        let path = entry.path();
        if entry.file_type().is_some_and(|t| t.is_dir()) {
            dirs.push(path.to_path_buf());
        } else if path.file_name().is_some_and(|n| n == "Cargo.toml") {
            hints.sqlx |= fs::read_to_string(path).is_ok_and(|t| t.contains("sqlx"));
        } else if path.file_name().is_some_and(|n| n == "go.mod") {
            hints.golang_migrate |=
                fs::read_to_string(path).is_ok_and(|t| t.contains("golang-migrate"));
        }
    }
    dirs.sort();
    let mut scan = Scan::default();
    let mut taken: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        if taken.iter().any(|t| dir.starts_with(t)) {
            continue;
        }
        let rel = dir.strip_prefix(root).unwrap_or(&dir).to_path_buf();
        match classify(&dir, &hints) {
            Ok(Some((format, engine))) => {
                taken.push(dir.clone());
                let engine = engine.or_else(|| engine_in_path(&rel));
                // sqlx and golang-migrate write the same up/down pairs.
                let note = (format == "golang-migrate" && !hints.golang_migrate).then(|| {
                    "`.up.sql`/`.down.sql` pairs are both golang-migrate's and sqlx's layout, and no go.mod or Cargo.toml says which: read as golang-migrate (each file one command, outside strata's transaction); if sqlx writes them, set format = \"sqlx\" (a transaction each)".to_string()
                });
                scan.detected.push(Detected {
                    path: rel,
                    format,
                    engine,
                    note,
                });
            }
            Ok(None) => {}
            Err(reason) => {
                taken.push(dir.clone());
                scan.unclassified.push(Unclassified { path: rel, reason });
            }
        }
    }
    scan
}

fn children(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or_default()
}

fn versioned(file_name: &str) -> bool {
    file_name
        .split_once('_')
        .is_some_and(|(v, _)| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '-'))
}

/// `Ok(Some(format))` for a migration directory, `Ok(None)` for any other
/// directory, `Err(why)` for one that looks like migrations but fits none.
fn classify(dir: &Path, hints: &Hints) -> Result<Option<(&'static str, Option<String>)>, String> {
    let journal = dir.join("meta").join("_journal.json");
    if journal.is_file() {
        let dialect = fs::read_to_string(&journal).ok().and_then(|t| {
            serde_json::from_str::<serde_json::Value>(&t)
                .ok()?
                .get("dialect")?
                .as_str()
                .and_then(engine_name)
        });
        return Ok(Some(("drizzle", dialect)));
    }
    let entries = children(dir);
    let subdirs: Vec<&PathBuf> = entries.iter().filter(|p| p.is_dir()).collect();
    if dir.join("migration_lock.toml").is_file()
        || subdirs
            .iter()
            .any(|d| d.join("migration.sql").is_file() && versioned(name(d)))
    {
        let provider = crate::prisma_provider(dir).and_then(|p| engine_name(&p));
        return Ok(Some(("prisma", provider)));
    }
    if subdirs
        .iter()
        .any(|d| d.join("up.sql").is_file() && versioned(name(d)))
    {
        return Ok(Some(("diesel", None)));
    }
    let sql: Vec<&PathBuf> = entries
        .iter()
        .filter(|p| p.is_file() && name(p).ends_with(".sql"))
        .collect();
    let go_goose = entries.iter().any(|p| {
        name(p).ends_with(".go")
            && versioned(name(p))
            && fs::read_to_string(p).is_ok_and(|t| t.contains("goose"))
    });
    if sql.is_empty() && !go_goose {
        return Ok(None);
    }
    let texts: Vec<String> = sql
        .iter()
        .filter_map(|p| fs::read_to_string(p).ok())
        .collect();
    let any_line = |marker: &str| {
        texts
            .iter()
            .any(|t| t.lines().any(|l| l.trim_start().starts_with(marker)))
    };
    if go_goose || any_line("-- +goose") {
        return Ok(Some(("goose", None)));
    }
    if any_line("-- migrate:up") {
        return Ok(Some(("dbmate", None)));
    }
    if any_line("-- strata:") {
        return Ok(Some(("strata", None)));
    }
    let names: Vec<&str> = sql.iter().map(|p| name(p)).collect();
    if names.iter().any(|n| n.starts_with('V') && n.contains("__"))
        || names.iter().any(|n| n.starts_with("R__"))
    {
        return Ok(Some(("flyway", None)));
    }
    let versioned_count = names.iter().filter(|n| versioned(n)).count();
    if versioned_count == 0 {
        let looks_like = name(dir).to_ascii_lowercase().contains("migrat");
        return if looks_like {
            Err(format!(
                "{} .sql files, none named `<version>_<name>.sql`",
                names.len()
            ))
        } else {
            Ok(None)
        };
    }
    if names.iter().any(|n| n.ends_with(".up.sql")) {
        // Both tools write up/down pairs; `sqlx migrate add -r` names them
        // with timestamps, golang-migrate often with small numbers.
        let timestamps = names
            .iter()
            .filter(|n| versioned(n))
            .all(|n| n.split('_').next().is_some_and(|v| v.len() == 14));
        let sqlx = hints.sqlx && (timestamps || !hints.golang_migrate);
        return Ok(Some((if sqlx { "sqlx" } else { "golang-migrate" }, None)));
    }
    if dir.ends_with("supabase/migrations") {
        return Ok(Some(("supabase", Some("postgres".into()))));
    }
    Ok(Some((if hints.sqlx { "sqlx" } else { "strata" }, None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_folder_is_recognised() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let scan = scan(&root);
        let found: Vec<(String, &str)> = scan
            .detected
            .iter()
            .map(|d| (d.path.display().to_string(), d.format))
            .collect();
        let expected = [
            ("dbmate", "dbmate"),
            ("diesel", "diesel"),
            ("drizzle", "drizzle"),
            ("flyway", "flyway"),
            ("golang_migrate", "golang-migrate"),
            ("goose", "goose"),
            ("prisma", "prisma"),
            ("sqlx", "strata"),
            ("sqlx_reversible", "golang-migrate"),
            ("supabase", "strata"),
        ];
        let expected: Vec<(String, &str)> =
            expected.iter().map(|(p, f)| (p.to_string(), *f)).collect();
        assert_eq!(
            found, expected,
            "without hints, plain numbered files are strata's and pairs golang-migrate's"
        );
        let prisma = scan.detected.iter().find(|d| d.format == "prisma").unwrap();
        assert_eq!(prisma.engine.as_deref(), Some("postgres"));
        let drizzle = scan
            .detected
            .iter()
            .find(|d| d.format == "drizzle")
            .unwrap();
        assert_eq!(drizzle.engine.as_deref(), Some("postgres"));
    }

    #[test]
    fn folders_named_for_an_engine_say_which() {
        let root = std::env::temp_dir().join(format!("strata_detect_{}", std::process::id()));
        for (dir, file) in [
            ("db/migration/mysql", "V1__init.sql"),
            ("db/migration/postgres", "V1__init.sql"),
            ("goose/mysql", "00001_init.sql"),
        ] {
            fs::create_dir_all(root.join(dir)).unwrap();
            let text = if dir.starts_with("goose") {
                "-- +goose Up\nCREATE TABLE a (id int);\n"
            } else {
                "CREATE TABLE a (id int);\n"
            };
            fs::write(root.join(dir).join(file), text).unwrap();
        }
        let found: Vec<(String, &str, Option<String>)> = scan(&root)
            .detected
            .into_iter()
            .map(|d| (d.path.display().to_string(), d.format, d.engine))
            .collect();
        let _ = fs::remove_dir_all(&root);
        assert_eq!(
            found,
            vec![
                ("db/migration/mysql".into(), "flyway", Some("mysql".into())),
                (
                    "db/migration/postgres".into(),
                    "flyway",
                    Some("postgres".into())
                ),
                ("goose/mysql".into(), "goose", Some("mysql".into())),
            ]
        );
    }
}
