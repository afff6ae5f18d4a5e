//! A folder of Python migration modules, as a Python backend keeps them:
//! each migration a module defining `run_migration()` and often
//! `rollback_migration()` and `verify_migration()`, named like
//! `create_stores_table.py` (ordered by the folder's `ORDER` file or
//! `order` in strata.toml) or `<version>_<name>.py`. Modules without
//! `run_migration` (`__init__.py`, `_db.py`, shared helpers) are not
//! migrations, and nor is anything but `.py` files. The first line of a
//! module's docstring describes it.

use crate::common::{Manifest, finish, read_normalized, script_migration, script_version};
use crate::formats::script::python_functions;
use crate::formats::{DirView, Evidence, Format, NewMigration, Scaffold, name};
use crate::{Diagnostic, Found, SourceSpec, files_sorted};

pub struct PythonFormat;

/// The first line of a module's docstring, if it starts with one.
pub fn docstring(text: &str) -> Option<String> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty() || l.starts_with('#'));
    let first = lines.next()?;
    let open = first.trim_start_matches(['r', 'R', 'u', 'U']);
    let quote = ["\"\"\"", "'''", "\"", "'"]
        .into_iter()
        .find(|q| open.starts_with(q))?;
    let rest = &open[quote.len()..];
    let line = if rest.trim().is_empty() {
        lines.next()?
    } else {
        rest
    };
    let line = line.split(quote).next().unwrap_or_default().trim();
    (!line.is_empty()).then(|| line.to_string())
}

/// Whether `text` is a migration module (it defines `run_migration`).
fn is_migration(text: &str) -> bool {
    python_functions(text)[0]
}

impl Format for PythonFormat {
    fn name(&self) -> &'static str {
        "python"
    }

    fn scaffold(&self, new: &NewMigration) -> Result<Scaffold, String> {
        let mut words = new.words();
        if let Some(first) = words.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        let text = format!(
            "\"\"\"{words}.\"\"\"\n\n\ndef run_migration():\n    \"\"\"Make the change.\"\"\"\n    raise NotImplementedError\n\n\ndef rollback_migration():\n    \"\"\"Undo it.\"\"\"\n    raise NotImplementedError\n\n\ndef verify_migration():\n    \"\"\"Return False when the change is not there.\"\"\"\n    return True\n"
        );
        crate::common::named_or_versioned(new, "py", text)
    }

    fn has_named_migrations(&self) -> bool {
        true
    }

    fn detect(&self, dir: &DirView) -> Option<Evidence> {
        let modules = dir
            .entries
            .iter()
            .filter(|p| name(p).ends_with(".py"))
            .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| is_migration(&t)))
            .count();
        (modules > 0).then_some(Evidence::Certain { engine: None })
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let manifest = Manifest::read(source)?;
        let mut migrations = Vec::new();
        let mut problems = Vec::new();
        let mut files = Vec::new();
        for path in files_sorted(source)? {
            let file = name(&path).to_string();
            let Some(stem) = file.strip_suffix(".py").map(str::to_string) else {
                continue;
            };
            let text = match read_normalized(&path) {
                Ok(t) => t,
                Err(d) => {
                    problems.push(d);
                    continue;
                }
            };
            if !is_migration(&text) {
                continue;
            }
            files.push(stem.clone());
            let placed = match script_version(&path, &file, &stem, manifest.as_ref()) {
                Ok(v) => v,
                Err(d) => {
                    problems.push(d);
                    continue;
                }
            };
            let [_, down, verify] = python_functions(&text);
            let description = docstring(&text);
            match script_migration(source, path, text, placed, [down, verify], description) {
                Ok(m) => migrations.push(m),
                Err(d) => problems.push(d),
            }
        }
        if let Some(m) = &manifest {
            problems.extend(m.unmatched(&files));
        }
        finish(migrations, problems, Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docstring_first_line_describes_the_module() {
        assert_eq!(
            docstring("\"\"\"Create the stores table.\n\nMore.\n\"\"\"\n").as_deref(),
            Some("Create the stores table.")
        );
        assert_eq!(
            docstring(
                "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n'''\n  Seed regions.\n'''\n"
            )
            .as_deref(),
            Some("Seed regions.")
        );
        assert_eq!(
            docstring("r\"\"\"One line.\"\"\"\n").as_deref(),
            Some("One line.")
        );
        assert_eq!(docstring("import os\n\"\"\"not a docstring\"\"\"\n"), None);
    }
}
