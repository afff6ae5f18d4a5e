/// Hides the password of a connection string, so it can be printed, logged
/// or stored. Handles URLs (the password in the userinfo; one that is not
/// percent-encoded may hold `/`, `?`, `#` and `@`, so everything from the
/// first `:` of the userinfo up to the last `@` is hidden; or a
/// `password=` parameter) and `key=value` connection strings.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return redact_key_values(url);
    };
    let rest_start = scheme_end + 3;
    let mut out = url.to_string();
    if let Some((colon, at)) = password_span(url) {
        out.replace_range(colon + 1..at, "***");
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

/// Where the userinfo's password is: the first `:` after the scheme, and
/// the last `@` after it (the host follows).
fn password_span(url: &str) -> Option<(usize, usize)> {
    let rest = url.find("://")? + 3;
    let at = rest + url[rest..].rfind('@')?;
    let colon = rest + url[rest..at].find(':')?;
    Some((colon, at))
}

/// Every form in which the password of `url` may be printed: as written up
/// to the first `@` (as drivers read it) and up to the last, each also
/// percent-decoded, and a `password=` parameter; longest first.
pub fn password_forms(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some((colon, at)) = password_span(url) {
        found.push(url[colon + 1..at].to_string());
        if let Some(first) = url[colon + 1..at].find('@') {
            found.push(url[colon + 1..colon + 1 + first].to_string());
        }
    }
    for (key, value) in url
        .split(['?', '&'])
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
    {
        if key.eq_ignore_ascii_case("password") {
            found.push(value.to_string());
        }
    }
    let decoded: Vec<String> = found.iter().map(|s| percent_decode(s)).collect();
    found.extend(decoded);
    found.retain(|s| !s.is_empty());
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found.dedup();
    found
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

/// The TLS a connection asks for, as libpq's `sslmode` spells it (MySQL's
/// `ssl-mode` words, `DISABLED` ... `VERIFY_IDENTITY`, mean the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// TLS when the server offers it, without checking its certificate.
    Prefer,
    /// TLS or no connection; the certificate is not checked.
    Require,
    /// TLS with a certificate signed by a trusted authority, any host name.
    VerifyCa,
    /// TLS with a trusted certificate for the host connected to.
    VerifyFull,
}

impl SslMode {
    pub fn parse(value: &str) -> Result<Self, String> {
        Ok(
            match value.to_ascii_lowercase().replace('_', "-").as_str() {
                "disable" | "disabled" => SslMode::Disable,
                "allow" | "prefer" | "preferred" => SslMode::Prefer,
                "require" | "required" => SslMode::Require,
                "verify-ca" => SslMode::VerifyCa,
                "verify-full" | "verify-identity" => SslMode::VerifyFull,
                _ => {
                    return Err(format!(
                        "sslmode `{value}` is not one of disable, prefer, require, verify-ca, verify-full"
                    ));
                }
            },
        )
    }
}

/// What strata reads itself from a connection URL's query, where the
/// client libraries do not read it the libpq way: TLS as libpq spells it
/// (`sslmode`, `sslrootcert`) or as the MySQL client does (`ssl-mode`,
/// `ssl-ca`), and `connect_timeout` in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectParams {
    /// The URL without them, for the client library.
    pub rest: String,
    pub ssl: SslMode,
    pub root_cert: Option<String>,
    /// `None` when not given (or 0): [`crate::CONNECT_TIMEOUT`].
    pub timeout: Option<std::time::Duration>,
}

impl ConnectParams {
    pub fn split(url: &str) -> Result<ConnectParams, String> {
        // Parameters start after the host: a password may hold a `?`.
        let host_start = url.find('@').map_or(0, |a| a + 1);
        let (base, query) = match url[host_start..].find('?') {
            Some(q) => (&url[..host_start + q], &url[host_start + q + 1..]),
            None => (url, ""),
        };
        let mut params = ConnectParams {
            rest: base.to_string(),
            ssl: SslMode::Prefer,
            root_cert: None,
            timeout: None,
        };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key.replace('_', "-").as_str() {
                "sslmode" | "ssl-mode" => params.ssl = SslMode::parse(value)?,
                "sslrootcert" | "ssl-ca" => params.root_cert = Some(percent_decode(value)),
                "connect-timeout" => {
                    let seconds: u64 = value.parse().map_err(|_| {
                        format!("connect_timeout `{value}` is not a whole number of seconds")
                    })?;
                    params.timeout =
                        Some(std::time::Duration::from_secs(seconds)).filter(|t| !t.is_zero());
                }
                _ => kept.push(pair),
            }
        }
        if !kept.is_empty() {
            params.rest = format!("{base}?{}", kept.join("&"));
        }
        Ok(params)
    }
}

