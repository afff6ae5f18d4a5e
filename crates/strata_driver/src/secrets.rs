//! Passwords written in SQL (`CREATE ROLE ... PASSWORD '...'`, MySQL's
//! `IDENTIFIED BY '...'`), hidden wherever strata shows a statement it did
//! not write: a run log, a lock holder's query, a blocked session's.

/// `text` with the string after `PASSWORD` or `IDENTIFIED BY` replaced by
/// `***`: a quoted string (`'...'` with `''` inside, `E'...'`, `"..."`),
/// a dollar-quoted one (`$$...$$`, `$tag$...$tag$`), or MySQL's
/// `PASSWORD('...')`.
pub fn hide_secrets(text: &str) -> String {
    const KEYWORDS: [&str; 2] = ["password", "identified by"];
    // ASCII lower-casing keeps every byte where it was.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(after) = KEYWORDS
        .iter()
        .filter_map(|k| lower[at..].find(k).map(|i| at + i + k.len()))
        .min()
    {
        // `= `, `(` and an `E` prefix may come between the keyword and
        // the string.
        let mut start = after;
        let bytes = text.as_bytes();
        while start < text.len()
            && matches!(bytes[start], b' ' | b'\t' | b'\n' | b'\r' | b'=' | b'(')
        {
            start += 1;
        }
        if start < text.len()
            && matches!(bytes[start], b'E' | b'e')
            && text[start + 1..].starts_with('\'')
        {
            start += 1;
        }
        out.push_str(&text[at..start]);
        at = start;
        if let Some(end) = quoted_end(&text[start..]) {
            let open = &text[start..start + opening_len(&text[start..])];
            out.push_str(open);
            out.push_str("***");
            out.push_str(open);
            at = start + end;
        }
    }
    out.push_str(&text[at..]);
    out
}

/// How long the opening quote of `s` is: 1, or a dollar tag's length.
fn opening_len(s: &str) -> usize {
    match s.strip_prefix('$') {
        Some(rest) => rest.find('$').map_or(1, |i| i + 2),
        None => 1,
    }
}

/// Where the quoted string `s` starts with ends (just past its closing
/// quote), if it is one and is closed.
fn quoted_end(s: &str) -> Option<usize> {
    match s.chars().next()? {
        q @ ('\'' | '"') => {
            let mut i = 1;
            loop {
                let next = s[i..].find(q)? + i;
                // A doubled quote is one quote inside the string.
                if s[next + 1..].starts_with(q) {
                    i = next + 2;
                } else {
                    return Some(next + 1);
                }
            }
        }
        '$' => {
            let tag_len = opening_len(s);
            let tag = &s[..tag_len];
            let valid = tag_len >= 2
                && tag[1..tag_len - 1]
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_');
            if !valid {
                return None;
            }
            s[tag_len..].find(tag).map(|i| tag_len + i + tag_len)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::hide_secrets;

    #[test]
    fn hides_passwords_in_every_quoting() {
        for (sql, hidden) in [
            (
                "CREATE ROLE app LOGIN PASSWORD 'hunter2';",
                "CREATE ROLE app LOGIN PASSWORD '***';",
            ),
            (
                "CREATE USER 'a'@'%' IDENTIFIED BY \"s3cret\"; ALTER ROLE b WITH password 'x'",
                "CREATE USER 'a'@'%' IDENTIFIED BY \"***\"; ALTER ROLE b WITH password '***'",
            ),
            (
                "ALTER ROLE a PASSWORD 'it''s_pw3';",
                "ALTER ROLE a PASSWORD '***';",
            ),
            (
                "ALTER ROLE a PASSWORD E'pw\\\\x';",
                "ALTER ROLE a PASSWORD E'***';",
            ),
            (
                "ALTER ROLE a PASSWORD $$pw$$;",
                "ALTER ROLE a PASSWORD $$***$$;",
            ),
            (
                "ALTER ROLE a PASSWORD $k$pw$k$;",
                "ALTER ROLE a PASSWORD $k$***$k$;",
            ),
            (
                "SET PASSWORD FOR 'u'@'%' = PASSWORD('x');",
                "SET PASSWORD FOR 'u'@'%' = PASSWORD('***');",
            ),
            (
                "CREATE USER u IDENTIFIED VIA mysql_native_password USING PASSWORD('pw')",
                "CREATE USER u IDENTIFIED VIA mysql_native_password USING PASSWORD('***')",
            ),
            ("the password is wrong", "the password is wrong"),
            ("password", "password"),
            ("PASSWORD 'unterminated", "PASSWORD 'unterminated"),
        ] {
            assert_eq!(hide_secrets(sql), hidden, "{sql}");
        }
    }
}
