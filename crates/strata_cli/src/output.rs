//! Every `--format json` document, as a type: what each command prints is
//! one of these (or an engine type that serializes itself: events,
//! reports, manifests), so the shapes are checked by the compiler and
//! documented in docs/json.md (a test fails when a field there is
//! missing).

use serde::Serialize;
use std::collections::BTreeMap;
use strata_engine::{
    BackupManifest, Engine, EngineError, Finding, MigrationState, RuleInfo, Verified, doctor::Check,
};
use strata_model::{LogEntry, Migration, Timestamp, Version};
use strata_plan::{Plan, StatusEntry, StepAction};

/// The last line of a failed command.
#[derive(Serialize)]
pub struct ErrorDoc<'a> {
    pub error: ErrorBody<'a>,
}

#[derive(Serialize)]
pub struct ErrorBody<'a> {
    /// One of [`strata_engine::ErrorKind`]'s names, `usage`, or `error` (a
    /// refusal by the command line itself).
    pub kind: &'a str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration: Option<String>,
    /// `path:line` of the failing statement (only with `migration`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Option<String>>,
}

impl<'a> ErrorBody<'a> {
    pub fn new(kind: &'a str, message: String, error: Option<&EngineError>) -> Self {
        let (migration, location) = match error {
            Some(EngineError::MigrationFailed { id, location, .. }) => {
                (Some(id.to_string()), Some(location.clone()))
            }
            _ => (None, None),
        };
        ErrorBody {
            kind,
            message,
            migration,
            location,
        }
    }
}

/// `strata status`.
#[derive(Serialize)]
pub struct Status {
    pub database: String,
    pub environment: Option<String>,
    /// Every state, zeros included, so a reader need not guess.
    pub counts: BTreeMap<&'static str, usize>,
    /// The same counts per selected source, in configuration order.
    pub sources: Vec<SourceCounts>,
    pub migrations: Vec<StatusItem>,
    pub warnings: Vec<String>,
}

#[derive(Serialize)]
pub struct SourceCounts {
    pub name: String,
    pub counts: BTreeMap<&'static str, usize>,
}

/// How many of `entries` are in each state, zeros included.
pub fn counts<'a>(
    entries: impl Iterator<Item = &'a StatusEntry> + Clone,
) -> BTreeMap<&'static str, usize> {
    MigrationState::ALL
        .iter()
        .map(|s| {
            (
                s.as_str(),
                entries.clone().filter(|e| e.state == *s).count(),
            )
        })
        .collect()
}

#[derive(Serialize)]
pub struct StatusItem {
    pub source: String,
    pub version: Version,
    pub name: String,
    pub state: MigrationState,
    pub path: Option<String>,
    pub checksum: Option<String>,
    pub recorded_checksum: Option<String>,
    pub batch: Option<i64>,
    pub applied_at: Option<Timestamp>,
    pub detail: Option<String>,
}

impl Status {
    pub fn new(engine: &Engine, entries: &[StatusEntry], warnings: Vec<String>) -> Self {
        Status {
            database: engine.database_display(),
            environment: engine.env_name.clone(),
            counts: counts(entries.iter()),
            sources: engine
                .sources()
                .iter()
                .map(|s| SourceCounts {
                    name: s.name.clone(),
                    counts: counts(entries.iter().filter(|e| e.id.source == s.name)),
                })
                .collect(),
            migrations: entries
                .iter()
                .map(|e| StatusItem {
                    source: e.id.source.clone(),
                    version: e.id.version.clone(),
                    name: e.name.clone(),
                    state: e.state,
                    path: e.path.as_deref().map(|p| engine.display_path(p)),
                    checksum: e.file_checksum.as_ref().map(|c| c.hex.clone()),
                    recorded_checksum: e.recorded_checksum.as_ref().map(|c| c.hex.clone()),
                    batch: e.batch,
                    applied_at: e.applied_at,
                    detail: e.detail.clone(),
                })
                .collect(),
            warnings,
        }
    }
}

