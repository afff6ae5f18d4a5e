//! `strata.toml`: sources, environments and project settings, with
//! `${VAR}` expanded from the process environment and a `.env` file beside
//! the config.

use crate::EngineError;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;
use strata_sql::EngineKind;

pub const CONFIG_FILE: &str = "strata.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub project: ProjectSection,
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub env: BTreeMap<String, EnvConfig>,
    /// `strata lint` rule levels and settings.
    #[serde(default)]
    pub lint: strata_lint::LintConfig,
    /// Where backups go and how many are kept.
    #[serde(default)]
    pub backup: BackupConfig,
    /// Hooks run around `up`, `down`, `redo` and `fresh`.
    #[serde(default)]
    pub hooks: HooksConfig,
    /// Webhooks and email addresses told when a run starts, succeeds or
    /// fails (`[[notify]]`, or `[[webhook]]` as earlier versions wrote it).
    #[serde(default, alias = "webhook")]
    pub notify: Vec<NotifyConfig>,
    /// `strata test`'s data.
    #[serde(default)]
    pub test: TestConfig,
}

/// `[test]`: what `strata test` loads into its scratch database.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestConfig {
    /// A SQL file, or a directory of them, from the project root: loaded
    /// before the first migration tested; in a directory, a file named
    /// after a migration's version (`0003.sql`, `0003_users.sql`) is
    /// loaded right after that migration is applied instead.
    pub seed: Option<PathBuf>,
}

/// `[hooks]`: each a SQL file or a command as a list of arguments.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HooksConfig {
    pub before_migrate: Option<Hook>,
    pub after_migrate: Option<Hook>,
    pub before_each: Option<Hook>,
    pub after_each: Option<Hook>,
    pub on_error: Option<Hook>,
}

/// `"hooks/x.sql"` (run on the database) or `["program", "arg", ...]`
/// (run from the project directory, without a shell).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Hook {
    Sql(PathBuf),
    Command(Vec<String>),
}

/// `[[notify]]`: a webhook (an http(s) URL, POSTed a Slack-compatible JSON
/// body) or, with `to`, an email sent through the SMTP server of an
/// `smtp://` or `smtps://` URL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Where to send (`${VAR}` is expanded: keep secrets out of the file).
    pub url: String,
    /// Email recipients; an entry with `to` is an email.
    #[serde(default)]
    pub to: Vec<String>,
    /// The email's sender (required with `to`).
    pub from: Option<String>,
    /// Which events (default: all three).
    #[serde(default = "all_events")]
    pub on: Vec<NotifyOn>,
    /// Only for these environments (default: every one).
    #[serde(default)]
    pub environments: Vec<String>,
    /// How long one attempt may take (default 5s).
    #[serde(default, with = "opt_duration")]
    pub timeout: Option<Duration>,
    /// Further attempts after a failure (default 2).
    #[serde(default = "two")]
    pub retries: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyOn {
    Start,
    Success,
    Failure,
}

impl NotifyOn {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyOn::Start => "start",
            NotifyOn::Success => "success",
            NotifyOn::Failure => "failure",
        }
    }
}

fn all_events() -> Vec<NotifyOn> {
    vec![NotifyOn::Start, NotifyOn::Success, NotifyOn::Failure]
}

fn two() -> u32 {
    2
}

/// `[backup]`: the directory (from the project root; default `backups`)
/// and retention, per environment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    pub dir: Option<PathBuf>,
    /// Keep only the newest N backups of an environment.
    pub keep: Option<usize>,
    /// Delete backups older than this many days.
    pub keep_days: Option<u64>,
    /// `encrypt = { recipients = ["age1..."] }`: every backup is encrypted
    /// with age for these X25519 public keys as it is written.
    pub encrypt: Option<EncryptConfig>,
}

/// `[backup] encrypt`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptConfig {
    pub recipients: Vec<String>,
}

