//! In-doubt statements: after a run was interrupted (the process killed, the
//! connection lost), the statement after the last one recorded may have
//! been sent and may have completed. strata never guesses: a statement that
//! can run again harmlessly runs again; otherwise the catalog is asked
//! whether its effect is there; otherwise the operator decides, through
//! `strata repair MIGRATION --statement N --done|--not-done`.

use strata_driver::{CatalogObject, Driver, DriverError};
use strata_sql::{Change, Dialect, Statement};

/// What is known of an in-doubt statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Running it again is harmless (`IF NOT EXISTS`, `IF EXISTS`, `OR
    /// REPLACE`).
    Rerun,
    /// Its effect is in the catalog: it completed. Says what was seen.
    Done(String),
    /// Its effect is not there: it did not complete (or left an INVALID
    /// index, which the retry drops and builds again).
    NotDone(String),
    /// The catalog cannot tell.
    Unknown,
}

/// Asks the catalog what became of `statement` (of `script`).
pub(crate) async fn judge(
    driver: &mut dyn Driver,
    statement: &Statement<'_>,
    script: &str,
    dialect: Dialect,
) -> Result<Verdict, DriverError> {
    // Maintenance and session statements leave no state a second run
    // would trip over.
    let maintenance = matches!(
        strata_sql::first_word(statement, script).as_str(),
        "VACUUM"
            | "ANALYZE"
            | "REINDEX"
            | "CLUSTER"
            | "REFRESH"
            | "CHECKPOINT"
            | "OPTIMIZE"
            | "SET"
            | "RESET"
            | "DISCARD"
    );
    let changes = strata_sql::changes(statement, script, dialect);
    if maintenance || (!changes.is_empty() && changes.iter().all(Change::rerunnable)) {
        return Ok(Verdict::Rerun);
    }
    let mut seen = Vec::new();
    let mut done = None;
    for change in &changes {
        let Some((is_done, what)) = effect(driver, change).await? else {
            return Ok(Verdict::Unknown);
        };
        if done.is_some_and(|d| d != is_done) {
            return Ok(Verdict::Unknown);
        }
        done = Some(is_done);
        seen.push(what);
    }
    let seen = seen.join(", ");
    Ok(match done {
        Some(true) => Verdict::Done(seen),
        Some(false) => Verdict::NotDone(seen),
        None => Verdict::Unknown,
    })
}

/// Whether `change` shows in the catalog as done, and what was seen.
async fn effect(
    driver: &mut dyn Driver,
    change: &Change,
) -> Result<Option<(bool, String)>, DriverError> {
    let mut has = async |object: CatalogObject<'_>| driver.catalog_has(&object).await;
    Ok(match change {
        Change::Create {
            kind,
            name: Some(name),
            ..
        } => has(CatalogObject::Object { kind: *kind, name })
            .await?
            .map(|there| (there, presence(there, &kind.noun(), &name.written))),
        Change::AddColumn { table, column, .. } => has(CatalogObject::Column { table, column })
            .await?
            .map(|there| {
                let what = format!("{}.{}", table.written, column.written);
                (there, presence(there, "column", &what))
            }),
        Change::AddConstraint {
            table,
            name: Some(name),
        } => has(CatalogObject::Constraint { table, name })
            .await?
            .map(|there| (there, presence(there, "constraint", &name.written))),
        Change::Drop { kind, names, .. } => {
            let mut all = None;
            for name in names {
                let Some(there) = has(CatalogObject::Object { kind: *kind, name }).await? else {
                    return Ok(None);
                };
                if all.is_some_and(|a| a != there) {
                    return Ok(None);
                }
                all = Some(there);
            }
            all.map(|there| {
                let list: Vec<&str> = names.iter().map(|n| n.written.as_str()).collect();
                (!there, presence(there, &kind.noun(), &list.join(", ")))
            })
        }
        Change::DropColumn { table, column, .. } => has(CatalogObject::Column { table, column })
            .await?
            .map(|there| {
                let what = format!("{}.{}", table.written, column.written);
                (!there, presence(there, "column", &what))
            }),
        Change::Rename { kind, from, to } => {
            let old = has(CatalogObject::Object {
                kind: *kind,
                name: from,
            })
            .await?;
            let new = has(CatalogObject::Object {
                kind: *kind,
                name: to,
            })
            .await?;
            match (old, new) {
                (Some(false), Some(true)) => Some((
                    true,
                    format!(
                        "{} {} exists, {} does not",
                        kind.noun(),
                        to.written,
                        from.written
                    ),
                )),
                (Some(true), Some(false)) => Some((
                    false,
                    format!(
                        "{} {} exists, {} does not",
                        kind.noun(),
                        from.written,
                        to.written
                    ),
                )),
                _ => None,
            }
        }
        Change::RenameColumn { table, from, to } => {
            let old = has(CatalogObject::Column {
                table,
                column: from,
            })
            .await?;
            let new = has(CatalogObject::Column { table, column: to }).await?;
            match (old, new) {
                (Some(false), Some(true)) => Some((
                    true,
                    format!(
                        "column {}.{} exists, {} does not",
                        table.written, to.written, from.written
                    ),
                )),
                (Some(true), Some(false)) => Some((
                    false,
                    format!(
                        "column {}.{} exists, {} does not",
                        table.written, from.written, to.written
                    ),
                )),
                _ => None,
            }
        }
        _ => None,
    })
}

fn presence(there: bool, noun: &str, name: &str) -> String {
    if there {
        format!("{noun} {name} is there")
    } else {
        format!("{noun} {name} is not there")
    }
}
