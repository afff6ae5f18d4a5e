//! Splits migration scripts into statements, each with its place in the
//! file, so an error the server reports can be traced to a file and line.
//!
//! PostgreSQL scripts are tokenized by squawk's lexer (quoted strings with
//! `E'..'` escapes, quoted identifiers, nested comments, dollar-quoted
//! bodies); SQLite and MySQL scripts by lexers of strata's own that know
//! their quoting (and MySQL's `DELIMITER`). On top of the tokens, the
//! splitter knows the `BEGIN ... END` blocks of SQL-standard function bodies
//! (`BEGIN ATOMIC`) and SQLite triggers, `COPY ... FROM STDIN` data and psql
//! meta-commands.

mod engine;
mod mysql;
mod objects;

pub use engine::EngineKind;
pub use objects::{Change, Guard, Irreversible, ObjectKind, ObjectName, changes, inverse, reverse};

/// The SQL dialect a script is written in; it decides which quotes exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
    /// MySQL and MariaDB.
    Mysql,
}

/// One statement of a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement's text, from its first significant character up to and
    /// including its `;` (comments inside and before it included).
    pub sql: &'a str,
    /// Byte offset of `sql` in the script.
    pub offset: usize,
    /// Byte offset in the script of the statement's first token (after any
    /// leading comments): where a reader should look.
    pub token_offset: usize,
}

impl Statement<'_> {
    /// 0-based line of the script the statement's first token is on.
    pub fn line_in(&self, script: &str) -> usize {
        line_at(script, self.token_offset)
    }
}

/// Whether `statement` starts or ends a transaction (`BEGIN`, `COMMIT`,
/// `ROLLBACK` but not `ROLLBACK TO SAVEPOINT`, `START TRANSACTION`, `END`,
/// `ABORT`): such a statement would break the transaction strata wraps a
/// migration in.
pub fn is_transaction_control(statement: &Statement<'_>, script: &str) -> bool {
    let mut words = script[statement.token_offset..]
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase);
    match words.next().as_deref() {
        Some("BEGIN" | "COMMIT" | "END" | "ABORT") => true,
        Some("START") => words.next().as_deref() == Some("TRANSACTION"),
        Some("ROLLBACK") => !matches!(words.next().as_deref(), Some("TO")),
        _ => false,
    }
}

/// Whether PostgreSQL refuses to run `statement` inside a transaction
/// block (`CREATE INDEX CONCURRENTLY`, `VACUUM`, `CREATE DATABASE`, ...).
pub fn cannot_run_in_transaction(statement: &Statement<'_>, script: &str) -> bool {
    let words: Vec<String> = words_outside_quotes(
        &script[statement.token_offset..statement.offset + statement.sql.len()],
    )
    .take(6)
    .collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["VACUUM", ..] | ["ALTER", "SYSTEM", ..] | ["DISCARD", "ALL", ..] => true,
        ["CREATE" | "DROP", "DATABASE" | "TABLESPACE", ..] => true,
        ["REINDEX", "DATABASE" | "SYSTEM", ..] => true,
        ["CREATE" | "DROP" | "REINDEX", ..] => w.contains(&"CONCURRENTLY"),
        _ => false,
    }
}

/// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name`
/// statement builds, as written (`schema.name` when qualified, quotes
/// removed); `None` for any other statement or an unnamed index.
pub fn concurrent_index_name(statement: &Statement<'_>, script: &str) -> Option<String> {
    let text = &script[statement.token_offset..statement.offset + statement.sql.len()];
    let mut rest = text.trim_start();
    let word = |rest: &mut &str| -> String {
        let s = rest.trim_start();
        let end = s
            .find(|c: char| c.is_whitespace() || c == '(')
            .unwrap_or(s.len());
        *rest = &s[end..];
        s[..end].to_string()
    };
    let is = |w: &str, k: &str| w.eq_ignore_ascii_case(k);
    if !is(&word(&mut rest), "CREATE") {
        return None;
    }
    let mut w = word(&mut rest);
    if is(&w, "UNIQUE") {
        w = word(&mut rest);
    }
    if !is(&w, "INDEX") || !is(&word(&mut rest), "CONCURRENTLY") {
        return None;
    }
    let mut name = word(&mut rest);
    if is(&name, "IF") {
        word(&mut rest);
        word(&mut rest);
        name = word(&mut rest);
    }
    if name.is_empty() || is(&name, "ON") {
        return None;
    }
    Some(
        name.split('.')
            .map(|part| part.trim_matches('"').replace("\"\"", "\""))
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// What `statement` destroys, when it does: `DROP TABLE`, `DROP SCHEMA`,
/// `DROP DATABASE`, a dropped column, `TRUNCATE`, or a `DELETE`/`UPDATE`
/// without `WHERE` (every row).
pub fn destructive(statement: &Statement<'_>, script: &str) -> Option<&'static str> {
    let mut words = words_outside_quotes(
        &script[statement.token_offset..statement.offset + statement.sql.len()],
    );
    // Most statements are told by their first word: the rest (a data
    // migration's VALUES) is read only when it can matter.
    let first = words.next();
    if !matches!(
        first.as_deref(),
        Some("DROP" | "TRUNCATE" | "DELETE" | "UPDATE" | "ALTER")
    ) {
        return None;
    }
    let words: Vec<String> = first.into_iter().chain(words).collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let has = |k: &str| w.contains(&k);
    match w.as_slice() {
        ["DROP", "TABLE", ..] => Some("drops a table"),
        ["DROP", "SCHEMA" | "DATABASE", ..] => Some("drops a schema and everything in it"),
        ["TRUNCATE", ..] => Some("deletes every row of a table"),
        ["DELETE", ..] if !has("WHERE") => Some("deletes every row (no WHERE)"),
        ["UPDATE", ..] if !has("WHERE") => Some("updates every row (no WHERE)"),
        ["ALTER", "TABLE", rest @ ..] => rest
            .windows(2)
            .any(|p| {
                p[0] == "DROP"
                    && !matches!(
                        p[1],
                        "CONSTRAINT"
                            | "DEFAULT"
                            | "NOT"
                            | "INDEX"
                            | "KEY"
                            | "PRIMARY"
                            | "FOREIGN"
                            | "CHECK"
                            | "IDENTITY"
                            | "EXPRESSION"
                            | "PARTITION"
                    )
            })
            .then_some("drops a column"),
        _ => None,
    }
}

/// The upper-cased words of `text`, leaving out quoted strings and
/// identifiers and comments, read as they are asked for.
fn words_outside_quotes(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut chars = text.chars().peekable();
    std::iter::from_fn(move || {
        let mut word = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' | '"' | '`' => {
                    for d in chars.by_ref() {
                        if d == c {
                            break;
                        }
                    }
                }
                '-' if chars.peek() == Some(&'-') => {
                    for d in chars.by_ref() {
                        if d == '\n' {
                            break;
                        }
                    }
                }
                c if c.is_alphanumeric() || c == '_' => {
                    word.push(c);
                    continue;
                }
                _ => {}
            }
            if !word.is_empty() {
                return Some(word.to_ascii_uppercase());
            }
        }
        (!word.is_empty()).then(|| word.to_ascii_uppercase())
    })
}

/// The first word of `statement` (of `script`), upper-cased.
pub fn first_word(statement: &Statement<'_>, script: &str) -> String {
    script[statement.token_offset..]
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .find(|w| !w.is_empty())
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// Whether `statement` changes the schema (CREATE, ALTER, DROP, RENAME,
/// TRUNCATE): what MySQL commits implicitly.
pub fn is_ddl(statement: &Statement<'_>, script: &str) -> bool {
    let first = first_word(statement, script);
    matches!(
        first.as_str(),
        "CREATE" | "ALTER" | "DROP" | "RENAME" | "TRUNCATE"
    )
}

/// Where each line of a text starts, for turning many byte offsets into
/// line numbers without counting from the top each time (a 50 MB file has
/// hundreds of thousands of statements).
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr_newlines(text).map(|i| i + 1));
        LineIndex { starts }
    }

    /// 0-based line of byte `offset`.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset) - 1
    }

    /// Byte offset where 0-based `line` starts.
    pub fn start(&self, line: usize) -> usize {
        self.starts[line.min(self.starts.len() - 1)]
    }
}