/// `backup = "before"`: back up before every `up` that changes something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupWhen {
    Before,
    Never,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    /// `table` or `schema.table`; default `strata_history`.
    pub history_table: Option<String>,
    /// The environment used when `--env` is not given.
    pub default_env: Option<String>,
    /// Let `up` go on when an applied migration's file is gone.
    #[serde(default)]
    pub ignore_missing: bool,
    /// Where state-changing commands append their audit line (relative to
    /// the project); no audit log when unset.
    pub audit_log: Option<PathBuf>,
    /// Read migration files that are symbolic links to files outside the
    /// project (refused by default).
    #[serde(default)]
    pub follow_symlinks: bool,
    /// The server scratch databases are made on (`schema diff
    /// migrations`, `drift`): by default the one strata works on.
    pub scratch_url: Option<String>,
    /// Record the schema's fingerprint after each run that changes the
    /// database (one catalog read): on unless `false`.
    pub schema_fingerprint: Option<bool>,
    /// Tables (bare names) the schema layer leaves out, with what belongs
    /// to them: another tool's bookkeeping, a table an extension fills.
    #[serde(default)]
    pub schema_ignore: Vec<String>,
    /// Where every run is logged as JSON lines (relative to the project);
    /// `--log-file` wins over it.
    pub log_file: Option<PathBuf>,
    /// The size at which the log file is rotated: bytes, or with a unit
    /// (`10MB`, `512KB`); default 10MB.
    pub log_max_size: Option<toml::Value>,
    /// How many rotated log files are kept (`run.log.1` ...); default 5.
    pub log_keep: Option<usize>,
    /// The Prometheus text file written at the end of each run (relative
    /// to the project); `--metrics-file` wins over it.
    pub metrics_file: Option<PathBuf>,
}

impl ProjectSection {
    /// Whether runs record the schema's fingerprint.
    pub fn records_fingerprint(&self) -> bool {
        self.schema_fingerprint != Some(false)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    pub path: PathBuf,
    #[serde(default = "default_format")]
    pub format: String,
    #[serde(default)]
    pub priority: i64,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Sources whose migrations all run before this one's.
    #[serde(default)]
    pub requires: Vec<String>,
    /// The engine the migrations are written for (`postgres`, `sqlite`,
    /// `mysql`); running them on another is refused.
    pub engine: Option<String>,
    /// Also keep the history table of the tool this source's layout comes
    /// from, while a team still uses that tool.
    #[serde(default)]
    pub keep_foreign_history: bool,
    /// How long a script migration may run (script sources; default 10m).
    #[serde(default, with = "opt_duration")]
    pub timeout: Option<Duration>,
    /// The order of migrations without a version in their name; without
    /// it, the folder's `ORDER` file (one name per line).
    pub order: Option<Vec<String>>,
    /// Files of the folder that are not migrations (globs on their names).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// The Python interpreter the source's scripts run with (relative to
    /// the project, or a command on PATH; default `python3`).
    pub python: Option<String>,
    /// `migrations` (schema changes, applied once) or `task` (maintenance
    /// scripts run by name with `strata run`, never pending).
    #[serde(default)]
    pub kind: SourceKind,
    /// Which of an environment's `databases` it goes to (default `main`).
    pub database: Option<String>,
}

/// What a source holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    #[default]
    Migrations,
    Task,
}

fn default_format() -> String {
    "strata".into()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvConfig {
    pub url: Option<String>,
    /// Several databases (`[env.NAME.databases] main = "...", auth =
    /// "..."`): each source goes to its `database` (default `main`, which
    /// `url` also names), with its own history and lock.
    #[serde(default)]
    pub databases: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub protected: bool,
    /// The database's own `lock_timeout`, set for each migration.
    #[serde(default, with = "opt_duration")]
    pub lock_timeout: Option<Duration>,
    /// `statement_timeout`, set for each migration.
    #[serde(default, with = "opt_duration")]
    pub statement_timeout: Option<Duration>,
    /// How long to wait for strata's migration lock (default 60s).
    #[serde(default, with = "opt_duration")]
    pub lock_wait: Option<Duration>,
    /// `native` (advisory lock) or `lease` (for transaction-mode poolers).
    pub lock_mode: Option<LockModeConfig>,
    /// This environment's audit log, instead of the project's.
    pub audit_log: Option<PathBuf>,
    /// Every state-changing command needs `--approve HASH` or a
    /// confirmation typed at a terminal.
    #[serde(default)]
    pub require_approval: bool,
    /// `false`: a plan with a destructive statement (DROP TABLE, a dropped
    /// column, TRUNCATE, DELETE/UPDATE without WHERE) is refused unless
    /// `--allow-destructive` and approval are given.
    #[serde(default = "yes")]
    pub allow_destructive: bool,
    /// Run each migration's verify section right after applying it.
    #[serde(default)]
    pub verify_after: bool,
    /// How many times to retry a migration whose statement gave up waiting
    /// for a lock (`lock_timeout`), with a growing pause between tries.
    #[serde(default)]
    pub lock_retries: u32,
    /// The pause before the first retry (default 2s); each retry after
    /// waits twice as long as the one before, up to 16 times this.
    #[serde(default, with = "opt_duration")]
    pub lock_retry_wait: Option<Duration>,
    /// Lint settings for this environment, over `[lint]`.
    pub lint: Option<strata_lint::LintConfig>,
    /// `"before"`: a backup before every `up` with work to do.
    pub backup: Option<BackupWhen>,
    /// Hooks for this environment, each replacing the project's of the
    /// same name.
    pub hooks: Option<HooksConfig>,
}

impl Default for EnvConfig {
    fn default() -> Self {
        EnvConfig {
            url: None,
            databases: Default::default(),
            protected: false,
            lock_timeout: None,
            statement_timeout: None,
            lock_wait: None,
            lock_mode: None,
            audit_log: None,
            require_approval: false,
            allow_destructive: true,
            verify_after: false,
            lock_retries: 0,
            lock_retry_wait: None,
            lint: None,
            backup: None,
            hooks: None,
        }
    }
}

/// The database a source goes to when it names none.
pub const MAIN_DATABASE: &str = "main";

impl EnvConfig {
    /// Whether it names several databases.
    pub fn is_multi(&self) -> bool {
        !self.databases.is_empty()
    }

    /// The URL (as written) of database `name`: `url` stands for `main`.
    pub fn url_of(&self, name: &str) -> Option<&String> {
        match self.databases.get(name) {
            Some(url) => Some(url),
            None if name == MAIN_DATABASE => self.url.as_ref(),
            None => None,
        }
    }

    /// Every database it names, `main` first.
    pub fn database_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.databases.keys().cloned().collect();
        if self.url.is_some() && self.is_multi() {
            names.push(MAIN_DATABASE.to_string());
        }
        names.sort_by_key(|n| (n != MAIN_DATABASE, n.clone()));
        names
    }
}

