//! The planner: a pure function of (discovered migrations, history, what the
//! user asked for) to an ordered list of steps, or an error that says why
//! not. `status`, `plan`, `up`, `down` and every later consumer (dry-run, the
//! dashboard) use these same functions, so what is shown is what runs.

mod down;
mod error;
mod order;
mod request;
mod status;

use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::cell::OnceCell;
use std::collections::HashMap;
use std::path::PathBuf;
use strata_model::{
    Body, Checksum, HistoryRow, HistoryStatus, Lane, Migration, MigrationId, MigrationKind, TxMode,
    Version,
};
use strata_sql::Dialect;

pub use down::{plan_down, plan_redo};
pub use error::{NoDown, PlanError, Problem};
pub use order::{SourceOrder, order};
pub use request::{RequestKind, Target, destructive_statements, statement_problems};
pub use status::{MigrationState, StatusEntry, status, unsettled};

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// Run the up body and record the migration as applied.
    Apply,
    /// Run the down body and record the migration as reverted.
    Revert,
    /// Record the migration as applied without running it.
    Baseline,
    /// Record the file's current checksum for an applied migration.
    AcceptChecksum,
    /// Forget a failed or interrupted attempt so the migration is pending.
    ClearFailed,
    /// Forget an applied migration whose file was deleted on purpose (its
    /// changes stay in the database; the log keeps the record).
    Forget,
    /// Record the operator's finding about an in-doubt statement of an
    /// interrupted migration: statement `statement` (1-based) completed, or
    /// did not; `up` then resumes after or at it.
    ResolveStatement { statement: usize, done: bool },
}

impl StepAction {
    pub fn as_str(self) -> &'static str {
        match self {
            StepAction::Apply => "apply",
            StepAction::Revert => "revert",
            StepAction::Baseline => "baseline",
            StepAction::AcceptChecksum => "accept_checksum",
            StepAction::ClearFailed => "clear_failed",
            StepAction::Forget => "forget",
            StepAction::ResolveStatement { done: true, .. } => "statement_done",
            StepAction::ResolveStatement { done: false, .. } => "statement_not_done",
        }
    }

    /// Whether the step runs SQL (as opposed to only writing history).
    pub fn runs_sql(self) -> bool {
        matches!(self, StepAction::Apply | StepAction::Revert)
    }
}

/// One step of a plan.
#[derive(Debug, Clone)]
pub struct Step {
    pub action: StepAction,
    pub id: MigrationId,
    pub name: String,
    pub kind: MigrationKind,
    /// The up checksum this step records (for a revert: the recorded one).
    pub checksum: Checksum,
    pub tx_mode: TxMode,
    /// The SQL the step runs: the up body to apply, the down body to revert.
    pub script: Option<Body>,
    /// The down SQL to keep in history when applying.
    pub down_sql: Option<String>,
    /// The migration's file, when it exists.
    pub path: Option<PathBuf>,
    /// Applying below an already applied version (allowed explicitly).
    pub out_of_order: bool,
    /// A previous attempt failed or was interrupted.
    pub retry: bool,
}

/// An ordered list of steps and its hash (what `--approve` names).
#[derive(Debug, Clone)]
pub struct Plan {
    /// Drop everything in the schema (but strata's own tables) first.
    pub reset_first: bool,
    pub steps: Vec<Step>,
    pub hash: String,
    /// What to know before running it (see [`Plan::outside_transactions`]).
    pub warnings: Vec<String>,
    /// Reverts whose down strata derived from the up (no written or stored
    /// down): they run only once approved.
    pub generated_downs: Vec<MigrationId>,
}

impl Plan {
    fn new(reset_first: bool, steps: Vec<Step>) -> Self {
        let mut h = Sha256::new();
        if reset_first {
            h.update(b"reset\n");
        }
        for s in &steps {
            h.update(format!("{} {} {}", s.action.as_str(), s.id, s.checksum.hex));
            if s.action == StepAction::Revert
                && let Some(script) = &s.script
            {
                h.update(format!(" {}", Checksum::of_body(&script.sql).hex));
            }
            h.update(b"\n");
        }
        let hash = strata_model::hex(&h.finalize())[..16].to_string();
        Plan {
            reset_first,
            steps,
            hash,
            warnings: Vec::new(),
            generated_downs: Vec::new(),
        }
    }