/// `strata list`.
#[derive(Serialize)]
pub struct List {
    /// The selected sources, in configuration order, with how many
    /// migrations each has.
    pub sources: Vec<ListSource>,
    pub migrations: Vec<ListItem>,
    pub warnings: Vec<String>,
}

#[derive(Serialize)]
pub struct ListSource {
    pub name: String,
    pub format: String,
    pub path: String,
    pub migrations: usize,
}

#[derive(Serialize)]
pub struct ListItem {
    pub source: String,
    pub version: Version,
    pub name: String,
    pub description: Option<String>,
    pub kind: &'static str,
    pub path: String,
    pub has_down: bool,
    pub has_verify: bool,
    pub transactional: bool,
    pub tx_mode: &'static str,
    pub runnable: bool,
    pub unsupported: Option<String>,
    pub checksum: String,
}

impl ListItem {
    pub fn new(engine: &Engine, m: &Migration) -> Self {
        ListItem {
            source: m.id.source.clone(),
            version: m.id.version.clone(),
            name: m.name.clone(),
            description: m.description.clone(),
            kind: m.kind.as_str(),
            path: engine.display_path(&m.path),
            has_down: m.down.is_some(),
            has_verify: m.verify.is_some(),
            transactional: m.tx_mode.is_transactional(),
            tx_mode: m.tx_mode.as_str(),
            runnable: m.unsupported.is_none(),
            unsupported: m.unsupported.clone(),
            checksum: m.checksum.hex.clone(),
        }
    }
}

/// `strata plan`.
#[derive(Serialize)]
pub struct PlanDoc {
    pub database: String,
    pub environment: Option<String>,
    pub plan_hash: String,
    pub steps: Vec<PlanStep>,
    pub warnings: Vec<String>,
}

#[derive(Serialize)]
pub struct PlanStep {
    pub action: StepAction,
    pub source: String,
    pub version: Version,
    pub name: String,
    pub path: Option<String>,
    pub checksum: String,
    pub transactional: bool,
    pub out_of_order: bool,
    pub retry: bool,
}

impl PlanDoc {
    pub fn new(engine: &Engine, plan: &Plan) -> Self {
        PlanDoc {
            database: engine.database_display(),
            environment: engine.env_name.clone(),
            plan_hash: plan.hash.clone(),
            steps: plan
                .steps
                .iter()
                .map(|s| PlanStep {
                    action: s.action,
                    source: s.id.source.clone(),
                    version: s.id.version.clone(),
                    name: s.name.clone(),
                    path: s.path.as_deref().map(|p| engine.display_path(p)),
                    checksum: s.checksum.hex.clone(),
                    transactional: s.tx_mode.is_transactional(),
                    out_of_order: s.out_of_order,
                    retry: s.retry,
                })
                .collect(),
            warnings: plan.warnings.clone(),
        }
    }
}

/// `strata history`.
#[derive(Serialize)]
pub struct History {
    pub database: String,
    pub entries: Vec<HistoryItem>,
}

#[derive(Serialize)]
pub struct HistoryItem {
    pub seq: i64,
    pub at: Timestamp,
    pub action: &'static str,
    pub source: String,
    pub version: Version,
    pub name: String,
    pub status: &'static str,
    pub batch: i64,
    pub duration_ms: Option<i64>,
    pub checksum: Option<String>,
    pub applied_by: String,
    pub environment: Option<String>,
    pub strata_version: String,
    pub detail: Option<String>,
}

impl From<&LogEntry> for HistoryItem {
    fn from(e: &LogEntry) -> Self {
        HistoryItem {
            seq: e.seq,
            at: e.at,
            action: e.action.as_str(),
            source: e.id.source.clone(),
            version: e.id.version.clone(),
            name: e.name.clone(),
            status: e.status.as_str(),
            batch: e.batch,
            duration_ms: e.duration_ms,
            checksum: e.checksum.as_ref().map(|c| c.hex.clone()),
            applied_by: e.applied_by.clone(),
            environment: e.environment.clone(),
            strata_version: e.strata_version.clone(),
            detail: e.detail.clone(),
        }
    }
}

