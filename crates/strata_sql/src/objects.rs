//! What a schema statement creates, drops or renames, read from its tokens:
//! enough to check that a down undoes its up and to derive a down from an
//! up made only of reversible statements. Works on all three dialects; a
//! statement it does not understand is `Change::Other`.

mod reverse;

use crate::{Dialect, Statement};
pub use reverse::{Irreversible, inverse, reverse};

/// A lexical token of a statement; strings, comments and dollar-quoted
/// bodies are skipped, so words inside them never count.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'a> {
    /// A keyword or unquoted identifier, as written.
    Word(&'a str),
    /// A quoted identifier, quotes included, as written.
    Quoted(&'a str),
    /// A string, number or dollar-quoted body.
    Literal,
    Punct(char),
}

impl Token<'_> {
    fn is(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

fn tokens(text: &str, dialect: Dialect) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = bytes[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |p| i + p);
            }
            b'#' if dialect == Dialect::Mysql => {
                i = bytes[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |p| i + p);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = crate::skip_block_comment(bytes, i, dialect == Dialect::Postgres);
            }
            b'\'' => {
                let escapes = dialect == Dialect::Mysql
                    || (dialect == Dialect::Postgres && crate::is_e_prefix(bytes, i));
                i = crate::skip_quoted(bytes, i, b'\'', escapes);
                out.push(Token::Literal);
            }
            b'"' | b'`' => {
                let end = crate::skip_quoted(bytes, i, b, false);
                out.push(Token::Quoted(&text[i..end]));
                i = end;
            }
            b'[' if dialect == Dialect::Sqlite => {
                let end = bytes[i..]
                    .iter()
                    .position(|&c| c == b']')
                    .map_or(bytes.len(), |p| i + p + 1);
                out.push(Token::Quoted(&text[i..end]));
                i = end;
            }
            b'$' if dialect == Dialect::Postgres => {
                let end = crate::skip_dollar(text, i);
                out.push(Token::Literal);
                i = end.max(i + 1);
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                let end = bytes[i..]
                    .iter()
                    .position(|c| {
                        !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$') || *c >= 0x80)
                    })
                    .map_or(bytes.len(), |p| i + p);
                if c.is_ascii_digit() {
                    out.push(Token::Literal);
                } else {
                    out.push(Token::Word(&text[i..end]));
                }
                i = end;
            }
            c if c.is_ascii_whitespace() => i += 1,
            c => {
                out.push(Token::Punct(c as char));
                i += 1;
            }
        }
    }
    out
}

/// The kinds of object a migration creates and drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Table,
    View,
    MaterializedView,
    Index,
    Sequence,
    Type,
    Function,
    Procedure,
    Trigger,
    Policy,
    Schema,
    Extension,
}

impl ObjectKind {
    /// The words naming the kind in SQL (`MATERIALIZED VIEW`).
    pub fn sql(self) -> &'static str {
        match self {
            ObjectKind::Table => "TABLE",
            ObjectKind::View => "VIEW",
            ObjectKind::MaterializedView => "MATERIALIZED VIEW",
            ObjectKind::Index => "INDEX",
            ObjectKind::Sequence => "SEQUENCE",
            ObjectKind::Type => "TYPE",
            ObjectKind::Function => "FUNCTION",
            ObjectKind::Procedure => "PROCEDURE",
            ObjectKind::Trigger => "TRIGGER",
            ObjectKind::Policy => "POLICY",
            ObjectKind::Schema => "SCHEMA",
            ObjectKind::Extension => "EXTENSION",
        }
    }

    /// Lower-case name for messages (`materialized view`).
    pub fn noun(self) -> String {
        self.sql().to_ascii_lowercase()
    }

    fn from_words(first: &Token<'_>, second: Option<&Token<'_>>) -> Option<(ObjectKind, usize)> {
        let Token::Word(w) = first else { return None };
        let kind = match w.to_ascii_uppercase().as_str() {
            "TABLE" => ObjectKind::Table,
            "VIEW" => ObjectKind::View,
            "MATERIALIZED" if second.is_some_and(|s| s.is("VIEW")) => {
                return Some((ObjectKind::MaterializedView, 2));
            }
            "INDEX" => ObjectKind::Index,
            "SEQUENCE" => ObjectKind::Sequence,
            "TYPE" => ObjectKind::Type,
            "FUNCTION" => ObjectKind::Function,
            "PROCEDURE" => ObjectKind::Procedure,
            "TRIGGER" => ObjectKind::Trigger,
            "POLICY" => ObjectKind::Policy,
            "SCHEMA" | "DATABASE" => ObjectKind::Schema,
            "EXTENSION" => ObjectKind::Extension,
            _ => return None,
        };
        Some((kind, 1))
    }
}