    /// The plan as run on an engine whose DDL commits implicitly (MySQL):
    /// every step runs statement by statement, outside a transaction.
    /// A migration with several DDL statements there can be left half
    /// applied, which the plan warns about.
    pub fn outside_transactions(mut self, dialect: Dialect) -> Self {
        for s in &mut self.steps {
            s.tx_mode = TxMode::NoTransaction;
            let Some(body) = s
                .script
                .as_ref()
                .filter(|_| s.kind != MigrationKind::Script)
            else {
                continue;
            };
            let ddl = strata_sql::split(&body.sql, dialect)
                .iter()
                .filter(|st| strata_sql::is_ddl(st, &body.sql))
                .count();
            if ddl > 1 {
                self.warnings.push(format!(
                    "{} ({}) {} {ddl} DDL statements: the database commits each one as it runs, so a failure in the middle leaves the migration half done (strata records the statements that completed and `strata up` resumes after them); one DDL statement per migration avoids that",
                    s.id,
                    s.name,
                    if s.action == StepAction::Revert { "reverts with" } else { "has" }
                ));
            }
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && !self.reset_first
    }
}

/// What `up` may do.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Apply up to and including this version (`V` or `source/V`).
    pub to: Option<String>,
    /// Apply just this migration (`V`, `NAME`, `source/V`, `source/NAME`).
    pub only: Option<String>,
    pub allow_out_of_order: bool,
    pub ignore_missing: bool,
}

/// Which applied migrations `down` reverts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DownTarget {
    #[default]
    LastBatch,
    Steps(usize),
    /// Everything applied after this version (`0`: everything, as
    /// `sqlx migrate revert --target-version 0` and `goose down-to 0`).
    To(String),
    Batch(i64),
    /// Every applied migration.
    All,
    /// Just this migration; with `cascade`, the applied migrations that
    /// depend on it first.
    Only {
        target: String,
        cascade: bool,
    },
}

/// Everything the planner looks at, indexed once.
struct Ctx<'a> {
    migrations: &'a [Migration],
    history: FxHashMap<&'a MigrationId, &'a HistoryRow>,
    rows: &'a [HistoryRow],
    /// Built on first use: a plan with nothing to do never asks.
    position: OnceCell<FxHashMap<&'a MigrationId, usize>>,
}

impl<'a> Ctx<'a> {
    fn new(migrations: &'a [Migration], history: &'a [HistoryRow]) -> Self {
        Ctx {
            migrations,
            history: history.iter().map(|r| (&r.id, r)).collect(),
            rows: history,
            position: OnceCell::new(),
        }
    }

