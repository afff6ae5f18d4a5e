//! dbmate: `-- migrate:up` / `-- migrate:down` sections in one file, with
//! options such as `transaction:false`.

mod history;

use crate::common::{Parts, finish, problem, read_normalized, sql_files, version_and_name};
use crate::formats::{DirView, Evidence, Format, NewMigration, Scaffold, ToolHistory};
use crate::{Diagnostic, Found, SourceSpec};
use strata_model::TxMode;

use crate::formats::marked::{Marker, sections};

/// dbmate: markers may carry options (`transaction:false`). Leading
/// whitespace before a marker is tolerated, with a warning.
pub struct DbmateFormat;

impl Format for DbmateFormat {
    fn name(&self) -> &'static str {
        "dbmate"
    }

    fn scaffold(&self, new: &NewMigration) -> Result<Scaffold, String> {
        let text = match &new.sql {
            None => "-- migrate:up\n\n\n-- migrate:down\n\n".to_string(),
            Some(sql) => {
                let option = if sql.transaction {
                    ""
                } else {
                    " transaction:false"
                };
                let mut text = format!("-- migrate:up{option}\n{}\n", sql.up.trim_end());
                // Without a down section it cannot be rolled back (an empty
                // one would roll back by running nothing).
                if let Some(down) = sql.down {
                    text.push_str(&format!("\n-- migrate:down{option}\n{}\n", down.trim_end()));
                }
                text
            }
        };
        Ok(Scaffold::file(
            format!("{}_{}.sql", new.stamp(), new.slug),
            text,
        ))
    }

    fn detect(&self, dir: &DirView) -> Option<Evidence> {
        dir.any_line("-- migrate:up")
            .then_some(Evidence::Certain { engine: None })
    }

    fn history(&self) -> Option<&dyn ToolHistory> {
        Some(&history::DbmateHistory)
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let mut migrations = Vec::new();
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        for (path, stem) in sql_files(source)? {
            let Some((version, name)) = version_and_name(&stem, &[]) else {
                problems.push(problem(
                    &path,
                    0,
                    "the name is not `<version>_<name>.sql`",
                    "rename it as `dbmate new` would (version = digits)",
                ));
                continue;
            };
            let text = match read_normalized(&path) {
                Ok(t) => t,
                Err(d) => {
                    problems.push(d);
                    continue;
                }
            };
            for (i, line) in text.lines().enumerate() {
                if line.starts_with(char::is_whitespace) && dbmate_marker(line).is_some() {
                    warnings.push(problem(
                        &path,
                        i + 1,
                        "whitespace before a `-- migrate:` marker",
                        "dbmate tolerates it, but remove it so every tool reads the marker",
                    ));
                }
            }
            let parsed = match sections(&path, &text, dbmate_marker, "-- migrate:up") {
                Ok(s) => s,
                Err(mut d) => {
                    problems.append(&mut d);
                    continue;
                }
            };
            // The up's options decide how the migration runs; strata has
            // one mode for both directions.
            let mut tx = true;
            for (is_up, options) in [(true, &parsed.up_options), (false, &parsed.down_options)] {
                for option in options.split_whitespace() {
                    match option {
                        "transaction:false" if is_up => tx = false,
                        "transaction:false" if !tx => {}
                        "transaction:false" => warnings.push(problem(
                            &path,
                            0,
                            "`transaction:false` on the down section only: strata runs both directions the up's way (in a transaction)",
                            "put the option on `-- migrate:up` too, or move the statement into a migration of its own",
                        )),
                        "transaction:true" => {}
                        other => problems.push(problem(
                            &path,
                            0,
                            format!("unknown marker option `{other}`"),
                            "dbmate knows transaction:false and transaction:true",
                        )),
                    }
                }
            }
            migrations.push(
                Parts {
                    version,
                    name,
                    up: parsed.up.expect("sections checks up"),
                    down: parsed.down,
                    tx_mode: TxMode::unless(!tx),
                    unsupported: None,
                    path,
                }
                .build(source),
            );
        }
        finish(migrations, problems, warnings)
    }
}

fn dbmate_marker(line: &str) -> Option<Marker<'_>> {
    let rest = line
        .trim()
        .strip_prefix("--")?
        .trim_start()
        .strip_prefix("migrate:")?;
    if let Some(o) = rest.strip_prefix("up") {
        return Some(Marker::Up(o));
    }
    rest.strip_prefix("down").map(Marker::Down)
}