impl SourceConfig {
    /// The database it goes to in an environment with several.
    pub fn database_name(&self) -> &str {
        self.database.as_deref().unwrap_or(MAIN_DATABASE)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockModeConfig {
    Native,
    Lease,
}

mod opt_duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| {
            humantime::parse_duration(&t).map_err(|e| {
                serde::de::Error::custom(format!(
                    "`{t}` is not a duration ({e}); write e.g. \"5s\", \"10m\" or \"1h 30m\""
                ))
            })
        })
        .transpose()
    }
}

/// A config file and the directory its relative paths start from.
#[derive(Debug, Clone)]
pub struct Project {
    pub config: Config,
    /// The config file, when there is one.
    pub path: Option<PathBuf>,
    /// The directory relative paths (sources, SQLite files) resolve from.
    pub root: PathBuf,
    /// Variables from `.env` (the process environment wins over these).
    pub dotenv: HashMap<String, String>,
}

impl Project {
    /// Finds `strata.toml` (the given path, or searching upward from `cwd`)
    /// and reads it. `Ok(None)` when there is none to find.
    pub fn discover(explicit: Option<&Path>, cwd: &Path) -> Result<Option<Project>, EngineError> {
        let path = match explicit {
            Some(p) => {
                let p = cwd.join(p);
                if !p.is_file() {
                    return Err(EngineError::Config {
                        path: p.clone(),
                        message: "no such file".into(),
                        help: "check --config, or run `strata init` to create one".into(),
                    });
                }
                p
            }
            None => match cwd
                .ancestors()
                .map(|d| d.join(CONFIG_FILE))
                .find(|p| p.is_file())
            {
                Some(p) => p,
                None => return Ok(None),
            },
        };
        Project::load(&path).map(Some)
    }

