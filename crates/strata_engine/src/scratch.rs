//! Scratch databases: an empty database strata creates beside the one it
//! works on, replays the project's migrations on, reads the schema of and
//! drops again (`schema diff migrations ...`, `drift`).

use crate::events::Silent;
use crate::hooks::Hooks;
use crate::notify::Notifier;
use crate::report::{Request, RequestKind};
use crate::target::DatabaseTarget;
use crate::{Engine, EngineError};
use strata_driver::quote_ident_for;
use strata_plan::UpOptions;
use strata_schema::Schema;

/// How much of the project's migrations a scratch database gets.
#[derive(Debug, Clone, Copy)]
pub enum Replay<'a> {
    /// None: the schema of an empty database.
    Nothing,
    All,
    /// Up to and including this one (`source/version`).
    Through(&'a str),
}

/// A scratch database and how to remove it.
struct Scratch {
    target: DatabaseTarget,
    remove: Remove,
    /// Its entry among the [`LIVE`] ones.
    live: u64,
}

/// How a scratch database is removed: a server's database dropped through
/// a connection to the server (its name quoted), or a directory deleted
/// (SQLite).
#[derive(Clone)]
enum Remove {
    Database {
        server: DatabaseTarget,
        table: strata_driver::TableName,
        quoted: String,
    },
    Directory(std::path::PathBuf),
}

/// The scratch databases that exist now: what [`remove_scratch_databases`]
/// removes when strata is stopped (Ctrl-C) before it could.
static LIVE: std::sync::Mutex<Vec<(u64, Remove)>> = std::sync::Mutex::new(Vec::new());
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether strata is stopping on a signal: removing a scratch database
/// ends the connections into it, so the work on it fails on its own, and
/// that failure is not the one to report.
pub fn stopping() -> bool {
    STOPPING.load(std::sync::atomic::Ordering::SeqCst)
}

/// Notes a scratch database about to be made, before it is: a Ctrl-C from
/// then on removes it (removing one never made does nothing).
fn live(remove: &Remove) -> u64 {
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if let Ok(mut live) = LIVE.lock() {
        live.push((id, remove.clone()));
    }
    id
}

/// Forgets a scratch database removed (or never made).
fn gone(id: u64) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|(i, _)| *i != id);
    }
}

/// Removes the scratch databases strata made and has not removed yet: for
/// a Ctrl-C or SIGTERM that stops strata in the middle of a replay. Gives
/// up on one after a few seconds (the server may be what is stuck).
pub async fn remove_scratch_databases() {
    STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
    let live: Vec<Remove> = LIVE
        .lock()
        .map(|mut l| l.drain(..).map(|(_, r)| r).collect())
        .unwrap_or_default();
    for remove in live {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), remove.run()).await;
    }
}

impl Remove {
    async fn run(&self) -> Result<(), EngineError> {
        match self {
            Remove::Directory(dir) => std::fs::remove_dir_all(dir).map_err(|e| EngineError::Io {
                what: format!("cannot remove {}", dir.display()),
                source: e,
            }),
            Remove::Database {
                server,
                table,
                quoted,
            } => {
                let mut driver = server.connect(table.clone()).await?;
                let force = match driver.capabilities().dialect {
                    strata_sql::Dialect::Postgres => " WITH (FORCE)",
                    _ => "",
                };
                Ok(driver
                    .batch(&format!("DROP DATABASE IF EXISTS {quoted}{force}"))
                    .await?)
            }
        }
    }
}

impl Engine {
    /// The schema the project's migrations build, replayed on a scratch
    /// database beside this engine's (on the same server; a temporary file
    /// for SQLite), which is dropped afterwards, also when the replay
    /// fails. No hook runs, nobody is notified, nothing is audited.
    pub async fn migrations_schema(&self, replay: Replay<'_>) -> Result<Schema, EngineError> {
        let up = match replay {
            Replay::Nothing => None,
            Replay::All => Some(UpOptions::default()),
            Replay::Through(id) => Some(UpOptions {
                to: Some(id.to_string()),
                ..UpOptions::default()
            }),
        };
        self.on_a_scratch(async |engine: &Engine| {
            if let Some(up) = up {
                let request = Request::new(RequestKind::Up(up));
                engine.run_unaudited(&request, &Silent).await?;
            }
            engine.schema().await
        })
        .await
    }

