//! strata's own rules, one per file.

mod destructive;
mod down_mismatch;
mod idempotency;
mod missing_down;
mod non_transactional;

use crate::{Context, Hit, Level};

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
