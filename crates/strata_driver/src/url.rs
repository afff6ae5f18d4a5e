/// Hides the password of a connection string, so it can be printed, logged
/// or stored. Handles URLs (the password in the userinfo, read as libpq and
/// tokio-postgres read it: up to the first `@`, so it may contain `/` or
/// `?`; or a `password=` parameter) and `key=value` connection strings.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return redact_key_values(url);
    };
    let rest_start = scheme_end + 3;
    let mut out = url.to_string();
    if let Some(at) = out[rest_start..].find('@') {
        let userinfo = &out[rest_start..rest_start + at];
        if let Some(colon) = userinfo.find(':') {
            out.replace_range(rest_start + colon + 1..rest_start + at, "***");
        }
    }
    // Parameters start after the host part.
    let host_start = out[rest_start..]
        .find('@')
        .map_or(rest_start, |a| rest_start + a + 1);
    if let Some(q) = out[host_start..].find('?') {
        let q = host_start + q;
        let query: Vec<String> = out[q + 1..]
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{}?{}", &out[..q], query.join("&"));
    }
    out
}

/// `host=db user=u password=secret` -> `host=db user=u password=***`.
fn redact_key_values(text: &str) -> String {
    let mut out = Vec::new();
    let mut hide_next = false;
    for word in text.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        if hide_next && word == "=" {
            out.push(word.to_string());
        } else if hide_next {
            out.push("***".to_string());
            hide_next = false;
        } else if lower.starts_with("password=") {
            out.push("password=***".to_string());
        } else if lower == "password" || lower == "password=" {
            out.push(word.to_string());
            hide_next = true;
        } else {
            out.push(word.to_string());
        }
    }
    out.join(" ")
}

/// `url` without the password of its userinfo, and that password
/// (percent-decoded): for handing a database to a client program, with the
/// password in its environment rather than on its command line.
pub fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_string(), None);
    };
    let rest = scheme_end + 3;
    let Some(at) = url[rest..].find('@').map(|a| rest + a) else {
        return (url.to_string(), None);
    };
    let Some(colon) = url[rest..at].find(':').map(|c| rest + c) else {
        return (url.to_string(), None);
    };
    let password = percent_decode(&url[colon + 1..at]);
    (format!("{}{}", &url[..colon], &url[at..]), Some(password))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_password_out() {
        assert_eq!(
            split_password("postgres://app:p%40ss:w@db:5432/x?sslmode=require"),
            (
                "postgres://app@db:5432/x?sslmode=require".to_string(),
                Some("p@ss:w".to_string())
            )
        );
        assert_eq!(
            split_password("postgres://app@db/x"),
            ("postgres://app@db/x".to_string(), None)
        );
    }

    #[test]
    fn hides_passwords() {
        assert_eq!(
            redact_url("postgres://u:s3cr%40t@db:5432/app?sslmode=require"),
            "postgres://u:***@db:5432/app?sslmode=require"
        );
        assert_eq!(redact_url("postgres://u@db/app"), "postgres://u@db/app");
        assert_eq!(
            redact_url("postgres://db/app?user=u&password=pw"),
            "postgres://db/app?user=u&password=***"
        );
        assert_eq!(
            redact_url("postgres://app:Zx9/Qk@db/app"),
            "postgres://app:***@db/app"
        );
        assert_eq!(
            redact_url("postgres://u:a?b&password=c@h/db?sslmode=require"),
            "postgres://u:***@h/db?sslmode=require"
        );
        assert_eq!(
            redact_url("host=db user=u password=pw"),
            "host=db user=u password=***"
        );
        assert_eq!(
            redact_url("host=db password = pw"),
            "host=db password = ***"
        );
        assert_eq!(redact_url("sqlite://app.db"), "sqlite://app.db");
    }
}
