//! squawk-linter's rules over PostgreSQL migrations: the library does the
//! work; strata picks the rules, tells it whether the migration runs in a
//! transaction, and places its violations in the file.

use crate::{Context, Hit, Level, RuleInfo, Section};
use squawk_linter::{Linter, LinterSettings, Rule, Version};
use squawk_syntax::SourceFile;
use std::collections::BTreeMap;
use std::ops::Range;
use strata_model::TxMode;

pub(crate) struct Squawk {
    rules: Vec<Rule>,
    syntax_errors: bool,
    pg_version: Option<Version>,
}

/// squawk rules strata turns off by default because one of its own rules
/// covers them (with the engine's semantics), so one problem is not
/// reported twice.
const COVERED: &[(Rule, &str)] = &[
    (Rule::BanDropTable, "destructive"),
    (Rule::BanDropColumn, "destructive"),
    (Rule::BanDropSchema, "destructive"),
    (Rule::BanDropDatabase, "destructive"),
    (
        Rule::BanConcurrentIndexCreationInTransaction,
        "non-transactional-in-transaction",
    ),
];

/// Rules about settings strata makes itself: `lock_timeout` and
/// `statement_timeout` come from the environment and are set for each
/// migration, so a migration need not set them.
const SET_BY_STRATA: &[Rule] = &[Rule::RequireLockTimeout, Rule::RequireStatementTimeout];

/// Advice about style rather than about locks or failures.
const STYLE: &[Rule] = &[
    Rule::PreferRobustStmts,
    Rule::PreferBigintOverInt,
    Rule::PreferBigintOverSmallint,
    Rule::PreferIdentity,
    Rule::PreferTextField,
    Rule::PreferTimestampTz,
    Rule::BanCharField,
    Rule::UnusedIgnore,
];

/// Every squawk rule a user can name (aliases left out).
fn squawk_rules() -> impl Iterator<Item = Rule> {
    enum_iterator::all::<Rule>().filter(|r| r.expands_to().is_empty())
}

fn default_level(rule: Rule) -> Level {
    if rule.is_opt_in() || COVERED.iter().any(|(r, _)| *r == rule) || SET_BY_STRATA.contains(&rule)
    {
        Level::Off
    } else if STYLE.contains(&rule) {
        Level::Warning
    } else {
        Level::Error
    }
}

pub(crate) fn rules() -> Vec<RuleInfo> {
    squawk_rules()
        .map(|rule| {
            let name = rule.to_string();
            let mut doc = format!(
                "A rule of squawk-linter (the library strata runs over PostgreSQL migrations). \
                 What it catches, the lock involved and the safe way: https://squawkhq.com/docs/{name}"
            );
            if let Some((_, ours)) = COVERED.iter().find(|(r, _)| *r == rule) {
                doc.push_str(&format!(
                    "\n\nOff by default: strata's `{ours}` rule reports the same statements on every engine."
                ));
            } else if SET_BY_STRATA.contains(&rule) {
                doc.push_str(
                    "\n\nOff by default: strata sets lock_timeout and statement_timeout for each migration from the environment ([env.NAME] lock_timeout, statement_timeout).",
                );
            } else if rule.is_opt_in() {
                doc.push_str("\n\nOff by default (opt-in in squawk too).");
            }
            RuleInfo {
                summary: format!("squawk: {}", name.replace('-', " ")),
                name,
                origin: "squawk",
                default_level: default_level(rule),
                doc,
            }
        })
        .collect()
}

impl Squawk {
    pub(crate) fn new(
        levels: &BTreeMap<String, Level>,
        pg_version: Option<&str>,
    ) -> Result<Squawk, String> {
        let on = |name: &str| levels.get(name).is_some_and(|l| *l != Level::Off);
        let pg_version = pg_version
            .map(|v| {
                v.parse::<Version>().map_err(|_| {
                    format!("[lint] pg_version = \"{v}\" is not a PostgreSQL version (write e.g. \"15\" or \"12.4\")")
                })
            })
            .transpose()?;
        Ok(Squawk {
            rules: squawk_rules().filter(|r| on(&r.to_string())).collect(),
            syntax_errors: on("syntax-error"),
            pg_version,
        })
    }

