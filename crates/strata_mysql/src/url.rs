//! `mysql://` and `mariadb://` URLs: user, password, host, port, database,
//! and TLS as libpq spells it (`sslmode`, `sslrootcert`) or as the MySQL
//! client does (`ssl-mode`, `ssl-ca`). Other parameters are mysql_async's.

use mysql_async::{Conn, Opts, OptsBuilder, SslOpts};
use std::path::PathBuf;
use strata_driver::{ConnectParams, DriverError, Result, SslMode, redact_url};

/// How to reach one MySQL or MariaDB database.
pub struct ConnectOptions {
    opts: Opts,
    ssl: SslMode,
    /// How long connecting may take, TLS and authentication included
    /// (`connect_timeout` in seconds, as libpq spells it; default 30).
    timeout: std::time::Duration,
    root_cert: Option<PathBuf>,
    /// The URL with any password hidden.
    pub display: String,
}

impl ConnectOptions {
    pub fn parse(url: &str) -> Result<Self> {
        let display = redact_url(url);
        let fail = |message: String| DriverError::Connect {
            url: display.clone(),
            message,
        };
        if !url.contains("://") {
            return Err(fail(
                "write mysql://user:password@host:3306/database".into(),
            ));
        }
        let params = ConnectParams::split(url).map_err(fail)?;
        let base = params.rest.split_once("://").map_or("", |(_, rest)| rest);
        let before_query = base.split('?').next().unwrap_or_default();
        if before_query
            .rsplit_once('@')
            .map_or(before_query, |(_, h)| h)
            .is_empty()
        {
            return Err(fail("the URL names no host".into()));
        }
        let normal = format!("mysql://{base}");
        let (ssl, timeout) = (
            params.ssl,
            params.timeout.unwrap_or(strata_driver::CONNECT_TIMEOUT),
        );
        let root_cert = params.root_cert.map(PathBuf::from);
        let opts =
            Opts::from_url(&normal).map_err(|e| fail(format!("the URL is not valid: {e}")))?;
        if matches!(ssl, SslMode::VerifyCa | SslMode::VerifyFull)
            && let Some(path) = &root_cert
            && !path.is_file()
        {
            return Err(fail(format!(
                "sslrootcert {} is not a readable file",
                path.display()
            )));
        }
        Ok(ConnectOptions {
            opts,
            ssl,
            timeout,
            root_cert,
            display,
        })
    }

    /// Arguments naming this server, user and database for the `mysql`
    /// and `mysqldump` programs (the database last), and the password to
    /// hand them in `MYSQL_PWD`, never on the command line.
    pub fn client_args(&self) -> (Vec<String>, Option<String>) {
        let o = &self.opts;
        let mut args = vec![
            format!("--host={}", o.ip_or_hostname()),
            format!("--port={}", o.tcp_port()),
            "--protocol=TCP".to_string(),
        ];
        if let Some(user) = o.user() {
            args.push(format!("--user={user}"));
        }
        if let Some(ca) = &self.root_cert {
            args.push(format!("--ssl-ca={}", ca.display()));
        }
        args.push(o.db_name().unwrap_or_default().to_string());
        (args, o.pass().map(str::to_string))
    }

    fn with_tls(&self, tls: bool) -> Opts {
        let mut builder = OptsBuilder::from_opts(self.opts.clone()).prefer_socket(false);
        if tls {
            let mut ssl = SslOpts::default();
            if let Some(path) = &self.root_cert {
                ssl = ssl.with_root_certs(vec![path.clone().into()]);
            }
            ssl = match self.ssl {
                SslMode::Prefer | SslMode::Require if self.root_cert.is_none() => {
                    ssl.with_danger_accept_invalid_certs(true)
                }
                SslMode::Prefer | SslMode::Require | SslMode::VerifyCa => {
                    ssl.with_danger_skip_domain_validation(true)
                }
                _ => ssl,
            };
            builder = builder.ssl_opts(Some(ssl));
        }
        Opts::from(builder)
    }

    /// Opens the connection; with `prefer`, falls back to plain TCP when
    /// the server offers no TLS.
    pub async fn connect(&self) -> Result<Conn> {
        let fail = |e: mysql_async::Error| DriverError::Connect {
            url: self.display.clone(),
            message: e.to_string(),
        };
        let attempt = |tls| {
            let opts = self.with_tls(tls);
            async move {
                tokio::time::timeout(self.timeout, Conn::new(opts))
                    .await
                    .unwrap_or_else(|_| {
                        Err(mysql_async::Error::Other(
                            strata_driver::connect_timed_out(self.timeout).into(),
                        ))
                    })
            }
        };
        match self.ssl {
            SslMode::Disable => attempt(false).await.map_err(fail),
            SslMode::Prefer => match attempt(true).await {
                Ok(conn) => Ok(conn),
                Err(mysql_async::Error::Driver(
                    mysql_async::DriverError::NoClientSslFlagFromServer,
                )) => attempt(false).await.map_err(fail),
                Err(e) => Err(fail(e)),
            },
            _ => attempt(true).await.map_err(fail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_and_passwords_hidden() {
        let o = ConnectOptions::parse(
            "mariadb://app:s3cret@db.example:3307/shop?ssl-mode=VERIFY_IDENTITY&stmt_cache_size=8",
        )
        .unwrap();
        assert_eq!(o.ssl, SslMode::VerifyFull);
        assert_eq!(o.opts.tcp_port(), 3307);
        assert_eq!(o.opts.db_name(), Some("shop"));
        assert!(!o.display.contains("s3cret"), "{}", o.display);
        let bad = ConnectOptions::parse("mysql://u:s3cret@h/d?sslmode=sometimes")
            .err()
            .unwrap()
            .to_string();
        assert!(
            bad.contains("sslmode `sometimes`") && !bad.contains("s3cret"),
            "{bad}"
        );
        let unknown = ConnectOptions::parse("mysql://u:s3cret@h/d?colour=blue")
            .err()
            .unwrap()
            .to_string();
        assert!(
            unknown.contains("colour") && !unknown.contains("s3cret"),
            "{unknown}"
        );
    }
}
