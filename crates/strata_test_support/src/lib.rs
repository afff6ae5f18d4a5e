//! Test helpers: temporary projects, one fresh database per test on every
//! engine, and a way to run the real `strata` binary against them.
//!
//! Server URLs come from the environment (`STRATA_TEST_POSTGRES_URL`,
//! `STRATA_TEST_MYSQL_URL`), defaulting to the local servers. Without `STRATA_REQUIRE_SERVERS=1` a
//! test skips when its server does not answer; with it (CI), that fails.

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A name no other test (or test process) uses at the same time.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        nanos % 100_000
    )
}

/// A temporary project directory, removed when dropped.
pub struct TempProject {
    pub dir: PathBuf,
}

impl TempProject {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(unique_name("strata_test"));
        std::fs::create_dir_all(dir.join("migrations")).expect("create temp project");
        TempProject { dir }
    }

    /// Writes `text` to `rel` (creating directories).
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&path, text).expect("write file");
        path
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.dir.join(rel)).expect("remove file");
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }
}

impl Default for TempProject {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempProject {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a run of the binary printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(out: Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// stdout and stderr together, for assertions about messages.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// What the user saw, for a snapshot: the exit code, stdout and stderr,
    /// with what changes from run to run masked (durations as `[n] ms`,
    /// 16-hex-digit plan hashes as `[hash]`, `db`'s URL as `[db]`).
    pub fn shown(&self, db: Option<&TestDb>) -> String {
        let mut text = format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        if let Some(db) = db {
            text = text.replace(&db.url(), "[db]");
        }
        mask_volatile(&text)
    }

    /// stdout parsed as JSON lines.
    pub fn json_lines(&self) -> Vec<String> {
        self.stdout.lines().map(str::to_string).collect()
    }
}

/// `text` with durations (`12 ms`, `12ms`) and plan hashes masked.
pub fn mask_volatile(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_hexdigit()) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        let glued = before
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let len = from
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(from.len());
        let (word, after) = from.split_at(len);
        let ends = !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        let digits = word.bytes().all(|b| b.is_ascii_digit());
        if !glued && ends && len == 16 && !digits {
            out.push_str("[hash]");
        } else if !glued && digits && (after.starts_with(" ms") || after.starts_with("ms")) {
            out.push_str("[n]");
        } else {
            out.push_str(word);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Says a test is skipped and why (a server or tool it needs is missing),
/// and counts it where `scripts/test.sh` reads the count
/// (`STRATA_SKIP_LOG`), so a summary never hides a skipped test.
pub fn skipped(why: &str) {
    eprintln!("skipping: {why}");
    if let Ok(log) = std::env::var("STRATA_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{why}");
        }
    }
}

/// Runs `bin` with `args` in `dir`, with a clean environment for strata.
pub fn run_in(bin: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::from_output(cmd.output().expect("run strata"))
}

/// Starts `bin` with `args` in `dir` without waiting, output captured.
pub fn spawn_in(bin: &Path, dir: &Path, args: &[&str]) -> std::process::Child {
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn strata")
}

/// Polls `check` until it holds, for at most 20 seconds.
pub fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !check() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn require_servers() -> bool {
    std::env::var("STRATA_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

/// The admin URL of the PostgreSQL server tests use.
pub fn postgres_admin_url() -> String {
    std::env::var("STRATA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The admin URL of the MySQL or MariaDB server tests use.
pub fn mysql_admin_url() -> String {
    std::env::var("STRATA_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into())
}

async fn my_conn(url: &str) -> Result<mysql_async::Conn, mysql_async::Error> {
    let opts =
        mysql_async::Opts::from_url(url).map_err(|e| mysql_async::Error::Other(Box::new(e)))?;
    let opts = mysql_async::OptsBuilder::from_opts(opts).prefer_socket(false);
    mysql_async::Conn::new(opts).await
}

fn my_text(v: &mysql_async::Value) -> String {
    match v {
        mysql_async::Value::NULL => "NULL".into(),
        mysql_async::Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.as_sql(true).trim_matches('\'').to_string(),
    }
}

async fn pg_client(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// One database for one test, on one engine; dropped at the end.
pub enum TestDb {
    Sqlite {
        path: PathBuf,
        _dir: TempProject,
    },
    Postgres {
        name: String,
        url: String,
        admin: String,
    },
    Mysql {
        name: String,
        url: String,
        admin: String,
    },
}

impl TestDb {
    /// A fresh SQLite database (always available: `Some`).
    pub fn sqlite() -> Option<Self> {
        let dir = TempProject::new();
        let path = dir.dir.join("test.db");
        Some(TestDb::Sqlite { path, _dir: dir })
    }

    /// A fresh PostgreSQL database, or `None` (test skipped) when the server
    /// does not answer and servers are not required.
    pub fn postgres() -> Option<Self> {
        Self::postgres_at(postgres_admin_url())
    }

    /// A fresh database on the PostgreSQL 18 server of the compatibility
    /// tests (`bash scripts/start-pg18.sh`; `STRATA_TEST_POSTGRES18_URL`
    /// points elsewhere), or `None` as for [`TestDb::postgres`].
    pub fn postgres18() -> Option<Self> {
        Self::postgres_at(
            std::env::var("STRATA_TEST_POSTGRES18_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:54318/postgres".into()),
        )
    }

    fn postgres_at(admin: String) -> Option<Self> {
        let name = unique_name("strata_t");
        let created = runtime().block_on(async {
            let client = pg_client(&admin).await?;
            client
                .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .await
        });
        match created {
            Ok(()) => {
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                let url = format!("{base}/{name}");
                Some(TestDb::Postgres { name, url, admin })
            }
            Err(e) if !require_servers() => {
                skipped(&format!("PostgreSQL at {admin} is not available ({e})"));
                None
            }
            Err(e) => {
                panic!("PostgreSQL at {admin} is required (STRATA_REQUIRE_SERVERS=1) but: {e}")
            }
        }
    }

    /// A fresh MySQL/MariaDB database, or `None` (test skipped) when the
    /// server does not answer and servers are not required.
    pub fn mysql() -> Option<Self> {
        use mysql_async::prelude::Queryable;
        let admin = mysql_admin_url();
        let name = unique_name("strata_t");
        let created = runtime().block_on(async {
            let mut conn = my_conn(&admin).await?;
            conn.query_drop(format!("CREATE DATABASE `{name}`")).await?;
            conn.disconnect().await
        });
        match created {
            Ok(()) => {
                let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
                let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
                let mut url = format!("{base}/{name}");
                if !query.is_empty() {
                    url = format!("{url}?{query}");
                }
                Some(TestDb::Mysql { name, url, admin })
            }
            Err(e) if !require_servers() => {
                skipped(&format!("MySQL at {admin} is not available ({e})"));
                None
            }
            Err(e) => {
                panic!("MySQL at {admin} is required (STRATA_REQUIRE_SERVERS=1) but: {e}")
            }
        }
    }

    pub fn engine(&self) -> &'static str {
        match self {
            TestDb::Sqlite { .. } => "sqlite",
            TestDb::Postgres { .. } => "postgres",
            TestDb::Mysql { .. } => "mysql",
        }
    }

    /// Whether a migration and its history row commit together here.
    pub fn transactional_ddl(&self) -> bool {
        !matches!(self, TestDb::Mysql { .. })
    }

    /// The URL strata should be given.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            TestDb::Postgres { url, .. } | TestDb::Mysql { url, .. } => url.clone(),
        }
    }

    /// Runs `bin` with `args` in `dir` against this database
    /// (`--database-url`).
    pub fn run(&self, bin: &Path, dir: &Path, args: &[&str]) -> Run {
        let url = self.url();
        let mut all = args.to_vec();
        all.extend(["--database-url", url.as_str()]);
        run_in(bin, dir, &all, &[])
    }

    /// The first column of each row of `sql`, as text (NULL as "NULL").
    pub fn query(&self, sql: &str) -> Vec<String> {
        match self {
            TestDb::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).expect("open sqlite");
                let mut st = conn.prepare(sql).expect("prepare");
                let rows = st
                    .query_map([], |r| {
                        Ok(match r.get_ref(0)? {
                            rusqlite::types::ValueRef::Null => "NULL".to_string(),
                            rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                            rusqlite::types::ValueRef::Real(f) => f.to_string(),
                            rusqlite::types::ValueRef::Text(t) => {
                                String::from_utf8_lossy(t).into_owned()
                            }
                            rusqlite::types::ValueRef::Blob(_) => "<blob>".to_string(),
                        })
                    })
                    .expect("query");
                rows.map(|r| r.expect("row")).collect()
            }
            TestDb::Postgres { url, .. } => runtime().block_on(async {
                let client = pg_client(url).await.expect("connect");
                let msgs = client.simple_query(sql).await.expect("query");
                msgs.into_iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => {
                            Some(r.get(0).unwrap_or("NULL").to_string())
                        }
                        _ => None,
                    })
                    .collect()
            }),
            TestDb::Mysql { url, .. } => runtime().block_on(async {
                use mysql_async::prelude::Queryable;
                let mut conn = my_conn(url).await.expect("connect");
                let rows: Vec<mysql_async::Row> = conn.query(sql).await.expect("query");
                let out = rows
                    .iter()
                    .map(|r| r.as_ref(0).map_or("NULL".into(), my_text))
                    .collect();
                let _ = conn.disconnect().await;
                out
            }),
        }
    }

