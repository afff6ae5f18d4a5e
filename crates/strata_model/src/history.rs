use crate::{Checksum, MigrationId, MigrationKind, Timestamp};

/// The state a migration's history row is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryStatus {
    Applied,
    Failed,
    Reverted,
    /// Written before a non-transactional migration starts and replaced when
    /// it ends; a row left in this state means the run was interrupted.
    Running,
}

impl HistoryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryStatus::Applied => "applied",
            HistoryStatus::Failed => "failed",
            HistoryStatus::Reverted => "reverted",
            HistoryStatus::Running => "running",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "applied" => HistoryStatus::Applied,
            "failed" => HistoryStatus::Failed,
            "reverted" => HistoryStatus::Reverted,
            "running" => HistoryStatus::Running,
            _ => return None,
        })
    }
}

/// One row of the history table: the current state of one migration.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub id: MigrationId,
    pub name: String,
    pub kind: MigrationKind,
    pub checksum: Checksum,
    pub status: HistoryStatus,
    pub batch: i64,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub duration_ms: Option<i64>,
    pub applied_by: String,
    pub strata_version: String,
    pub environment: Option<String>,
    pub error: Option<String>,
    /// The down section as it was when the migration was applied, so a
    /// revert still works after the file is gone.
    pub down_sql: Option<String>,
    /// Set when the migration was applied below an already applied version.
    pub out_of_order: bool,
    /// For a migration run statement by statement (outside a transaction):
    /// the statements that completed, while it is running or after it
    /// failed, so the next run can resume after them.
    pub progress: Option<Progress>,
}

/// How far a statement-by-statement run got: how many statements completed
/// and a hash of their text, so a resume can tell whether the file's first
/// statements are still the ones that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub statements: i64,
    pub hash: String,
}

/// Keeps the [`Progress`] of a run as its statements complete, without
/// hashing the ones before again each time.
#[derive(Clone, Default)]
pub struct ProgressTracker {
    hash: sha2::Sha256,
    statements: i64,
}

impl ProgressTracker {
    /// A tracker that has counted `statements` as completed.
    pub fn after<'a>(statements: impl IntoIterator<Item = &'a str>) -> Self {
        let mut tracker = ProgressTracker::default();
        for st in statements {
            tracker.completed(st);
        }
        tracker
    }

    /// Notes that `statement` completed; the progress so far.
    pub fn completed(&mut self, statement: &str) -> Progress {
        use sha2::Digest;
        self.hash
            .update(crate::normalize_text(statement.trim()).as_bytes());
        self.hash.update([0]);
        self.statements += 1;
        self.current()
    }

    pub fn current(&self) -> Progress {
        use sha2::Digest;
        Progress {
            statements: self.statements,
            hash: crate::hex(&self.hash.clone().finalize()[..8]),
        }
    }
}

/// What happened, in the timeline every state change appends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogAction {
    Apply,
    Revert,
    Fail,
    Start,
    Repair,
    Baseline,
    Reset,
    Adopt,
    /// A maintenance task ran (`strata run`).
    Task,
}

impl LogAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LogAction::Apply => "apply",
            LogAction::Revert => "revert",
            LogAction::Fail => "fail",
            LogAction::Start => "start",
            LogAction::Repair => "repair",
            LogAction::Baseline => "baseline",
            LogAction::Reset => "reset",
            LogAction::Adopt => "adopt",
            LogAction::Task => "task",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "apply" => LogAction::Apply,
            "revert" => LogAction::Revert,
            "fail" => LogAction::Fail,
            "start" => LogAction::Start,
            "repair" => LogAction::Repair,
            "baseline" => LogAction::Baseline,
            "reset" => LogAction::Reset,
            "adopt" => LogAction::Adopt,
            "task" => LogAction::Task,
            _ => return None,
        })
    }
}

/// One entry of the timeline (`strata history`).
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Assigned by the database; 0 before the entry is written.
    pub seq: i64,
    pub id: MigrationId,
    pub name: String,
    pub action: LogAction,
    /// The row's status after this entry (`applied`, `failed`, ...).
    pub status: HistoryStatus,
    pub checksum: Option<Checksum>,
    pub batch: i64,
    pub at: Timestamp,
    pub duration_ms: Option<i64>,
    pub applied_by: String,
    pub strata_version: String,
    pub environment: Option<String>,
    /// Error text, or a note such as "out of order" or "checksum accepted".
    pub detail: Option<String>,
}

/// One statement that writes another tool's history table: SQL with `$1`,
/// `$2` ... placeholders and text values (cast in the SQL where needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignWrite {
    pub sql: String,
    pub params: Vec<Option<String>>,
}

impl ForeignWrite {
    pub fn new(sql: &str, params: Vec<Option<String>>) -> ForeignWrite {
        ForeignWrite {
            sql: sql.to_string(),
            params,
        }
    }

    /// The statements that create the tool's table as the tool does.
    pub fn create(ddl: &[&str]) -> Vec<ForeignWrite> {
        ddl.iter()
            .map(|sql| ForeignWrite::new(sql, Vec::new()))
            .collect()
    }
}

/// One run of a maintenance task (`strata run`), as its table keeps it:
/// written when it starts (`finished_at` empty while it runs, so a run
/// that was killed stays visible) and completed when it ends.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRun {
    /// Unique per run.
    pub run_id: String,
    pub source: String,
    pub task: String,
    /// The script's checksum (hex) when it ran.
    pub checksum: String,
    /// The arguments it was given, as one line.
    pub args: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub duration_ms: Option<i64>,
    /// The exit status; `None` while running, or when it was stopped by a
    /// signal or the timeout.
    pub exit_status: Option<i64>,
    /// Finished with status 0.
    pub ok: bool,
    /// The last part of what it printed, with the database password hidden.
    pub output: Option<String>,
    pub run_by: String,
    pub strata_version: String,
    pub environment: Option<String>,
}
