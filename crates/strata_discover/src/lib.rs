//! Finds migrations on disk. Each tool's format is one folder of
//! [`formats`] implementing [`Format`]; everything they find becomes the same [`Migration`] type, and
//! everything wrong with a file becomes a [`Diagnostic`] that names the file,
//! the line and the fix.

mod common;
mod detect;
pub mod formats;
mod tasks;

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use strata_model::Migration;

pub use common::ORDER_FILE;
pub use detect::{Detected, Scan, Unclassified, scan};
pub use formats::{
    Bodies, Change, ForeignWrite, Format, NewMigration, Recorded, Scaffold, ToolHistory,
    dry_runnable, format, keepable, names, prisma_provider, python_functions, tools,
};
pub use tasks::{Task, task_scaffold, tasks};

/// One configured directory of migrations.
#[derive(Debug, Clone, Default)]
pub struct SourceSpec {
    pub name: String,
    /// Absolute (or already resolved) directory.
    pub path: PathBuf,
    pub format: String,
    /// The project directory (canonical) that a migration file reached
    /// through a symbolic link must stay inside; `None` follows links
    /// anywhere (`follow_symlinks = true`).
    pub confine: Option<PathBuf>,
    /// The order of migrations without a version in their name (`order`
    /// in strata.toml); `None` reads the folder's `ORDER` file, if any.
    pub order: Option<Vec<String>>,
    /// Files of the folder that are not migrations (globs on their names).
    pub exclude: Vec<String>,
    /// What to keep of each file's text.
    pub reading: Reading,
}

/// What discovery keeps of a migration's text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reading {
    /// Every body's SQL, to run or show it.
    #[default]
    Whole,
    /// What a plan is made of (checksums, sections present, directives)
    /// without keeping the SQL: for a command that runs nothing, or must
    /// first find out whether it has anything to run. A format may keep
    /// the text anyway; [`Found::text_skipped`] says whether it did not.
    Checksums,
}

impl SourceSpec {
    /// This source, to be read as `text` says.
    pub fn read_as(&self, text: Reading) -> SourceSpec {
        SourceSpec {
            reading: text,
            ..self.clone()
        }
    }

    /// A diagnostic when `entry` is a symbolic link leading outside the
    /// project: its contents are not read, nor shown in any message.
    fn outside(&self, entry: &Path) -> Option<Diagnostic> {
        let root = self.confine.as_ref()?;
        let is_link = std::fs::symlink_metadata(entry).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            return None;
        }
        let inside = entry.canonicalize().is_ok_and(|t| t.starts_with(root));
        (!inside).then(|| Diagnostic {
            path: entry.to_path_buf(),
            line: None,
            message: "a symbolic link to something outside the project, which strata does not read".into(),
            help: "copy the file into the project, or set follow_symlinks = true under [project] in strata.toml".into(),
        })
    }
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

/// What a format found in one source: its migrations, and problems that do
/// not stop strata (a file its tool would ignore, a tolerated quirk).
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub migrations: Vec<Migration>,
    pub warnings: Vec<Diagnostic>,
    /// Some bodies were not kept ([`Reading::Checksums`]): read the
    /// sources again, whole, before running or showing any SQL.
    pub text_skipped: bool,
}

impl From<Vec<Migration>> for Found {
    fn from(migrations: Vec<Migration>) -> Self {
        Found {
            migrations,
            warnings: Vec::new(),
            text_skipped: false,
        }
    }
}