    /// Runs statements, saying what failed rather than panicking.
    pub fn try_execute(&self, sql: &str) -> Result<(), String> {
        self.try_execute_each(&[sql]).map_err(|(_, e)| e)
    }

    /// Runs scripts one after the other in one session (settings one
    /// makes hold for the next); on a failure, which one and why.
    pub fn try_execute_each(&self, scripts: &[&str]) -> Result<(), (usize, String)> {
        let at = |i: usize| move |e: String| (i, e);
        match self {
            TestDb::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).map_err(|e| (0, e.to_string()))?;
                for (i, sql) in scripts.iter().enumerate() {
                    conn.execute_batch(sql).map_err(|e| at(i)(e.to_string()))?;
                }
                Ok(())
            }
            TestDb::Postgres { url, .. } => runtime().block_on(async {
                let client = pg_client(url).await.map_err(|e| (0, e.to_string()))?;
                for (i, sql) in scripts.iter().enumerate() {
                    client.batch_execute(sql).await.map_err(|e| {
                        at(i)(match e.as_db_error() {
                            Some(db) => db.message().to_string(),
                            None => e.to_string(),
                        })
                    })?;
                }
                Ok(())
            }),
            TestDb::Mysql { url, .. } => runtime().block_on(async {
                use mysql_async::prelude::Queryable;
                let mut conn = my_conn(url).await.map_err(|e| (0, e.to_string()))?;
                let mut done = Ok(());
                for (i, sql) in scripts.iter().enumerate() {
                    if let Err(e) = conn.query_drop(*sql).await {
                        done = Err(at(i)(e.to_string()));
                        break;
                    }
                }
                let _ = conn.disconnect().await;
                done
            }),
        }
    }

    /// Runs statements (setup that strata is not meant to do).
    pub fn execute(&self, sql: &str) {
        match self {
            TestDb::Sqlite { path, .. } => rusqlite::Connection::open(path)
                .expect("open sqlite")
                .execute_batch(sql)
                .expect("execute"),
            TestDb::Postgres { url, .. } => runtime().block_on(async {
                pg_client(url)
                    .await
                    .expect("connect")
                    .batch_execute(sql)
                    .await
                    .expect("execute")
            }),
            TestDb::Mysql { url, .. } => runtime().block_on(async {
                use mysql_async::prelude::Queryable;
                let mut conn = my_conn(url).await.expect("connect");
                conn.query_drop(sql).await.expect("execute");
                let _ = conn.disconnect().await;
            }),
        }
    }

    /// Takes a lock in a session of the test's own that a migration can
    /// wait on ([`TestDb::gate_sql`]): the migration then runs exactly as
    /// long as the test holds the gate, however slow the machine is.
    pub fn gate(&self) -> Gate {
        let rt = runtime();
        match self {
            TestDb::Postgres { url, .. } => {
                let client = rt.block_on(async {
                    let client = pg_client(url).await.expect("connect");
                    client
                        .batch_execute("SELECT pg_advisory_lock(7, 7)")
                        .await
                        .expect("take the gate");
                    client
                });
                Gate::Postgres(rt, client)
            }
            TestDb::Mysql { name, url, .. } => {
                let conn = rt.block_on(async {
                    use mysql_async::prelude::Queryable;
                    let mut conn = my_conn(url).await.expect("connect");
                    conn.query_drop(format!("SELECT GET_LOCK('{name}_gate', 10)"))
                        .await
                        .expect("take the gate");
                    conn
                });
                Gate::Mysql(rt, Some(conn))
            }
            TestDb::Sqlite { .. } => panic!("SQLite has no lock a statement can wait on"),
        }
    }

    /// SQL that waits until the test opens the gate ([`TestDb::gate`]).
    pub fn gate_sql(&self) -> String {
        match self {
            TestDb::Mysql { name, .. } => format!(
                "SELECT GET_LOCK('{name}_gate', 60);\nSELECT RELEASE_LOCK('{name}_gate');\n"
            ),
            // Bounded, so a test that goes wrong fails instead of hanging.
            _ => "SET lock_timeout = '60s';\nSELECT pg_advisory_lock(7, 7);\nSELECT pg_advisory_unlock(7, 7);\nRESET lock_timeout;\n".into(),
        }
    }

    /// Whether `table` exists.
    pub fn has_table(&self, table: &str) -> bool {
        let sql = match self {
            TestDb::Sqlite { .. } => format!(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
            ),
            TestDb::Postgres { .. } => format!(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = '{table}'"
            ),
            TestDb::Mysql { .. } => format!(
                "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}'"
            ),
        };
        self.query(&sql) == vec!["1".to_string()]
    }
}