    /// The schema the SQL files at `path` (a file, or the `.sql` files of
    /// a directory in name order) build on a scratch database: a desired
    /// state to compare with.
    pub async fn sql_schema(&self, path: &std::path::Path) -> Result<Schema, EngineError> {
        let files = sql_files(path)?;
        self.on_a_scratch(async |engine: &Engine| {
            let mut driver = engine.connect().await?;
            for file in &files {
                self.apply_sql_file(driver.as_mut(), file, "does not apply to an empty database")
                    .await?;
            }
            drop(driver);
            engine.schema().await
        })
        .await
    }

    /// Runs the SQL file `file` statement by statement; a failure names
    /// the file and line, and says `failing` of it.
    pub(crate) async fn apply_sql_file(
        &self,
        driver: &mut dyn strata_driver::Driver,
        file: &std::path::Path,
        failing: &str,
    ) -> Result<(), EngineError> {
        let text = std::fs::read_to_string(file).map_err(|e| EngineError::Io {
            what: format!("cannot read {}", file.display()),
            source: e,
        })?;
        let dialect = driver.capabilities().dialect;
        for statement in strata_sql::split(&text, dialect) {
            let at = || {
                format!(
                    "{}:{}",
                    self.display_path(file),
                    statement.line_in(&text) + 1
                )
            };
            if let Some(meta) = strata_sql::psql_meta_command(&statement) {
                return Err(EngineError::Refused(format!(
                    "{}: `{meta}` is a psql meta-command, which only psql runs: write it as SQL",
                    at()
                )));
            }
            driver
                .batch(statement.sql)
                .await
                .map_err(|e| EngineError::Refused(format!("{}: {failing}: {e}", at())))?;
        }
        Ok(())
    }

    /// What `build` makes of a new scratch database, which is dropped
    /// afterwards whatever happened.
    pub(crate) async fn on_a_scratch<T>(
        &self,
        build: impl AsyncFnOnce(&Engine) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let scratch = self.scratch().await?;
        let built = build(&self.on_scratch(&scratch.target)).await;
        let removed = scratch.remove.run().await;
        gone(scratch.live);
        let built = built?;
        removed?;
        Ok(built)
    }

    /// Makes scratch databases on another server from now on
    /// (`--scratch-url`, over `[project] scratch_url`).
    pub fn use_scratch_url(&mut self, url: String) {
        self.scratch_url = Some(url);
    }

