//! Hooks: `before_migrate`, `after_migrate`, `before_each`, `after_each` and
//! `on_error` in `[hooks]` (or `[env.NAME.hooks]`), each a SQL file run on
//! the database or a command given as an argument list (no shell), with the
//! run's context in `STRATA_*` environment variables.

use crate::EngineError;
use crate::config::{CONFIG_FILE, EnvConfig, Hook, HooksConfig, Project};
use crate::events::{Event, Reporter};
use crate::target::DatabaseTarget;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use strata_driver::{Driver, DriverError, TxSettings};

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HookPoint {
    BeforeMigrate,
    AfterMigrate,
    BeforeEach,
    AfterEach,
    OnError,
}

impl HookPoint {
    pub(crate) fn name(self) -> &'static str {
        match self {
            HookPoint::BeforeMigrate => "before_migrate",
            HookPoint::AfterMigrate => "after_migrate",
            HookPoint::BeforeEach => "before_each",
            HookPoint::AfterEach => "after_each",
            HookPoint::OnError => "on_error",
        }
    }

    fn pick(self, hooks: &HooksConfig) -> Option<&Hook> {
        match self {
            HookPoint::BeforeMigrate => hooks.before_migrate.as_ref(),
            HookPoint::AfterMigrate => hooks.after_migrate.as_ref(),
            HookPoint::BeforeEach => hooks.before_each.as_ref(),
            HookPoint::AfterEach => hooks.after_each.as_ref(),
            HookPoint::OnError => hooks.on_error.as_ref(),
        }
    }
}

/// What a hook is told about the run.
#[derive(Debug, Default)]
pub(crate) struct HookContext {
    pub command: String,
    pub plan_hash: String,
    /// `(id, name, action)` for the per-migration hooks.
    pub migration: Option<(String, String, String)>,
    pub applied: usize,
    pub reverted: usize,
    pub error: Option<String>,
    /// A dry run keeps nothing, so it runs no hook.
    pub dry_run: bool,
}

/// How long a hook command may run.
const HOOK_TIMEOUT: Duration = Duration::from_secs(600);

/// The hooks of a project in one environment, ready to run.
pub(crate) struct Hooks {
    project: HooksConfig,
    env: Option<HooksConfig>,
    root: PathBuf,
    environment: String,
    /// The database, password hidden (`STRATA_DATABASE`).
    database: String,
    /// The database URL, for a command hook's own connection; never
    /// printed.
    url: Option<String>,
}

const POINTS: [HookPoint; 5] = [
    HookPoint::BeforeMigrate,
    HookPoint::AfterMigrate,
    HookPoint::BeforeEach,
    HookPoint::AfterEach,
    HookPoint::OnError,
];

impl Hooks {
    /// The hooks of `project` in environment `env`, checked: SQL files end
    /// in `.sql`, commands are not empty.
    pub(crate) fn new(
        project: &Project,
        env_name: Option<&str>,
        env: &EnvConfig,
        database: Option<&DatabaseTarget>,
    ) -> Result<Hooks, EngineError> {
        let sets = std::iter::once(&project.config.hooks).chain(env.hooks.as_ref());
        for hooks in sets {
            for point in POINTS {
                let bad = match point.pick(hooks) {
                    Some(Hook::Command(argv)) if argv.is_empty() || argv[0].is_empty() => {
                        Some("an empty command")
                    }
                    Some(Hook::Sql(p)) if p.extension().is_none_or(|e| e != "sql") => {
                        Some("a string that is not a .sql file")
                    }
                    _ => None,
                };
                if let Some(bad) = bad {
                    return Err(EngineError::Config {
                        path: project.path.clone().unwrap_or_else(|| PathBuf::from(CONFIG_FILE)),
                        message: format!("hook `{}` is {bad}", point.name()),
                        help: "a hook is a SQL file (\"hooks/check.sql\") or a command as a list ([\"scripts/check.sh\", \"--fast\"])".into(),
                    });
                }
            }
        }
        Ok(Hooks {
            project: project.config.hooks.clone(),
            env: env.hooks.clone(),
            root: project.root.clone(),
            environment: env_name.unwrap_or_default().to_string(),
            database: DatabaseTarget::shown(database),
            url: database.map(DatabaseTarget::url),
        })
    }