/// Reads all migrations of all `sources`, each source in version order
/// (the order across sources is the planner's: `strata_plan::order`).
/// Problems in every source are collected before failing.
pub fn discover_all(sources: &[SourceSpec]) -> Result<Found, DiscoverError> {
    let mut all = Found::default();
    let mut problems = Vec::new();
    for source in sources {
        let format = format(&source.format).ok_or_else(|| DiscoverError::UnknownFormat {
            source_name: source.name.clone(),
            format: source.format.clone(),
            known: formats::names(formats::all().iter().copied()).join(", "),
        })?;
        match format.discover(source) {
            Ok(found) => {
                if all.migrations.is_empty() {
                    all.migrations = found.migrations;
                } else {
                    all.migrations.extend(found.migrations);
                }
                all.warnings.extend(found.warnings);
                all.text_skipped |= found.text_skipped;
            }
            Err(diags) => problems.extend(diags),
        }
    }
    if !problems.is_empty() {
        return Err(DiscoverError::Invalid(problems));
    }
    place_requirements(&mut all.migrations);
    Ok(all)
}

/// A requirement naming a named migration (`backend/create_stores_table`)
/// gets the place that migration has in its source's order.
fn place_requirements(migrations: &mut [Migration]) {
    let placed: std::collections::HashMap<(String, String), strata_model::Version> = migrations
        .iter()
        .filter(|m| m.id.version.lane() == strata_model::Lane::Named)
        .map(|m| {
            let key = (m.id.source.clone(), m.id.version.as_str().to_string());
            (key, m.id.version.clone())
        })
        .collect();
    for m in migrations.iter_mut() {
        for req in &mut m.requires {
            let key = (req.source.clone(), req.version.as_str().to_string());
            if let Some(v) = placed.get(&key).and_then(|v| req.version.placed_as(v)) {
                req.version = v;
            }
        }
    }
}

/// The source's `exclude` globs, matched on file names.
fn excluded(source: &SourceSpec) -> Result<globset::GlobSet, Vec<Diagnostic>> {
    let mut set = globset::GlobSetBuilder::new();
    for pattern in &source.exclude {
        let glob = globset::Glob::new(pattern).map_err(|e| {
            vec![Diagnostic {
                path: source.path.clone(),
                line: None,
                message: format!("`exclude` of source `{}`: {e}", source.name),
                help: "write globs on file names, e.g. \"_*.py\" or \"check_*\"".into(),
            }]
        })?;
        set.add(glob);
    }
    set.build().map_err(|e| {
        vec![Diagnostic {
            path: source.path.clone(),
            line: None,
            message: format!("`exclude` of source `{}`: {e}", source.name),
            help: String::new(),
        }]
    })
}

/// Lists the regular files (and symlinks to them) of a source directory,
/// sorted by name, or a diagnostic when it cannot be read; the source's
/// `exclude` globs and its order manifest are left out. The file type
/// comes from the directory listing, so large directories cost no extra
/// stat per entry.
pub(crate) fn files_sorted(source: &SourceSpec) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
    let exclude = excluded(source)?;
    let entries = std::fs::read_dir(&source.path).map_err(|e| {
        vec![Diagnostic {
            path: source.path.clone(),
            line: None,
            message: format!("cannot read the directory of source `{}`: {e}", source.name),
            help: "create the directory or fix `path` of this [[source]] in strata.toml".into(),
        }]
    })?;
    // (path, a symbolic link)
    let mut files: Vec<(PathBuf, bool)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let t = e.file_type().ok()?;
            let link = t.is_symlink();
            let path = e.path();
            (t.is_file() || (link && path.is_file())).then_some((path, link))
        })
        .filter(|(p, _)| {
            let name = p.file_name().unwrap_or_default();
            name != common::ORDER_FILE && (exclude.is_empty() || !exclude.is_match(name))
        })
        .collect();
    // Every path is the directory's and a name: their bytes sort as the
    // names do.
    files.sort_unstable_by(|a, b| {
        a.0.as_os_str()
            .as_encoded_bytes()
            .cmp(b.0.as_os_str().as_encoded_bytes())
    });
    // Only a link can lead outside (and only links cost a look).
    let outside: Vec<Diagnostic> = files
        .iter()
        .filter(|(_, link)| *link)
        .filter_map(|(p, _)| source.outside(p))
        .collect();
    if !outside.is_empty() {
        return Err(outside);
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

/// The migrations of a Python or script source that have no version in
/// their name, which the source's order must place (`strata init` writes
/// it); none for other formats.
pub fn unversioned(source: &SourceSpec) -> Vec<PathBuf> {
    let Ok(files) = files_sorted(source) else {
        return Vec::new();
    };
    files
        .into_iter()
        .filter(|p| {
            let file = formats::name(p);
            let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
            if common::version_and_name(stem, &[]).is_some() || file.starts_with('.') {
                return false;
            }
            let text = std::fs::read_to_string(p).unwrap_or_default();
            match source.format.as_str() {
                "python" => file.ends_with(".py") && python_functions(&text)[0],
                "script" => formats::is_script(p, &text),
                _ => false,
            }
        })
        .collect()
}

/// The subdirectories of a source directory, sorted by name (layouts with
/// one directory per migration).
pub(crate) fn dirs_sorted(source: &SourceSpec) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
    let entries = std::fs::read_dir(&source.path).map_err(|e| {
        vec![Diagnostic {
            path: source.path.clone(),
            line: None,
            message: format!("cannot read the directory of source `{}`: {e}", source.name),
            help: "create the directory or fix `path` of this [[source]] in strata.toml".into(),
        }]
    })?;
    let exclude = excluded(source)?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| !exclude.is_match(e.file_name()))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let outside: Vec<Diagnostic> = dirs.iter().filter_map(|p| source.outside(p)).collect();
    if !outside.is_empty() {
        return Err(outside);
    }
    Ok(dirs)
}

