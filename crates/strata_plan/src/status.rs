use rustc_hash::FxHashMap;
use std::path::PathBuf;
use strata_model::{
    Checksum, HistoryRow, HistoryStatus, Lane, Migration, MigrationId, Timestamp, TxMode,
};

/// Where one migration stands, as `strata status` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationState {
    Applied,
    Pending,
    /// A failed attempt, or an interrupted one (a `running` row), or an
    /// applied migration whose non-transactional revert failed.
    Failed,
    Reverted,
    /// Applied, but the file has changed since.
    Drifted,
    /// Applied, but the file is gone.
    Missing,
}

impl MigrationState {
    /// Applied, pending or reverted: what its file says it is; any other
    /// state needs settling (`strata status` says how) before the history
    /// can be replayed as it stands.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            MigrationState::Applied | MigrationState::Pending | MigrationState::Reverted
        )
    }

    pub const ALL: [MigrationState; 6] = [
        MigrationState::Applied,
        MigrationState::Pending,
        MigrationState::Failed,
        MigrationState::Reverted,
        MigrationState::Drifted,
        MigrationState::Missing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MigrationState::Applied => "applied",
            MigrationState::Pending => "pending",
            MigrationState::Failed => "failed",
            MigrationState::Reverted => "reverted",
            MigrationState::Drifted => "drifted",
            MigrationState::Missing => "missing",
        }
    }

    /// States that need attention (`status --check` exits 1).
    pub fn needs_attention(self) -> bool {
        self != MigrationState::Applied
    }
}

#[derive(Debug, Clone)]
pub struct StatusEntry {
    pub id: MigrationId,
    pub name: String,
    pub state: MigrationState,
    pub path: Option<PathBuf>,
    pub file_checksum: Option<Checksum>,
    pub recorded_checksum: Option<Checksum>,
    pub batch: Option<i64>,
    pub applied_at: Option<Timestamp>,
    pub has_down: bool,
    pub tx_mode: Option<TxMode>,
    /// Why the state is what it is, when that is not obvious.
    pub detail: Option<String>,
}

/// The entries not as their files say (failed, edited, missing, ...),
/// as `source/version (state)`: what must be settled before the history
/// can be replayed as it stands.
pub fn unsettled(entries: &[StatusEntry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| !e.state.is_settled())
        .map(|e| format!("{} ({})", e.id, e.state.as_str()))
        .collect()
}

/// Every migration's state: files in plan order, then history rows whose
/// file is gone.
pub fn status(migrations: &[Migration], history: &[HistoryRow]) -> Vec<StatusEntry> {
    let rows: FxHashMap<&MigrationId, &HistoryRow> = history.iter().map(|r| (&r.id, r)).collect();
    let started = |source: &str| {
        history
            .iter()
            .any(|r| r.id.source == source && r.status == HistoryStatus::Applied)
    };
    let mut out: Vec<StatusEntry> = migrations
        .iter()
        // A baseline only matters to a source nothing was applied to yet.
        .filter(|m| {
            m.id.version.lane() != Lane::Baseline
                || rows.contains_key(&m.id)
                || !started(&m.id.source)
        })
        .map(|m| {
            let row = rows.get(&m.id).copied();
            let (state, detail) = state_of(m, row);
            StatusEntry {
                id: m.id.clone(),
                name: m.name.clone(),
                state,
                path: Some(m.path.clone()),
                file_checksum: Some(m.checksum.clone()),
                recorded_checksum: row.map(|r| r.checksum.clone()),
                batch: row.map(|r| r.batch),
                applied_at: row
                    .filter(|r| r.status == HistoryStatus::Applied)
                    .and_then(|r| r.finished_at),
                has_down: m.down.is_some() || row.is_some_and(|r| r.down_sql.is_some()),
                tx_mode: Some(m.tx_mode),
                detail,
            }
        })
        .collect();
    let known: std::collections::HashSet<&MigrationId> = migrations.iter().map(|m| &m.id).collect();
    let mut gone: Vec<&HistoryRow> = history
        .iter()
        .filter(|r| !known.contains(&r.id) && r.status != HistoryStatus::Reverted)
        .collect();
    gone.sort_by(|a, b| (&a.id.source, &a.id.version).cmp(&(&b.id.source, &b.id.version)));
    out.extend(gone.into_iter().map(|r| StatusEntry {
        id: r.id.clone(),
        name: r.name.clone(),
        state: match r.status {
            HistoryStatus::Applied => MigrationState::Missing,
            _ => MigrationState::Failed,
        },
        path: None,
        file_checksum: None,
        recorded_checksum: Some(r.checksum.clone()),
        batch: Some(r.batch),
        applied_at: r.finished_at,
        has_down: r.down_sql.is_some(),
        tx_mode: None,
        detail: Some(match r.status {
            HistoryStatus::Running => interrupted(r),
            HistoryStatus::Failed => format!(
                "file is gone; {}",
                r.error.as_deref().unwrap_or("the last attempt failed")
            ),
            _ => "recorded as applied, but the file is gone".to_string(),
        }),
    }));
    out
}