/// A possibly qualified name, as written and as compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectName {
    /// The name exactly as written (`public."Users"`), reused when strata
    /// writes SQL naming the object.
    pub written: String,
    /// The last part, unquoted; lower-cased unless it was quoted (how
    /// PostgreSQL folds names; MySQL and SQLite compare without case).
    pub key: String,
}

impl ObjectName {
    /// Same object, ignoring a schema written on only one side.
    pub fn same(&self, other: &ObjectName) -> bool {
        self.key.eq_ignore_ascii_case(&other.key)
    }
}

/// How a create allows for an object already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    IfNotExists,
    OrReplace,
}

/// What one statement does to the schema, as far as can be seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create {
        kind: ObjectKind,
        /// `None` for an index created without a name.
        name: Option<ObjectName>,
        /// The table of an index, trigger or policy.
        on: Option<ObjectName>,
        /// A function's or procedure's argument list, parentheses included.
        args: Option<String>,
        /// Written with `IF NOT EXISTS` or `OR REPLACE`: the object may
        /// have been there before, so dropping it is no inverse.
        guard: Option<Guard>,
    },
    Drop {
        kind: ObjectKind,
        names: Vec<ObjectName>,
        /// `DROP ... IF EXISTS`: running it again is harmless.
        if_exists: bool,
    },
    AddColumn {
        table: ObjectName,
        column: ObjectName,
        /// `ADD COLUMN IF NOT EXISTS`.
        guard: Option<Guard>,
    },
    DropColumn {
        table: ObjectName,
        column: ObjectName,
        /// `DROP COLUMN IF EXISTS`.
        if_exists: bool,
    },
    AddConstraint {
        table: ObjectName,
        name: Option<ObjectName>,
    },
    EnableRowLevelSecurity {
        table: ObjectName,
    },
    Rename {
        kind: ObjectKind,
        from: ObjectName,
        to: ObjectName,
    },
    RenameColumn {
        table: ObjectName,
        from: ObjectName,
        to: ObjectName,
    },
    /// Anything else: data changes, type changes, statements not read.
    Other {
        /// The statement's first words, for messages.
        what: String,
    },
}

/// What `statement` changes; an `ALTER TABLE` with several actions gives one
/// change per action.
pub fn changes(statement: &Statement<'_>, script: &str, dialect: Dialect) -> Vec<Change> {
    let text = &script[statement.token_offset..statement.offset + statement.sql.len()];
    let toks = tokens(text, dialect);
    let t: Vec<&Token<'_>> = toks
        .iter()
        .filter(|t| !matches!(t, Token::Punct(';')))
        .collect();
    let other = || {
        vec![Change::Other {
            what: text
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
                .trim_end_matches(';')
                .to_string(),
        }]
    };
    let parsed = match t.first() {
        Some(w) if w.is("CREATE") => create(&t[1..]).map(|c| vec![c]),
        Some(w) if w.is("DROP") => drop(&t[1..]).map(|c| vec![c]),
        Some(w) if w.is("ALTER") => alter(&t[1..]),
        _ => None,
    };
    parsed.unwrap_or_else(other)
}

