/// Replaces the password in a connection URL (userinfo or a `password=`
/// parameter) with `***`, so a URL can be printed, logged or stored.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |p| rest_start + p);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = rest_start + colon + 1;
                out.replace_range(start..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
            redact_url("postgres://u:p:w@x@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("sqlite://app.db"), "sqlite://app.db");
    }
}