    fn position(&self) -> &FxHashMap<&'a MigrationId, usize> {
        self.position.get_or_init(|| {
            self.migrations
                .iter()
                .enumerate()
                .map(|(i, m)| (&m.id, i))
                .collect()
        })
    }

    fn migration(&self, id: &MigrationId) -> Option<&'a Migration> {
        self.position().get(id).map(|&i| &self.migrations[i])
    }

    /// Resolves `V`, `NAME`, `source/V` or `source/NAME` against files and
    /// history.
    fn resolve(&self, target: &str) -> Result<MigrationId, PlanError> {
        let (source, key) = match target.rsplit_once('/') {
            Some((s, v)) => (Some(s), v),
            None => (None, target),
        };
        if key.is_empty() {
            return Err(PlanError::BadTarget {
                target: target.to_string(),
                reason: "it names no version or migration".into(),
            });
        }
        let version = Version::parse_any(key).ok();
        let names = |id: &MigrationId, name: &str| {
            source.is_none_or(|s| s == id.source)
                && (version.as_ref() == Some(&id.version)
                    || id.version.as_str() == key
                    || name == key)
        };
        let mut found: Vec<&MigrationId> = self
            .migrations
            .iter()
            .map(|m| (&m.id, m.name.as_str()))
            .chain(self.rows.iter().map(|r| (&r.id, r.name.as_str())))
            .filter(|(id, name)| names(id, name))
            .map(|(id, _)| id)
            .collect();
        found.sort();
        found.dedup();
        match found.as_slice() {
            [] => Err(PlanError::UnknownTarget(target.to_string())),
            [one] => Ok((*one).clone()),
            many => Err(PlanError::AmbiguousTarget {
                target: target.to_string(),
                candidates: many.iter().map(ToString::to_string).collect(),
            }),
        }
    }

    /// Whether `a` comes after `b` in apply order.
    fn after(&self, a: &MigrationId, b: &MigrationId) -> bool {
        match (self.position().get(a), self.position().get(b)) {
            (Some(pa), Some(pb)) if a.source != b.source => pa > pb,
            _ => (&a.version, &a.source) > (&b.version, &b.source),
        }
    }

    /// Applied rows, most recently applied first: the order to revert in.
    fn applied_newest_first(&self) -> Vec<&'a HistoryRow> {
        let mut rows: Vec<&HistoryRow> = self
            .rows
            .iter()
            .filter(|r| r.status == HistoryStatus::Applied)
            // Repeatables are not reverted: they run again when they change.
            .filter(|r| r.id.version.lane() != Lane::Repeatable)
            .collect();
        // Newest batch first; within a batch, latest started first, then
        // the later position in the plan (a total order, so sorting is
        // well defined even when times tie).
        let key = |r: &HistoryRow| {
            let position = self.position().get(&r.id).copied();
            (
                r.batch,
                r.started_at,
                position,
                r.id.version.clone(),
                r.id.source.clone(),
            )
        };
        rows.sort_by_cached_key(|r| std::cmp::Reverse(key(r)));
        rows
    }

    fn apply_step(&self, m: &Migration, out_of_order: bool) -> Step {
        let retry = self
            .history
            .get(&m.id)
            .is_some_and(|r| matches!(r.status, HistoryStatus::Failed | HistoryStatus::Running));
        Step {
            action: StepAction::Apply,
            id: m.id.clone(),
            name: m.name.clone(),
            kind: m.kind,
            checksum: m.checksum.clone(),
            tx_mode: m.tx_mode,
            script: Some(m.up.clone()),
            // A script's down is the program itself, run from its file.
            down_sql: m
                .down
                .as_ref()
                .filter(|_| m.kind != MigrationKind::Script)
                .map(|b| b.sql.to_string()),
            path: Some(m.path.clone()),
            out_of_order,
            retry,
        }
    }

    fn revert_step(&self, row: &HistoryRow) -> Option<Step> {
        let file = self.migration(&row.id).filter(|m| m.unsupported.is_none());
        let script = match file.and_then(|m| m.down.clone()) {
            Some(body) => body,
            None => Body {
                sql: row.down_sql.clone()?.into(),
                line: 1,
                path: PathBuf::from(format!("<down SQL of {} stored in history>", row.id)),
            },
        };
        Some(Step {
            action: StepAction::Revert,
            id: row.id.clone(),
            name: row.name.clone(),
            kind: row.kind,
            checksum: row.checksum.clone(),
            tx_mode: file.map_or(TxMode::Transaction, |m| m.tx_mode),
            script: Some(script),
            down_sql: None,
            path: file.map(|m| m.path.clone()),
            out_of_order: false,
            retry: false,
        })
    }

    fn revert_steps(&self, rows: &[&HistoryRow]) -> Result<Vec<Step>, PlanError> {
        let mut steps = Vec::new();
        let mut irreversible = Vec::new();
        for row in rows {
            match self.revert_step(row) {
                Some(step) => steps.push(step),
                None => irreversible.push(NoDown {
                    id: row.id.clone(),
                    name: row.name.clone(),
                    why: Vec::new(),
                }),
            }
        }
        if irreversible.is_empty() {
            Ok(steps)
        } else {
            Err(PlanError::Irreversible(irreversible))
        }
    }
}

/// Gives the history rows of named migrations the place their files have in
/// their source's order (a row is read knowing only the name); a row whose
/// file is gone keeps none.
pub fn place(history: &mut [HistoryRow], migrations: &[Migration]) {
    let named: HashMap<(&str, &str), &Version> = migrations
        .iter()
        .filter(|m| m.id.version.lane() == Lane::Named)
        .map(|m| ((m.id.source.as_str(), m.id.version.as_str()), &m.id.version))
        .collect();
    if named.is_empty() {
        return;
    }
    for row in history.iter_mut() {
        let key = (row.id.source.as_str(), row.id.version.as_str());
        if let Some(placed) = named.get(&key).and_then(|v| row.id.version.placed_as(v)) {
            row.id.version = placed;
        }
    }
}