fn memchr_newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
}

/// 0-based line number of byte `offset` in `text` (for one lookup; many
/// lookups in one text go through a [`LineIndex`]).
pub fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Converts a 1-based character position (as PostgreSQL reports it) into a
/// byte offset of `text`.
pub fn char_position_to_offset(text: &str, position: usize) -> usize {
    text.char_indices()
        .nth(position.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i)
}

/// The whole script as one statement (for tools that send a file as one
/// command); empty when it holds only whitespace and comments.
pub fn whole(script: &str) -> Vec<Statement<'_>> {
    split(script, Dialect::Postgres)
        .first()
        .map(|first| Statement {
            sql: &script[first.offset..],
            offset: first.offset,
            token_offset: first.token_offset,
        })
        .into_iter()
        .collect()
}

/// Splits `script` into statements. Statements made only of whitespace and
/// comments are dropped; text after the last `;` is a statement of its own.
pub fn split(script: &str, dialect: Dialect) -> Vec<Statement<'_>> {
    match dialect {
        Dialect::Postgres => split_postgres(script),
        Dialect::Sqlite => split_sqlite(script),
        Dialect::Mysql => mysql::split(script),
    }
}

/// What the splitter knows of the statement it is reading: where it starts,
/// and whether a `;` now ends it or sits inside a block body.
#[derive(Default)]
struct Reading<'a> {
    /// First significant byte (comments count).
    start: Option<usize>,
    /// First byte that is not a comment.
    token: Option<usize>,
    first_word: Option<&'a str>,
    prev_word: Option<&'a str>,
    words: usize,
    trigger: bool,
    parens: usize,
    /// Open `BEGIN ATOMIC`, trigger `BEGIN` and `CASE` blocks.
    depth: usize,
    /// `COPY ... FROM STDIN`: its data follows the `;`.
    copy_stdin: bool,
}

impl<'a> Reading<'a> {
    fn comment(&mut self, at: usize) {
        self.start.get_or_insert(at);
    }

    fn token(&mut self, at: usize) {
        self.start.get_or_insert(at);
        self.token.get_or_insert(at);
    }

    fn paren(&mut self, open: bool) {
        if open {
            self.parens += 1;
        } else {
            self.parens = self.parens.saturating_sub(1);
        }
    }

    /// A word of the statement; `glued` when it follows a `.` or `,`
    /// directly (a column such as `old.begin`, never a keyword).
    fn word(&mut self, word: &'a str, glued: bool) {
        let is = |w: &str| word.eq_ignore_ascii_case(w);
        let was = |seen: Option<&str>, w: &str| seen.is_some_and(|s| s.eq_ignore_ascii_case(w));
        let in_create = was(self.first_word, "CREATE");
        // `CREATE [OR REPLACE | TEMP] TRIGGER`: its body is a BEGIN ... END
        // block (SQLite; PostgreSQL triggers have no such body, so counting
        // it there is safe).
        if in_create && self.words <= 4 && is("TRIGGER") {
            self.trigger = true;
        }
        // Only block openers count, so a column named `begin` does not hide
        // the semicolons after it. A trigger's BEGIN is a keyword at the top
        // level: not `old.begin`, not inside `WHEN (...)`, not a column in
        // `UPDATE OF begin, ...`.
        let keyword = self.parens == 0 && !glued && !was(self.prev_word, "OF");
        let opens = (is("ATOMIC") && was(self.prev_word, "BEGIN") && in_create)
            || (is("BEGIN") && self.trigger && self.depth == 0 && keyword)
            || (is("CASE") && self.depth > 0);
        if opens {
            self.depth += 1;
        } else if self.depth > 0 && is("END") {
            self.depth -= 1;
        }
        if is("STDIN") && was(self.prev_word, "FROM") && was(self.first_word, "COPY") {
            self.copy_stdin = true;
        }
        self.first_word.get_or_insert(word);
        self.prev_word = Some(word);
        self.words += 1;
    }

