//! Running embedded migrations on a database.

use crate::Embedded;
use crate::embedded::Workdir;
use std::path::Path;
use std::time::Duration;
use strata_engine::{
    Engine, EngineError, LoadOptions, Report, Reporter, Request, RequestKind, Silent, Traced,
    UpOptions,
};

/// Where a [`Migrator`] runs: a connection the program already has (it stays
/// the program's) or a URL strata connects to itself.
///
/// Made with `From`, so [`Migrator::run`] takes `&mut client`, `&mut conn`
/// or `"postgres://..."` directly.
#[non_exhaustive]
pub enum Connection<'a> {
    /// A `tokio_postgres` client.
    #[cfg(feature = "postgres")]
    Postgres(&'a mut tokio_postgres::Client),
    /// A `rusqlite` connection.
    #[cfg(feature = "sqlite")]
    Sqlite(&'a mut rusqlite::Connection),
    /// A `mysql_async` connection.
    #[cfg(feature = "mysql")]
    Mysql(&'a mut mysql_async::Conn),
    /// A database URL, as `strata --database-url` takes it.
    Url(&'a str),
}

#[cfg(feature = "postgres")]
impl<'a> From<&'a mut tokio_postgres::Client> for Connection<'a> {
    fn from(client: &'a mut tokio_postgres::Client) -> Self {
        Connection::Postgres(client)
    }
}

#[cfg(feature = "sqlite")]
impl<'a> From<&'a mut rusqlite::Connection> for Connection<'a> {
    fn from(conn: &'a mut rusqlite::Connection) -> Self {
        Connection::Sqlite(conn)
    }
}

#[cfg(feature = "mysql")]
impl<'a> From<&'a mut mysql_async::Conn> for Connection<'a> {
    fn from(conn: &'a mut mysql_async::Conn) -> Self {
        Connection::Mysql(conn)
    }
}

/// What [`Migrator::run`] takes: anything that makes a [`Connection`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a connection strata can migrate",
    label = "not a connection strata knows",
    note = "strata takes `&mut tokio_postgres::Client` (feature `postgres`), `&mut rusqlite::Connection` (feature `sqlite`), `&mut mysql_async::Conn` (feature `mysql`) or a URL; turn on the feature in Cargo.toml, and use the same versions of those crates as strata (tokio-postgres 0.7, rusqlite 0.32, mysql_async 0.37)"
)]
pub trait IntoConnection<'a> {
    /// The connection.
    fn into_connection(self) -> Connection<'a>;
}

impl<'a, T: Into<Connection<'a>>> IntoConnection<'a> for T {
    fn into_connection(self) -> Connection<'a> {
        self.into()
    }
}

impl<'a> From<&'a str> for Connection<'a> {
    fn from(url: &'a str) -> Self {
        Connection::Url(url)
    }
}

impl<'a> From<&'a String> for Connection<'a> {
    fn from(url: &'a String) -> Self {
        Connection::Url(url)
    }
}

/// Applies [`Embedded`] migrations, as `strata up` does.
///
/// ```
/// # #[cfg(feature = "sqlite")]
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// let mut conn = rusqlite::Connection::open_in_memory()?;
/// let report = strata::Migrator::new(strata::embed!("tests/migrations"))
///     .target("20240101000000")
///     .lock_timeout(Duration::from_secs(10))
///     .run(&mut conn)
///     .await?;
/// assert_eq!(report.applied, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct Migrator {
    embedded: Embedded,
    up: UpOptions,
    dry_run: bool,
    lock_timeout: Option<Duration>,
    env: Option<String>,
    approve: Option<String>,
    reporter: Traced<Box<dyn Reporter + Send>>,
}

impl Migrator {
    /// A migrator for `embedded`: everything pending is applied, in order,
    /// refusing a pending migration older than one applied.
    ///
    /// ```
    /// let migrator = strata::Migrator::new(strata::embed!("tests/migrations"));
    /// ```
    pub fn new(embedded: Embedded) -> Self {
        Migrator {
            embedded,
            up: UpOptions::default(),
            dry_run: false,
            lock_timeout: None,
            env: None,
            approve: None,
            reporter: Traced(Box::new(Silent)),
        }
    }

    /// Applies up to and including `version` (`V` or `source/V`), as
    /// `strata up --to`.
    ///
    /// ```
    /// let migrator = strata::Migrator::new(strata::embed!("tests/migrations"))
    ///     .target("20240101000000");
    /// ```
    pub fn target(mut self, version: impl Into<String>) -> Self {
        self.up.to = Some(version.into());
        self
    }

