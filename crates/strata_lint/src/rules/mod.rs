//! strata's own rules, one per file, and the catalogue of every rule
//! (strata's and squawk's) for configuration and `--explain`.

mod destructive;
mod down_mismatch;
mod idempotency;
mod missing_down;
mod non_transactional;

use crate::{Context, Hit, Level};
use serde::Serialize;

/// A rule of strata's own.
pub(crate) struct StrataRule {
    pub name: &'static str,
    pub default_level: Level,
    /// One line: what it catches.
    pub summary: &'static str,
    /// What it catches, which lock it takes and what that blocks, the safe
    /// way.
    pub doc: &'static str,
    pub check: fn(&Context<'_>, &mut Vec<Hit>),
}

pub(crate) const STRATA: &[&StrataRule] = &[
    &destructive::RULE,
    &non_transactional::RULE,
    &missing_down::RULE,
    &down_mismatch::RULE,
    &idempotency::RULE,
];

/// A rule as listed and explained.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    pub name: String,
    /// `strata` or `squawk`.
    pub origin: &'static str,
    pub default_level: Level,
    pub summary: String,
    pub doc: String,
}

pub(crate) fn all() -> Vec<RuleInfo> {
    let mut out: Vec<RuleInfo> = STRATA
        .iter()
        .map(|r| RuleInfo {
            name: r.name.into(),
            origin: "strata",
            default_level: r.default_level,
            summary: r.summary.into(),
            doc: r.doc.trim().into(),
        })
        .collect();
    out.extend(crate::squawk::rules());
    out.push(RuleInfo {
        name: "syntax-error".into(),
        origin: "squawk",
        default_level: Level::Error,
        summary: "A statement PostgreSQL's grammar (as squawk's parser knows it) does not accept."
            .into(),
        doc: "The file does not parse as PostgreSQL: the server would refuse the statement, \
              and the other rules cannot look inside it. Fix the statement; if squawk's parser \
              is wrong about valid SQL, turn the rule off for this migration with \
              `-- strata:allow syntax-error`."
            .into(),
    });
    out
}