    pub fn load(path: &Path) -> Result<Project, EngineError> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::Config {
            path: path.to_path_buf(),
            message: format!("cannot read: {e}"),
            help: "check the file's permissions".into(),
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| EngineError::Config {
            path: path.to_path_buf(),
            message: toml_message(&text, &e),
            help: "see docs/config.md for every key".into(),
        })?;
        let root = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let project = Project {
            config,
            path: Some(path.to_path_buf()),
            dotenv: read_dotenv(&root)?,
            root,
        };
        project.validate()?;
        Ok(project)
    }

    /// A project with no config file: one `strata` source in `migrations/`.
    pub fn implicit(cwd: &Path) -> Result<Project, EngineError> {
        Ok(Project {
            config: Config {
                sources: vec![SourceConfig {
                    name: "app".into(),
                    path: PathBuf::from("migrations"),
                    format: default_format(),
                    priority: 0,
                    enabled: true,
                    requires: Vec::new(),
                    engine: None,
                    timeout: None,
                    keep_foreign_history: false,
                    order: None,
                    exclude: Vec::new(),
                    python: None,
                    kind: SourceKind::Migrations,
                    database: None,
                }],
                ..Config::default()
            },
            path: None,
            dotenv: read_dotenv(cwd)?,
            root: cwd.to_path_buf(),
        })
    }

    pub(crate) fn config_error(&self, message: String, help: &str) -> EngineError {
        EngineError::Config {
            path: self
                .path
                .clone()
                .unwrap_or_else(|| PathBuf::from(CONFIG_FILE)),
            message,
            help: help.into(),
        }
    }

    fn validate(&self) -> Result<(), EngineError> {
        if let Some(encrypt) = &self.config.backup.encrypt {
            #[cfg(feature = "backup")]
            crate::crypt::recipients(&encrypt.recipients).map_err(|m| {
                self.config_error(
                    format!("[backup] {m}"),
                    "list the public keys of who may restore: encrypt = { recipients = [\"age1...\"] } (age-keygen makes a pair)",
                )
            })?;
            let _ = encrypt;
        }
        if self
            .config
            .project
            .log_keep
            .is_some_and(|k| k > LOG_KEEP_MAX)
        {
            return Err(self.config_error(
                format!("log_keep: at most {LOG_KEEP_MAX} rotated files are kept"),
                "lower log_keep, or ship older logs elsewhere",
            ));
        }
        if let Some(size) = &self.config.project.log_max_size {
            parse_size(size).map_err(|m| {
                self.config_error(
                    format!("log_max_size: {m}"),
                    "write a number of bytes or a size such as \"10MB\"",
                )
            })?;
        }
        let mut seen = std::collections::HashSet::new();
        for s in &self.config.sources {
            if s.name.is_empty()
                || !s
                    .name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                return Err(self.config_error(
                    format!("source name `{}` is not valid", s.name),
                    "use letters, digits, `_` and `-`",
                ));
            }
            if let Some(engine) = &s.engine
                && EngineKind::parse(engine).is_none()
            {
                return Err(self.config_error(
                    format!(
                        "source `{}` has engine = \"{engine}\", which strata does not know",
                        s.name
                    ),
                    "write postgres, sqlite or mysql",
                ));
            }
            if s.keep_foreign_history && !strata_discover::keepable().any(|f| f.name() == s.format)
            {
                let tools = strata_discover::names(strata_discover::keepable());
                return Err(self.config_error(
                    format!(
                        "source `{}` has keep_foreign_history, but strata cannot keep {}'s history",
                        s.name, s.format
                    ),
                    &format!(
                        "remove keep_foreign_history: it works for {}",
                        and_list(&tools)
                    ),
                ));
            }
            if !seen.insert(&s.name) {
                return Err(self.config_error(
                    format!("two [[source]] entries are named `{}`", s.name),
                    "give every source its own name",
                ));
            }
        }
        for (name, env) in &self.config.env {
            if env.url.is_some() && env.databases.contains_key(MAIN_DATABASE) {
                return Err(self.config_error(
                    format!("[env.{name}] has both url and databases.{MAIN_DATABASE}"),
                    "url names the main database: keep one of them",
                ));
            }
            if env.databases.is_empty() {
                continue;
            }
            for s in &self.config.sources {
                let db = s.database.as_deref().unwrap_or(MAIN_DATABASE);
                if env.url_of(db).is_none() {
                    let known: Vec<&str> = env.databases.keys().map(String::as_str).collect();
                    return Err(self.config_error(
                        format!(
                            "source `{}` goes to database `{db}`, which [env.{name}.databases] does not name (it has {})",
                            s.name,
                            known.join(", ")
                        ),
                        "set database = \"...\" on the source, or add the database to the environment",
                    ));
                }
            }
        }
        if let Some(d) = &self.config.project.default_env
            && !self.config.env.contains_key(d)
        {
            return Err(self.config_error(
                format!("default_env = \"{d}\" but there is no [env.{d}]"),
                "add the environment or fix default_env",
            ));
        }
        if let Some(t) = &self.config.project.history_table {
            strata_driver::TableName::parse(t)
                .map_err(|m| self.config_error(m, "fix history_table in [project]"))?;
        }
        for (i, n) in self.config.notify.iter().enumerate() {
            self.validate_notify(i + 1, n)?;
        }
        Ok(())
    }

    /// Sets `key = true` in the `[[source]]` named `source` of the config
    /// file, keeping the rest of the file as the user wrote it.
    pub fn enable_source_flag(&self, source: &str, key: &str) -> Result<(), EngineError> {
        let path = self.path.clone().ok_or_else(|| {
            self.config_error(
                format!("there is no {CONFIG_FILE} to record {key} in"),
                "run `strata init` first",
            )
        })?;
        let text = std::fs::read_to_string(&path).map_err(|e| EngineError::Io {
            what: format!("cannot read {}", path.display()),
            source: e,
        })?;
        let mut doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| self.config_error(e.to_string(), "fix the file"))?;
        let table = doc
            .get_mut("source")
            .and_then(|s| s.as_array_of_tables_mut())
            .and_then(|tables| {
                tables
                    .iter_mut()
                    .find(|t| t.get("name").and_then(|n| n.as_str()) == Some(source))
            })
            .ok_or_else(|| {
                self.config_error(format!("no [[source]] named `{source}`"), "check --source")
            })?;
        table.insert(key, toml_edit::value(true));
        std::fs::write(&path, doc.to_string()).map_err(|e| EngineError::Io {
            what: format!("cannot write {}", path.display()),
            source: e,
        })
    }

    /// Looks a variable up in the process environment, then in `.env`.
    pub fn var(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.dotenv.get(name).cloned())
    }

    /// Expands `${VAR}` in `text` (from the environment and `.env`).
    pub fn expand(&self, text: &str, what: &str) -> Result<String, EngineError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| {
                self.config_error(
                    format!("{what}: `${{` without a closing `}}`"),
                    "write ${NAME}",
                )
            })?;
            let name = &after[..end];
            let value = self.var(name).ok_or_else(|| {
                self.config_error(
                    format!("{what} uses ${{{name}}}, which is not set"),
                    &format!("export {name}, or add {name}=... to .env beside strata.toml"),
                )
            })?;
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The environment to use: `--env`, else `default_env`, else the only
    /// one, else `development` when it exists.
    pub fn env_name(&self, requested: Option<&str>) -> Result<Option<String>, EngineError> {
        let envs = &self.config.env;
        if let Some(name) = requested {
            if !envs.contains_key(name) {
                let known: Vec<&str> = envs.keys().map(String::as_str).collect();
                return Err(self.config_error(
                    format!("there is no environment `{name}`"),
                    &if known.is_empty() {
                        "add an [env.NAME] section".to_string()
                    } else {
                        format!("known environments: {}", known.join(", "))
                    },
                ));
            }
            return Ok(Some(name.to_string()));
        }
        Ok(self
            .config
            .project
            .default_env
            .clone()
            .or_else(|| {
                (envs.len() == 1)
                    .then(|| envs.keys().next().cloned())
                    .flatten()
            })
            .or_else(|| {
                envs.contains_key("development")
                    .then(|| "development".to_string())
            }))
    }
}

