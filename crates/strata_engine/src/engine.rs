//! The engine: a project loaded and bound to one database, with what every
//! command needs from it (its sources and migrations, the connection, the
//! history, the services configured for its environment). Each command adds
//! its methods to [`Engine`] from a module of its own.

use crate::EngineError;
use crate::audit::{AuditLog, Audited};
use crate::config::{self, CONFIG_FILE, EnvConfig, Project};
use crate::events::{Event, Reporter, StepInfo};
use crate::hooks::Hooks;
use crate::notify::Notifier;
use crate::report::Request;
use crate::script::ScriptEnv;
use crate::target::DatabaseTarget;
use std::path::{Path, PathBuf};
use std::time::Duration;
use strata_discover::{Diagnostic, Found, Reading, SourceSpec};
use strata_driver::{Capabilities, Driver, LockMode, TableName, TxSettings};
use strata_model::{HistoryRow, LogEntry, Migration};
use strata_plan::{Plan, StatusEntry, Step};
use strata_sql::EngineKind;

/// How to find the project and the database.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--config`; default: `strata.toml` searched upward from `cwd`.
    pub config: Option<PathBuf>,
    /// Where relative paths and the config search start (default: the
    /// process's current directory).
    pub cwd: Option<PathBuf>,
    pub env: Option<String>,
    /// `--database-url`; wins over the environment's `url`.
    pub database_url: Option<String>,
    /// Only this source (`--source`).
    pub source: Option<String>,
    /// `--lock-timeout`: how long to wait for the migration lock.
    pub lock_wait: Option<Duration>,
    /// `--lock-mode lease`.
    pub lease_lock: bool,
    /// `--database NAME`: which of the environment's `databases` (default
    /// `main`); only its sources are selected.
    pub database: Option<String>,
    /// A program embedding strata loads the project: `STRATA_*` variables
    /// (the command line's) are not read.
    pub embedded: bool,
}

/// A loaded project bound to one database.
pub struct Engine {
    pub project: Project,
    pub env_name: Option<String>,
    pub env: EnvConfig,
    /// Which of the environment's several databases this is bound to.
    pub database_name: Option<String>,
    /// The database, or why there is none (said when one is needed).
    pub(crate) database: Result<DatabaseTarget, String>,
    pub(crate) sources: Vec<SourceSpec>,
    /// The selected task sources (`kind = "task"`): never migrations.
    pub(crate) task_sources: Vec<SourceSpec>,
    /// Sources left out of work on the database because they are written
    /// for another engine than its: a warning each where they are left out
    /// (static commands such as `lint` and `list` still read them).
    pub(crate) skipped: Vec<(String, Diagnostic)>,
    /// `--source`, when given.
    pub(crate) only_source: Option<String>,
    pub(crate) table: TableName,
    pub(crate) lock_wait: Duration,
    pub(crate) lock_mode: LockMode,
    pub(crate) hooks: Hooks,
    pub(crate) notifier: Notifier,
    /// `--scratch-url`: the server scratch databases are made on, over
    /// `[project] scratch_url`.
    pub(crate) scratch_url: Option<String>,
}