/// Resolves `V`, `NAME`, `source/V` or `source/NAME` to a migration of
/// `migrations` or `history`.
pub fn resolve(
    migrations: &[Migration],
    history: &[HistoryRow],
    target: &str,
) -> Result<MigrationId, PlanError> {
    Ctx::new(migrations, history).resolve(target)
}

/// The steps `strata up` runs.
pub fn plan_up(
    migrations: &[Migration],
    history: &[HistoryRow],
    opts: &UpOptions,
) -> Result<Plan, PlanError> {
    let ctx = Ctx::new(migrations, history);
    let limit = opts.to.as_deref().map(|t| ctx.resolve(t)).transpose()?;
    let only = opts.only.as_deref().map(|t| ctx.resolve(t)).transpose()?;
    let mut problems = Vec::new();

    // Each file's history row, looked up once for every pass below.
    let rows: Vec<Option<&HistoryRow>> = migrations
        .iter()
        .map(|m| ctx.history.get(&m.id).copied())
        .collect();
    let applied = |r: &HistoryRow| r.status == HistoryStatus::Applied;

    // Drifted files, then applied migrations whose file is gone (as
    // `status` lists them), without building every status entry.
    for (m, r) in migrations.iter().zip(&rows) {
        if let Some(r) = r
            && status::state_of(m, Some(r)).0 == MigrationState::Drifted
        {
            problems.push(Problem::Drifted {
                id: m.id.clone(),
                name: m.name.clone(),
                path: m.path.clone(),
                recorded: r.checksum.clone(),
                actual: m.checksum.clone(),
            });
        }
    }
    // Ids are unique on both sides: when every applied row has its file,
    // none is gone and the rows need no second look.
    let all_found = rows.iter().flatten().filter(|r| applied(r)).count()
        == history.iter().filter(|r| applied(r)).count();
    if !opts.ignore_missing && !all_found {
        let mut gone: Vec<&HistoryRow> = history
            .iter()
            .filter(|r| applied(r) && ctx.migration(&r.id).is_none())
            .collect();
        gone.sort_by(|a, b| (&a.id.source, &a.id.version).cmp(&(&b.id.source, &b.id.version)));
        problems.extend(gone.into_iter().map(|r| Problem::Missing {
            id: r.id.clone(),
            name: r.name.clone(),
        }));
    }

    // Out of order is about numbered migrations; repeatables and
    // baselines have their own rules. Worked out when something is pending.
    let highest = OnceCell::new();
    let highest = || {
        highest.get_or_init(|| {
            let mut highest: HashMap<&str, &Version> = HashMap::new();
            for row in history
                .iter()
                .filter(|r| applied(r) && r.id.version.is_sequential())
                .filter(|r| !r.id.version.is_unplaced())
            {
                let h = highest
                    .entry(row.id.source.as_str())
                    .or_insert(&row.id.version);
                if row.id.version > **h {
                    *h = &row.id.version;
                }
            }
            highest
        })
    };

    let in_range = |m: &Migration| {
        limit
            .as_ref()
            .is_none_or(|l| &m.id == l || !ctx.after(&m.id, l))
    };
    // On a source nothing was applied to yet, its highest baseline (within
    // range) stands in for the numbered migrations it covers.
    let mut baselines: HashMap<&str, &Migration> = HashMap::new();
    for m in migrations
        .iter()
        .filter(|m| m.id.version.lane() == Lane::Baseline && in_range(m))
    {
        let fresh = !history
            .iter()
            .any(|r| r.id.source == m.id.source && r.status == HistoryStatus::Applied);
        if fresh {
            baselines.insert(m.id.source.as_str(), m);
        }
    }
    let covered = |m: &Migration| {
        baselines
            .get(m.id.source.as_str())
            .is_some_and(|b| b.id.version.covers(&m.id.version))
    };

    let mut steps = Vec::new();
    for (m, row) in migrations.iter().zip(&rows) {
        if !in_range(m) || covered(m) {
            continue;
        }
        let pending = match m.id.version.lane() {
            // A repeatable runs again whenever its file changes.
            Lane::Repeatable => row.is_none_or(|r| {
                r.status != HistoryStatus::Applied || r.checksum.hex != m.checksum.hex
            }),
            Lane::Baseline => baselines
                .get(m.id.source.as_str())
                .is_some_and(|b| b.id == m.id),
            Lane::Numbered | Lane::Named => row.is_none_or(|r| r.status != HistoryStatus::Applied),
        };
        if !pending {
            continue;
        }
        runnable(m)?;
        if m.id.version.lane() == Lane::Baseline {
            // Run the baseline, then record what it stands in for, so a
            // failed baseline leaves nothing recorded.
            steps.push(ctx.apply_step(m, false));
            for c in migrations
                .iter()
                .filter(|c| c.id.source == m.id.source && covered(c))
            {
                steps.push(Step {
                    action: StepAction::Baseline,
                    script: None,
                    ..ctx.apply_step(c, false)
                });
            }
            continue;
        }
        let out_of_order = m.id.version.is_sequential()
            && highest()
                .get(m.id.source.as_str())
                .is_some_and(|h| **h > m.id.version);
        if out_of_order && !opts.allow_out_of_order {
            problems.push(Problem::OutOfOrder {
                id: m.id.clone(),
                name: m.name.clone(),
                path: m.path.clone(),
                highest: (*highest()[m.id.source.as_str()]).clone(),
            });
        }
        steps.push(ctx.apply_step(m, out_of_order));
    }
    if let Some(id) = &only {
        // Only what stands in the way of this one counts.
        problems.retain(|p| p.id() == id && !matches!(p, Problem::OutOfOrder { .. }));
        // The pending ones before it in its source come first, unless
        // out-of-order is what is asked for.
        let mine = steps.iter().position(|s| &s.id == id);
        let earlier: Vec<String> = steps[..mine.unwrap_or(0)]
            .iter()
            .filter(|s| s.id.source == id.source && s.action == StepAction::Apply)
            .map(|s| s.id.to_string())
            .collect();
        if !earlier.is_empty() && !opts.allow_out_of_order {
            return Err(PlanError::EarlierPending {
                migration: id.to_string(),
                earlier,
            });
        }
        steps.retain(|s| &s.id == id);
        if let Some(step) = steps.first_mut() {
            step.out_of_order |= !earlier.is_empty();
        }
        let m = ctx
            .migration(id)
            .ok_or_else(|| PlanError::UnknownTarget(id.to_string()))?;
        let applied = |r: &MigrationId| {
            ctx.history
                .get(r)
                .is_some_and(|row| row.status == HistoryStatus::Applied)
        };
        // A requirement in a source not selected here (another database,
        // or --source) is that source's own runs' to check.
        let selected = |r: &MigrationId| ctx.migrations.iter().any(|m| m.id.source == r.source);
        let missing: Vec<String> = m
            .requires
            .iter()
            .filter(|r| selected(r) && !applied(r))
            .map(ToString::to_string)
            .collect();
        if !missing.is_empty() && !steps.is_empty() {
            return Err(PlanError::RequirementsNotApplied {
                migration: id.to_string(),
                missing,
            });
        }
    }
    if !problems.is_empty() {
        return Err(PlanError::Blocked(problems));
    }
    Ok(Plan::new(false, steps))
}

