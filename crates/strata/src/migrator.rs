//! Running embedded migrations on a database.

use crate::Embedded;
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
    /// history as `strata up` does. On a connection of the program's, strata
    /// leaves it open and its session as it found it (on PostgreSQL, a
    /// migration's `SET` is reset).
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
    pub async fn run<'c>(
        &self,
        database: impl Into<Connection<'c>>,
    ) -> Result<Report, EngineError> {
        let work = self.embedded.write_out()?;
        let database = database.into();
        let url = match &database {
            Connection::Url(url) => Some(url.to_string()),
            #[allow(unreachable_patterns)]
            _ => None,
        };
        let engine = self.engine(&work.root, work.config().is_some(), &work.dir, url)?;
        let request = Request {
            dry_run: self.dry_run,
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

    /// The engine on the written-out project, with only the source of the
    /// embedded folder selected.
    fn engine(
        &self,
        root: &Path,
        configured: bool,
        dir: &Path,
        url: Option<String>,
    ) -> Result<Engine, EngineError> {
        let mut options = LoadOptions {
            config: configured.then(|| root.join("strata.toml")),
            cwd: Some(root.to_path_buf()),
            env: self.env.clone(),
            database_url: url,
            lock_wait: self.lock_timeout,
            ..LoadOptions::default()
        };
        let engine = Engine::load(&options)?;
        let same = |path: &Path| path.canonicalize().ok() == dir.canonicalize().ok();
        let Some(source) = engine.sources().iter().find(|s| same(&s.path)) else {
            return Err(EngineError::Refused(format!(
                "the embedded strata.toml has no [[source]] with path = \"{}\": embed the folder of one of its sources",
                dir.strip_prefix(root).unwrap_or(dir).display()
            )));
        };
        if engine.sources().len() == 1 {
            return Ok(engine);
        }
        options.source = Some(source.name.clone());
        Engine::load(&options)
    }
}