    /// No hooks at all: for a scratch database strata builds itself.
    pub(crate) fn none(database: &DatabaseTarget) -> Hooks {
        Hooks {
            project: Default::default(),
            env: None,
            root: PathBuf::new(),
            environment: String::new(),
            database: DatabaseTarget::shown(Some(database)),
            url: None,
        }
    }

    /// The hook configured for `point`: the environment's, else the
    /// project's.
    fn hook(&self, point: HookPoint) -> Option<&Hook> {
        self.env
            .as_ref()
            .and_then(|h| point.pick(h))
            .or_else(|| point.pick(&self.project))
    }

    /// Runs the hook for `point`, if any. A failure is the hook's message.
    pub(crate) async fn run(
        &self,
        point: HookPoint,
        driver: &mut dyn Driver,
        context: &HookContext,
        reporter: &dyn Reporter,
    ) -> Result<(), String> {
        let Some(hook) = self.hook(point).filter(|_| !context.dry_run) else {
            return Ok(());
        };
        let started = Instant::now();
        let result = match hook {
            Hook::Sql(file) => self.run_sql(file, driver).await,
            Hook::Command(argv) => self.run_command(point, argv, context).await,
        };
        if result.is_ok() {
            reporter.event(&Event::HookFinished {
                hook: point.name().into(),
                run: hook.describe(),
                duration_ms: crate::report::ms(started.elapsed()),
            });
        }
        result.map_err(|why| {
            format!(
                "the {} hook ({}) failed: {why}",
                point.name(),
                hook.describe()
            )
        })
    }

    async fn run_sql(&self, file: &Path, driver: &mut dyn Driver) -> Result<(), String> {
        let path = self.root.join(file);
        let sql = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let statements = strata_sql::split(&sql, driver.capabilities().dialect);
        match driver
            .execute_each(&statements, &TxSettings::default())
            .await
        {
            Ok(()) => Ok(()),
            Err(DriverError::Statement(e)) => {
                let line = statements.get(e.index).map_or(1, |s| s.line_in(&sql) + 1);
                let shown = path.strip_prefix(&self.root).unwrap_or(&path);
                Err(format!("{}:{line}: {}", shown.display(), e.message))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    async fn run_command(
        &self,
        point: HookPoint,
        argv: &[String],
        context: &HookContext,
    ) -> Result<(), String> {
        let mut cmd = tokio::process::Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(&self.root)
            .env("STRATA_HOOK", point.name())
            .env("STRATA_COMMAND", &context.command)
            .env("STRATA_ENV", &self.environment)
            .env("STRATA_DATABASE", &self.database)
            .env("STRATA_PLAN_HASH", &context.plan_hash)
            .env("STRATA_APPLIED", context.applied.to_string())
            .env("STRATA_REVERTED", context.reverted.to_string())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if let Some(url) = &self.url {
            cmd.env("DATABASE_URL", url);
        }
        if let Some((id, name, action)) = &context.migration {
            cmd.env("STRATA_MIGRATION", id)
                .env("STRATA_MIGRATION_NAME", name)
                .env("STRATA_ACTION", action);
        }
        if let Some(error) = &context.error {
            cmd.env("STRATA_ERROR", error);
        }
        let output = tokio::time::timeout(HOOK_TIMEOUT, cmd.output())
            .await
            .map_err(|_| {
                format!(
                    "it ran longer than {}s and was stopped",
                    HOOK_TIMEOUT.as_secs()
                )
            })?
            .map_err(|e| format!("cannot run `{}`: {e}", argv[0]))?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let said = if stderr.trim().is_empty() {
            stdout
        } else {
            stderr
        };
        let tail: Vec<&str> = said.trim().lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(format!(
            "{}{}",
            output.status,
            if tail.is_empty() {
                String::new()
            } else {
                let text = strata_driver::redact_url(&tail.join("\n"));
                format!(
                    ": {}",
                    strata_driver::redact_in(&text, self.url.as_deref().unwrap_or_default())
                )
            }
        ))
    }
}

impl Hook {
    /// The hook as written, for messages.
    pub fn describe(&self) -> String {
        match self {
            Hook::Sql(p) => p.display().to_string(),
            Hook::Command(argv) => argv.join(" "),
        }
    }
}