pub(crate) fn read_text(path: &Path) -> Result<String, Diagnostic> {
    with_text(path, |text| text.into_owned())
}

/// Calls `f` on the text of the file at `path`, as read (no line endings
/// changed). Open, read to the end, close: no size or position asked first
/// (as `File` does), one system call fewer for each of thousands of small
/// files. The bytes land in a buffer the thread keeps, its pages mapped and
/// zeroed once, so a file `f` keeps nothing of costs no allocation; a file
/// bigger than that buffer is read into its own, which `f` may keep.
pub(crate) fn with_text<R, F: FnOnce(Cow<'_, str>) -> R>(
    path: &Path,
    f: F,
) -> Result<R, Diagnostic> {
    use std::io::Read;
    const ROOM: usize = 64 * 1024;
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let cannot = |e: std::io::Error| Diagnostic {
        path: path.to_path_buf(),
        line: None,
        message: format!("cannot read the file: {e}"),
        help: "check the file's permissions".into(),
    };
    let invalid = |bytes: &[u8], e: std::str::Utf8Error| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Diagnostic {
            path: path.to_path_buf(),
            line: Some(line),
            message: "the file is not valid UTF-8".into(),
            help: "save the file as UTF-8".into(),
        }
    };
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    // Taken out while `f` runs, so that `f` may read another file.
    let mut buffer = BUFFER.take();
    buffer.resize(ROOM, 0);
    let mut len = 0;
    let result = loop {
        match file.read(&mut buffer[len..]) {
            Ok(0) => {
                break match std::str::from_utf8(&buffer[..len]) {
                    Ok(text) => Ok(f(Cow::Borrowed(text))),
                    Err(e) => Err(invalid(&buffer[..len], e)),
                };
            }
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(cannot(e)),
        }
        if len == buffer.len() {
            // A big file: read the rest into its own buffer.
            let mut bytes = buffer.clone();
            break match file.read_to_end(&mut bytes) {
                Ok(_) => match String::from_utf8(bytes) {
                    Ok(text) => Ok(f(Cow::Owned(text))),
                    Err(e) => Err(invalid(e.as_bytes(), e.utf8_error())),
                },
                Err(e) => Err(cannot(e)),
            };
        }
    };
    BUFFER.set(buffer);
    result
}
