//! The section splitter of the layouts that mark up and down sections
//! inside one file, dbmate's (`-- migrate:up`) and goose's (`-- +goose
//! Up`): each reads its own markers and options through it.

use crate::Diagnostic;
use crate::common::{body, problem};
use std::path::Path;
use strata_model::Body;

/// A marker line: which section it opens and the text after it.
pub(crate) enum Marker<'a> {
    Up(&'a str),
    Down(&'a str),
    /// A line that is a marker but opens no section (goose's
    /// StatementBegin/End and NO TRANSACTION).
    Other(&'a str),
}

/// Sections of a marked file, with the 1-based line each body starts on.
#[derive(Default)]
pub(crate) struct Sections {
    pub up: Option<Body>,
    pub up_options: String,
    pub down: Option<Body>,
    pub down_options: String,
    pub others: Vec<(usize, String)>,
}

/// Splits `text` at marker lines. SQL before the first section, a second
/// section of a kind, and a missing up are problems.
pub(crate) fn sections(
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

/// goose sends a StatementBegin/End block as one statement; strata splits
/// statements itself, so say so when the two would differ.
pub(crate) fn check_block(
    path: &Path,
    text: &str,
    start: usize,
    end: usize,
    warnings: &mut Vec<Diagnostic>,
) {
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