/// `strata doctor`.
#[derive(Serialize)]
pub struct Doctor {
    pub problems: usize,
    pub checks: Vec<Check>,
}

/// `strata validate`.
#[derive(Serialize)]
pub struct Validate {
    pub database_checked: bool,
    pub findings: Vec<Finding>,
}

/// `strata verify`.
#[derive(Serialize)]
pub struct Verify {
    pub failed: usize,
    pub results: Vec<Verified>,
}

/// `strata lint --explain`.
#[derive(Serialize)]
pub struct Rules {
    pub rules: Vec<RuleInfo>,
}

/// `strata init`.
#[derive(Serialize)]
pub struct Init<'a, S: Serialize> {
    pub created: Vec<String>,
    /// The development environment's URL, when strata.toml was written.
    pub database: Option<&'a str>,
    pub notes: Vec<Note<'a>>,
    pub added_sources: &'a [S],
    pub unclassified: Vec<Unclassified>,
}

#[derive(Serialize)]
pub struct Note<'a> {
    pub source: &'a str,
    pub note: &'a str,
}

#[derive(Serialize)]
pub struct Unclassified {
    pub path: String,
    pub reason: String,
}

/// `strata new`.
#[derive(Serialize)]
pub struct New {
    pub created: String,
    pub source: String,
    pub version: String,
    pub name: String,
}

/// `strata backups`.
#[derive(Serialize)]
pub struct Backups {
    pub backups: Vec<BackupManifest>,
}

/// `strata restore`.
#[derive(Serialize)]
pub struct Restored {
    pub restored: BackupManifest,
    pub backed_up_first: Option<BackupManifest>,
}

/// `strata tasks`.
#[derive(Serialize)]
pub struct Tasks {
    pub tasks: Vec<TaskItem>,
}

#[derive(Serialize)]
pub struct TaskItem {
    pub source: String,
    pub name: String,
    pub path: String,
    pub readonly: bool,
    pub description: Option<String>,
    pub runs: usize,
    pub last_run: Option<TaskRunItem>,
}

#[derive(Serialize)]
pub struct TaskRunItem {
    pub run_id: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub duration_ms: Option<i64>,
    pub exit_status: Option<i64>,
    pub ok: bool,
    pub args: String,
    pub output: Option<String>,
    pub run_by: String,
    pub environment: Option<String>,
}

impl From<&strata_model::TaskRun> for TaskRunItem {
    fn from(r: &strata_model::TaskRun) -> Self {
        TaskRunItem {
            run_id: r.run_id.clone(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            duration_ms: r.duration_ms,
            exit_status: r.exit_status,
            ok: r.ok,
            args: r.args.clone(),
            output: r.output.clone(),
            run_by: r.run_by.clone(),
            environment: r.environment.clone(),
        }
    }
}

impl TaskItem {
    pub fn new(engine: &Engine, t: &strata_engine::TaskInfo) -> Self {
        TaskItem {
            source: t.task.source.clone(),
            name: t.task.name.clone(),
            path: engine.display_path(&t.task.path),
            readonly: t.task.readonly,
            description: t.task.description.clone(),
            runs: t.runs,
            last_run: t.last.as_ref().map(TaskRunItem::from),
        }
    }
}

/// `strata run`.
#[derive(Serialize)]
pub struct TaskRunDoc {
    pub source: String,
    pub task: String,
    #[serde(flatten)]
    pub run: TaskRunItem,
    /// Everything it printed (the run's `output` keeps the tail).
    pub printed: String,
}

impl TaskRunDoc {
    pub fn new(r: &strata_engine::TaskReport) -> Self {
        TaskRunDoc {
            source: r.task.source.clone(),
            task: r.task.name.clone(),
            run: TaskRunItem::from(&r.run),
            printed: r.output.clone(),
        }
    }
}
