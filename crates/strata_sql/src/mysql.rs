//! MySQL and MariaDB scripts: `'...'` and `"..."` strings with backslash
//! escapes, backquoted identifiers, `#` and `-- ` comments, executable
//! comments (`/*!50001 ... */`, optimizer hints `/*+ ... */`) that are part
//! of a statement, the client's `DELIMITER` command, and `BEGIN ... END`
//! bodies of stored programs written without one.

use crate::{Statement, memchr_newline, skip_quoted};

/// Splits a MySQL script. `DELIMITER` lines are instructions to the client,
/// not statements: they change what ends the statements after them, and a
/// statement ended by a custom delimiter does not include it.
pub(crate) fn split(script: &str) -> Vec<Statement<'_>> {
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let mut delimiter = ";".to_string();
    let mut i = 0;
    let mut start: Option<usize> = None;
    let mut token: Option<usize> = None;
    let mut words: Vec<String> = Vec::new();
    let mut routine = false;
    let mut depth = 0usize;

    while i < bytes.len() {
        let b = bytes[i];
        if token.is_none() && word_at(script, i).eq_ignore_ascii_case("DELIMITER") {
            let line_end = bytes[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(bytes.len(), |p| i + p);
            let rest = script[i + "DELIMITER".len()..line_end].trim();
            if let Some(d) = rest.split_whitespace().next() {
                delimiter = d.to_string();
                start = None;
                i = line_end;
                continue;
            }
        }
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                i += 1;
                continue;
            }
            b'#' => {
                start.get_or_insert(i);
                i = memchr_newline(bytes, i);
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-')
                && bytes.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                start.get_or_insert(i);
                i = memchr_newline(bytes, i);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                start.get_or_insert(i);
                let executable = matches!(bytes.get(i + 2), Some(b'!' | b'+'));
                if executable {
                    token.get_or_insert(i);
                }
                i = script[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |p| i + 2 + p + 2);
                continue;
            }
            _ => {}
        }
        if depth == 0 && script[i..].starts_with(delimiter.as_str()) {
            let end = i + delimiter.len();
            if let Some(tok) = token {
                let from = start.unwrap_or(tok);
                let until = if delimiter == ";" { end } else { i };
                out.push(Statement {
                    sql: script[from..until].trim_end(),
                    offset: from,
                    token_offset: tok,
                });
            }
            start = None;
            token = None;
            words.clear();
            routine = false;
            i = end;
            continue;
        }
        start.get_or_insert(i);
        token.get_or_insert(i);
        match b {
            b'\'' | b'"' => i = skip_quoted(bytes, i, b, true),
            b'`' => i = skip_quoted(bytes, i, b'`', false),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut word = word_at(script, i);
                if delimiter != ";"
                    && let Some(p) = word.find(delimiter.as_str())
                {
                    word = &word[..p.max(1)];
                }
                let upper = word.to_ascii_uppercase();
                if delimiter == ";" {
                    if words.first().is_some_and(|f| f == "CREATE")
                        && words.len() < 8
                        && matches!(
                            upper.as_str(),
                            "PROCEDURE" | "FUNCTION" | "TRIGGER" | "EVENT"
                        )
                    {
                        routine = true;
                    }
                    let next =
                        word_at(script, skip_space(bytes, i + word.len())).to_ascii_uppercase();
                    let anonymous_block = words.is_empty() && upper == "BEGIN" && next == "NOT";
                    let qualified = i > 0 && bytes[i - 1] == b'.';
                    let closing = words.last().is_some_and(|w| w == "END");
                    let opens = (upper == "BEGIN" && (routine || anonymous_block))
                        || (upper == "CASE" && depth > 0);
                    if !qualified && opens && !closing {
                        depth += 1;
                    } else if !qualified
                        && upper == "END"
                        && depth > 0
                        && !matches!(next.as_str(), "IF" | "LOOP" | "WHILE" | "REPEAT")
                    {
                        depth -= 1;
                    }
                }
                words.push(upper);
                i += word.len();
            }
            _ => i += 1,
        }
    }
    if let Some(tok) = token {
        let from = start.unwrap_or(tok);
        out.push(Statement {
            sql: script[from..].trim_end(),
            offset: from,
            token_offset: tok,
        });
    }
    out
}

/// The identifier-like word starting at `at` (empty when there is none).
fn word_at(script: &str, at: usize) -> &str {
    let bytes = script.as_bytes();
    if at >= bytes.len() || !(bytes[at].is_ascii_alphabetic() || bytes[at] == b'_') {
        return "";
    }
    let end = bytes[at..]
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$'))
        .map_or(bytes.len(), |p| at + p);
    &script[at..end]
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use crate::{Dialect, split};

    fn texts(sql: &str) -> Vec<&str> {
        split(sql, Dialect::Mysql).iter().map(|s| s.sql).collect()
    }

    #[test]
    fn strings_backquotes_and_comments() {
        let sql = "CREATE TABLE `a;b` (x TEXT DEFAULT 'it\\'s;', y TEXT DEFAULT \"q;\");\n# hash; comment\n-- dash; comment\nINSERT INTO `a;b` VALUES ('--;', '#;');\nSELECT 1--1;";
        assert_eq!(
            texts(sql),
            vec![
                "CREATE TABLE `a;b` (x TEXT DEFAULT 'it\\'s;', y TEXT DEFAULT \"q;\");",
                "# hash; comment\n-- dash; comment\nINSERT INTO `a;b` VALUES ('--;', '#;');",
                "SELECT 1--1;",
            ]
        );
    }

    #[test]
    fn executable_comments_are_statements() {
        let sql = "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n/* plain; comment */\n/*!50001 CREATE VIEW v AS SELECT 1 */;";
        let parts = texts(sql);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(parts[1].contains("CREATE VIEW"));
    }

    #[test]
    fn delimiter_blocks() {
        let sql = "CREATE TABLE t (n INT);\nDELIMITER $$\nCREATE PROCEDURE p()\nBEGIN\n  INSERT INTO t VALUES (1);\n  INSERT INTO t VALUES (2);\nEND$$\nDELIMITER ;\nCALL p();\n";
        let st = split(sql, Dialect::Mysql);
        let parts: Vec<&str> = st.iter().map(|s| s.sql).collect();
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert!(parts[1].starts_with("CREATE PROCEDURE") && parts[1].ends_with("END"));
        assert_eq!(parts[2], "CALL p();");
        assert_eq!(st[1].line_in(sql), 2);
        assert_eq!(st[2].line_in(sql), 8);
    }

    #[test]
    fn routine_bodies_without_delimiter() {
        let sql = "CREATE DEFINER=`root`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  IF NEW.n < 0 THEN SET NEW.n = 0; END IF;\n  CASE NEW.n WHEN 1 THEN SET NEW.n = 2; ELSE BEGIN END; END CASE;\n  SET NEW.m = CASE WHEN NEW.n > 1 THEN 1 ELSE 0 END;\nEND;\nBEGIN NOT ATOMIC SELECT 1; END;\nSELECT `end`;";
        let parts = texts(sql);
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert_eq!(parts[2], "SELECT `end`;");
    }
}
