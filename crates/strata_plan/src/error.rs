//! Why a plan cannot be made: the problems that stop `up` until the user
//! resolves them, and every other refusal, each saying what to do.

use std::fmt;
use std::path::PathBuf;
use strata_model::{Checksum, MigrationId, Version};

/// Something that stops `up` until the user resolves it.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Drifted {
        id: MigrationId,
        name: String,
        path: PathBuf,
        recorded: Checksum,
        actual: Checksum,
    },
    Missing {
        id: MigrationId,
        name: String,
    },
    OutOfOrder {
        id: MigrationId,
        name: String,
        path: PathBuf,
        highest: Version,
    },
}

impl Problem {
    /// The migration it is about.
    pub fn id(&self) -> &MigrationId {
        match self {
            Problem::Drifted { id, .. }
            | Problem::Missing { id, .. }
            | Problem::OutOfOrder { id, .. } => id,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Drifted {
                id,
                name,
                path,
                recorded,
                actual,
            } => write!(
                f,
                "migration {id} ({name}) was applied with checksum {} but {} now hashes to {}; revert the edit, or run `strata repair {id}` to accept it",
                recorded.short(),
                path.display(),
                actual.short()
            ),
            Problem::Missing { id, name } => write!(
                f,
                "migration {id} ({name}) is recorded as applied but its file is gone; restore the file, or set `ignore_missing = true` in [project] (or pass --ignore-missing) to go on without it"
            ),
            Problem::OutOfOrder {
                id,
                name,
                path,
                highest,
            } => write!(
                f,
                "migration {id} ({name}, {}) is pending but version {highest} of source {} is already applied; pass --allow-out-of-order to apply it anyway",
                path.display(),
                id.source
            ),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Blocked(Vec<Problem>),
    #[error("{}", irreversible_message(.0))]
    Irreversible(Vec<NoDown>),
    #[error("no migration is named `{0}` (by version or name); `strata list` shows them")]
    UnknownTarget(String),
    #[error("{migration} requires {}, which {} not applied: apply {} first (`strata up --only {}`), or run `strata up`", .missing.join(", "), if .missing.len() == 1 { "is" } else { "are" }, if .missing.len() == 1 { "it" } else { "them" }, .missing[0])]
    RequirementsNotApplied {
        migration: String,
        missing: Vec<String>,
    },
    #[error("{migration} comes after {} of its source, still pending: apply {} first (`strata up --to {migration}` applies all up to it), or pass --allow-out-of-order to apply it alone", .earlier.join(", "), if .earlier.len() == 1 { "it" } else { "them" })]
    EarlierPending {
        migration: String,
        earlier: Vec<String>,
    },
    #[error("{0} is not applied, so there is nothing to revert; `strata status` shows what is")]
    NotApplied(String),
    #[error("{migration} cannot be reverted alone: applied migrations depend on it ({}), being later in its source or requiring it; revert them first{}", .dependents.join(", "), if *.cascade { ", or pass --cascade to revert them and it, newest first" } else { "" })]
    HasDependents {
        migration: String,
        dependents: Vec<String>,
        /// The command can revert them too (`down --cascade`).
        cascade: bool,
    },
    #[error("version `{target}` exists in several sources ({}); name one as <source>/<version>", .candidates.join(", "))]
    AmbiguousTarget {
        target: String,
        candidates: Vec<String>,
    },
    #[error("`{target}` is not a version: {reason}")]
    BadTarget { target: String, reason: String },
    #[error("migration {id} ({}) cannot be run by strata: {reason}", path.display())]
    CannotRun {
        id: String,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "migration {migration} requires {requires}, which does not exist; fix the `-- strata:requires` line or add that migration"
    )]
    MissingRequirement { migration: String, requires: String },
    #[error(
        "source `{source_name}` requires source `{requires}`, which is not configured; fix `requires` in strata.toml"
    )]
    UnknownSourceRequirement {
        source_name: String,
        requires: String,
    },
    #[error(
        "migration {migration} and {requires} require each other (through a cycle of requirements); remove one of the `requires`"
    )]
    Cycle { migration: String, requires: String },
    #[error("{}", .0.iter().map(|(p, l, why)| format!("{}:{l}: {why}", p.display())).collect::<Vec<_>>().join("\n"))]
    UnrunnableStatements(Vec<(PathBuf, usize, String)>),
    #[error("no history row is in batch {0}; `strata history` shows the batches")]
    UnknownBatch(i64),
    #[error("migration {0} needs no repair: it is applied and its checksum matches the file")]
    NothingToRepair(MigrationId),
    #[error(
        "migration {0} is applied, but its file is gone: restore the file (e.g. from version control) if it should still be there, or run `strata repair {0} --forget` to record that it was deleted (what it changed stays in the database; the log keeps the record)"
    )]
    RepairMissing(MigrationId),
    #[error("migration {0} has a file, so there is nothing to forget; `strata down` reverts it")]
    NothingToForget(MigrationId),
    #[error(
        "migration {0} has no statement in doubt: only an interrupted run (status shows it) leaves one; `strata status` says what it needs"
    )]
    NoStatementInDoubt(MigrationId),
    #[error(
        "statement {given} of migration {id} is not the one in doubt: {} statement(s) were recorded as completed, so statement {in_doubt} is; pass --statement {in_doubt}",
        in_doubt - 1
    )]
    WrongStatement {
        id: MigrationId,
        given: usize,
        in_doubt: i64,
    },
    #[error("migration {0} cannot be re-applied: its file is gone")]
    FileMissing(MigrationId),
}

/// An applied migration that cannot be reverted: no down in its file, none
/// stored in history, and (when the caller looked) why none can be derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoDown {
    pub id: MigrationId,
    pub name: String,
    /// `path:line: why` for each statement of the up without an inverse.
    pub why: Vec<String>,
}

fn irreversible_message(items: &[NoDown]) -> String {
    let list: Vec<String> = items
        .iter()
        .map(|n| format!("{} ({})", n.id, n.name))
        .collect();
    let mut message = format!(
        "nothing was reverted: {} no down section and no down SQL in history",
        if list.len() == 1 {
            format!("migration {} has", list[0])
        } else {
            format!("migrations {} have", list.join(", "))
        }
    );
    let why: Vec<&String> = items.iter().flat_map(|n| &n.why).collect();
    if why.is_empty() {
        message.push_str("; add a `-- strata:down` section to the file");
    } else {
        message.push_str(", and strata cannot derive one:");
        for line in why {
            message.push_str(&format!("\n  {line}"));
        }
    }
    message
}
