//! Layouts that mark up and down sections inside one file: dbmate
//! (`-- migrate:up` / `-- migrate:down`, with options such as
//! `transaction:false`) and goose (`-- +goose Up` / `Down`,
//! `StatementBegin`/`End`, `NO TRANSACTION`; Go migrations are listed but
//! cannot be run by strata).

use crate::common::{Parts, body, finish, problem, read_normalized, sql_files, version_and_name};
use crate::{Diagnostic, Format, Found, SourceSpec, files_sorted};
use std::path::Path;
use strata_model::{Body, TxMode};

/// A marker line: which section it opens and the text after it.
enum Marker<'a> {
    Up(&'a str),
    Down(&'a str),
    /// A line that is a marker but opens no section (goose's
    /// StatementBegin/End and NO TRANSACTION).
    Other(&'a str),
}

/// Sections of a marked file, with the 1-based line each body starts on.
#[derive(Default)]
struct Sections {
    up: Option<Body>,
    up_options: String,
    down: Option<Body>,
    down_options: String,
    others: Vec<(usize, String)>,
}

/// Splits `text` at marker lines. SQL before the first section, a second
/// section of a kind, and a missing up are problems.
fn sections(
    path: &Path,
    text: &str,
    marker: impl Fn(&str) -> Option<Marker<'_>>,
    up_name: &str,
) -> Result<Sections, Vec<Diagnostic>> {
    let mut s = Sections::default();
    let mut problems = Vec::new();
    let mut current: Option<(bool, usize, String)> = None; // (is_up, first line, body)
    let close = |current: &mut Option<(bool, usize, String)>, s: &mut Sections| {
        if let Some((is_up, line, sql)) = current.take() {
            let b = Some(body(sql, line, path));
            if is_up { s.up = b } else { s.down = b }
        }
    };
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let lineno = index + 1;
        match marker(line) {
            Some(m @ (Marker::Up(_) | Marker::Down(_))) => {
                let (is_up, options) = match m {
                    Marker::Up(o) => (true, o),
                    Marker::Down(o) => (false, o),
                    Marker::Other(_) => unreachable!(),
                };
                close(&mut current, &mut s);
                let seen = if is_up {
                    s.up.is_some()
                } else {
                    s.down.is_some()
                };
                if seen {
                    problems.push(problem(
                        path,
                        lineno,
                        "a second section of this kind",
                        "merge the two sections into one",
                    ));
                }
                if is_up {
                    s.up_options = options.trim().to_string();
                } else {
                    s.down_options = options.trim().to_string();
                }
                current = Some((is_up, lineno + 1, String::new()));
            }
            Some(Marker::Other(word)) => {
                s.others.push((lineno, word.trim().to_string()));
                if let Some((_, _, sql)) = current.as_mut() {
                    sql.push_str(line);
                }
            }
            None => match current.as_mut() {
                Some((_, _, sql)) => sql.push_str(line),
                None => {
                    let t = line.trim();
                    if !t.is_empty() && !t.starts_with("--") {
                        problems.push(problem(
                            path,
                            lineno,
                            format!("SQL before `{up_name}`"),
                            format!("move it under `{up_name}`"),
                        ));
                    }
                }
            },
        }
    }
    close(&mut current, &mut s);
    if s.up.is_none() {
        problems.push(problem(
            path,
            0,
            format!("no `{up_name}` section"),
            format!("add a `{up_name}` line above the migration's SQL"),
        ));
    }
    if problems.is_empty() {
        Ok(s)
    } else {
        Err(problems)
    }
}

/// dbmate: markers may carry options (`transaction:false`). Leading
/// whitespace before a marker is tolerated, with a warning.
pub struct DbmateFormat;

impl Format for DbmateFormat {
    fn name(&self) -> &'static str {
        "dbmate"
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

/// goose: SQL files with annotations, and Go files, which strata lists and
/// stops before (goose runs them compiled into the application).
pub struct GooseFormat;

impl Format for GooseFormat {
    fn name(&self) -> &'static str {
        "goose"
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

/// goose sends a StatementBegin/End block as one statement; strata splits
/// statements itself, so say so when the two would differ.
fn check_block(path: &Path, text: &str, start: usize, end: usize, warnings: &mut Vec<Diagnostic>) {
    let block: String = text
        .split_inclusive('\n')
        .skip(start)
        .take(end.saturating_sub(start + 1))
        .collect();
    let n = strata_sql::split(&block, strata_sql::Dialect::Postgres).len();
    if n > 1 {
        warnings.push(problem(
            path,
            start,
            format!(
                "strata reads this StatementBegin block as {n} statements, where goose sends one"
            ),
            "quote the body with $$ ... $$ so both agree",
        ));
    }
}
