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
        sql: std::sync::Arc::new(sql.into()),
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
            description: None,
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
        text_skipped: false,
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

/// A source's order of migrations without a version in their name: `order`
/// in strata.toml, else the folder's `ORDER` file (one name per line, `#`
/// comments). A name is a file's name with or without its extension.
pub(crate) struct Manifest {
    names: Vec<String>,
    /// Where it is written, for messages (the ORDER file, or the source's
    /// folder for `order` in strata.toml), and the line of each name (0 in
    /// strata.toml).
    path: PathBuf,
    lines: Vec<usize>,
    /// How messages name it.
    origin: String,
}

/// The manifest file of a folder.
pub const ORDER_FILE: &str = "ORDER";

/// A name of an order without its extension, as files are matched.
fn bare(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.chars().all(|c| c.is_ascii_alphanumeric()) => {
            stem
        }
        _ => name,
    }
}

impl Manifest {
    pub(crate) fn read(source: &SourceSpec) -> Result<Option<Manifest>, Vec<Diagnostic>> {
        let (names, path, lines, origin) = match &source.order {
            Some(names) => (
                names.clone(),
                source.path.clone(),
                vec![0; names.len()],
                format!("`order` of source {} in strata.toml", source.name),
            ),
            None => {
                let path = source.path.join(ORDER_FILE);
                if !path.is_file() {
                    return Ok(None);
                }
                let text = read_normalized(&path).map_err(|d| vec![d])?;
                let (lines, names): (Vec<usize>, Vec<String>) = text
                    .lines()
                    .enumerate()
                    .map(|(i, l)| (i + 1, l.split('#').next().unwrap_or_default().trim()))
                    .filter(|(_, l)| !l.is_empty())
                    .map(|(i, l)| (i, l.to_string()))
                    .unzip();
                (names, path, lines, ORDER_FILE.to_string())
            }
        };
        let mut problems = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if let Some(first) = names[..i].iter().position(|n| bare(n) == bare(name)) {
                let at = if lines[first] > 0 {
                    format!("line {}", lines[first])
                } else {
                    format!("position {}", first + 1)
                };
                problems.push(problem(
                    &path,
                    lines[i],
                    format!("`{name}` is listed twice in the {origin} (first at {at})"),
                    "list each migration once, where it should run",
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Some(Manifest {
            names,
            path,
            lines,
            origin,
        }))
    }

    /// The place of the file whose stem is `stem` in the order.
    fn position(&self, stem: &str) -> Option<usize> {
        self.names.iter().position(|n| bare(n) == stem)
    }

    /// A problem for every name that no file of `stems` has.
    pub(crate) fn unmatched(&self, stems: &[String]) -> Vec<Diagnostic> {
        self.names
            .iter()
            .zip(&self.lines)
            .filter(|(n, _)| !stems.iter().any(|s| s == bare(n)))
            .map(|(n, line)| {
                problem(
                    &self.path,
                    *line,
                    format!(
                        "the {} names `{n}`, which is not a migration of this folder",
                        self.origin
                    ),
                    "remove it from the order, or restore the file",
                )
            })
            .collect()
    }
}

/// A script's version and name: `<version>_<name>` from its stem (a
/// version in the name always wins, so a file's identity never changes
/// with the order), else its place in the source's order (the stem is then
/// its name and identity).
pub(crate) fn script_version(
    path: &Path,
    file: &str,
    stem: &str,
    manifest: Option<&Manifest>,
) -> Result<(Version, String), Diagnostic> {
    let placed = manifest.and_then(|m| Some((m, m.position(stem)?)));
    if let Some(versioned) = version_and_name(stem, &[]) {
        return match placed {
            Some((m, i)) => Err(problem(
                &m.path,
                m.lines[i],
                format!(
                    "the {} lists {file}, which has a version in its name: it runs in version order, before the named migrations",
                    m.origin
                ),
                "remove it from the order",
            )),
            None => Ok(versioned),
        };
    }
    if Version::parse_any(stem).is_ok() {
        return Err(problem(
            path,
            0,
            format!("{file}: `{stem}` reads as a version, not a name"),
            "name it <version>_<name> (e.g. 20240101120000_add_users), or give its name letters",
        ));
    }
    if let Some((_, i)) = placed {
        return Ok((Version::named(stem, i), stem.to_string()));
    }
    Err(match manifest {
        Some(m) => problem(
            path,
            0,
            format!(
                "{file} has no version in its name and is not in the {}",
                m.origin
            ),
            "add it to the order where it should run (strata never guesses)",
        ),
        None => problem(
            path,
            0,
            format!("{file} has no version in its name, and the source has no order"),
            format!(
                "list the migrations in the order they run in an {ORDER_FILE} file in the folder (or `order = [...]` in strata.toml); `strata init` writes one"
            ),
        ),
    })
}

/// `source/version` or `source/name` as a requirement names it.
pub(crate) fn requirement(args: &str) -> Option<MigrationId> {
    let (source, version) = args.trim().rsplit_once('/')?;
    if source.is_empty() || version.is_empty() || version.contains(char::is_whitespace) {
        return None;
    }
    Some(MigrationId::new(
        source,
        Version::parse_recorded(version).ok()?,
    ))
}

/// The requirements a script declares in comment lines
/// (`# strata:requires supabase/20240101000000`), or the line of one it
/// cannot read.
pub(crate) fn script_requires(text: &str) -> Result<Vec<MigrationId>, (usize, String)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(args) = directive(line).and_then(|d| d.strip_prefix("requires")) else {
            continue;
        };
        for arg in args.split([' ', ',', '\t']).filter(|a| !a.is_empty()) {
            found.push(requirement(arg).ok_or((i + 1, arg.to_string()))?);
        }
    }
    Ok(found)
}

