//! What every format shares: turning a file name into a version and a
//! name, reading a file into a body, building a [`Migration`], and the
//! wording of problems.

use crate::read_text;
use crate::{Diagnostic, SourceSpec};
use std::path::{Path, PathBuf};
use strata_model::{
    Body, Checksum, Migration, MigrationId, MigrationKind, TxMode, Version, normalize_text,
};

/// `20240101_create_users` -> (20240101, "create_users"); `seps` are the
/// characters allowed between the digit groups of the version.
pub(crate) fn version_and_name(stem: &str, seps: &[char]) -> Option<(Version, String)> {
    let (version, name) = stem.split_once('_')?;
    let version = Version::parse_with_separators(version, seps).ok()?;
    Some((version, name.to_string()))
}

pub(crate) fn body(sql: impl Into<String>, line: usize, path: &Path) -> Body {
    Body {
        sql: sql.into(),
        line,
        path: path.to_path_buf(),
    }
}

/// A problem on a line of a file (or the whole file, `line` 0).
pub(crate) fn problem(
    path: &Path,
    line: usize,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Diagnostic {
    Diagnostic {
        path: path.to_path_buf(),
        line: (line > 0).then_some(line),
        message: message.into(),
        help: help.into(),
    }
}

/// The checksum of an up body run in `mode`. A mode chosen outside the
/// body (a marker option, a metadata file) counts as part of it, so
/// switching a migration's transaction mode is an edit.
pub(crate) fn checksum(up: &str, mode: TxMode) -> Checksum {
    match mode {
        TxMode::NoTransaction => Checksum::of_body(&format!("-- strata:no-transaction\n{up}")),
        _ => Checksum::of_body(up),
    }
}

/// A migration read from another tool's layout.
pub(crate) struct Parts {
    pub version: Version,
    pub name: String,
    pub path: PathBuf,
    pub up: Body,
    pub down: Option<Body>,
    pub tx_mode: TxMode,
    pub unsupported: Option<String>,
}

impl Parts {
    pub(crate) fn build(self, source: &SourceSpec) -> Migration {
        Migration {
            id: MigrationId::new(source.name.clone(), self.version),
            name: self.name,
            kind: MigrationKind::Versioned,
            checksum: checksum(&self.up.sql, self.tx_mode),
            path: self.path,
            up: self.up,
            down: self.down,
            verify: None,
            tx_mode: self.tx_mode,
            unsupported: self.unsupported,
            requires: Vec::new(),
        }
    }
}

/// Reports every version used by more than one migration.
pub(crate) fn duplicates(migrations: &[Migration]) -> Vec<Diagnostic> {
    let mut sorted: Vec<&Migration> = migrations.iter().collect();
    sorted.sort_by(|a, b| a.id.version.cmp(&b.id.version));
    sorted
        .windows(2)
        .filter(|w| w[0].id.version == w[1].id.version)
        .map(|w| {
            problem(
                &w[1].path,
                0,
                format!(
                    "version {} is also used by {}",
                    w[1].id.version,
                    w[0].path.display()
                ),
                "every migration of a source needs its own version; rename one of them",
            )
        })
        .collect()
}

/// Sorts by version and fails on duplicates, or on any problem found.
pub(crate) fn finish(
    mut migrations: Vec<Migration>,
    mut problems: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
) -> Result<crate::Found, Vec<Diagnostic>> {
    problems.extend(duplicates(&migrations));
    if !problems.is_empty() {
        return Err(problems);
    }
    migrations.sort_by(|a, b| a.id.version.cmp(&b.id.version));
    Ok(crate::Found {
        migrations,
        warnings,
    })
}

/// The 1-based line a byte offset of `text` is on.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    1 + strata_sql::line_at(text, offset)
}

/// A file's text with a BOM removed and line endings made LF.
pub(crate) fn read_normalized(path: &Path) -> Result<String, Diagnostic> {
    read_text(path).map(|t| normalize_text(&t).into_owned())
}

/// The `.sql` files of a source with their names less `.sql`.
pub(crate) fn sql_files(source: &SourceSpec) -> Result<Vec<(PathBuf, String)>, Vec<Diagnostic>> {
    Ok(crate::files_sorted(source)?
        .into_iter()
        .filter_map(|path| {
            let stem = path
                .file_name()?
                .to_str()?
                .strip_suffix(".sql")?
                .to_string();
            Some((path, stem))
        })
        .collect())
}

/// A whole file as one body, starting on line 1.
pub(crate) fn read_body(path: &Path) -> Result<Body, Diagnostic> {
    read_normalized(path).map(|t| body(t, 1, path))
}
