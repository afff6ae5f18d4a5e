//! Script migrations: `<version>_<name>.<ext>` files that are programs, not
//! SQL: executables (run with the action as their first argument) and
//! Python modules defining `run_migration()` and optionally
//! `rollback_migration()` and `verify_migration()`. What a script offers is
//! found by reading it, never by running it: an executable is asked to do
//! `down` or `verify` only when it says it handles them, in a comment line
//! such as `# strata: handles up down verify`; otherwise it runs for up
//! only (a setup or maintenance script must not be run again as a "down").

use crate::common::{
    Manifest, directive, finish, problem, read_normalized, script_migration, script_version,
    version_and_name,
};
use crate::formats::{DirView, Evidence, Format, NewMigration, Scaffold, name};
use crate::{Diagnostic, Found, SourceSpec, files_sorted};
use std::path::Path;

pub struct ScriptFormat;

/// Which of `run_migration`, `rollback_migration`, `verify_migration` a
/// Python file defines (at any indentation of a `def` line).
pub fn python_functions(text: &str) -> [bool; 3] {
    let defines = |name: &str| {
        text.lines()
            .any(|l| l.trim_start().starts_with(&format!("def {name}(")))
    };
    [
        defines("run_migration"),
        defines("rollback_migration"),
        defines("verify_migration"),
    ]
}

/// The actions a `strata: handles ...` comment in the first lines of
/// `text` declares (`[up, down, verify]`, up always), or the line and word
/// it cannot read.
pub fn declared_actions(text: &str) -> Result<Option<[bool; 3]>, (usize, String)> {
    for (index, line) in text.lines().take(30).enumerate() {
        let Some(words) = directive(line).and_then(|d| d.strip_prefix("handles")) else {
            continue;
        };
        let mut actions = [true, false, false];
        for word in words.split([' ', ',', '\t']).filter(|w| !w.is_empty()) {
            match word {
                "up" | "dry-run" => {}
                "down" => actions[1] = true,
                "verify" => actions[2] = true,
                other => return Err((index + 1, other.to_string())),
            }
        }
        return Ok(Some(actions));
    }
    Ok(None)
}

/// Whether a script takes part in `--dry-run` (applying): a Python module
/// whose `run_migration` takes a `dry_run` argument, or a script whose
/// `strata: handles` comment names `dry-run` (it then gets `dry-run` as its
/// first argument and must change nothing).
pub fn dry_runnable(text: &str) -> bool {
    let module = text
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with("def run_migration("));
    match module {
        Some(def) => def.contains("dry_run"),
        None => text.lines().take(30).any(|l| {
            directive(l)
                .and_then(|d| d.strip_prefix("handles"))
                .is_some_and(|w| w.split([' ', ',', '\t']).any(|w| w == "dry-run"))
        }),
    }
}

/// Extensions strata knows how to run.
const RUNNABLE: &[&str] = &["sh", "bash", "py", "js", "mjs", "rb", "pl"];

#[cfg(unix)]
fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn executable(_: &Path) -> bool {
    false
}

/// Whether `path` is a script strata can run (by extension, `#!` line or
/// executable bit), not a Python migration module nor a document.
pub(crate) fn is_script(path: &Path, text: &str) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let module = ext == "py" && python_functions(text)[0];
    !module && (RUNNABLE.contains(&ext) || text.starts_with("#!") || executable(path))
}

/// Folder names that say their scripts change the database as part of a
/// deployment or migration (and are not, say, a repository's dev tools).
const SCRIPT_FOLDERS: &[&str] = &["deploy", "migrat", "setup"];

impl Format for ScriptFormat {
    fn name(&self) -> &'static str {
        "script"
    }

    fn scaffold(&self, new: &NewMigration) -> Result<Scaffold, String> {
        let text = format!(
            "#!/bin/sh\n# {}\n# strata: handles up\n# (add `down` and `verify` above when it handles them as its first argument)\nset -eu\n\n",
            new.words()
        );
        crate::common::named_or_versioned(new, "sh", text)
    }

    fn has_named_migrations(&self) -> bool {
        true
    }

    fn detect(&self, dir: &DirView) -> Option<Evidence> {
        let named = name(dir.dir).to_ascii_lowercase();
        if !SCRIPT_FOLDERS.iter().any(|f| named.contains(f)) || !dir.sql.is_empty() {
            return None;
        }
        let scripts = dir
            .entries
            .iter()
            .filter(|p| p.is_file() && !name(p).starts_with(['.', '_']))
            .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| is_script(p, &t)))
            .count();
        (scripts > 0).then_some(Evidence::Certain { engine: None })
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let manifest = Manifest::read(source)?;
        let mut files = Vec::new();
        let mut migrations = Vec::new();
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        for path in files_sorted(source)? {
            let Some(file) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            if file.starts_with('.') || file.ends_with(".md") || file.ends_with(".txt") {
                continue;
            }
            let (stem, ext) = match file.rsplit_once('.') {
                Some((s, e)) => (s, e),
                None => (file.as_str(), ""),
            };
            files.push(stem.to_string());
            // Without an order, a file without a version is not one of the
            // migrations; with one, it must be in it.
            let placed = match (&manifest, version_and_name(stem, &[])) {
                (None, None) => {
                    warnings.push(problem(
                        &path,
                        0,
                        "skipped: the name is not `<version>_<name>.<ext>`",
                        "rename it, or list the folder's scripts in an ORDER file",
                    ));
                    continue;
                }
                (None, Some(versioned)) => Ok(versioned),
                (Some(m), _) => script_version(&path, &file, stem, Some(m)),
            };
            let placed = match placed {
                Ok(v) => v,
                Err(d) => {
                    problems.push(d);
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
            let runnable = RUNNABLE.contains(&ext) || text.starts_with("#!") || executable(&path);
            if !runnable {
                problems.push(problem(&path, 0, "strata cannot tell how to run this file", "make it executable (chmod +x), start it with a #! line, or use a .sh/.py/.js extension"));
                continue;
            }
            // A Python module says which actions it has by its functions;
            // an executable by a `strata: handles` comment, else up only.
            let [up, down, verify] = match declared_actions(&text) {
                _ if ext == "py" && python_functions(&text)[0] => python_functions(&text),
                Ok(Some(actions)) => actions,
                Ok(None) => [true, false, false],
                Err((line, word)) => {
                    problems.push(problem(
                        &path,
                        line,
                        format!("`strata: handles` names `{word}`, which is not an action"),
                        "list the actions the script handles as its first argument: up, down, verify",
                    ));
                    continue;
                }
            };
            debug_assert!(up);
            let description = if ext == "py" {
                super::docstring(&text)
            } else {
                crate::tasks::first_comment(&text)
            };
            match script_migration(source, path, text, placed, [down, verify], description) {
                Ok(m) => migrations.push(m),
                Err(d) => problems.push(d),
            }
        }
        if let Some(m) = &manifest {
            problems.extend(m.unmatched(&files));
        }
        finish(migrations, problems, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_declared_in_a_comment() {
        assert_eq!(declared_actions("#!/bin/sh\necho hi\n"), Ok(None));
        assert_eq!(
            declared_actions("#!/bin/sh\n# strata: handles up down\n"),
            Ok(Some([true, true, false]))
        );
        assert_eq!(
            declared_actions("// strata: handles down, verify\n"),
            Ok(Some([true, true, true]))
        );
        assert_eq!(
            declared_actions("#!/bin/sh\n\n# strata: handles up rollback\n"),
            Err((3, "rollback".into()))
        );
    }
}
