//! Finds migrations on disk. Each file format is one module implementing
//! [`Format`]; everything they find becomes the same [`Migration`] type, and
//! everything wrong with a file becomes a [`Diagnostic`] that names the file,
//! the line and the fix.

mod native;

use std::fmt;
use std::path::{Path, PathBuf};
use strata_model::Migration;

pub use native::NativeFormat;

/// One configured directory of migrations.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub name: String,
    /// Absolute (or already resolved) directory.
    pub path: PathBuf,
    pub format: String,
    pub priority: i64,
}

/// A problem with a file or directory, found while reading migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    /// 1-based line, when the problem is on a line.
    pub line: Option<usize>,
    pub message: String,
    /// What the user should do about it.
    pub help: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message)?,
            None => write!(f, "{}: {}", self.path.display(), self.message)?,
        }
        if !self.help.is_empty() {
            write!(f, " ({})", self.help)?;
        }
        Ok(())
    }
}

/// The errors found in one discovery; discovery reports all of them at once.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoverError {
    #[error("source `{source_name}` has unknown format `{format}` (known formats: {known})")]
    UnknownFormat {
        source_name: String,
        format: String,
        known: String,
    },
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Diagnostic>),
}

/// A migration file layout.
pub trait Format: Sync {
    /// The name used in `format = "..."`.
    fn name(&self) -> &'static str;
    /// Reads every migration of `source`, or every problem found.
    fn discover(&self, source: &SourceSpec) -> Result<Vec<Migration>, Vec<Diagnostic>>;
}

/// Every format strata reads.
pub fn formats() -> &'static [&'static dyn Format] {
    &[&NativeFormat]
}

/// Reads all migrations of all `sources`, sorted by (priority, version,
/// source name). Problems in every source are collected before failing.
pub fn discover_all(sources: &[SourceSpec]) -> Result<Vec<Migration>, DiscoverError> {
    let mut migrations = Vec::new();
    let mut problems = Vec::new();
    for source in sources {
        let format = formats()
            .iter()
            .find(|f| f.name() == source.format)
            .ok_or_else(|| DiscoverError::UnknownFormat {
                source_name: source.name.clone(),
                format: source.format.clone(),
                known: formats()
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        match format.discover(source) {
            Ok(found) => migrations.extend(found.into_iter().map(|m| (source.priority, m))),
            Err(diags) => problems.extend(diags),
        }
    }
    if !problems.is_empty() {
        return Err(DiscoverError::Invalid(problems));
    }
    migrations.sort_by(|(pa, a), (pb, b)| {
        pa.cmp(pb)
            .then_with(|| a.id.version.cmp(&b.id.version))
            .then_with(|| a.id.source.cmp(&b.id.source))
    });
    Ok(migrations.into_iter().map(|(_, m)| m).collect())
}

/// Lists a source directory's entries sorted by name, or a diagnostic when
/// it cannot be read.
pub(crate) fn read_dir_sorted(source: &SourceSpec) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
    let entries = std::fs::read_dir(&source.path).map_err(|e| {
        vec![Diagnostic {
            path: source.path.clone(),
            line: None,
            message: format!("cannot read the directory of source `{}`: {e}", source.name),
            help: "create the directory or fix `path` of this [[source]] in strata.toml".into(),
        }]
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

pub(crate) fn read_text(path: &Path) -> Result<String, Diagnostic> {
    let bytes = std::fs::read(path).map_err(|e| Diagnostic {
        path: path.to_path_buf(),
        line: None,
        message: format!("cannot read the file: {e}"),
        help: "check the file's permissions".into(),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Diagnostic {
            path: path.to_path_buf(),
            line: Some(line),
            message: "the file is not valid UTF-8".into(),
            help: "save the file as UTF-8".into(),
        }
    })
}