/// A TOML error with its line, from the toml crate's span.
fn toml_message(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let line = 1 + text[..span.start.min(text.len())].matches('\n').count();
            format!("line {line}: {}", e.message())
        }
        None => e.message().to_string(),
    }
}

fn read_dotenv(dir: &Path) -> Result<HashMap<String, String>, EngineError> {
    let path = dir.join(".env");
    if !path.is_file() {
        return Ok(HashMap::new());
    }
    // dotenvy's messages quote the offending line, which may hold a
    // secret: say which line instead.
    let bad = |e: dotenvy::Error| EngineError::Config {
        path: path.clone(),
        message: match e {
            dotenvy::Error::Io(io) => format!("cannot read: {io}"),
            dotenvy::Error::LineParse(line, _) => {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                match text
                    .lines()
                    .position(|l| l.contains(line.lines().next().unwrap_or("")))
                {
                    Some(n) => format!(
                        "line {} is not NAME=value (not shown: it may hold a secret)",
                        n + 1
                    ),
                    None => "a line is not NAME=value (not shown: it may hold a secret)".into(),
                }
            }
            _ => "cannot be read as NAME=value lines".into(),
        },
        help: "write one NAME=value a line; quote values with spaces".into(),
    };
    let mut vars = HashMap::new();
    for item in dotenvy::from_path_iter(&path).map_err(&bad)? {
        let (k, v) = item.map_err(&bad)?;
        vars.insert(k, v);
    }
    Ok(vars)
}

/// `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

mod init;
mod logs;
mod notify;
pub use init::{InitialDatabase, NewSource, initial_config, initial_database};
pub use logs::{LOG_KEEP, LOG_KEEP_MAX, LOG_MAX_SIZE, LogSettings, parse_size};

#[cfg(test)]
mod tests;