    /// Runs the plan in a transaction that is rolled back, as
    /// `strata up --dry-run`: the report says what would be applied.
    ///
    /// ```
    /// let migrator = strata::Migrator::new(strata::embed!("tests/migrations")).dry_run(true);
    /// ```
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    /// How long to wait for the migration lock another process holds
    /// (default: the project's `lock_timeout`, else strata's).
    ///
    /// ```
    /// let migrator = strata::Migrator::new(strata::embed!("tests/migrations"))
    ///     .lock_timeout(std::time::Duration::from_secs(30));
    /// ```
    pub fn lock_timeout(mut self, wait: Duration) -> Self {
        self.lock_timeout = Some(wait);
        self
    }

    /// Applies a pending migration older than one already applied instead
    /// of refusing the run, as `strata up --allow-out-of-order`.
    ///
    /// ```
    /// let migrator = strata::Migrator::new(strata::embed!("tests/migrations"))
    ///     .allow_out_of_order(true);
    /// ```
    pub fn allow_out_of_order(mut self, yes: bool) -> Self {
        self.up.allow_out_of_order = yes;
        self
    }

    /// The environment of the embedded `strata.toml` whose settings apply
    /// (lock and statement timeouts, protection, approval), as
    /// `strata --env`; its URL is used only when the run is given none.
    ///
    /// ```
    /// let migrator = strata::Migrator::new(strata::embed!("tests/migrations")).env("production");
    /// ```
    pub fn env(mut self, name: impl Into<String>) -> Self {
        self.env = Some(name.into());
        self
    }

    /// Runs only if the plan is the one approved (its hash, as `strata
    /// plan` prints it): what an environment with `require_approval` needs.
    ///
    /// ```
    /// let migrator = strata::Migrator::new(strata::embed!("tests/migrations"))
    ///     .approve("3f9a1c0d2e4b5a69");
    /// ```
    pub fn approve(mut self, plan_hash: impl Into<String>) -> Self {
        self.approve = Some(plan_hash.into());
        self
    }

    /// Where the run's events go (migration started, finished, a warning),
    /// besides `tracing` (target `strata`), which receives each of them
    /// whatever the reporter.
    ///
    /// ```
    /// struct Log;
    /// impl strata::Reporter for Log {
    ///     fn event(&self, event: &strata::Event) {
    ///         eprintln!("{event:?}");
    ///     }
    /// }
    /// let migrator = strata::Migrator::new(strata::embed!("tests/migrations")).reporter(Log);
    /// ```
    pub fn reporter(mut self, reporter: impl Reporter + Send + 'static) -> Self {
        self.reporter = Traced(Box::new(reporter));
        self
    }

