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

impl EngineError {
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