    /// Ends the statement at `end` (kept if it has more than comments) and
    /// starts reading the next one.
    fn finish(&mut self, script: &'a str, end: usize, out: &mut Vec<Statement<'a>>) {
        let read = std::mem::take(self);
        if let Some(token) = read.token {
            let from = read.start.unwrap_or(token);
            out.push(Statement {
                sql: &script[from..end],
                offset: from,
                token_offset: token,
            });
        }
    }
}

fn glued(bytes: &[u8], at: usize) -> bool {
    at > 0 && matches!(bytes[at - 1], b'.' | b',')
}

/// PostgreSQL scripts as psql reads them, tokenized by squawk's lexer (the
/// one squawk-syntax parses with): strings with their escapes, quoted
/// identifiers, nested comments and dollar-quoted bodies hide their `;`.
/// On top of its tokens: `BEGIN ATOMIC` bodies, `COPY ... FROM STDIN` with
/// its data lines, and psql meta-commands.
fn split_postgres(script: &str) -> Vec<Statement<'_>> {
    use squawk_lexer::TokenKind;
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let mut reading = Reading::default();
    // Where lexing (re)starts: COPY data and meta-commands are not SQL, so
    // the lexer starts afresh after them.
    let mut resume = Some(0);
    while let Some(from_offset) = resume.take() {
        let mut at = from_offset;
        for token in squawk_lexer::tokenize(&script[from_offset..]) {
            let (from, to) = (at, at + token.len as usize);
            at = to;
            match token.kind {
                TokenKind::Whitespace => {}
                TokenKind::LineComment | TokenKind::BlockComment { .. } => reading.comment(from),
                TokenKind::Semi if reading.depth == 0 => {
                    let end = if reading.copy_stdin {
                        copy_data_end(script, to)
                    } else {
                        to
                    };
                    reading.finish(script, end, &mut out);
                    if end != to {
                        resume = Some(end);
                        break;
                    }
                }
                // A psql meta-command (`\connect`, `\i`) where a statement
                // starts: the rest of its line, a statement of its own
                // (refused at plan time).
                TokenKind::Unknown if reading.token.is_none() && bytes[from] == b'\\' => {
                    let line_end = script[from..].find('\n').map_or(script.len(), |p| from + p);
                    reading.token(from);
                    reading.finish(script, script[..line_end].trim_end().len(), &mut out);
                    resume = Some(line_end);
                    break;
                }
                TokenKind::Ident => {
                    reading.token(from);
                    reading.word(&script[from..to], glued(bytes, from));
                }
                TokenKind::OpenParen | TokenKind::CloseParen => {
                    reading.token(from);
                    reading.paren(token.kind == TokenKind::OpenParen);
                }
                _ => reading.token(from),
            }
        }
    }
    reading.finish(script, script.len(), &mut out);
    out
}

/// Where the data of a `COPY ... FROM STDIN` whose `;` ends at `after`
/// ends: at a line `\.` (kept with the statement), or the end of the script.
fn copy_data_end(script: &str, after: usize) -> usize {
    let bytes = script.as_bytes();
    let mut at = memchr_newline(bytes, after);
    while at < bytes.len() {
        let next = memchr_newline(bytes, at);
        let line = script[at..next].trim_end();
        if line == "\\." {
            return at + line.len();
        }
        at = next;
    }
    bytes.len()
}

