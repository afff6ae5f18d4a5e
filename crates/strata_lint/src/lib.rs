//! `strata lint`: every squawk-linter rule (PostgreSQL) plus strata's own
//! rules (all engines), each finding pointing at a file and line.
//!
//! Configuration comes from `[lint]` in strata.toml (and `[env.NAME.lint]`
//! on top of it): each rule `off`, `warning` or `error`. A statement is
//! excused from rules by a comment on a line before it:
//! `-- strata:allow destructive, missing-down`.

mod rules;
mod squawk;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use strata_model::{Body, Migration, MigrationKind};
use strata_sql::{Dialect, LineIndex, Statement};

pub use squawk::syntax_errors;

/// How much a rule's findings matter: `error` makes `strata lint` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// `[lint]` of strata.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintConfig {
    /// Rule name to level; rules not named keep their default.
    #[serde(default)]
    pub rules: BTreeMap<String, Level>,
    /// The PostgreSQL version the migrations target (squawk's rules that
    /// depend on it, e.g. `11` makes adding a column with a default safe).
    pub pg_version: Option<String>,
}

impl LintConfig {
    /// `self` with `other`'s settings on top (an environment's over the
    /// project's).
    pub fn overlay(&self, other: &LintConfig) -> LintConfig {
        let mut rules = self.rules.clone();
        rules.extend(other.rules.iter().map(|(k, v)| (k.clone(), *v)));
        LintConfig {
            rules,
            pg_version: other.pg_version.clone().or_else(|| self.pg_version.clone()),
        }
    }
}

/// One violation.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub level: Level,
    /// `source/version` of the migration.
    pub migration: String,
    pub path: PathBuf,
    /// 1-based line and column in `path`.
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub message: String,
    pub help: Option<String>,
    /// The text the finding points into, for annotated output.
    #[serde(skip)]
    pub snippet: Snippet,
}

/// A section of a file and the byte range of it a finding points at.
#[derive(Debug, Clone, Default)]
pub struct Snippet {
    pub text: Arc<str>,
    /// 1-based line of the file `text` starts on.
    pub first_line: usize,
    pub span: Range<usize>,
}

/// A rule name that is not known (in config or an allow comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRule {
    pub name: String,
    pub suggestion: Option<String>,
}

impl std::fmt::Display for UnknownRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "there is no lint rule `{}`", self.name)?;
        match &self.suggestion {
            Some(s) => write!(f, " (did you mean `{s}`?)"),
            None => write!(f, " (`strata lint --explain` lists them)"),
        }
    }
}

/// Every rule: strata's own, then squawk's.
pub fn rules() -> Vec<RuleInfo> {
    all_rules()
}

/// The documentation of `rule`: what it catches, what it blocks, the safe
/// way.
pub fn explain(rule: &str) -> Result<RuleInfo, UnknownRule> {
    all_rules()
        .into_iter()
        .find(|r| r.name == rule)
        .ok_or_else(|| unknown(rule))
}

fn unknown(name: &str) -> UnknownRule {
    let suggestion = all_rules()
        .into_iter()
        .map(|r| r.name)
        .find(|r| r.contains(name) || name.contains(r.as_str()));
    UnknownRule {
        name: name.to_string(),
        suggestion,
    }
}

/// A configured linter.
pub struct Linter {
    levels: BTreeMap<String, Level>,
    squawk: squawk::Squawk,
}

/// What a rule found, before it is placed in a file.
pub(crate) struct Hit {
    pub section: Section,
    /// Byte range within the section's text.
    pub range: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Section {
    Up,
    Down,
}

/// What rules look at: one migration, split and read.
pub(crate) struct Context<'a> {
    pub migration: &'a Migration,
    pub dialect: Dialect,
    pub up: Vec<Statement<'a>>,
    /// Empty when there is no down or it is blank.
    pub down: Vec<Statement<'a>>,
}

impl Context<'_> {
    pub fn up_sql(&self) -> &str {
        &self.migration.up.sql
    }

    pub fn down_sql(&self) -> &str {
        self.migration.down.as_ref().map_or("", |d| d.sql.as_str())
    }

    /// The range of `statement` to underline: its first token to its end.
    pub fn span(statement: &Statement<'_>) -> Range<usize> {
        statement.token_offset..statement.offset + statement.sql.trim_end().len()
    }
}

impl Linter {
    /// A linter with `config`'s levels; an unknown rule name is an error.
    pub fn new(config: &LintConfig) -> Result<Linter, String> {
        let mut levels: BTreeMap<String, Level> = all_rules()
            .into_iter()
            .map(|r| (r.name, r.default_level))
            .collect();
        for (name, level) in &config.rules {
            match levels.get_mut(name) {
                Some(l) => *l = *level,
                None => return Err(unknown(name).to_string()),
            }
        }
        let squawk = squawk::Squawk::new(&levels, config.pg_version.as_deref())?;
        Ok(Linter { levels, squawk })
    }

