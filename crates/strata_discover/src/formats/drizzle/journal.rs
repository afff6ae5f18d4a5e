//! `meta/_journal.json`, which drizzle-kit writes beside the migrations:
//! parsed here once, for detection (its dialect), discovery (which files,
//! in which order) and the history strata keeps for Drizzle (each entry's
//! `when`).

use std::path::{Path, PathBuf};

#[derive(serde::Deserialize)]
pub(crate) struct Journal {
    #[serde(default)]
    pub dialect: Option<String>,
    pub entries: Vec<Entry>,
}

#[derive(serde::Deserialize)]
pub(crate) struct Entry {
    pub idx: u64,
    /// When drizzle-kit generated the migration (Unix milliseconds).
    #[serde(default)]
    pub when: Option<i64>,
    pub tag: String,
}

/// Where the journal of the migrations in `dir` is.
pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join("meta").join("_journal.json")
}

pub(crate) fn parse(text: &str) -> serde_json::Result<Journal> {
    serde_json::from_str(text)
}

/// The journal of `dir`, when it reads.
pub(crate) fn read(dir: &Path) -> Option<Journal> {
    parse(&std::fs::read_to_string(path(dir)).ok()?).ok()
}

/// The journal's `when` for the migration file at `file`.
pub(crate) fn when(file: &Path) -> Option<i64> {
    let tag = file.file_stem()?.to_str()?;
    read(file.parent()?)?
        .entries
        .into_iter()
        .find(|e| e.tag == tag)?
        .when
}