impl Engine {
    /// Finds and reads the project and resolves which database to use.
    pub fn load(opts: &LoadOptions) -> Result<Engine, EngineError> {
        let cwd = match &opts.cwd {
            Some(c) => c.clone(),
            None => std::env::current_dir().map_err(|e| EngineError::Io {
                what: "cannot read the current directory".into(),
                source: e,
            })?,
        };
        let found = Project::discover(opts.config.as_deref(), &cwd)?;
        let explicit_url = opts.database_url.clone().filter(|u| !u.is_empty());
        let mut project = match found {
            Some(p) => p,
            None => Project::implicit(&cwd)?,
        };
        // STRATA_* variables over strata.toml; flags over both.
        if !opts.embedded {
            crate::from_env::project(&mut project.config.project)?;
        }
        let env_name = project.env_name(opts.env.as_deref())?;
        let mut env = env_name
            .as_ref()
            .map(|n| project.config.env[n].clone())
            .unwrap_or_default();
        if !opts.embedded {
            crate::from_env::environment(&mut env)?;
        }
        // With several databases, a source names its own; without a
        // database or a source, no database is bound (the static commands
        // read every source; the others run once per database).
        let database_name = if env.is_multi() {
            opts.database.clone().or_else(|| {
                let source = opts.source.as_ref()?;
                let s = project.config.sources.iter().find(|s| &s.name == source)?;
                Some(s.database_name().to_string())
            })
        } else {
            None
        };
        let unbound = env.is_multi() && database_name.is_none();
        if let Some(name) = &database_name {
            let Some(url) = env.url_of(name).cloned() else {
                return Err(project.config_error(
                    format!(
                        "[env.{}] has no database `{name}` (it has {})",
                        env_name.as_deref().unwrap_or_default(),
                        env.database_names().join(", ")
                    ),
                    "pass --database with one of those",
                ));
            };
            // From here on the environment's url is this database's.
            env.url = Some(url);
        } else if let Some(name) = &opts.database {
            return Err(project.config_error(
                format!(
                    "--database {name}: this environment has one database (no [env.{}.databases])",
                    env_name.as_deref().unwrap_or_default()
                ),
                "leave out --database",
            ));
        }
        // Resolved now, reported when a database is needed: `list` and
        // `new` work without one.
        let database = if unbound {
            Err(format!(
                "environment `{}` has several databases ({}): pass --database NAME (or --source), or name the migration as SOURCE/NAME",
                env_name.as_deref().unwrap_or_default(),
                env.database_names().join(", ")
            ))
        } else {
            // Kept as the reason alone: `database()` says what it is for.
            resolve_database(&project, env_name.as_deref(), &env, explicit_url, &cwd).map_err(|e| {
                match e {
                    EngineError::NoDatabase(reason) => reason,
                    other => other.to_string(),
                }
            })
        };
        let table = TableName::parse(
            project
                .config
                .project
                .history_table
                .as_deref()
                .unwrap_or("strata_history"),
        )
        .map_err(EngineError::Url)?;

        let mut sources = Vec::new();
        let mut task_sources = Vec::new();
        let mut skipped = Vec::new();
        let confine = (!project.config.project.follow_symlinks).then(|| {
            project
                .root
                .canonicalize()
                .unwrap_or_else(|_| project.root.clone())
        });
        let db_engine = database.as_ref().ok().map(DatabaseTarget::engine);
        for s in &project.config.sources {
            if opts.source.as_ref().is_some_and(|only| only != &s.name)
                || (!s.enabled && opts.source.is_none())
                || database_name
                    .as_deref()
                    .is_some_and(|db| db != s.database_name())
            {
                continue;
            }
            // A repository that ships its migrations once per engine
            // (migrations/postgres, migrations/mysql): the database's own
            // run, the others are skipped and said so. Named with --source,
            // a source of another engine is refused instead (connect).
            let wants = s.engine.as_deref().and_then(EngineKind::parse);
            if let (Some(wants), Some(engine), None) = (wants, db_engine, &opts.source)
                && wants != engine
            {
                skipped.push((
                    s.name.clone(),
                    Diagnostic {
                        path: s.path.clone(),
                        line: None,
                        message: format!(
                            "skipped: source `{}` is written for {wants}, and the database is {engine}",
                            s.name
                        ),
                        help: format!("it runs when an environment points at a {wants} database"),
                    },
                ));
            }
            let spec = SourceSpec {
                name: s.name.clone(),
                path: project.root.join(&s.path),
                format: s.format.clone(),
                confine: confine.clone(),
                order: s.order.clone(),
                exclude: s.exclude.clone(),
                reading: Reading::Whole,
            };
            match s.kind {
                config::SourceKind::Migrations => sources.push(spec),
                config::SourceKind::Task => task_sources.push(spec),
            }
        }
        if let Some(only) = &opts.source
            && sources.is_empty()
            && task_sources.is_empty()
        {
            let known: Vec<&str> = project
                .config
                .sources
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            return Err(EngineError::Config {
                path: project
                    .path
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(CONFIG_FILE)),
                message: format!("there is no source named `{only}`"),
                help: format!("known sources: {}", known.join(", ")),
            });
        }
        let lock_mode = if opts.lease_lock || env.lock_mode == Some(config::LockModeConfig::Lease) {
            LockMode::Lease
        } else {
            LockMode::Native
        };
        let hooks = Hooks::new(&project, env_name.as_deref(), &env, database.as_ref().ok())?;
        let notifier = Notifier::new(
            &project,
            env_name.as_deref(),
            DatabaseTarget::shown(database.as_ref().ok()),
        );
        Ok(Engine {
            lock_wait: opts
                .lock_wait
                .or(env.lock_wait)
                .unwrap_or(Duration::from_secs(60)),
            lock_mode,
            project,
            env_name,
            env,
            database_name,
            database,
            sources,
            task_sources,
            skipped,
            only_source: opts.source.clone(),
            table,
            hooks,
            notifier,
            scratch_url: None,
        })
    }

    /// The database this engine works on.
    pub fn database(&self) -> Result<&DatabaseTarget, EngineError> {
        self.database
            .as_ref()
            .map_err(|e| EngineError::NoDatabase(e.clone()))
    }

    /// How long a script of `source` may run.
    pub fn script_timeout(&self, source: &str) -> Duration {
        self.source_config(source)
            .and_then(|s| s.timeout)
            .unwrap_or(crate::script::DEFAULT_TIMEOUT)
    }

    pub(crate) fn source_config(&self, source: &str) -> Option<&config::SourceConfig> {
        self.project
            .config
            .sources
            .iter()
            .find(|s| s.name == source)
    }

    /// The Python a source's scripts run with: its `python` (a path
    /// relative to the project, or a command), else `STRATA_PYTHON`, else
    /// `python3`.
    fn python(&self, source: &str) -> String {
        match self.source_config(source).and_then(|s| s.python.as_deref()) {
            Some(p) if p.contains('/') => self.project.root.join(p).display().to_string(),
            Some(p) => p.to_string(),
            None => std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".into()),
        }
    }

    /// The database URL with any password hidden.
    /// The run log: at `flag` (`--log-file`) or where the project says
    /// (`[project] log_file`, from the project's folder), rotated as the
    /// project says.
    pub fn log_settings(&self, flag: Option<&Path>) -> Option<config::LogSettings> {
        let project = &self.project.config.project;
        let path = match flag {
            Some(path) => path.to_path_buf(),
            None => self.project.root.join(project.log_file.as_ref()?),
        };
        Some(config::LogSettings {
            path,
            max_size: project
                .log_max_size
                .as_ref()
                .and_then(|v| config::parse_size(v).ok())
                .unwrap_or(config::LOG_MAX_SIZE),
            keep: project.log_keep.unwrap_or(config::LOG_KEEP),
        })
    }

    /// The metrics file: `flag` (`--metrics-file`), else the project's
    /// (`[project] metrics_file`, from the project's folder).
    pub fn metrics_file(&self, flag: Option<&Path>) -> Option<PathBuf> {
        match flag {
            Some(path) => Some(path.to_path_buf()),
            None => Some(
                self.project
                    .root
                    .join(self.project.config.project.metrics_file.as_ref()?),
            ),
        }
    }

    /// What a program's embedded run cannot do of this project's
    /// configuration: hooks (their files and commands are not embedded),
    /// and an audit log or backups at a relative path (the project's folder
    /// is a temporary copy, removed after the run). Refused, naming them.
    pub fn check_embeddable(&self) -> Result<(), EngineError> {
        let project = &self.project.config;
        let mut problems = Vec::new();
        let hooks = |h: &config::HooksConfig| {
            [
                &h.before_migrate,
                &h.after_migrate,
                &h.before_each,
                &h.after_each,
                &h.on_error,
            ]
            .iter()
            .any(|h| h.is_some())
        };
        if hooks(&project.hooks) || self.env.hooks.as_ref().is_some_and(hooks) {
            problems.push("hooks (their files and commands are not embedded)");
        }
        let relative = |p: &Option<PathBuf>| p.as_ref().is_some_and(|p| p.is_relative());
        if relative(&self.env.audit_log) || relative(&project.project.audit_log) {
            problems.push("an audit_log at a relative path (make it absolute)");
        }
        if self.env.backup == Some(config::BackupWhen::Before)
            && project.backup.dir.as_ref().is_none_or(|d| d.is_relative())
        {
            problems.push("backups in a relative [backup] dir (make it absolute)");
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(EngineError::Refused(format!(
            "an embedded run cannot use {} of the embedded strata.toml: the project's folder is a temporary copy of the migrations; run `strata` for these, or change the configuration",
            problems.join(", ")
        )))
    }

    /// The history table, as the project names it.
    pub fn table(&self) -> TableName {
        self.table.clone()
    }

    pub fn database_display(&self) -> String {
        DatabaseTarget::shown(self.database.as_ref().ok())
    }

    /// The project's root directory.
    pub fn root(&self) -> &Path {
        &self.project.root
    }

    /// `--source`, when given.
    pub fn only_source(&self) -> Option<&str> {
        self.only_source.as_deref()
    }

    /// The sources this engine works on (after `--source`).
    pub fn sources(&self) -> &[SourceSpec] {
        &self.sources
    }

    /// The selected task sources (`kind = "task"`).
    pub fn task_sources(&self) -> &[SourceSpec] {
        &self.task_sources
    }

    /// Whether `source` is worked on against the database: selected, and
    /// not written for another engine.
    pub(crate) fn on_database(&self, source: &str) -> bool {
        self.selects(source) && !self.skipped.iter().any(|(n, _)| n == source)
    }

    /// Without a strata.toml, strata reads `migrations/` of the current
    /// directory; when there is none either, there is no project here.
    pub(crate) fn check_project(&self) -> Result<(), EngineError> {
        if self.project.path.is_none() && !self.project.root.join("migrations").is_dir() {
            return Err(EngineError::NoProject(self.project.root.clone()));
        }
        Ok(())
    }

    /// Connects, refusing a database of another engine than a selected
    /// source is written for.
    pub async fn connect(&self) -> Result<Box<dyn Driver>, EngineError> {
        let database = self.database()?;
        let engine = database.engine();
        for s in self
            .project
            .config
            .sources
            .iter()
            .filter(|s| self.on_database(&s.name))
        {
            let wants = s.engine.as_deref().and_then(EngineKind::parse);
            if let Some(wants) = wants.filter(|w| *w != engine) {
                return Err(EngineError::EngineMismatch {
                    source_name: s.name.clone(),
                    wants: wants.to_string(),
                    database: database.display(),
                });
            }
        }
        database.connect(self.table.clone()).await
    }

    /// History rows of the selected sources, placed in the order of
    /// `migrations` ([`strata_plan::place`]).
    pub async fn history_rows(
        &self,
        driver: &mut dyn Driver,
        migrations: &[Migration],
    ) -> Result<Vec<HistoryRow>, EngineError> {
        let rows = driver.read_history().await?;
        self.selected(rows, migrations, &driver.history_table())
    }

    /// The rows of the selected sources, placed.
    fn selected(
        &self,
        mut rows: Vec<HistoryRow>,
        migrations: &[Migration],
        table: &str,
    ) -> Result<Vec<HistoryRow>, EngineError> {
        rows.retain(|r| self.selects(&r.id.source));
        self.place(&mut rows, migrations, table)?;
        self.squash_view(&mut rows, migrations)?;
        Ok(rows)
    }

    /// Places history rows of named migrations ([`strata_plan::place`]);
    /// a name in a source whose format has no named migrations is a
    /// damaged row, not a migration.
    pub(crate) fn place(
        &self,
        rows: &mut [HistoryRow],
        migrations: &[Migration],
        table: &str,
    ) -> Result<(), EngineError> {
        strata_plan::place(rows, migrations);
        let named = |source: &str| {
            self.sources.iter().any(|s| {
                s.name == source
                    && strata_discover::format(&s.format).is_some_and(|f| f.has_named_migrations())
            })
        };
        match rows.iter().find(|r| {
            r.id.version.is_unplaced() && self.selects(&r.id.source) && !named(&r.id.source)
        }) {
            Some(r) => Err(strata_driver::DriverError::BadHistory {
                table: table.to_string(),
                row: r.id.to_string(),
                message: format!("version `{}` is not a version", r.id.version),
            }
            .into()),
            None => Ok(()),
        }
    }

    pub(crate) fn selects(&self, source: &str) -> bool {
        self.sources.iter().any(|s| s.name == source)
    }

    /// Every migration's state, and the warnings reading them gave.
    pub async fn status(&self) -> Result<(Vec<StatusEntry>, Vec<Diagnostic>), EngineError> {
        let (found, history, _) = self.read_state(Reading::Checksums).await?;
        Ok((
            strata_plan::status(&found.migrations, &history),
            found.warnings,
        ))
    }

    /// The timeline of the selected sources, oldest first.
    pub async fn history(&self) -> Result<Vec<LogEntry>, EngineError> {
        let mut driver = self.connect().await?;
        let log = driver.read_log().await?;
        // Task runs are in the timeline too.
        let tasks = |source: &str| self.task_sources.iter().any(|s| s.name == source);
        Ok(log
            .into_iter()
            .filter(|e| self.selects(&e.id.source) || tasks(&e.id.source))
            .collect())
    }

    /// The plan `request` would run now (read-only; takes no lock).
    pub async fn plan(&self, request: &Request) -> Result<Plan, EngineError> {
        let (mut found, history, caps) = self.read_state(request.first_reading()).await?;
        let target = self.plan_target(&caps)?;
        let mut plan = self.plan_with_sql(&mut found, |migrations| {
            Ok(request.kind.plan(migrations, &history, &target)?)
        })?;
        // Said before the run refuses them.
        if !self.env.allow_destructive {
            for (id, path, line, why) in strata_plan::destructive_statements(&plan, caps.dialect) {
                plan.warnings.push(format!(
                    "{}:{line}: {id} {why}; environment `{}` has allow_destructive = false, so running this plan needs --allow-destructive and approval",
                    self.display_path(&path),
                    self.env_name.as_deref().unwrap_or_default()
                ));
            }
        }
        Ok(plan)
    }

    /// The migrations on disk, the history rows and what the database can
    /// do, without a lock.
    pub(crate) async fn read_state(
        &self,
        text: Reading,
    ) -> Result<(Found, Vec<HistoryRow>, Capabilities), EngineError> {
        let migrations = self.migrations_in_background(text).ready()?;
        let mut driver = self.connect().await?;
        let rows = driver.read_history().await;
        let found = migrations.join()?;
        let history = self.selected(rows?, &found.migrations, &driver.history_table())?;
        Ok((found, history, driver.capabilities()))
    }

    /// What planning needs to know of this database and project, or what
    /// the configuration asks that this database cannot do (so `plan`,
    /// `up` and `validate --env` refuse it alike).
    pub(crate) fn plan_target(
        &self,
        caps: &Capabilities,
    ) -> Result<strata_plan::Target, EngineError> {
        // Another tool's history is kept in the transaction that applies
        // the migration; an engine that commits DDL as it runs has none.
        if !caps.transactional_ddl
            && let Some(s) = self
                .project
                .config
                .sources
                .iter()
                .find(|s| s.keep_foreign_history && self.selects(&s.name))
        {
            return Err(EngineError::Refused(format!(
                "source `{}` has keep_foreign_history, which strata does not do on MySQL or MariaDB: remove it from strata.toml (strata's own history is kept either way)",
                s.name
            )));
        }
        Ok(strata_plan::Target {
            dialect: caps.dialect,
            transactional_ddl: caps.transactional_ddl,
            ignore_missing: self.project.config.project.ignore_missing,
        })
    }

    /// The table of the lease lock, beside the history table.
    pub(crate) fn lock_table(&self) -> TableName {
        self.table.with_suffix("_lock")
    }

    /// Runs `work` with its line in the audit log, when one is configured:
    /// the log is opened first, so a command that could not be audited does
    /// not run; a line that cannot be written afterwards is a warning (what
    /// the command did stands). Dry runs change nothing and are not
    /// audited.
    pub(crate) async fn audited<T: Audited>(
        &self,
        command: &str,
        dry_run: bool,
        reporter: &dyn Reporter,
        work: impl Future<Output = Result<T, EngineError>>,
    ) -> Result<T, EngineError> {
        let path = self
            .env
            .audit_log
            .as_ref()
            .or(self.project.config.project.audit_log.as_ref())
            .filter(|_| !dry_run)
            .map(|rel| self.project.root.join(rel));
        let audit = path.map(AuditLog::open).transpose()?;
        let result = work.await;
        if let Err(error) = &result {
            crate::trace::failed(
                command,
                self.env_name.as_deref(),
                &self.database_display(),
                error,
            );
        }
        if let Some(audit) = audit {
            let written = audit.record(
                self.env_name.as_deref(),
                &self.database_display(),
                command,
                &result,
            );
            if let Err(message) = written {
                reporter.event(&Event::Warning { message });
            }
        }
        result
    }

    /// What a script of `source` runs with.
    pub(crate) fn script_env(&self, source: &str) -> ScriptEnv {
        ScriptEnv {
            root: self.project.root.clone(),
            url: self
                .database()
                .map(DatabaseTarget::url)
                .map_err(|e| e.to_string()),
            env: self.env_name.clone().unwrap_or_default(),
            timeout: self.script_timeout(source),
            python: self.python(source),
            client_env: self
                .database()
                .map(DatabaseTarget::client_env)
                .unwrap_or_default(),
        }
    }

    /// A path as the user knows it: relative to the project when inside it.
    pub fn display_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.project.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    pub(crate) fn step_info(&self, step: &Step) -> StepInfo {
        let mut info = StepInfo::from(step);
        info.path = step.path.as_deref().map(|p| self.display_path(p));
        info
    }

    pub(crate) fn tx_settings(&self) -> TxSettings {
        TxSettings {
            lock_timeout: self.env.lock_timeout,
            statement_timeout: self.env.statement_timeout,
        }
    }
}

