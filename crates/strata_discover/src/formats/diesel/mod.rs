//! Diesel: `<version>_<name>/up.sql` + `down.sql`, with an optional
//! `metadata.toml` saying `run_in_transaction`.

mod history;

use crate::common::{Parts, finish, problem, version_and_name};
use crate::formats::{
    DirView, Evidence, Format, NewMigration, Scaffold, ToolHistory, name, versioned,
};
use crate::{Diagnostic, Found, SourceSpec, read_text};
use strata_model::TxMode;

use crate::common::read_body;

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

    fn scaffold(&self, new: &NewMigration) -> Result<Scaffold, String> {
        let s = new.stamp();
        let dir = match new.version {
            Some(version) => format!("{version}_{}", new.slug),
            None => format!(
                "{}-{}-{}-{}_{}",
                &s[..4],
                &s[4..6],
                &s[6..8],
                &s[8..14],
                new.slug
            ),
        };
        let Some(sql) = &new.sql else {
            return Ok(Scaffold {
                files: vec![
                    (
                        format!("{dir}/up.sql").into(),
                        format!("-- {}\n", new.words()),
                    ),
                    (
                        format!("{dir}/down.sql").into(),
                        "-- This file should undo anything in `up.sql`\n".into(),
                    ),
                ],
                note: None,
            });
        };
        let mut files = vec![
            (
                format!("{dir}/up.sql").into(),
                format!("-- {}\n{}\n", new.words(), sql.up.trim_end()),
            ),
            (
                format!("{dir}/down.sql").into(),
                format!("{}\n", sql.down.unwrap_or_default().trim_end()),
            ),
        ];
        if !sql.transaction {
            files.push((
                format!("{dir}/metadata.toml").into(),
                "run_in_transaction = false\n".into(),
            ));
        }
        Ok(Scaffold { files, note: None })
    }

    fn detect(&self, dir: &DirView) -> Option<Evidence> {
        dir.subdirs()
            .any(|d| d.join("up.sql").is_file() && versioned(name(d)))
            .then_some(Evidence::Certain { engine: None })
    }

    fn history(&self) -> Option<&dyn ToolHistory> {
        Some(&history::DieselHistory)
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