/// A migration strata cannot run stops the plan before anything runs.
fn runnable(m: &Migration) -> Result<(), PlanError> {
    match &m.unsupported {
        None => Ok(()),
        Some(reason) => Err(PlanError::CannotRun {
            id: m.id.to_string(),
            path: m.path.clone(),
            reason: reason.clone(),
        }),
    }
}

/// `strata baseline [SOURCE/]V`: record the migrations of V's source up
/// to V as applied; with `all_sources`, every migration ordered before V
/// in any source too.
pub fn plan_baseline(
    migrations: &[Migration],
    history: &[HistoryRow],
    to: &str,
    all_sources: bool,
) -> Result<Plan, PlanError> {
    let ctx = Ctx::new(migrations, history);
    let to = ctx.resolve(to)?;
    let steps = migrations
        .iter()
        .filter(|m| all_sources || m.id.source == to.source)
        .filter(|m| m.id == to || !ctx.after(&m.id, &to))
        .filter(|m| {
            ctx.history
                .get(&m.id)
                .is_none_or(|r| r.status != HistoryStatus::Applied)
        })
        .map(|m| Step {
            action: StepAction::Baseline,
            script: None,
            ..ctx.apply_step(m, false)
        })
        .collect();
    Ok(Plan::new(false, steps))
}