/// Which database to use: `--database-url`; else the chosen environment's
/// `url` (an environment without one is an error, not a fallback); else,
/// when strata.toml defines no environment, `DATABASE_URL`. Relative SQLite
/// paths start from where the URL was written: the project for strata.toml
/// and `.env`, the current directory for the command line and the process
/// environment.
fn resolve_database(
    project: &Project,
    env_name: Option<&str>,
    env: &EnvConfig,
    explicit_url: Option<String>,
    cwd: &Path,
) -> Result<DatabaseTarget, EngineError> {
    let config_path = || {
        project
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from(CONFIG_FILE))
    };
    let (url, base) = match (explicit_url, env_name) {
        (Some(url), _) => (url, cwd.to_path_buf()),
        (None, Some(name)) => match &env.url {
            Some(url) => (
                project.expand(url, &format!("env.{name}.url"))?,
                project.root.clone(),
            ),
            None => {
                return Err(EngineError::Config {
                    path: config_path(),
                    message: format!("[env.{name}] has no url"),
                    help: "add url = \"...\" (\"${DATABASE_URL}\" reads the variable), or pass --database-url".into(),
                });
            }
        },
        (None, None) if !project.config.env.is_empty() => {
            // Falling back to DATABASE_URL here could send a command meant
            // for one environment to another, unprotected.
            let known: Vec<&str> = project.config.env.keys().map(String::as_str).collect();
            return Err(EngineError::Config {
                path: config_path(),
                message: format!(
                    "several environments ({}) and none chosen",
                    known.join(", ")
                ),
                help: "pass --env NAME, or set default_env in [project]".into(),
            });
        }
        (None, None) => match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(url) => (url, cwd.to_path_buf()),
            None => match project.dotenv.get("DATABASE_URL").filter(|u| !u.is_empty()) {
                Some(url) => (url.clone(), project.root.clone()),
                None => {
                    return Err(EngineError::NoDatabase(match &project.path {
                        None => format!(
                            "no {CONFIG_FILE} was found in {} or above, and no database URL was given; run `strata init` to create a project (it uses a SQLite file), or pass --database-url / set DATABASE_URL",
                            cwd.display()
                        ),
                        Some(p) => format!(
                            "{} has no environment; add [env.development] url = \"sqlite://strata.db\", or pass --database-url / set DATABASE_URL",
                            p.display()
                        ),
                    }));
                }
            },
        },
    };
    DatabaseTarget::parse(&url, &base)
}
