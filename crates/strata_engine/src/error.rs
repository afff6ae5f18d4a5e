//! Every way a command can fail, each saying what to do next.

use crate::report::Report;
use std::path::PathBuf;
use std::time::Duration;
use strata_discover::DiscoverError;
use strata_driver::{DriverError, LockHolder};
use strata_model::MigrationId;
use strata_plan::PlanError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error("{}: {message} ({help})", path.display())]
    Config {
        path: PathBuf,
        message: String,
        help: String,
    },
    #[error("no database to work on: {0}")]
    NoDatabase(String),
    #[error(
        "there is no strata project here: no strata.toml in {} or above, and no migrations/ directory; run `strata init` to create one",
        .0.display()
    )]
    NoProject(PathBuf),
    #[error("{0}")]
    Url(String),
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error("gave up after {}s waiting for the migration lock on {table}, held by {holder}\ntry again later, or raise --lock-timeout; if that is a killed run's session the server keeps running, `--terminate-stale` ends it", waited.as_secs())]
    LockTimeout {
        table: String,
        holder: Box<LockHolder>,
        waited: Duration,
    },
    #[error(
        "the plan changed: --approve names plan {approved}, but the plan now is {actual}; review it with `strata plan` and approve that hash"
    )]
    PlanMismatch { approved: String, actual: String },
    #[error(
        "environment `{env}` is protected: `{command}` needs --yes and a confirmation at a terminal, or --yes --approve {hash}"
    )]
    Protected {
        env: String,
        command: String,
        hash: String,
    },
    #[error("{message}")]
    MigrationFailed {
        id: Box<MigrationId>,
        message: String,
        /// `path:line` of the failing statement, when known.
        location: Option<String>,
        report: Box<Report>,
    },
    #[error(
        "environment `{env}` requires approval: run `strata plan --env {env}` (or the same command with --dry-run), review it, then pass --approve {hash}, or confirm at a terminal"
    )]
    ApprovalRequired { env: String, hash: String },
    #[error(
        "environment `{env}` requires approval to run task {task} (it does not say `strata: readonly`): pass --approve {hash} (this task, as its file is now, with these arguments), or confirm at a terminal"
    )]
    TaskApproval {
        env: String,
        task: String,
        hash: String,
    },
    #[error("{0}")]
    UnknownTask(String),
    #[error(
        "nothing was reverted: {down}\ncheck it, then run the same command with --approve {hash} (or confirm at a terminal), or write a `-- strata:down` section"
    )]
    GeneratedDown { down: String, hash: String },
    #[error(
        "`baseline --all-sources` would record these migrations as applied without running them; nothing was written:\n{}\ncheck the list, then run the same command with --approve {hash} (or confirm at a terminal)",
        .migrations.join("\n")
    )]
    WideBaseline {
        migrations: Vec<String>,
        hash: String,
    },
    #[error(
        "the plan has destructive statements and environment `{env}` has allow_destructive = false; nothing was run:\n{}\nif this is intended, pass --allow-destructive together with --approve {hash} (or confirm at a terminal)",
        .statements.join("\n")
    )]
    Destructive {
        env: String,
        statements: Vec<String>,
        hash: String,
    },
    #[error(
        "`{command}` on protected environment `{env}` was not confirmed, so nothing was done; confirm by typing the environment's name at a terminal, or pass --approve {hash}"
    )]
    NotConfirmed {
        env: String,
        command: String,
        hash: String,
    },
    #[error(
        "source `{source_name}` is written for {wants}, but {database} is not; point it at a {wants} database, or run with --source for the other sources"
    )]
    EngineMismatch {
        source_name: String,
        wants: String,
        database: String,
    },
    #[error("{0}")]
    Adopt(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Backup(String),
    #[error("{0}")]
    Hook(String),
    #[error("{message}")]
    LockLost {
        message: String,
        report: Box<Report>,
    },
    #[error(
        "`strata fresh` drops the whole schema, so it works on every source at once; run it without --source {0}"
    )]
    FreshOneSource(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

/// What kind of error a command failed with: a stable name for each, in
/// `--format json` (`{"error": {"kind": ...}}`) and for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Config,
    NoDatabase,
    NoProject,
    Url,
    InvalidMigration,
    Plan,
    Database,
    LockTimeout,
    PlanMismatch,
    Protected,
    ApprovalRequired,
    Destructive,
    MigrationFailed,
    LockLost,
    EngineMismatch,
    Adopt,
    Refused,
    Hook,
    Backup,
    Io,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 20] = [
        ErrorKind::Config,
        ErrorKind::NoDatabase,
        ErrorKind::NoProject,
        ErrorKind::Url,
        ErrorKind::InvalidMigration,
        ErrorKind::Plan,
        ErrorKind::Database,
        ErrorKind::LockTimeout,
        ErrorKind::PlanMismatch,
        ErrorKind::Protected,
        ErrorKind::ApprovalRequired,
        ErrorKind::Destructive,
        ErrorKind::MigrationFailed,
        ErrorKind::LockLost,
        ErrorKind::EngineMismatch,
        ErrorKind::Adopt,
        ErrorKind::Refused,
        ErrorKind::Hook,
        ErrorKind::Backup,
        ErrorKind::Io,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::NoDatabase => "no_database",
            ErrorKind::NoProject => "no_project",
            ErrorKind::Url => "url",
            ErrorKind::InvalidMigration => "invalid_migration",
            ErrorKind::Plan => "plan",
            ErrorKind::Database => "database",
            ErrorKind::LockTimeout => "lock_timeout",
            ErrorKind::PlanMismatch => "plan_mismatch",
            ErrorKind::Protected => "protected",
            ErrorKind::ApprovalRequired => "approval_required",
            ErrorKind::Destructive => "destructive",
            ErrorKind::MigrationFailed => "migration_failed",
            ErrorKind::LockLost => "lock_lost",
            ErrorKind::EngineMismatch => "engine_mismatch",
            ErrorKind::Adopt => "adopt",
            ErrorKind::Refused => "refused",
            ErrorKind::Hook => "hook",
            ErrorKind::Backup => "backup",
            ErrorKind::Io => "io",
        }
    }
}