    /// The level `rule` runs at.
    pub fn level(&self, rule: &str) -> Level {
        self.levels.get(rule).copied().unwrap_or(Level::Off)
    }

    /// Every finding in `migration`, written for `dialect`, in file order.
    pub fn lint(&self, migration: &Migration, dialect: Dialect) -> Vec<Finding> {
        if migration.unsupported.is_some()
            || matches!(
                migration.kind,
                MigrationKind::Script | MigrationKind::Adopted
            )
        {
            return Vec::new();
        }
        let cx = Context {
            migration,
            dialect,
            up: split_body(&migration.up, dialect),
            down: migration
                .down
                .as_ref()
                .map(|d| split_body(d, dialect))
                .unwrap_or_default(),
        };
        let mut hits: Vec<(String, Hit)> = Vec::new();
        for rule in rules::STRATA {
            if self.level(rule.name) != Level::Off {
                let mut found = Vec::new();
                (rule.check)(&cx, &mut found);
                hits.extend(found.into_iter().map(|h| (rule.name.to_string(), h)));
            }
        }
        if dialect == Dialect::Postgres {
            hits.extend(self.squawk.lint(&cx));
        }
        let mut out = Vec::new();
        let up_lines = LineIndex::new(&migration.up.sql);
        let down_lines = migration.down.as_ref().map(|d| LineIndex::new(&d.sql));
        let mut unknown_reported = std::collections::HashSet::new();
        for (rule, hit) in hits {
            let (body, lines) = match (hit.section, &migration.down, &down_lines) {
                (Section::Up, ..) => (&migration.up, &up_lines),
                (Section::Down, Some(d), Some(l)) => (d, l),
                (Section::Down, ..) => continue,
            };
            let statements = match hit.section {
                Section::Up => &cx.up,
                Section::Down => &cx.down,
            };
            match allowed(&body.sql, statements, hit.range.start) {
                Ok(names) if names.contains(&rule) => continue,
                Ok(_) => {}
                Err((range, name)) => {
                    // Reported once per statement, as its own finding.
                    if unknown_reported.insert((hit.section, range.start)) {
                        out.push(finding(
                            migration,
                            (body, lines),
                            "unknown-rule",
                            Level::Error,
                            Hit {
                                section: hit.section,
                                range,
                                message: unknown(&name).to_string(),
                                help: Some("fix the name in the strata:allow comment".into()),
                            },
                        ));
                    }
                }
            }
            out.push(finding(
                migration,
                (body, lines),
                &rule,
                self.level(&rule),
                hit,
            ));
        }
        out.sort_by(|a, b| {
            (&a.path, a.line, a.column, &a.rule).cmp(&(&b.path, b.line, b.column, &b.rule))
        });
        out
    }
}

fn split_body(body: &Body, dialect: Dialect) -> Vec<Statement<'_>> {
    if body.is_blank() {
        Vec::new()
    } else {
        strata_sql::split(&body.sql, dialect)
    }
}

/// A finding at `hit`, with the lines it covers as its snippet.
fn finding(
    migration: &Migration,
    (body, lines): (&Body, &LineIndex),
    rule: &str,
    level: Level,
    hit: Hit,
) -> Finding {
    let sql = body.sql.as_str();
    let start = hit.range.start.min(sql.len());
    let end = hit.range.end.clamp(start, sql.len());
    let (first, last) = (lines.line(start), lines.line(end));
    let from = lines.start(first);
    let to = sql[end..].find('\n').map_or(sql.len(), |i| end + i);
    Finding {
        rule: rule.to_string(),
        level,
        migration: migration.id.to_string(),
        path: body.path.clone(),
        line: body.line + first,
        column: sql[from..start].chars().count() + 1,
        end_line: body.line + last,
        message: hit.message,
        help: hit.help,
        snippet: Snippet {
            first_line: body.line + first,
            span: start - from..end - from,
            text: Arc::from(&sql[from..to]),
        },
    }
}

/// The rules excused by `-- strata:allow` comments just before the
/// statement holding byte `at`; an unknown name is an error with the
/// comment's range.
fn allowed(
    sql: &str,
    statements: &[Statement<'_>],
    at: usize,
) -> Result<Vec<String>, (Range<usize>, String)> {
    let Some(st) = statements[..statements.partition_point(|s| s.offset <= at)].last() else {
        return Ok(Vec::new());
    };
    // The comments before a statement's first token belong to it.
    let mut names = Vec::new();
    let mut pos = st.offset;
    for line in sql[st.offset..st.token_offset].split_inclusive('\n') {
        let text = line.trim();
        if let Some(rest) = text
            .strip_prefix("--")
            .map(str::trim_start)
            .and_then(|t| t.strip_prefix("strata:allow"))
        {
            for name in rest
                .split([',', ' '])
                .map(str::trim)
                .filter(|n| !n.is_empty())
            {
                if name == "--" {
                    break; // a reason follows
                }
                if !all_rules().iter().any(|r| r.name == name) {
                    return Err((pos..pos + line.trim_end().len(), name.to_string()));
                }
                names.push(name.to_string());
            }
        }
        pos += line.len();
    }
    Ok(names)
}

/// A rule as listed and explained.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleInfo {
    pub name: String,
    /// `strata` or `squawk`.
    pub origin: &'static str,
    pub default_level: Level,
    pub summary: String,
    pub doc: String,
}