    /// Takes the migration lock and applies what is pending, writing the
    /// history as `strata up` does.
    ///
    /// On a connection of the program's:
    /// - it must not be inside a transaction (refused: strata commits each
    ///   migration itself);
    /// - strata leaves it open, unlocked and as it found it: on PostgreSQL
    ///   a migration's `SET` is undone and the session's own settings
    ///   (`search_path`, ...) put back; SQLite's busy timeout and MySQL's
    ///   time zone and character sets are given back;
    /// - a run whose future is dropped before it ends (a timeout around
    ///   it) can leave strata's lock and a transaction open on it: close
    ///   that connection rather than use it again.
    ///
    /// What the run reads: the embedded files and `strata.toml`, not the
    /// process's `STRATA_*` variables. Without [`Migrator::env`], the
    /// project's default environment applies (as for `strata up`). The
    /// project's folder is a private temporary copy (in `TMPDIR`, which
    /// must be writable), removed after the run: a relative SQLite path in
    /// the URL is taken from the program's current directory, and hooks,
    /// or an audit log or backups at a relative path, are refused.
    ///
    /// ```no_run
    /// # #[cfg(feature = "postgres")]
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut client, connection) =
    ///     tokio_postgres::connect("host=localhost user=postgres dbname=app", tokio_postgres::NoTls).await?;
    /// tokio::spawn(connection);
    /// let report = strata::Migrator::new(strata::embed!("tests/migrations"))
    ///     .run(&mut client)
    ///     .await?;
    /// println!("{} applied in {} ms", report.applied, report.duration_ms);
    /// # Ok(()) }
    /// ```
    pub async fn run<'c>(&self, database: impl IntoConnection<'c>) -> Result<Report, EngineError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(EngineError::Refused(
                "Migrator::run needs a Tokio runtime: call it from #[tokio::main] or a Runtime's block_on".into(),
            ));
        }
        let work = self.embedded.write_out()?;
        let database = database.into_connection();
        let url = match &database {
            Connection::Url(url) if url.trim().is_empty() => {
                return Err(EngineError::Url(
                    "the URL given to Migrator::run is empty".into(),
                ));
            }
            Connection::Url(url) => Some(absolute_sqlite(url)),
            #[allow(unreachable_patterns)]
            _ => None,
        };
        let engine = self.engine(&work, url)?;
        let request = Request {
            dry_run: self.dry_run,
            approve: self.approve.clone(),
            ..Request::new(RequestKind::Up(self.up.clone()))
        };
        let reporter = &self.reporter;
        match database {
            Connection::Url(_) => engine.run(&request, reporter).await,
            #[cfg(feature = "postgres")]
            Connection::Postgres(client) => {
                let mut driver = strata_postgres::PgDriver::lent(client, engine.table()).await?;
                engine.run_on(&request, reporter, &mut driver).await
            }
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(conn) => {
                let mut driver = strata_sqlite::SqliteDriver::lent(conn, engine.table())?;
                engine.run_on(&request, reporter, &mut driver).await
            }
            #[cfg(feature = "mysql")]
            Connection::Mysql(conn) => {
                let mut driver = strata_mysql::MysqlDriver::lent(conn, engine.table()).await?;
                let report = engine.run_on(&request, reporter, &mut driver).await;
                let given_back = driver.give_back().await;
                let report = report?;
                given_back?;
                Ok(report)
            }
        }
    }

    /// The engine on the written-out project, with the sources of the
    /// embedded folder selected: the one whose folder it is, or all those
    /// under it (a whole project's `db/` with a folder per source).
    fn engine(&self, work: &Workdir, url: Option<String>) -> Result<Engine, EngineError> {
        let (root, dir) = (&work.root, &work.dir);
        let mut options = LoadOptions {
            config: work.config.clone(),
            cwd: Some(root.to_path_buf()),
            env: self.env.clone(),
            database_url: url,
            lock_wait: self.lock_timeout,
            embedded: true,
            ..LoadOptions::default()
        };
        let engine = Engine::load(&options)?;
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let under = |path: &Path| {
            path.canonicalize()
                .is_ok_and(|p| p == dir || p.starts_with(&dir))
        };
        let embedded: Vec<&str> = engine
            .sources()
            .iter()
            .filter(|s| under(&s.path))
            .map(|s| s.name.as_str())
            .collect();
        let engine = match embedded[..] {
            [] => {
                return Err(EngineError::Refused(format!(
                    "the embedded strata.toml has no [[source]] in \"{}\": embed the folder of one of its sources, or the folder that holds them",
                    dir.strip_prefix(root.canonicalize().unwrap_or_else(|_| root.to_path_buf()))
                        .unwrap_or(&dir)
                        .display()
                )));
            }
            _ if embedded.len() == engine.sources().len() => engine,
            [one] => {
                options.source = Some(one.to_string());
                Engine::load(&options)?
            }
            _ => {
                return Err(EngineError::Refused(format!(
                    "the embedded folder holds the sources {} but not the others of strata.toml: embed one source's folder, or the folder that holds them all",
                    embedded.join(", ")
                )));
            }
        };
        engine.check_embeddable()?;
        Ok(engine)
    }
}

/// A relative SQLite path in `url`, made absolute from the program's
/// current directory (the project's folder is a temporary copy).
fn absolute_sqlite(url: &str) -> String {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return url.to_string();
    };
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" || Path::new(path).is_absolute() {
        return url.to_string();
    }
    match std::env::current_dir() {
        Ok(cwd) => format!(
            "sqlite://{}{}",
            cwd.join(path).display(),
            &rest[path.len()..]
        ),
        Err(_) => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::absolute_sqlite;

    #[test]
    fn outside_a_tokio_runtime_the_run_is_refused_not_a_panic() {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};
        let migrator = crate::Migrator::new(crate::embed!("tests/migrations"));
        let mut run = std::pin::pin!(migrator.run("sqlite::memory:"));
        match run.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Err(e)) => assert!(e.to_string().contains("needs a Tokio runtime"), "{e}"),
            _ => panic!("expected a refusal"),
        }
    }

    #[test]
    fn relative_sqlite_paths_start_at_the_current_directory() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            absolute_sqlite("sqlite://app.db?mode=rwc"),
            format!("sqlite://{}?mode=rwc", cwd.join("app.db").display())
        );
        assert_eq!(
            absolute_sqlite("sqlite:data/app.db"),
            format!("sqlite://{}", cwd.join("data/app.db").display())
        );
        for kept in [
            "sqlite:///abs/app.db",
            "sqlite::memory:",
            "postgres://u@h/db",
            "sqlite://",
        ] {
            assert_eq!(absolute_sqlite(kept), kept);
        }
    }
}
