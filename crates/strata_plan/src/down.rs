//! What `down` and `redo` revert: the last batch, N steps, everything after
//! a version, a batch, everything, or one migration by name (refused while
//! applied migrations depend on it, unless cascading).

use crate::{Ctx, DownTarget, Plan, PlanError, runnable};
use strata_model::{HistoryRow, Lane, Migration, MigrationId};

impl Ctx<'_> {
    /// The applied migrations (of `applied`) that depend on `id`: later
    /// ones of its source, and those that require it or a dependent, in
    /// revert order.
    fn dependents(&self, id: &MigrationId, applied: &[&HistoryRow]) -> Vec<MigrationId> {
        // The target and what depends on it so far; grown until nothing
        // more depends on any of them.
        let mut closed = vec![id.clone()];
        loop {
            let before = closed.len();
            for r in applied {
                if closed.contains(&r.id) {
                    continue;
                }
                let requires = self.migration(&r.id).map(|m| &m.requires);
                let depends = closed.iter().any(|d| {
                    (r.id.source == d.source && self.after(&r.id, d))
                        || requires.is_some_and(|req| req.contains(d))
                });
                if depends {
                    closed.push(r.id.clone());
                }
            }
            if closed.len() == before {
                break;
            }
        }
        applied
            .iter()
            .filter(|r| r.id != *id && closed.contains(&r.id))
            .map(|r| r.id.clone())
            .collect()
    }
}

/// The steps `strata down` runs.
pub fn plan_down(
    migrations: &[Migration],
    history: &[HistoryRow],
    target: &DownTarget,
) -> Result<Plan, PlanError> {
    let ctx = Ctx::new(migrations, history);
    let applied = ctx.applied_newest_first();
    let chosen: Vec<&HistoryRow> = match target {
        DownTarget::LastBatch => {
            let last = applied.first().map(|r| r.batch);
            applied
                .into_iter()
                .filter(|r| Some(r.batch) == last)
                .collect()
        }
        DownTarget::Steps(n) => applied.into_iter().take(*n).collect(),
        DownTarget::Batch(b) => {
            if !history.iter().any(|r| r.batch == *b) {
                return Err(PlanError::UnknownBatch(*b));
            }
            applied.into_iter().filter(|r| r.batch == *b).collect()
        }
        DownTarget::All => applied,
        DownTarget::Only { target, cascade } => {
            let id = ctx.resolve(target)?;
            if !applied.iter().any(|r| r.id == id) {
                return Err(PlanError::NotApplied(id.to_string()));
            }
            let dependents = ctx.dependents(&id, &applied);
            if !dependents.is_empty() && !cascade {
                return Err(PlanError::HasDependents {
                    migration: id.to_string(),
                    dependents: dependents.iter().map(ToString::to_string).collect(),
                    cascade: true,
                });
            }
            applied
                .into_iter()
                .filter(|r| r.id == id || dependents.contains(&r.id))
                .collect()
        }
        DownTarget::To(t) if t.bytes().all(|b| b == b'0') && ctx.resolve(t).is_err() => applied,
        DownTarget::To(t) => {
            let to = ctx.resolve(t)?;
            // A baseline at or below the target stands for migrations the
            // target keeps.
            applied
                .into_iter()
                .filter(|r| ctx.after(&r.id, &to))
                .filter(|r| {
                    r.id.version.lane() != Lane::Baseline
                        || r.id.version.number_cmp(&to.version) == std::cmp::Ordering::Greater
                })
                .collect()
        }
    };
    Ok(Plan::new(false, ctx.revert_steps(&chosen)?))
}

/// `strata redo`: revert the most recently applied migration and apply it
/// again from its file (an edited file is what redo is for, so drift is
/// accepted here).
pub fn plan_redo(
    migrations: &[Migration],
    history: &[HistoryRow],
    target: Option<&str>,
) -> Result<Plan, PlanError> {
    let ctx = Ctx::new(migrations, history);
    let applied = ctx.applied_newest_first();
    let last = match target {
        None => applied.first().copied(),
        Some(t) => {
            let id = ctx.resolve(t)?;
            let Some(row) = applied.iter().find(|r| r.id == id).copied() else {
                return Err(PlanError::NotApplied(id.to_string()));
            };
            let dependents = ctx.dependents(&id, &applied);
            if !dependents.is_empty() {
                return Err(PlanError::HasDependents {
                    migration: id.to_string(),
                    dependents: dependents.iter().map(ToString::to_string).collect(),
                    cascade: false,
                });
            }
            Some(row)
        }
    };
    let Some(last) = last else {
        return Ok(Plan::new(false, Vec::new()));
    };
    let m = ctx
        .migration(&last.id)
        .ok_or_else(|| PlanError::FileMissing(last.id.clone()))?;
    runnable(m)?;
    let mut steps = ctx.revert_steps(&[last])?;
    steps.push(ctx.apply_step(m, false));
    Ok(Plan::new(false, steps))
}
