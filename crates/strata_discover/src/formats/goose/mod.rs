//! goose: `-- +goose Up` / `Down` sections, `StatementBegin`/`End`, `NO
//! TRANSACTION`; Go migrations are listed but cannot be run by strata.

mod history;

use crate::common::{Parts, body, finish, problem, read_normalized, version_and_name};
use crate::formats::{
    DirView, Evidence, Format, NewMigration, Scaffold, ToolHistory, name, versioned,
};
use crate::{Diagnostic, Found, SourceSpec, files_sorted};
use strata_model::TxMode;

use crate::formats::marked::{Marker, check_block, sections};

/// goose: SQL files with annotations, and Go files, which strata lists and
/// stops before (goose runs them compiled into the application).
pub struct GooseFormat;

impl Format for GooseFormat {
    fn name(&self) -> &'static str {
        "goose"
    }

    fn scaffold(&self, new: &NewMigration) -> Result<Scaffold, String> {
        if new.sql.is_some() {
            return Err("strata does not write goose migrations with SQL in them yet (goose needs its StatementBegin/StatementEnd around each statement with a semicolon inside): write the SQL strata printed into `goose create`'s file, or generate into a source of another format".into());
        }
        Ok(Scaffold::file(
            format!("{}_{}.sql", crate::common::next_version(new), new.slug),
            "-- +goose Up\n-- +goose StatementBegin\n\n-- +goose StatementEnd\n\n-- +goose Down\n-- +goose StatementBegin\n\n-- +goose StatementEnd\n",
        ))
    }

    fn detect(&self, dir: &DirView) -> Option<Evidence> {
        let go = dir.entries.iter().any(|p| {
            name(p).ends_with(".go")
                && versioned(name(p))
                && std::fs::read_to_string(p).is_ok_and(|t| t.contains("goose"))
        });
        (go || dir.any_line("-- +goose")).then_some(Evidence::Certain { engine: None })
    }

    fn history(&self) -> Option<&dyn ToolHistory> {
        Some(&history::GooseHistory)
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
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
            let (stem, go) = match (file.strip_suffix(".sql"), file.strip_suffix(".go")) {
                (Some(s), _) => (s, false),
                (_, Some(s)) if !s.ends_with("_test") => (s, true),
                _ => continue,
            };
            let Some((version, name)) = version_and_name(stem, &[]) else {
                if !go {
                    problems.push(problem(
                        &path,
                        0,
                        "the name is not `<version>_<name>.sql`",
                        "rename it as `goose create` would (version = digits)",
                    ));
                }
                continue;
            };
            if go {
                let stem_version = version.to_string();
                migrations.push(
                    Parts {
                        version,
                        name,
                        up: body(String::new(), 1, &path),
                        down: None,
                        tx_mode: TxMode::Transaction,
                        unsupported: Some(format!(
                            "a goose Go migration runs compiled into your program; apply the migrations before it with `strata up --to <the version before it>`, run it with goose, then `strata baseline {}/{stem_version}`",
                            source.name
                        )),
                        path,
                    }
                    .build(source),
                );
                continue;
            }
            let text = match read_normalized(&path) {
                Ok(t) => t,
                Err(d) => {
                    problems.push(d);
                    continue;
                }
            };
            let parsed = match sections(&path, &text, goose_marker, "-- +goose Up") {
                Ok(s) => s,
                Err(mut d) => {
                    problems.append(&mut d);
                    continue;
                }
            };
            let mut no_tx = false;
            let mut open_block: Option<usize> = None;
            for (line, word) in &parsed.others {
                match word.to_ascii_uppercase().as_str() {
                    "NO TRANSACTION" => no_tx = true,
                    "STATEMENTBEGIN" => open_block = Some(*line),
                    "STATEMENTEND" => {
                        if let Some(start) = open_block.take() {
                            check_block(&path, &text, start, *line, &mut warnings);
                        } else {
                            problems.push(problem(
                                &path,
                                *line,
                                "`-- +goose StatementEnd` without a StatementBegin",
                                "pair it with `-- +goose StatementBegin`",
                            ));
                        }
                    }
                    "ENVSUB ON" | "ENVSUB OFF" => warnings.push(problem(
                        &path,
                        *line,
                        "strata does not substitute environment variables in SQL",
                        "the statements run as written",
                    )),
                    other => problems.push(problem(
                        &path,
                        *line,
                        format!("unknown annotation `-- +goose {other}`"),
                        "goose knows Up, Down, StatementBegin, StatementEnd, NO TRANSACTION",
                    )),
                }
            }
            if let Some(start) = open_block {
                problems.push(problem(
                    &path,
                    start,
                    "`-- +goose StatementBegin` is never closed",
                    "add `-- +goose StatementEnd` after the statement",
                ));
            }
            migrations.push(
                Parts {
                    version,
                    name,
                    up: parsed.up.expect("sections checks up"),
                    down: parsed.down,
                    tx_mode: TxMode::unless(no_tx),
                    unsupported: None,
                    path,
                }
                .build(source),
            );
        }
        finish(migrations, problems, warnings)
    }
}

fn goose_marker(line: &str) -> Option<Marker<'_>> {
    let rest = line
        .trim()
        .strip_prefix("--")?
        .trim_start()
        .strip_prefix("+goose")?;
    let word = rest.trim();
    let (first, options) = word.split_once(char::is_whitespace).unwrap_or((word, ""));
    Some(match first.to_ascii_lowercase().as_str() {
        "up" => Marker::Up(options),
        "down" => Marker::Down(options),
        _ => Marker::Other(word),
    })
}