/// A lock the test holds ([`TestDb::gate`]); dropping it (or
/// [`Gate::open`]) lets what waits on it go on.
pub enum Gate {
    Postgres(tokio::runtime::Runtime, tokio_postgres::Client),
    Mysql(tokio::runtime::Runtime, Option<mysql_async::Conn>),
}

impl Gate {
    /// Lets what waits on the gate go on.
    pub fn open(self) {}
}

impl Drop for Gate {
    fn drop(&mut self) {
        match self {
            Gate::Postgres(rt, client) => {
                let _ = rt.block_on(client.batch_execute("SELECT pg_advisory_unlock_all()"));
            }
            Gate::Mysql(rt, conn) => {
                // Ending the session releases its lock.
                if let Some(conn) = conn.take() {
                    let _ = rt.block_on(conn.disconnect());
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Postgres { name, admin, .. } => {
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let _ =
                    runtime().block_on(async { pg_client(admin).await?.batch_execute(&sql).await });
            }
            TestDb::Mysql { name, admin, .. } => {
                use mysql_async::prelude::Queryable;
                let sql = format!("DROP DATABASE IF EXISTS `{name}`");
                let _ = runtime().block_on(async {
                    let mut conn = my_conn(admin).await?;
                    conn.query_drop(sql).await?;
                    conn.disconnect().await
                });
            }
            TestDb::Sqlite { .. } => {}
        }
    }
}

/// Defines one test per engine running the same scenario:
/// `engine_test!(name, |db: &TestDb| { ... });`
#[macro_export]
macro_rules! engine_test {
    ($name:ident, $body:expr) => {
        $crate::engine_tests!($name, $body, sqlite, postgres, mysql);
    };
}

/// [`engine_test!`] on the engines with transactional DDL only (SQLite and
/// PostgreSQL), for scenarios about rolling a migration back; MySQL's
/// statement-by-statement behaviour has tests of its own.
#[macro_export]
macro_rules! transactional_test {
    ($name:ident, $body:expr) => {
        $crate::engine_tests!($name, $body, sqlite, postgres);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! engine_tests {
    ($name:ident, $body:expr, $($engine:ident),+) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(
                #[test]
                fn $engine() {
                    if let Some(db) = $crate::TestDb::$engine() {
                        ($body)(&db);
                    }
                }
            )+
        }
    };
}