/// The catalogue of every rule (strata's and squawk's), for configuration
/// and `--explain`.
pub(crate) fn all_rules() -> Vec<RuleInfo> {
    let mut out: Vec<RuleInfo> = rules::STRATA
        .iter()
        .map(|r| RuleInfo {
            name: r.name.into(),
            origin: "strata",
            default_level: r.default_level,
            summary: r.summary.into(),
            doc: r.doc.trim().into(),
        })
        .collect();
    out.extend(squawk::rules());
    out.push(RuleInfo {
        name: "syntax-error".into(),
        origin: "squawk",
        default_level: Level::Error,
        summary: "A statement PostgreSQL's grammar (as squawk's parser knows it) does not accept."
            .into(),
        doc: "The file does not parse as PostgreSQL: the server would refuse the statement, \
              and the other rules cannot look inside it. Fix the statement; if squawk's parser \
              is wrong about valid SQL, turn the rule off for this migration with \
              `-- strata:allow syntax-error`."
            .into(),
    });
    out
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use std::path::Path;
    use strata_model::{Checksum, MigrationId, TxMode, Version};

    /// A migration file `V1__test.sql` whose up starts on line 2 (and down,
    /// when given, after it).
    pub fn migration(up: &str, down: Option<&str>, tx: TxMode) -> Migration {
        let path = Path::new("migrations/1_test.sql").to_path_buf();
        let up_lines = up.lines().count() + 1;
        Migration {
            id: MigrationId::new("app", Version::parse("1").unwrap()),
            name: "test".into(),
            kind: MigrationKind::Versioned,
            path: path.clone(),
            up: Body {
                sql: up.to_string().into(),
                line: 2,
                path: path.clone(),
            },
            down: down.map(|d| Body {
                sql: d.to_string().into(),
                line: 2 + up_lines,
                path: path.clone(),
            }),
            verify: None,
            tx_mode: tx,
            checksum: Checksum::of_body(up),
            unsupported: None,
            requires: Vec::new(),
            description: None,
        }
    }

    /// Findings of the rules in `only`, one line each, for snapshots.
    pub fn lint(
        only: &[&str],
        up: &str,
        down: Option<&str>,
        tx: TxMode,
        dialect: Dialect,
    ) -> String {
        let mut config = LintConfig::default();
        for r in all_rules() {
            let level = if only.contains(&r.name.as_str()) {
                r.default_level.max(Level::Warning)
            } else {
                Level::Off
            };
            config.rules.insert(r.name, level);
        }
        let linter = Linter::new(&config).unwrap();
        linter
            .lint(&migration(up, down, tx), dialect)
            .iter()
            .map(|f| {
                format!(
                    "{}:{}:{} {} [{}] {}{}",
                    f.path.display(),
                    f.line,
                    f.column,
                    f.level.as_str(),
                    f.rule,
                    f.message,
                    f.help
                        .as_ref()
                        .map(|h| format!("\n    help: {h}"))
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use strata_model::TxMode;

    #[test]
    fn allow_comment_excuses_the_next_statement_only() {
        let up =
            "-- strata:allow destructive -- the table is empty\nDROP TABLE a;\nDROP TABLE b;\n";
        let out = lint(
            &["destructive"],
            up,
            None,
            TxMode::Transaction,
            Dialect::Sqlite,
        );
        insta::assert_snapshot!(out);
    }

    #[test]
    fn allow_comment_with_an_unknown_rule_is_an_error() {
        let up = "-- strata:allow destructiv\nDROP TABLE a;\n";
        let out = lint(
            &["destructive"],
            up,
            None,
            TxMode::Transaction,
            Dialect::Sqlite,
        );
        insta::assert_snapshot!(out);
    }

    #[test]
    fn unknown_rule_in_config_is_refused_with_a_suggestion() {
        let mut config = LintConfig::default();
        config.rules.insert("ban-drop-tabl".into(), Level::Off);
        let err = Linter::new(&config).err().unwrap();
        assert_eq!(
            err,
            "there is no lint rule `ban-drop-tabl` (did you mean `ban-drop-table`?)"
        );
    }

    #[test]
    fn env_overlay_wins() {
        let mut base = LintConfig::default();
        base.rules.insert("destructive".into(), Level::Error);
        base.rules.insert("missing-down".into(), Level::Off);
        let mut env = LintConfig::default();
        env.rules.insert("destructive".into(), Level::Warning);
        let c = base.overlay(&env);
        assert_eq!(c.rules["destructive"], Level::Warning);
        assert_eq!(c.rules["missing-down"], Level::Off);
    }
}