impl EngineError {
    /// Its kind (exhaustive: a new error names its kind here).
    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::Config { .. } => ErrorKind::Config,
            EngineError::NoDatabase(_) => ErrorKind::NoDatabase,
            EngineError::NoProject(_) => ErrorKind::NoProject,
            EngineError::Url(_) => ErrorKind::Url,
            EngineError::Discover(_) => ErrorKind::InvalidMigration,
            EngineError::Plan(_) => ErrorKind::Plan,
            EngineError::Driver(_) => ErrorKind::Database,
            EngineError::LockTimeout { .. } => ErrorKind::LockTimeout,
            EngineError::PlanMismatch { .. } => ErrorKind::PlanMismatch,
            EngineError::Protected { .. } | EngineError::NotConfirmed { .. } => {
                ErrorKind::Protected
            }
            EngineError::ApprovalRequired { .. }
            | EngineError::TaskApproval { .. }
            | EngineError::GeneratedDown { .. }
            | EngineError::WideBaseline { .. } => ErrorKind::ApprovalRequired,
            EngineError::Destructive { .. } => ErrorKind::Destructive,
            EngineError::MigrationFailed { .. } => ErrorKind::MigrationFailed,
            EngineError::LockLost { .. } => ErrorKind::LockLost,
            EngineError::EngineMismatch { .. } => ErrorKind::EngineMismatch,
            EngineError::Adopt(_) => ErrorKind::Adopt,
            EngineError::Refused(_) | EngineError::FreshOneSource(_) => ErrorKind::Refused,
            EngineError::UnknownTask(_) => ErrorKind::Plan,
            EngineError::Hook(_) => ErrorKind::Hook,
            EngineError::Backup(_) => ErrorKind::Backup,
            EngineError::Io { .. } => ErrorKind::Io,
        }
    }

    /// What the run did before it stopped, when it got that far.
    pub fn report(&self) -> Option<&Report> {
        match self {
            EngineError::MigrationFailed { report, .. } | EngineError::LockLost { report, .. } => {
                Some(report)
            }
            _ => None,
        }
    }
}