    pub(crate) fn lint(&self, cx: &Context<'_>) -> Vec<(String, Hit)> {
        let sql = cx.up_sql();
        if self.rules.is_empty() && !self.syntax_errors || cx.up.is_empty() {
            return Vec::new();
        }
        let parse = SourceFile::parse(sql);
        let mut out = Vec::new();
        if self.syntax_errors {
            for (range, message) in first_errors(&parse, &cx.up) {
                out.push((
                    "syntax-error".to_string(),
                    Hit {
                        section: Section::Up,
                        range,
                        message: format!("PostgreSQL syntax: {message}"),
                        help: Some("fix the statement; the server would refuse it".into()),
                    },
                ));
            }
        }
        if self.rules.is_empty() {
            return out;
        }
        let mut linter = Linter::from(self.rules.iter().copied());
        linter.settings = LinterSettings {
            pg_version: self.pg_version.unwrap_or_default(),
            assume_in_transaction: cx.migration.tx_mode == TxMode::Transaction,
        };
        for v in linter.lint(&parse, sql) {
            out.push((
                v.code.to_string(),
                Hit {
                    section: Section::Up,
                    range: usize::from(v.text_range.start())..usize::from(v.text_range.end()),
                    message: v.message,
                    help: v.help,
                },
            ));
        }
        out
    }
}

/// squawk-syntax's parse errors in `sql`, the first of each statement only
/// (one mistake makes the parser report every token after it).
fn first_errors(
    parse: &squawk_syntax::Parse<SourceFile>,
    statements: &[strata_sql::Statement<'_>],
) -> Vec<(Range<usize>, String)> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for e in parse.errors() {
        let r = e.range();
        let start = usize::from(r.start());
        let statement = statements
            .iter()
            .position(|st| start < st.offset + st.sql.len())
            .unwrap_or(statements.len());
        // psql's own lines (meta-commands, COPY's inline data) are not SQL
        // for the server's parser; strata runs them as psql would.
        let psql = statements.get(statement).is_some_and(|st| {
            strata_sql::psql_meta_command(st).is_some() || strata_sql::copy_data(st).is_some()
        });
        if !psql && seen.insert(statement) {
            out.push((start..usize::from(r.end()), e.message().to_string()));
        }
    }
    out
}

/// Where PostgreSQL SQL does not parse: the byte range and squawk-syntax's
/// message, for the first error of each statement.
pub fn syntax_errors(sql: &str) -> Vec<(Range<usize>, String)> {
    let statements = strata_sql::split(sql, strata_sql::Dialect::Postgres);
    first_errors(&SourceFile::parse(sql), &statements)
}

#[cfg(test)]
mod tests {
    use crate::testing::lint;
    use strata_model::TxMode;
    use strata_sql::Dialect;

    #[test]
    fn runs_squawk_rules_with_the_migrations_transaction_mode() {
        let up = "CREATE INDEX users_email ON users (email);\nALTER TABLE users ADD COLUMN n int NOT NULL;\n";
        insta::assert_snapshot!(lint(
            &[
                "require-concurrent-index-creation",
                "adding-required-field",
                "prefer-robust-stmts"
            ],
            up,
            None,
            TxMode::NoTransaction,
            Dialect::Postgres
        ));
    }

    #[test]
    fn reports_syntax_errors_with_their_line() {
        insta::assert_snapshot!(lint(
            &["syntax-error"],
            "SELECT 1;\nCREATE TABLE (;\n",
            None,
            TxMode::Transaction,
            Dialect::Postgres
        ));
    }

    #[test]
    fn squawk_ignore_comments_still_work() {
        let up = "-- squawk-ignore require-concurrent-index-creation\nCREATE INDEX i ON t (a);\n";
        assert_eq!(
            lint(
                &["require-concurrent-index-creation"],
                up,
                None,
                TxMode::Transaction,
                Dialect::Postgres
            ),
            ""
        );
    }
}
