//! Recognises migration directories by their shape, for `strata init`:
//! walks a repository (respecting .gitignore) and says which directory
//! holds which tool's migrations, and which look like migrations but match
//! no layout strata reads.

use crate::formats::{self, DirView, Evidence, Hints, name};
use std::fs;
use std::path::{Path, PathBuf};
use strata_sql::EngineKind;

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
    /// A folder of maintenance scripts (`kind = "task"`), run by name.
    pub task: bool,
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

/// The engine a directory's name says its migrations are for, as in
/// Flyway's `db/migration/mysql` or a goose `migrations/postgres` folder
/// beside a `migrations/mysql` one (the nearest such name wins).
fn engine_in_path(rel: &Path) -> Option<String> {
    rel.components()
        .rev()
        .filter_map(|c| c.as_os_str().to_str())
        .find_map(|c| EngineKind::parse(c).map(|k| k.name().to_string()))
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
        if let Some(modules) = task_folder(&dir) {
            taken.push(dir.clone());
            let found = |format, task| Detected {
                path: rel.clone(),
                format,
                engine: None,
                note: None,
                task,
            };
            scan.detected.push(found("script", true));
            // One-off fixes written as migration modules stay migrations.
            if modules {
                scan.detected.push(found("python", false));
            }
            continue;
        }
        match classify(&dir, &hints) {
            Ok(Some((format, engine, note))) => {
                taken.push(dir.clone());
                let engine = engine.or_else(|| engine_in_path(&rel));
                scan.detected.push(Detected {
                    path: rel,
                    format,
                    engine,
                    note,
                    task: false,
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

/// Folder names that hold maintenance scripts (and `scripts/database`,
/// `scripts/db`).
const TASK_FOLDERS: &[&str] = &["maintenance", "tasks", "ops", "admin", "jobs"];

/// Whether `dir` is a folder of maintenance scripts: named so, with at
/// least one script that is not a migration module; `Some(true)` when it
/// also holds migration modules (one-off fixes).
fn task_folder(dir: &Path) -> Option<bool> {
    let named = name(dir).to_ascii_lowercase();
    let parent = dir.parent().map(|p| name(p).to_ascii_lowercase());
    let database_scripts =
        matches!(named.as_str(), "database" | "db") && parent.as_deref() == Some("scripts");
    if !TASK_FOLDERS.contains(&named.as_str()) && !database_scripts {
        return None;
    }
    let (mut scripts, mut modules) = (0, 0);
    for p in children(dir)
        .iter()
        .filter(|p| p.is_file() && !name(p).starts_with(['.', '_']))
    {
        let text = fs::read_to_string(p).unwrap_or_default();
        if name(p).ends_with(".py") && formats::python_functions(&text)[0] {
            modules += 1;
        } else if formats::is_script(p, &text) {
            scripts += 1;
        }
    }
    (scripts > 0).then_some(modules > 0)
}

fn children(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// `Ok(Some((format, engine, note)))` for a migration directory, `Ok(None)`
/// for any other directory, `Err(why)` for one that looks like migrations
/// but fits none. The formats are asked in registry order: the first
/// certain one wins, else (when the files are versioned) the first likely
/// one, else strata's own layout.
fn classify(dir: &Path, hints: &Hints) -> Result<Option<Classified>, String> {
    let entries = children(dir);
    let sql = entries
        .iter()
        .filter(|p| p.is_file() && name(p).ends_with(".sql"))
        .map(|p| {
            (
                name(p).to_string(),
                fs::read_to_string(p).unwrap_or_default(),
            )
        })
        .collect();
    let view = DirView {
        dir,
        entries,
        sql,
        hints,
    };
    let evidence: Vec<(&str, Evidence)> = formats::all()
        .iter()
        .filter_map(|f| Some((f.name(), f.detect(&view)?)))
        .collect();
    if let Some((format, Evidence::Certain { engine })) = evidence
        .iter()
        .find(|(_, e)| matches!(e, Evidence::Certain { .. }))
    {
        return Ok(Some((format, engine.map(|e| e.name().to_string()), None)));
    }
    if view.sql.is_empty() {
        return Ok(None);
    }
    if view.versioned() == 0 {
        let looks_like = name(dir).to_ascii_lowercase().contains("migrat");
        return if looks_like {
            Err(format!(
                "{} .sql files, none named `<version>_<name>.sql`",
                view.sql.len()
            ))
        } else {
            Ok(None)
        };
    }
    Ok(Some(match evidence.into_iter().next() {
        Some((format, Evidence::Likely { note })) => (format, None, note),
        _ => ("strata", None, None),
    }))
}

/// A directory's format, the engine its layout names, and a note when the
/// choice was a guess.
type Classified = (&'static str, Option<String>, Option<String>);

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
            ("python", "python"),
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