/// SQLite scripts: `'..'`, `".."`, `` `..` `` and `[..]` quoting, comments
/// that do not nest, and trigger bodies (`BEGIN ... END`).
fn split_sqlite(script: &str) -> Vec<Statement<'_>> {
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let mut reading = Reading::default();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => i += 1,
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                reading.comment(i);
                i = memchr_newline(bytes, i);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                reading.comment(i);
                i = skip_block_comment(bytes, i, false);
            }
            b';' if reading.depth == 0 => {
                reading.finish(script, i + 1, &mut out);
                i += 1;
            }
            _ => {
                reading.token(i);
                i = match b {
                    b'\'' | b'"' | b'`' => skip_quoted(bytes, i, b, false),
                    b'[' => bytes[i..]
                        .iter()
                        .position(|&c| c == b']')
                        .map_or(bytes.len(), |p| i + p + 1),
                    b'(' | b')' => {
                        reading.paren(b == b'(');
                        i + 1
                    }
                    c if c.is_ascii_alphabetic() || c == b'_' => {
                        let end = bytes[i..]
                            .iter()
                            .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$'))
                            .map_or(bytes.len(), |p| i + p);
                        reading.word(&script[i..end], glued(bytes, i));
                        end
                    }
                    _ => i + 1,
                };
            }
        }
    }
    reading.finish(script, script.len(), &mut out);
    out
}

/// The psql meta-command `statement` is (`\connect`, `\i`, ...), if it is
/// one: psql runs those itself, a server cannot.
pub fn psql_meta_command<'a>(statement: &Statement<'a>) -> Option<&'a str> {
    let text = &statement.sql[statement.token_offset - statement.offset..];
    text.starts_with('\\')
        .then(|| text.split_whitespace().next().unwrap_or(text))
}

/// For `COPY ... FROM STDIN;` followed by its data: the command (up to and
/// including its `;`) and the data lines (without the closing `\.`).
pub fn copy_data<'a>(statement: &Statement<'a>) -> Option<(&'a str, &'a str)> {
    let sql = statement.sql;
    let head = sql.find(';')?;
    let data_from = sql[head..].find('\n').map_or(sql.len(), |p| head + p + 1);
    let (command, rest) = (&sql[..=head], &sql[data_from..]);
    let words: Vec<String> = command
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let first_token = sql[statement.token_offset - statement.offset..]
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()?;
    let is_copy = first_token.eq_ignore_ascii_case("COPY")
        && words.windows(2).any(|w| w[0] == "FROM" && w[1] == "STDIN");
    if !is_copy || data_from > sql.len() {
        return None;
    }
    Some((command, rest.strip_suffix("\\.").unwrap_or(rest)))
}

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p + 1)
}

fn skip_block_comment(bytes: &[u8], from: usize, nests: bool) -> usize {
    let mut depth = 0;
    let mut i = from;
    while i + 1 < bytes.len() {
        if bytes[i] == b'/' && bytes[i + 1] == b'*' {
            depth += 1;
            i += 2;
            if !nests && depth > 1 {
                depth = 1;
            }
        } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// `E'...'` (or `e'...'`) not preceded by another identifier character.
fn is_e_prefix(bytes: &[u8], quote: usize) -> bool {
    quote >= 1
        && matches!(bytes[quote - 1], b'E' | b'e')
        && (quote < 2 || !(bytes[quote - 2].is_ascii_alphanumeric() || bytes[quote - 2] == b'_'))
}

/// Skips a quoted run starting at `from`; a doubled quote is an escaped one.
fn skip_quoted(bytes: &[u8], from: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = from + 1;
    while i < bytes.len() {
        let c = bytes[i];
        if backslash_escapes && c == b'\\' {
            i += 2;
        } else if c == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Skips a dollar-quoted body (`$$...$$`, `$tag$...$tag$`); a `$` that does
/// not open one (a parameter such as `$1`) is a single character.
fn skip_dollar(script: &str, from: usize) -> usize {
    let bytes = script.as_bytes();
    let mut j = from + 1;
    if bytes.get(j).is_some_and(|c| c.is_ascii_digit()) {
        return from + 1;
    }
    while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
        j += 1;
    }
    if bytes.get(j) != Some(&b'$') {
        return from + 1;
    }
    let tag = &script[from..=j];
    match script[j + 1..].find(tag) {
        Some(p) => j + 1 + p + tag.len(),
        None => bytes.len(),
    }
}

#[cfg(test)]
mod tests;
