//! Maintenance tasks: the scripts of a `kind = "task"` source, run again
//! and again by name (`strata run TASK`), never part of the schema's state.
//! A script says it only reads with a `strata: readonly` comment in its
//! first lines; the first line of a Python docstring or the first comment
//! describes it. Python modules defining `run_migration()` are one-off
//! changes, which belong to a migration source, and helpers (`_db.py`,
//! `__init__.py`) are not tasks.

use crate::common::{directive, read_normalized};
use crate::formats::{docstring, is_script, name, python_functions};
use crate::{Diagnostic, SourceSpec, files_sorted};
use std::path::PathBuf;
use strata_model::Checksum;

/// One task of a source.
#[derive(Debug, Clone)]
pub struct Task {
    pub source: String,
    /// The file's name without its extension.
    pub name: String,
    pub path: PathBuf,
    /// It says it only reads (`# strata: readonly`): no approval needed.
    pub readonly: bool,
    pub description: Option<String>,
    pub checksum: Checksum,
}

impl Task {
    /// `source/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.source, self.name)
    }
}

/// Whether a comment line in the first lines of `text` says `strata:
/// readonly`.
fn says_readonly(text: &str) -> bool {
    text.lines().take(30).any(|l| {
        directive(l)
            .is_some_and(|d| matches!(d.to_ascii_lowercase().as_str(), "readonly" | "read-only"))
    })
}

/// The first comment line after a `#!` line, as what a script does.
pub(crate) fn first_comment(text: &str) -> Option<String> {
    text.lines()
        .skip_while(|l| l.starts_with("#!"))
        .map(str::trim)
        .take_while(|l| l.is_empty() || l.starts_with('#') || l.starts_with("//"))
        .map(|l| l.trim_start_matches(['#', '/', ' ']).trim())
        .find(|l| !l.is_empty() && !l.starts_with("strata:") && !l.starts_with("-*-"))
        .map(str::to_string)
}

/// A new task script named `slug` (`strata new NAME --source TASKS`).
pub fn task_scaffold(slug: &str) -> crate::Scaffold {
    crate::Scaffold::file(
        format!("{slug}.sh"),
        format!(
            "#!/bin/sh\n# {}\n# (if it changes nothing, add a line `# strata: readonly`: it then runs without approval)\nset -eu\n\n",
            slug.replace('_', " ")
        ),
    )
}

/// The tasks of `source`, by name.
pub fn tasks(source: &SourceSpec) -> Result<Vec<Task>, Vec<Diagnostic>> {
    let mut tasks = Vec::new();
    let mut problems = Vec::new();
    for path in files_sorted(source)? {
        let file = name(&path).to_string();
        if file.starts_with(['.', '_']) || file.ends_with(".md") || file.ends_with(".txt") {
            continue;
        }
        let text = match read_normalized(&path) {
            Ok(t) => t,
            Err(d) => {
                problems.push(d);
                continue;
            }
        };
        let python = file.ends_with(".py");
        if (python && python_functions(&text)[0]) || !is_script(&path, &text) {
            continue;
        }
        let name = file
            .rsplit_once('.')
            .map_or(file.as_str(), |(s, _)| s)
            .to_string();
        tasks.push(Task {
            source: source.name.clone(),
            name,
            readonly: says_readonly(&text),
            description: if python {
                docstring(&text).or_else(|| first_comment(&text))
            } else {
                first_comment(&text)
            },
            checksum: Checksum::of_body(&text),
            path,
        });
    }
    for (i, t) in tasks.iter().enumerate() {
        if let Some(first) = tasks[..i].iter().find(|o| o.name == t.name) {
            problems.push(crate::Diagnostic {
                path: t.path.clone(),
                line: None,
                message: format!(
                    "task `{}` is also {}: a task is named by its file name without the extension",
                    t.name,
                    first.path.display()
                ),
                help: "rename one of them".into(),
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_says_it_only_reads() {
        assert!(says_readonly(
            "#!/usr/bin/env python3\n# strata: readonly\n"
        ));
        assert!(says_readonly("-- strata:readonly\n"));
        assert!(!says_readonly("#!/bin/sh\necho strata: readonly\n"));
        assert!(!says_readonly("# strata: readonly please\n"));
        assert!(says_readonly("# strata: READONLY\n"));
        assert!(says_readonly("# strata: read-only\n"));
        assert_eq!(
            first_comment("#!/bin/sh\n# strata: readonly\n# Count duplicate stores.\necho\n")
                .as_deref(),
            Some("Count duplicate stores.")
        );
    }
}
