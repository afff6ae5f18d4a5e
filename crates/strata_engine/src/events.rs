//! What a run reports as it goes. Every reporter (terminal, JSON lines, and
//! later audit logs, webhooks and the dashboard) receives the same events.

use serde::Serialize;
use strata_driver::LockHolder;
use strata_plan::{Plan, Step, StepAction};

/// One thing that happened during a run. Serialised as one JSON object per
/// line (`{"event": "migration_finished", ...}`); see docs/json.md.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Started {
        command: String,
        database: String,
        environment: Option<String>,
        plan_hash: String,
        steps: usize,
    },
    /// A problem with the migration files that does not stop the run.
    Warning {
        message: String,
    },
    LockWaiting {
        holder: LockHolder,
    },
    LockAcquired {
        waited_ms: u64,
    },
    Reset {
        dropped: Vec<String>,
    },
    /// A migration's statement is waiting for locks these sessions hold.
    Blocked {
        migration: String,
        sessions: Vec<strata_driver::BlockingSession>,
    },
    /// A hook ran and succeeded.
    HookFinished {
        hook: String,
        run: String,
        duration_ms: u64,
    },
    /// A backup was taken before the run (`backup = "before"`).
    BackedUp {
        id: String,
        file: String,
        size: u64,
    },
    MigrationStarted {
        #[serde(flatten)]
        step: StepInfo,
        index: usize,
        total: usize,
    },
    MigrationFinished {
        #[serde(flatten)]
        step: StepInfo,
        duration_ms: u64,
        /// In a PostgreSQL dry run: the locks the migration took
        /// (`relation mode`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        locks: Vec<String>,
    },
    /// A dry run could not try this step: it runs outside a transaction.
    MigrationSkipped {
        #[serde(flatten)]
        step: StepInfo,
        reason: String,
        /// The SQL it would run, where the dry run shows it instead
        /// (MySQL).
        #[serde(skip_serializing_if = "Option::is_none")]
        sql: Option<String>,
    },
    /// A statement-by-statement migration an earlier run left unfinished
    /// goes on after the statements that completed.
    Resuming {
        #[serde(flatten)]
        step: StepInfo,
        completed: usize,
        total: usize,
        /// The file line of the statement it resumes at.
        line: Option<usize>,
    },
    MigrationFailed {
        #[serde(flatten)]
        step: StepInfo,
        duration_ms: u64,
        error: String,
        /// Where the failing statement is: `path:line`.
        location: Option<String>,
    },
    Finished {
        applied: usize,
        reverted: usize,
        recorded: usize,
        failed: usize,
        skipped: usize,
        /// Everything was rolled back.
        dry_run: bool,
        duration_ms: u64,
    },
}

/// The migration a step concerns.
#[derive(Debug, Clone, Serialize)]
pub struct StepInfo {
    pub source: String,
    pub version: String,
    pub name: String,
    pub action: StepAction,
    pub path: Option<String>,
    pub transactional: bool,
    pub out_of_order: bool,
}

impl From<&Step> for StepInfo {
    fn from(s: &Step) -> Self {
        StepInfo {
            source: s.id.source.clone(),
            version: s.id.version.to_string(),
            name: s.name.clone(),
            action: s.action,
            path: s.path.as_ref().map(|p| p.display().to_string()),
            transactional: s.tx_mode.is_transactional(),
            out_of_order: s.out_of_order,
        }
    }
}

/// Receives events; also asked to confirm a change to a protected
/// environment when no `--approve` hash was given.
pub trait Reporter: Sync {
    fn event(&self, event: &Event);

    /// Asks a person to confirm `plan` on `environment`. The default (no
    /// person to ask) refuses.
    fn confirm(&self, _plan: &Plan, _environment: &str) -> bool {
        false
    }

    /// Asks a person to confirm ending the session `holder` that holds the
    /// migration lock (`--terminate-stale`). The default refuses.
    fn confirm_terminate(&self, _holder: &strata_driver::LockHolder) -> bool {
        false
    }
}

/// A reporter that drops everything (library use, tests).
pub struct Silent;

impl<R: Reporter + ?Sized> Reporter for Box<R>
where
    Box<R>: Sync,
{
    fn event(&self, event: &Event) {
        (**self).event(event);
    }

    fn confirm(&self, plan: &Plan, environment: &str) -> bool {
        (**self).confirm(plan, environment)
    }
}

impl Reporter for Silent {
    fn event(&self, _: &Event) {}
}
