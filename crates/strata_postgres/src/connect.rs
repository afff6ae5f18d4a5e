//! Connecting: the URL read the way libpq reads it (`sslmode`,
//! `sslrootcert`, the local socket when no host is given), TLS through
//! rustls, and a bounded connect time.

use crate::history::Writes;
use crate::tls;
use crate::{PgDriver, db_err, pg_message};
use strata_driver::history::HistorySql;
use strata_driver::{ConnectParams, DriverError, Held, Result, SslMode, TableName, redact_url};
use strata_sql::Dialect;
use tokio_postgres::{Client, NoTls};

/// Everything needed to open (another) connection.
#[derive(Clone)]
pub(crate) struct Target {
    pub config: tokio_postgres::Config,
    pub ssl: SslMode,
    pub root_cert: Option<String>,
    pub display: String,
}

/// Connects to `url` (`postgres://` or `postgresql://`, with `sslmode` and
/// `sslrootcert` understood as libpq does).
pub async fn connect(url: &str, table: TableName) -> Result<PgDriver<'static>> {
    let display = redact_url(url);
    let fail = |message: String| DriverError::Connect {
        url: display.clone(),
        message,
    };
    let params = ConnectParams::split(url).map_err(&fail)?;
    let mut config: tokio_postgres::Config = params
        .rest
        .parse()
        .map_err(|e: tokio_postgres::Error| fail(format!("the URL is not valid: {e}")))?;
    if config.get_application_name().is_none() {
        config.application_name("strata");
    }
    // No host: the local server's Unix socket, as libpq does.
    if config.get_hosts().is_empty() {
        let dir = ["/var/run/postgresql", "/tmp"]
            .into_iter()
            .find(|d| std::path::Path::new(d).is_dir())
            .unwrap_or("/tmp");
        config.host_path(dir);
    }
    config.connect_timeout(params.timeout.unwrap_or(strata_driver::CONNECT_TIMEOUT));
    let (ssl, root_cert) = (params.ssl, params.root_cert);
    let target = Target {
        config,
        ssl,
        root_cert,
        display,
    };
    let client = open(&target).await?;
    let display = target.display.clone();
    on(Held::Own(client), Some(target), display, table).await
}

impl<'a> PgDriver<'a> {
    /// A driver on the program's own `client`, for one run: strata takes
    /// its lock and writes its history there, and leaves the client open.
    /// With no URL to open more connections, a lease lock is refused and a
    /// waiting statement's blockers are not looked up.
    pub async fn lent(client: &'a mut Client, table: TableName) -> Result<PgDriver<'a>> {
        // Inside a transaction block a savepoint can be taken; outside one
        // it is refused (and nothing is aborted).
        match client.batch_execute("SAVEPOINT strata_probe").await {
            Err(e)
                if e.code()
                    == Some(&tokio_postgres::error::SqlState::NO_ACTIVE_SQL_TRANSACTION) => {}
            Ok(()) => {
                let _ = client.batch_execute("RELEASE SAVEPOINT strata_probe").await;
                return Err(in_transaction());
            }
            Err(e)
                if e.code()
                    == Some(&tokio_postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION) =>
            {
                return Err(in_transaction());
            }
            Err(e) => return Err(db_err(e)),
        }
        let database: String = client
            .query_one("SELECT current_database()", &[])
            .await
            .map_err(db_err)?
            .get(0);
        // What the program set in its session, to put back after each
        // migration resets it.
        let session = client
            .query(
                "SELECT name, setting FROM pg_settings WHERE source = 'session'",
                &[],
            )
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let display = format!("the program's connection to database {database}");
        let mut driver = on(Held::Lent(client), None, display, table).await?;
        driver.session = session;
        Ok(driver)
    }
}

/// Why a connection inside a transaction is not taken.
fn in_transaction() -> DriverError {
    DriverError::Database(
        "the connection is inside a transaction: commit or roll it back before migrating (strata runs each migration in a transaction of its own)".into(),
    )
}

async fn on<'a>(
    client: Held<'a, Client>,
    target: Option<Target>,
    display: String,
    table: TableName,
) -> Result<PgDriver<'a>> {
    let named_schema = table.schema.is_some();
    let mut table = table;
    if !named_schema {
        table.schema = client
            .query_one("SELECT current_schema()", &[])
            .await
            .map_err(db_err)?
            .get(0);
    }
    Ok(PgDriver {
        client,
        target,
        display,
        writes: Writes::new(HistorySql::new(Dialect::Postgres, &table)),
        table,
        named_schema,
        lock: None,
        lease_client: None,
        dry_run: false,
        sequences_before: Vec::new(),
        session: Vec::new(),
    })
}

/// Connects, the whole of it (TCP, TLS, authentication) bounded by the
/// connect timeout: tokio-postgres bounds only the TCP connect, and a
/// server that accepts and never answers would hang strata.
pub(crate) async fn open(target: &Target) -> Result<Client> {
    let timeout = target
        .config
        .get_connect_timeout()
        .copied()
        .unwrap_or(strata_driver::CONNECT_TIMEOUT);
    tokio::time::timeout(timeout, open_unbounded(target))
        .await
        .unwrap_or_else(|_| {
            Err(DriverError::Connect {
                url: target.display.clone(),
                message: strata_driver::connect_timed_out(timeout),
            })
        })
}

async fn open_unbounded(target: &Target) -> Result<Client> {
    let fail = |e: String| DriverError::Connect {
        url: target.display.clone(),
        message: e,
    };
    let mut config = target.config.clone();
    // As libpq does, TLS is never used over a Unix socket, whatever sslmode.
    let unix_only = config
        .get_hosts()
        .iter()
        .all(|h| matches!(h, tokio_postgres::config::Host::Unix(_)));
    if target.ssl == SslMode::Disable || unix_only {
        let (client, conn) = config
            .connect(NoTls)
            .await
            .map_err(|e| fail(pg_message(&e)))?;
        tokio::spawn(conn);
        return Ok(client);
    }
    config.ssl_mode(match target.ssl {
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    });
    let tls = tls::client_config(target.ssl, target.root_cert.as_deref()).map_err(&fail)?;
    let (client, conn) = config
        .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        .await
        .map_err(|e| fail(pg_message(&e)))?;
    tokio::spawn(conn);
    Ok(client)
}

/// The libpq environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
/// `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`) that connects to `url`, for
/// scripts: `psql` with no arguments then reaches the database, and the
/// password never goes on a command line. Empty for a URL that does not
/// parse.
pub fn client_env(url: &str) -> Vec<(&'static str, String)> {
    let Ok(params) = ConnectParams::split(url) else {
        return Vec::new();
    };
    let Ok(config) = params.rest.parse::<tokio_postgres::Config>() else {
        return Vec::new();
    };
    let mut env = Vec::new();
    match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => env.push(("PGHOST", host.clone())),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(dir)) => {
            env.push(("PGHOST", dir.display().to_string()))
        }
        None => {}
    }
    if let Some(port) = config.get_ports().first() {
        env.push(("PGPORT", port.to_string()));
    }
    if let Some(user) = config.get_user() {
        env.push(("PGUSER", user.to_string()));
    }
    if let Some(password) = config.get_password() {
        env.push(("PGPASSWORD", String::from_utf8_lossy(password).into_owned()));
    }
    if let Some(db) = config.get_dbname() {
        env.push(("PGDATABASE", db.to_string()));
    }
    env.push((
        "PGSSLMODE",
        match params.ssl {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
        .to_string(),
    ));
    if let Some(root) = params.root_cert {
        env.push(("PGSSLROOTCERT", root));
    }
    env
}
