//! Test helpers: temporary projects, one fresh database per test on every
//! engine, and a way to run the real `strata` binary against them.
//!
//! Server URLs come from the environment (`STRATA_TEST_POSTGRES_URL`),
//! defaulting to the local server. Without `STRATA_REQUIRE_SERVERS=1` a
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

    /// stdout parsed as JSON lines.
    pub fn json_lines(&self) -> Vec<String> {
        self.stdout.lines().map(str::to_string).collect()
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
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = TempProject::new();
        let path = dir.dir.join("test.db");
        TestDb::Sqlite { path, _dir: dir }
    }

    /// A fresh PostgreSQL database, or `None` (test skipped) when the server
    /// does not answer and servers are not required.
    pub fn postgres() -> Option<Self> {
        let admin = postgres_admin_url();
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
                eprintln!("skipping: PostgreSQL at {admin} is not available ({e})");
                None
            }
            Err(e) => {
                panic!("PostgreSQL at {admin} is required (STRATA_REQUIRE_SERVERS=1) but: {e}")
            }
        }
    }

    pub fn engine(&self) -> &'static str {
        match self {
            TestDb::Sqlite { .. } => "sqlite",
            TestDb::Postgres { .. } => "postgres",
        }
    }

    /// The URL strata should be given.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            TestDb::Postgres { url, .. } => url.clone(),
        }
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
        };
        self.query(&sql) == vec!["1".to_string()]
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { name, admin, .. } = self {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            let _ = runtime().block_on(async { pg_client(admin).await?.batch_execute(&sql).await });
        }
    }
}

/// Defines one test per engine running the same scenario:
/// `engine_test!(name, |db: &TestDb| { ... });`
#[macro_export]
macro_rules! engine_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                let db = $crate::TestDb::sqlite();
                ($body)(&db);
            }

            #[test]
            fn postgres() {
                if let Some(db) = $crate::TestDb::postgres() {
                    ($body)(&db);
                }
            }
        }
    };
}