/// A migration's state, from its file and its history row (if any), and
/// why when that is not obvious.
pub(crate) fn state_of(
    m: &Migration,
    row: Option<&HistoryRow>,
) -> (MigrationState, Option<String>) {
    match row {
        // Pending, but `up` will stop before it: say why.
        None => (
            MigrationState::Pending,
            m.unsupported
                .as_ref()
                .map(|why| format!("strata cannot run it: {why}")),
        ),
        Some(r) => match r.status {
            HistoryStatus::Applied
                if m.id.version.lane() == Lane::Repeatable && r.checksum.hex != m.checksum.hex =>
            {
                (
                    MigrationState::Pending,
                    Some("changed since it last ran; `strata up` runs it again".to_string()),
                )
            }
            HistoryStatus::Applied if r.checksum.hex != m.checksum.hex => (
                MigrationState::Drifted,
                Some(format!(
                    "applied with checksum {}, file now {}",
                    r.checksum.short(),
                    m.checksum.short()
                )),
            ),
            // An applied row with an error: a revert outside a
            // transaction failed or was interrupted, so some of
            // the migration may be gone. It needs a look.
            HistoryStatus::Applied if r.error.is_some() => {
                (MigrationState::Failed, r.error.clone())
            }
            HistoryStatus::Applied => (MigrationState::Applied, None),
            HistoryStatus::Reverted => (MigrationState::Reverted, None),
            HistoryStatus::Failed => (MigrationState::Failed, failed(r)),
            HistoryStatus::Running => (MigrationState::Failed, Some(interrupted(r))),
        },
    }
}

fn interrupted(r: &HistoryRow) -> String {
    if r.kind == strata_model::MigrationKind::Script {
        return format!(
            "interrupted: a script run started at {} never finished; check the database, then `strata repair {}` to clear it (or `strata up` to run it again)",
            r.started_at, r.id
        );
    }
    let n = completed(r).unwrap_or(0);
    let done = match n {
        0 => "no statement was recorded as completed".to_string(),
        n => format!("statements 1-{n} completed and stay applied"),
    };
    format!(
        "interrupted: a run started at {} never finished; {done}, and statement {next} may have been sent, so whether it completed is in doubt. `strata up` resumes at statement {next}, after asking the catalog whether it completed (or running it again where that is harmless); where the catalog cannot tell, record what you find with `strata repair {id} --statement {next} --done` (or `--not-done`). `strata up --restart` runs it from the top",
        r.started_at,
        next = n + 1,
        id = r.id
    )
}

fn failed(r: &HistoryRow) -> Option<String> {
    match (completed(r), r.error.as_deref()) {
        (Some(n), error) => Some(format!(
            "{}{}",
            error
                .map(|e| format!("{}\n", e.lines().next().unwrap_or(e)))
                .unwrap_or_default(),
            resume_advice(r, n)
        )),
        (None, error) => error.map(str::to_string),
    }
}

/// How many statements of a statement-by-statement run completed, when
/// any did.
fn completed(r: &HistoryRow) -> Option<i64> {
    r.progress.as_ref().map(|p| p.statements).filter(|&n| n > 0)
}

fn resume_advice(r: &HistoryRow, n: i64) -> String {
    format!(
        "statements 1-{n} completed and stay applied; `strata up` resumes at statement {}, `strata up --restart` runs it from the top, or undo them and `strata repair {}` to clear the attempt",
        n + 1,
        r.id
    )
}