    /// A new, empty database.
    async fn scratch(&self) -> Result<Scratch, EngineError> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let name = format!("strata_scratch_{}_{stamp}", std::process::id());
        let database = self.database()?;
        if let DatabaseTarget::Sqlite { .. } = database {
            let dir = std::env::temp_dir().join(&name);
            let remove = Remove::Directory(dir.clone());
            let live = live(&remove);
            std::fs::create_dir_all(&dir).map_err(|e| {
                gone(live);
                EngineError::Io {
                    what: format!("cannot create {}", dir.display()),
                    source: e,
                }
            })?;
            let path = dir.join("scratch.db");
            return Ok(Scratch {
                target: DatabaseTarget::parse(&format!("sqlite://{}", path.display()), &dir)?,
                remove,
                live,
            });
        }
        let mut server = self.scratch_server(database)?;
        // The project's database need not exist yet (a CI job's first
        // step): the server's own database does.
        let mut driver = match server.connect(self.table.clone()).await {
            Ok(driver) => driver,
            Err(EngineError::Driver(e)) if e.is_missing_database() => {
                let maintenance = match server.engine() {
                    strata_sql::EngineKind::Mysql => "mysql",
                    _ => "postgres",
                };
                let fallback = strata_driver::with_database(&server.url(), maintenance)
                    .and_then(|url| DatabaseTarget::parse(&url, &self.project.root).ok());
                match fallback {
                    Some(other) => match other.connect(self.table.clone()).await {
                        Ok(driver) => {
                            server = other;
                            driver
                        }
                        Err(_) => return Err(e.into()),
                    },
                    None => return Err(e.into()),
                }
            }
            Err(e) => return Err(e),
        };
        let url = strata_driver::with_database(&server.url(), &name).ok_or_else(|| {
            EngineError::Url(format!(
                "cannot name another database in {}",
                server.display()
            ))
        })?;
        let target = DatabaseTarget::parse(&url, &self.project.root)?;
        let quoted = quote_ident_for(driver.capabilities().dialect, &name);
        let display = server.display();
        let remove = Remove::Database {
            server,
            table: self.table.clone(),
            quoted: quoted.clone(),
        };
        let live = live(&remove);
        driver
            .batch(&format!("CREATE DATABASE {quoted}"))
            .await
            .map_err(|e| {
                gone(live);
                EngineError::Refused(format!(
                    "cannot create a scratch database on {display} ({e}): strata replays the migrations there; let this role create databases (PostgreSQL: ALTER ROLE ... CREATEDB; MySQL: GRANT CREATE, DROP ON *.* ...), or point `[project] scratch_url` (or --scratch-url) at a server where it may"
                ))
            })?;
        Ok(Scratch {
            target,
            remove,
            live,
        })
    }

    /// The server scratch databases are made on: `--scratch-url`, else
    /// `[project] scratch_url`, else the database's own; of the same
    /// engine as the database.
    fn scratch_server(&self, database: &DatabaseTarget) -> Result<DatabaseTarget, EngineError> {
        let configured = self
            .scratch_url
            .clone()
            .or_else(|| self.project.config.project.scratch_url.clone());
        let Some(url) = configured else {
            return Ok(database.clone());
        };
        let url = self.project.expand(&url, "scratch_url")?;
        let server = DatabaseTarget::parse(&url, &self.project.root)?;
        if server.engine() != database.engine() {
            return Err(EngineError::Refused(format!(
                "the scratch server {} is {}, but the database is {}: scratch_url must name a server of the same engine",
                server.display(),
                server.engine(),
                database.engine()
            )));
        }
        Ok(server)
    }

    /// This project on the scratch database: its sources and history
    /// table, but no environment, hooks or notifications.
    fn on_scratch(&self, target: &DatabaseTarget) -> Engine {
        // Its schema is read once anyway, by the caller.
        let mut project = self.project.clone();
        project.config.project.schema_fingerprint = Some(false);
        Engine {
            project,
            env_name: None,
            env: Default::default(),
            database_name: self.database_name.clone(),
            database: Ok(target.clone()),
            sources: self.sources.clone(),
            task_sources: Vec::new(),
            skipped: self.skipped.clone(),
            only_source: self.only_source.clone(),
            table: self.table.clone(),
            lock_wait: self.lock_wait,
            lock_mode: self.lock_mode,
            hooks: Hooks::none(target),
            notifier: Notifier::none(DatabaseTarget::shown(Some(target))),
            scratch_url: None,
        }
    }
}

/// `path` itself, or the `.sql` files of the directory `path` in name
/// order.
pub(crate) fn sql_files(path: &std::path::Path) -> Result<Vec<std::path::PathBuf>, EngineError> {
    let io = |e: std::io::Error| EngineError::Io {
        what: format!("cannot read {}", path.display()),
        source: e,
    };
    if !path.is_dir() {
        std::fs::metadata(path).map_err(io)?;
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(EngineError::Refused(format!(
            "{} holds no .sql file to build a schema from",
            path.display()
        )));
    }
    Ok(files)
}