/// `%xx` sequences decoded (as URLs write reserved characters).
pub fn percent_decode(text: &str) -> String {
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

/// Hides the database URL and its password (as written, decoded, or as a
/// `password=` parameter) wherever a script printed them.
pub fn redact_in(text: &str, url: &str) -> String {
    let mut out = text.to_string();
    if !url.is_empty() {
        out = out.replace(url, &redact_url(url));
    }
    for secret in password_forms(url) {
        if secret.len() >= 3 {
            out = out.replace(&secret, "***");
        }
    }
    out
}

/// A URL without its credentials, path and query, which often hold the
/// secret.
pub fn redact_endpoint(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?']).next().unwrap_or(rest);
            let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
            format!("{scheme}://{host}/…")
        }
        None => "(not a URL)".into(),
    }
}

/// `url` naming database `name` on the same server (the URL's path
/// replaced), or `None` when `url` has no `scheme://` part.
pub fn with_database(url: &str, name: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (address, query) = match rest.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (rest, None),
    };
    let authority = address.split('/').next().unwrap_or_default();
    let mut out = format!("{scheme}://{authority}/{name}");
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_parameters_are_taken_out_of_the_url() {
        let p = ConnectParams::split(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&connect_timeout=3&application_name=x",
        )
        .unwrap();
        assert_eq!(p.rest, "postgres://u@h/db?application_name=x");
        assert_eq!(p.ssl, SslMode::VerifyFull);
        assert_eq!(p.root_cert.as_deref(), Some("/tmp/ca.pem"));
        assert_eq!(p.timeout, Some(std::time::Duration::from_secs(3)));
        let p = ConnectParams::split("postgres://h/db").unwrap();
        assert_eq!(
            (p.rest.as_str(), p.ssl, p.timeout),
            ("postgres://h/db", SslMode::Prefer, None)
        );
        assert!(ConnectParams::split("postgres://h/db?sslmode=sometimes").is_err());
        assert!(ConnectParams::split("mysql://h/db?connect_timeout=soon").is_err());
        // A `?` in the password is not the query.
        let p = ConnectParams::split("postgres://u:a?b@h/db?sslmode=require").unwrap();
        assert_eq!(
            (p.rest.as_str(), p.ssl),
            ("postgres://u:a?b@h/db", SslMode::Require)
        );
        // The MySQL client's spellings.
        let p = ConnectParams::split(
            "mysql://h/db?ssl-mode=VERIFY_IDENTITY&ssl_ca=ca.pem&connect-timeout=0",
        )
        .unwrap();
        assert_eq!(
            (p.ssl, p.root_cert.as_deref(), p.timeout),
            (SslMode::VerifyFull, Some("ca.pem"), None)
        );
    }

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

    /// Regression: a password that is not percent-encoded was printed in
    /// part (everything after its first `@`).
    #[test]
    fn hides_a_password_that_is_not_percent_encoded() {
        let url = "postgres://u:p@ss/w:rd?#%@host/db";
        assert_eq!(redact_url(url), "postgres://u:***@host/db");
        let forms = password_forms(url);
        assert!(forms.contains(&"p@ss/w:rd?#%".to_string()), "{forms:?}");
        assert!(forms.contains(&"p".to_string()), "{forms:?}");
        assert_eq!(
            redact_url("mysql://root:a@b@127.0.0.1:3306/x?sslmode=disable"),
            "mysql://root:***@127.0.0.1:3306/x?sslmode=disable"
        );
    }

    #[test]
    fn output_tail_hides_the_password() {
        let out = redact_in(
            "connecting to postgres://u:s3cret@h/db with s3cret",
            "postgres://u:s3cret@h/db",
        );
        assert!(!out.contains("s3cret"), "{out}");
        let out = redact_in(
            "p@ssword and q1w2e3",
            "postgres://u:p%40ssword@h/db?password=q1w2e3",
        );
        assert!(
            !out.contains("p@ssword") && !out.contains("q1w2e3"),
            "{out}"
        );
    }

    #[test]
    fn webhook_urls_are_shown_without_their_secret() {
        assert_eq!(
            redact_endpoint("https://hooks.slack.com/services/T0/B0/XYZ"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            redact_endpoint("http://u:p@127.0.0.1:9/x?token=1"),
            "http://127.0.0.1:9/…"
        );
    }

    #[test]
    fn another_database_on_the_same_server() {
        let cases = [
            (
                "postgres://u:p@h:5432/app?sslmode=require",
                "postgres://u:p@h:5432/s?sslmode=require",
            ),
            (
                "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/app",
                "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/s",
            ),
            (
                "mysql://root@127.0.0.1:3306/app",
                "mysql://root@127.0.0.1:3306/s",
            ),
            ("postgres://h", "postgres://h/s"),
        ];
        for (url, want) in cases {
            assert_eq!(with_database(url, "s").as_deref(), Some(want), "{url}");
        }
        assert_eq!(with_database("app.db", "s"), None);
    }
}