/// The version of a new file of `new`'s folder: the next number when the
/// folder numbers its files in sequence (`0001_...`, kept as wide), else
/// the time stamp.
pub(crate) fn next_version(new: &crate::NewMigration) -> String {
    if let Some(version) = new.version {
        return version.to_string();
    }
    let numbers: Vec<String> = std::fs::read_dir(&new.source.path)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let digits = name.split(['_', '.']).next()?.to_string();
            (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
        })
        .collect();
    let sequential = !numbers.is_empty() && numbers.iter().all(|n| n.len() < 8);
    if !sequential {
        return new.stamp();
    }
    let width = numbers.iter().map(|n| n.len()).max().unwrap_or(1);
    let next = numbers
        .iter()
        .filter_map(|n| n.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    format!("{next:0width$}")
}

/// A new script or module: named by its name and added at the end of the
/// source's order when it has one, else `<version>_<name>.<ext>`.
pub(crate) fn named_or_versioned(
    new: &crate::NewMigration,
    ext: &str,
    text: String,
) -> Result<crate::Scaffold, String> {
    let file = PathBuf::from(format!("{}.{ext}", new.slug));
    let Some(order) = Manifest::read(new.source).map_err(|d| {
        d.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?
    else {
        return Ok(crate::Scaffold::file(
            format!("{}_{}.{ext}", next_version(new), new.slug),
            text,
        ));
    };
    if order.position(new.slug).is_some() {
        return Err(format!(
            "the {} already lists `{}`; choose another name",
            order.origin, new.slug
        ));
    }
    if new.source.order.is_some() {
        return Ok(crate::Scaffold {
            files: vec![(file, text)],
            note: Some(format!(
                "add \"{}\" to `order` of source {} in strata.toml, where it should run",
                new.slug, new.source.name
            )),
        });
    }
    let mut listed = std::fs::read_to_string(&order.path)
        .map_err(|e| format!("cannot read {}: {e}", order.path.display()))?;
    if !listed.is_empty() && !listed.ends_with('\n') {
        listed.push('\n');
    }
    listed.push_str(new.slug);
    listed.push('\n');
    Ok(crate::Scaffold {
        files: vec![(file, text), (PathBuf::from(ORDER_FILE), listed)],
        note: Some(format!("added {} to the end of {ORDER_FILE}", new.slug)),
    })
}

/// The words after `strata:` on a comment line (`#`, `//`, `--` or `;`):
/// how scripts say what they handle, need or are (`handles up down`,
/// `requires supabase/1`, `readonly`).
pub(crate) fn directive(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let rest = ["#", "//", "--", ";"]
        .iter()
        .find_map(|c| t.strip_prefix(c))?;
    rest.trim_start_matches(['#', '/', '-', ';', ' ', '\t'])
        .strip_prefix("strata:")
        .map(str::trim)
}

/// A script or module as a migration: the whole file is its up, and its
/// down and verify where it handles them (`[down, verify]`); what it
/// requires is read from its comments. A requirement it cannot read is a
/// problem on its line.
pub(crate) fn script_migration(
    source: &SourceSpec,
    path: PathBuf,
    text: String,
    (version, name): (Version, String),
    [down, verify]: [bool; 2],
    description: Option<String>,
) -> Result<Migration, Diagnostic> {
    let requires = script_requires(&text).map_err(|(line, arg)| {
        problem(
            &path,
            line,
            format!("`strata:requires {arg}` does not name a migration"),
            "write `# strata:requires <source>/<version or name>`, e.g. `# strata:requires supabase/20240101000000`",
        )
    })?;
    let whole = || Some(body(text.clone(), 1, &path));
    Ok(Migration {
        id: MigrationId::new(source.name.clone(), version),
        name,
        kind: MigrationKind::Script,
        checksum: Checksum::of_body(&text),
        up: body(text.clone(), 1, &path),
        down: if down { whole() } else { None },
        verify: if verify { whole() } else { None },
        tx_mode: TxMode::NoTransaction,
        unsupported: None,
        requires,
        description,
        path,
    })
}
