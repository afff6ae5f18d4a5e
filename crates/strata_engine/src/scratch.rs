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
    /// A server's database to drop (its name, quoted), or a directory to
    /// delete (SQLite).
    remove: Remove,
}

enum Remove {
    Database(String),
    Directory(std::path::PathBuf),
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
                let text = std::fs::read_to_string(file).map_err(|e| EngineError::Io {
                    what: format!("cannot read {}", file.display()),
                    source: e,
                })?;
                driver.batch(&text).await.map_err(|e| {
                    EngineError::Refused(format!(
                        "{} does not apply to an empty database: {e}",
                        self.display_path(file)
                    ))
                })?;
            }
            drop(driver);
            engine.schema().await
        })
        .await
    }

    /// What `build` makes of a new scratch database, which is dropped
    /// afterwards whatever happened.
    async fn on_a_scratch(
        &self,
        build: impl AsyncFnOnce(&Engine) -> Result<Schema, EngineError>,
    ) -> Result<Schema, EngineError> {
        let scratch = self.scratch().await?;
        let built = build(&self.on_scratch(&scratch.target)).await;
        let removed = self.remove(scratch).await;
        let schema = built?;
        removed?;
        Ok(schema)
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
            std::fs::create_dir_all(&dir).map_err(|e| EngineError::Io {
                what: format!("cannot create {}", dir.display()),
                source: e,
            })?;
            let path = dir.join("scratch.db");
            return Ok(Scratch {
                target: DatabaseTarget::parse(&format!("sqlite://{}", path.display()), &dir)?,
                remove: Remove::Directory(dir),
            });
        }
        let url = strata_driver::with_database(&database.url(), &name).ok_or_else(|| {
            EngineError::Url(format!(
                "cannot name another database in {}",
                self.database_display()
            ))
        })?;
        let mut driver = self.connect().await?;
        let quoted = quote_ident_for(driver.capabilities().dialect, &name);
        driver
            .batch(&format!("CREATE DATABASE {quoted}"))
            .await
            .map_err(|e| {
                EngineError::Refused(format!(
                    "cannot create a scratch database on {} ({e}): strata replays the migrations there; let this role create databases (PostgreSQL: ALTER ROLE ... CREATEDB; MySQL: GRANT CREATE, DROP ON *.* ...)",
                    self.database_display()
                ))
            })?;
        Ok(Scratch {
            target: DatabaseTarget::parse(&url, &self.project.root)?,
            remove: Remove::Database(quoted),
        })
    }

    async fn remove(&self, scratch: Scratch) -> Result<(), EngineError> {
        match scratch.remove {
            Remove::Directory(dir) => std::fs::remove_dir_all(&dir).map_err(|e| EngineError::Io {
                what: format!("cannot remove {}", dir.display()),
                source: e,
            }),
            Remove::Database(quoted) => {
                let mut driver = self.connect().await?;
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

    /// This project on the scratch database: its sources and history
    /// table, but no environment, hooks or notifications.
    fn on_scratch(&self, target: &DatabaseTarget) -> Engine {
        Engine {
            project: self.project.clone(),
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
        }
    }
}

/// `path` itself, or the `.sql` files of the directory `path` in name
/// order.
fn sql_files(path: &std::path::Path) -> Result<Vec<std::path::PathBuf>, EngineError> {
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