/// Reads a possibly qualified name at `t[*i..]`, moving `i` past it.
fn read_name(t: &[&Token<'_>], i: &mut usize) -> Option<ObjectName> {
    let mut parts: Vec<&str> = Vec::new();
    loop {
        match t.get(*i) {
            Some(Token::Word(w)) | Some(Token::Quoted(w)) => parts.push(w),
            _ => return None,
        }
        *i += 1;
        if matches!(t.get(*i), Some(Token::Punct('.'))) {
            *i += 1;
        } else {
            break;
        }
    }
    let last = parts.last()?;
    let key = match last.chars().next() {
        Some('"' | '`' | '[') => {
            let q = last.chars().next().unwrap_or('"');
            let inner = &last[1..last.len().saturating_sub(1)];
            match q {
                '"' => inner.replace("\"\"", "\""),
                '`' => inner.replace("``", "`"),
                _ => inner.to_string(),
            }
        }
        _ => last.to_ascii_lowercase(),
    };
    Some(ObjectName {
        written: parts.join("."),
        key,
    })
}

fn skip_words(t: &[&Token<'_>], i: &mut usize, words: &[&str]) -> bool {
    if words
        .iter()
        .enumerate()
        .all(|(k, w)| t.get(*i + k).is_some_and(|x| x.is(w)))
    {
        *i += words.len();
        true
    } else {
        false
    }
}

fn create(t: &[&Token<'_>]) -> Option<Change> {
    let mut i = 0;
    let mut guard = skip_words(t, &mut i, &["OR", "REPLACE"]).then_some(Guard::OrReplace);
    while t.get(i).is_some_and(|w| {
        [
            "TEMP",
            "TEMPORARY",
            "UNLOGGED",
            "GLOBAL",
            "LOCAL",
            "UNIQUE",
            "RECURSIVE",
            "CONSTRAINT",
            "VIRTUAL",
            "TRUSTED",
            "PROCEDURAL",
        ]
        .iter()
        .any(|k| w.is(k))
    }) {
        i += 1;
    }
    let (kind, used) = ObjectKind::from_words(t.get(i)?, t.get(i + 1).copied())?;
    i += used;
    skip_words(t, &mut i, &["CONCURRENTLY"]);
    if skip_words(t, &mut i, &["IF", "NOT", "EXISTS"]) {
        guard = Some(Guard::IfNotExists);
    }
    let unnamed_index = kind == ObjectKind::Index && t.get(i).is_some_and(|w| w.is("ON"));
    let unnamed_schema =
        kind == ObjectKind::Schema && t.get(i).is_some_and(|w| w.is("AUTHORIZATION"));
    let name = if unnamed_index || unnamed_schema {
        None
    } else {
        Some(read_name(t, &mut i)?)
    };
    let mut on = None;
    let mut args = None;
    match kind {
        ObjectKind::Index | ObjectKind::Trigger | ObjectKind::Policy => {
            let at = (i..t.len()).find(|&k| t[k].is("ON"))?;
            let mut k = at + 1;
            skip_words(t, &mut k, &["ONLY"]);
            on = Some(read_name(t, &mut k)?);
        }
        ObjectKind::Function | ObjectKind::Procedure => args = Some(arguments(t, i)?),
        _ => {}
    }
    Some(Change::Create {
        kind,
        name,
        on,
        args,
        guard,
    })
}

/// A function's argument list, `(name type, ...)`, rebuilt from tokens
/// with defaults left out (DROP FUNCTION does not take them).
fn arguments(t: &[&Token<'_>], open: usize) -> Option<String> {
    if !matches!(t.get(open), Some(Token::Punct('('))) {
        return None;
    }
    let mut depth = 0;
    let mut out = String::new();
    let mut skipping = false;
    for tok in &t[open..] {
        match tok {
            Token::Punct('(') => {
                depth += 1;
                if depth > 1 && !skipping {
                    out.push('(');
                }
            }
            Token::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(format!("({})", out.trim()));
                }
                if !skipping {
                    out.push(')');
                }
            }
            Token::Punct(',') if depth == 1 => {
                skipping = false;
                out.push_str(", ");
            }
            _ if skipping => {}
            Token::Punct('=') if depth == 1 => skipping = true,
            Token::Word(w) if depth == 1 && w.eq_ignore_ascii_case("DEFAULT") => skipping = true,
            Token::Word(w) | Token::Quoted(w) => {
                if !out.is_empty() && !out.ends_with(['(', ' ']) {
                    out.push(' ');
                }
                out.push_str(w);
            }
            Token::Punct(c) => out.push(*c),
            Token::Literal => return None,
        }
    }
    None
}

fn drop(t: &[&Token<'_>]) -> Option<Change> {
    let mut i = 0;
    let (kind, used) = ObjectKind::from_words(t.first()?, t.get(1).copied())?;
    i += used;
    skip_words(t, &mut i, &["CONCURRENTLY"]);
    let if_exists = skip_words(t, &mut i, &["IF", "EXISTS"]);
    let mut names = vec![read_name(t, &mut i)?];
    while matches!(t.get(i), Some(Token::Punct(','))) {
        i += 1;
        names.push(read_name(t, &mut i)?);
    }
    Some(Change::Drop {
        kind,
        names,
        if_exists,
    })
}

fn alter(t: &[&Token<'_>]) -> Option<Vec<Change>> {
    let mut i = 0;
    let (kind, used) = ObjectKind::from_words(t.first()?, t.get(1).copied())?;
    i += used;
    skip_words(t, &mut i, &["IF", "EXISTS"]);
    skip_words(t, &mut i, &["ONLY"]);
    let table = read_name(t, &mut i)?;
    if kind != ObjectKind::Table {
        // ALTER INDEX/VIEW/... x RENAME TO y
        if skip_words(t, &mut i, &["RENAME", "TO"]) {
            let to = read_name(t, &mut i)?;
            return (i == t.len()).then_some(vec![Change::Rename {
                kind,
                from: table,
                to,
            }]);
        }
        return None;
    }
    // One action per top-level comma.
    let mut actions: Vec<&[&Token<'_>]> = Vec::new();
    let (mut depth, mut from) = (0usize, i);
    for k in i..t.len() {
        match t[k] {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth = depth.saturating_sub(1),
            Token::Punct(',') if depth == 0 => {
                actions.push(&t[from..k]);
                from = k + 1;
            }
            _ => {}
        }
    }
    actions.push(&t[from..]);
    actions
        .into_iter()
        .map(|a| table_action(a, &table))
        .collect()
}

fn table_action(a: &[&Token<'_>], table: &ObjectName) -> Option<Change> {
    let mut i = 0;
    let table = table.clone();
    if skip_words(a, &mut i, &["ADD"]) {
        if skip_words(a, &mut i, &["CONSTRAINT"]) {
            return Some(Change::AddConstraint {
                table,
                name: Some(read_name(a, &mut i)?),
            });
        }
        if a.get(i).is_some_and(|w| {
            [
                "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE", "INDEX", "KEY",
            ]
            .iter()
            .any(|k| w.is(k))
        }) {
            return Some(Change::AddConstraint { table, name: None });
        }
        skip_words(a, &mut i, &["COLUMN"]);
        let guard = skip_words(a, &mut i, &["IF", "NOT", "EXISTS"]).then_some(Guard::IfNotExists);
        return Some(Change::AddColumn {
            table,
            column: read_name(a, &mut i)?,
            guard,
        });
    }
    if skip_words(a, &mut i, &["DROP"]) {
        if a.get(i).is_some_and(|w| {
            [
                "CONSTRAINT",
                "DEFAULT",
                "NOT",
                "INDEX",
                "KEY",
                "PRIMARY",
                "FOREIGN",
                "CHECK",
                "IDENTITY",
                "EXPRESSION",
                "PARTITION",
            ]
            .iter()
            .any(|k| w.is(k))
        }) {
            return None;
        }
        skip_words(a, &mut i, &["COLUMN"]);
        let if_exists = skip_words(a, &mut i, &["IF", "EXISTS"]);
        return Some(Change::DropColumn {
            table,
            column: read_name(a, &mut i)?,
            if_exists,
        });
    }
    if skip_words(a, &mut i, &["ENABLE", "ROW", "LEVEL", "SECURITY"]) && i == a.len() {
        return Some(Change::EnableRowLevelSecurity { table });
    }
    if skip_words(a, &mut i, &["RENAME"]) {
        if skip_words(a, &mut i, &["TO"]) {
            let to = read_name(a, &mut i)?;
            return (i == a.len()).then_some(Change::Rename {
                kind: ObjectKind::Table,
                from: table,
                to,
            });
        }
        skip_words(a, &mut i, &["COLUMN"]);
        let from = read_name(a, &mut i)?;
        if !skip_words(a, &mut i, &["TO"]) {
            return None;
        }
        let to = read_name(a, &mut i)?;
        return (i == a.len()).then_some(Change::RenameColumn { table, from, to });
    }
    None
}

#[cfg(test)]
mod tests;