/// What `strata repair` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct RepairOptions {
    /// `VERSION` or `SOURCE/VERSION`: only this migration.
    pub only: Option<String>,
    /// `--forget`: the named migration's file was deleted on purpose.
    pub forget: bool,
    /// `--statement N --done|--not-done`: what the operator found of the
    /// named migration's in-doubt statement N.
    pub statement: Option<(usize, bool)>,
}

/// `strata repair [MIGRATION] [--forget]`: accept drifted checksums and
/// clear failed or interrupted attempts (all of them, or the one named);
/// forget a named migration whose file is gone.
pub fn plan_repair(
    migrations: &[Migration],
    history: &[HistoryRow],
    opts: &RepairOptions,
) -> Result<Plan, PlanError> {
    let only = opts.only.as_deref();
    let ctx = Ctx::new(migrations, history);
    let only = only.map(|t| ctx.resolve(t)).transpose()?;
    let mut steps = Vec::new();
    for entry in status(migrations, history) {
        if only.as_ref().is_some_and(|o| o != &entry.id) {
            continue;
        }
        let row = ctx.history.get(&entry.id);
        let action = match (entry.state, opts.statement) {
            (_, Some((statement, done))) => {
                let Some(row) = row.filter(|r| r.status == HistoryStatus::Running) else {
                    return Err(PlanError::NoStatementInDoubt(entry.id.clone()));
                };
                let next = row.progress.as_ref().map_or(0, |p| p.statements) + 1;
                if ctx.migration(&entry.id).is_none() {
                    return Err(PlanError::FileMissing(entry.id.clone()));
                }
                if i64::try_from(statement).ok() != Some(next) {
                    return Err(PlanError::WrongStatement {
                        id: entry.id.clone(),
                        given: statement,
                        in_doubt: next,
                    });
                }
                StepAction::ResolveStatement { statement, done }
            }
            (MigrationState::Drifted, _) => StepAction::AcceptChecksum,
            (MigrationState::Failed, _) => StepAction::ClearFailed,
            (MigrationState::Missing, _) if opts.forget => StepAction::Forget,
            (MigrationState::Missing, _) if only.is_some() => {
                return Err(PlanError::RepairMissing(entry.id.clone()));
            }
            _ => continue,
        };
        let row = row.expect("drifted and failed entries have a row");
        let file = ctx.migration(&entry.id);
        steps.push(Step {
            action,
            id: entry.id.clone(),
            name: entry.name.clone(),
            kind: row.kind,
            checksum: match action {
                StepAction::AcceptChecksum => {
                    entry.file_checksum.clone().expect("drifted files exist")
                }
                _ => row.checksum.clone(),
            },
            tx_mode: file.map_or(TxMode::Transaction, |m| m.tx_mode),
            // The statements a decision about one of them counts through.
            script: file
                .filter(|_| matches!(action, StepAction::ResolveStatement { .. }))
                .map(|m| m.up.clone()),
            down_sql: file.and_then(|m| m.down.as_ref().map(|b| b.sql.to_string())),
            path: file.map(|m| m.path.clone()),
            out_of_order: false,
            retry: false,
        });
    }
    if let (Some(id), true) = (only.clone(), steps.is_empty()) {
        return Err(if opts.forget {
            PlanError::NothingToForget(id)
        } else {
            PlanError::NothingToRepair(id)
        });
    }
    let mut plan = Plan::new(false, steps);
    if only.is_none() {
        // Not repaired without being named: say what waits.
        for entry in status(migrations, history)
            .iter()
            .filter(|e| e.state == MigrationState::Missing)
        {
            plan.warnings
                .push(PlanError::RepairMissing(entry.id.clone()).to_string());
        }
    }
    Ok(plan)
}

/// `strata fresh`: drop everything and apply every migration from the top,
/// as `up` would on an empty database (so baselines stand in as there).
pub fn plan_fresh(migrations: &[Migration]) -> Result<Plan, PlanError> {
    let opts = UpOptions {
        allow_out_of_order: true,
        ignore_missing: true,
        ..UpOptions::default()
    };
    Ok(Plan::new(true, plan_up(migrations, &[], &opts)?.steps))
}

#[cfg(test)]
mod tests;
