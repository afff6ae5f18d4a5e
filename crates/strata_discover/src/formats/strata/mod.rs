//! strata's own layout: `<version>_<name>.sql` with `-- strata:up`,
//! `-- strata:down` and `-- strata:verify` sections (a file without section
//! lines is all up), or a `<version>_<name>.up.sql` + `.down.sql` pair.

use crate::formats::{DirView, Evidence, Format, NewMigration, Scaffold};
use crate::{Diagnostic, Found, Reading, SourceSpec, files_sorted, with_text};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use strata_model::{
    Body, Checksum, Migration, MigrationId, MigrationKind, TxMode, Version, is_blank,
    normalize_text, normalized,
};

pub struct NativeFormat;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Section {
    Up,
    Down,
    Verify,
}

impl Section {
    fn name(self) -> &'static str {
        match self {
            Section::Up => "up",
            Section::Down => "down",
            Section::Verify => "verify",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A file of sections (or all up).
    Whole,
    /// A `.up.sql` file.
    Up,
    /// A `.down.sql` file.
    Down,
}

/// A body's place in its file's text: its bytes and its first line.
type Span = (std::ops::Range<usize>, usize);

/// Where a file's sections are, and what its directives say.
#[derive(Default)]
struct Sections {
    up: Option<Span>,
    down: Option<Span>,
    verify: Option<Span>,
    no_transaction: bool,
    requires: Vec<MigrationId>,
}

/// One file read: its bodies (their text kept or not, as the source's
/// [`Reading`] asks), and what the rest of discovery needs of the text.
struct Read {
    up: Option<Body>,
    down: Option<Body>,
    verify: Option<Body>,
    no_transaction: bool,
    requires: Vec<MigrationId>,
    /// The up body's (not for a down file).
    checksum: Option<Checksum>,
    up_blank: bool,
    verify_blank: bool,
}

/// A new strata migration: sections to fill. It has no down section until
/// one is written: a down left empty would revert by running nothing,
/// while a migration without one gets a derived down (shown, and
/// approved) or is refused.
pub const TEMPLATE: &str = "-- strata:up\n\n\n-- To make it revertible, add a `-- strata:down` line followed by the statements that undo the up.\n\n-- strata:verify\n\n";

impl Format for NativeFormat {
    fn name(&self) -> &'static str {
        "strata"
    }

    fn scaffold(&self, new: &NewMigration) -> Result<Scaffold, String> {
        let text = match &new.sql {
            None => format!("-- {}\n{TEMPLATE}", new.words()),
            Some(sql) => {
                let mut text = format!("-- {}\n", new.words());
                if !sql.transaction {
                    text.push_str("-- strata:no-transaction\n");
                }
                text.push_str(&format!("-- strata:up\n{}\n", sql.up.trim_end()));
                if let Some(down) = sql.down {
                    text.push_str(&format!("\n-- strata:down\n{}\n", down.trim_end()));
                }
                text
            }
        };
        Ok(Scaffold::file(
            format!("{}_{}.sql", new.stamp(), new.slug),
            text,
        ))
    }

    fn detect(&self, dir: &DirView) -> Option<Evidence> {
        dir.any_line("-- strata:")
            .then_some(Evidence::Certain { engine: None })
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let mut files = files_sorted(source)?;
        // (file's place, problem): reported in file order.
        let mut problems: Vec<(usize, Diagnostic)> = Vec::new();
        // (version, name, role, file's place), then sorted by version: a
        // stable sort keeps each version's files in file-name order.
        let mut named: Vec<(Version, String, Role, usize)> = Vec::with_capacity(files.len());
        for (place, path) in files.iter().enumerate() {
            let file_name = crate::formats::name(path);
            if !file_name.ends_with(".sql") {
                continue;
            }
            let (stem, role) = if let Some(s) = file_name.strip_suffix(".up.sql") {
                (s, Role::Up)
            } else if let Some(s) = file_name.strip_suffix(".down.sql") {
                (s, Role::Down)
            } else {
                (
                    file_name.strip_suffix(".sql").unwrap_or(file_name),
                    Role::Whole,
                )
            };
            match split_stem(stem) {
                Some((version, name)) => named.push((version, name.to_string(), role, place)),
                None => problems.push((place, Diagnostic {
                    path: path.clone(),
                    line: None,
                    message: "the file name is not `<version>_<name>.sql`".into(),
                    help: "rename it, e.g. `20240101120000_create_users.sql` (version = digits), or move it out of the migrations directory".into(),
                })),
            }
        }
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let mut entries: Vec<Entry> = Vec::with_capacity(named.len());
        for (version, name, role, place) in named {
            let path = std::mem::take(&mut files[place]);
            let entry = match entries.last_mut() {
                Some(last) if last.version == version => last,
                _ => {
                    entries.push(Entry {
                        version,
                        name,
                        whole: None,
                        up: None,
                        down: None,
                    });
                    entries.last_mut().expect("just pushed")
                }
            };
            let slot = match role {
                Role::Whole => &mut entry.whole,
                Role::Up => &mut entry.up,
                Role::Down => &mut entry.down,
            };
            if let Some(other) = slot.replace(path) {
                let path = slot.as_ref().expect("just set");
                problems.push((place, duplicate(path, &other)));
            }
        }
        problems.sort_by_key(|(place, _)| *place);
        let mut problems: Vec<Diagnostic> = problems.into_iter().map(|(_, d)| d).collect();
        let read = strata_model::parallel_map(entries, |entry| entry.into_migration(source));
        if problems.is_empty() && read.iter().all(Result::is_ok) {
            Ok(Found {
                // Kept in the vector they were read into.
                migrations: read.into_iter().filter_map(Result::ok).collect(),
                warnings: Vec::new(),
                text_skipped: source.reading == Reading::Checksums,
            })
        } else {
            problems.extend(read.into_iter().filter_map(Result::err).flatten());
            Err(problems)
        }
    }
}

struct Entry {
    version: Version,
    name: String,
    whole: Option<PathBuf>,
    up: Option<PathBuf>,
    down: Option<PathBuf>,
}

fn duplicate(path: &Path, other: &Path) -> Diagnostic {
    Diagnostic {
        path: path.to_path_buf(),
        line: None,
        message: format!("version is also used by {}", other.display()),
        help: "every migration of a source needs its own version; rename one of the files".into(),
    }
}

impl Entry {
    fn into_migration(self, source: &SourceSpec) -> Result<Migration, Vec<Diagnostic>> {
        let keep = source.reading == Reading::Whole;
        let (path, read) = match (self.whole, self.up, self.down) {
            (Some(whole), None, None) => {
                let read = read_file(&whole, Role::Whole, false, keep)?;
                (whole, read)
            }
            (None, Some(up), down) => {
                // The down file first: its no-transaction directive is part
                // of the up body's checksum. The up file's problems are
                // told first.
                let down = down.map(|d| read_file(&d, Role::Down, false, keep));
                let down_no_tx = matches!(&down, Some(Ok(d)) if d.no_transaction);
                let mut read = read_file(&up, Role::Up, down_no_tx, keep)?;
                if let Some(down) = down.transpose()? {
                    // A down file holding only comments is an empty down
                    // (reverting runs nothing), as sqlx, golang-migrate and
                    // diesel treat it; only a missing one is irreversible.
                    read.down = down.up;
                    // One mode for the migration: either file asking for
                    // no transaction gets it.
                    read.no_transaction |= down.no_transaction;
                }
                (up, read)
            }
            (Some(whole), Some(other), _) | (Some(whole), None, Some(other)) => {
                return Err(vec![duplicate(&whole, &other)]);
            }
            (None, None, Some(down)) => {
                return Err(vec![Diagnostic {
                    path: down.clone(),
                    line: None,
                    message: "a down file without its up file".into(),
                    help: format!(
                        "add {} beside it, or delete it",
                        down.display().to_string().replace(".down.sql", ".up.sql")
                    ),
                }]);
            }
            (None, None, None) => unreachable!("an entry is made for a file"),
        };
        // A file just made by `strata new` and not written yet is pending;
        // only applying it is refused, so the rest of the project works.
        let unsupported = read.up_blank.then(|| {
            "its up section is empty (write the migration's SQL under `-- strata:up`, or delete the file)"
                .to_string()
        });
        Ok(Migration {
            id: MigrationId::new(source.name.clone(), self.version),
            name: self.name,
            kind: MigrationKind::Versioned,
            checksum: read.checksum.expect("an up or whole file is hashed"),
            unsupported,
            requires: read.requires,
            description: None,
            up: read.up.expect("read_file gives an up or an error"),
            down: read.down,
            verify: read.verify.filter(|_| !read.verify_blank),
            tx_mode: TxMode::unless(read.no_transaction),
            path,
        })
    }
}

/// The up body's checksum. A no-transaction directive written outside the
/// up body (above the sections, or in the down file) changes how the
/// migration runs, so it counts as part of the body.
fn checksum(up: &str, no_transaction: bool) -> Checksum {
    let in_body = || {
        up.lines()
            .any(|l| directive(l).is_some_and(|(w, _)| w == "no-transaction"))
    };
    if no_transaction && !in_body() {
        Checksum::of_body(&format!("-- strata:no-transaction\n{up}"))
    } else {
        Checksum::of_body(up)
    }
}

/// `20240101_create_users` -> (20240101, create_users).
fn split_stem(stem: &str) -> Option<(Version, &str)> {
    let (version, name) = stem.split_once('_')?;
    let version = Version::parse(version).ok()?;
    (!name.is_empty()).then_some((version, name))
}

/// A `-- strata:<word> [args]` line: the word and its arguments.
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim().strip_prefix("--")?.trim_start();
    let rest = rest.strip_prefix("strata:")?;
    let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    Some((word, args.trim()))
}

/// Reads one file of `role`; `no_tx_outside`: the down file beside it
/// asks for no transaction. The bodies keep their text when `keep`.
fn read_file(
    path: &Path,
    role: Role,
    no_tx_outside: bool,
    keep: bool,
) -> Result<Read, Vec<Diagnostic>> {
    with_text(path, |raw| {
        let text = match raw {
            Cow::Borrowed(raw) => normalize_text(raw),
            Cow::Owned(raw) => Cow::Owned(normalized(raw)),
        };
        let found = sections(path, &text, role == Role::Whole)?;
        let body = |span: Option<Span>, text: &str| {
            span.map(|(range, line)| {
                if keep {
                    Body {
                        sql: std::sync::Arc::new(text[range].to_string()),
                        line,
                        path: path.to_path_buf(),
                    }
                } else {
                    Body::unread(line, path.to_path_buf())
                }
            })
        };
        let up = found.up.as_ref().map(|(range, _)| &text[range.clone()]);
        let verify = found.verify.as_ref().map(|(range, _)| &text[range.clone()]);
        let checksum = up
            .filter(|_| role != Role::Down)
            .map(|up| checksum(up, found.no_transaction || no_tx_outside));
        let (up_blank, verify_blank) = (up.is_some_and(is_blank), verify.is_some_and(is_blank));
        let down = body(found.down, &text);
        let verify = body(found.verify, &text);
        // A file that is all up keeps the text it was read into: a big
        // data migration is in memory once.
        let up = match found.up {
            Some((range, line)) if keep && range == (0..text.len()) => Some(Body {
                sql: std::sync::Arc::new(text.into_owned()),
                line,
                path: path.to_path_buf(),
            }),
            span => body(span, &text),
        };
        Ok(Read {
            checksum,
            up_blank,
            verify_blank,
            up,
            down,
            verify,
            no_transaction: found.no_transaction,
            requires: found.requires,
        })
    })
    .map_err(|d| vec![d])?
}

/// Finds the sections of a file's `text`. With `sections` false (a
/// `.up.sql`/`.down.sql` file) the whole file is one body and section
/// lines are an error.
fn sections(path: &Path, text: &str, sections: bool) -> Result<Sections, Vec<Diagnostic>> {
    let mut found = Sections::default();
    if !text.contains("strata:") {
        // No directive, so no section: the whole file is the up body.
        found.up = Some((0..text.len(), 1));
        return Ok(found);
    }
    let mut problems = Vec::new();
    let diag = |line: usize, message: String, help: &str| Diagnostic {
        path: path.to_path_buf(),
        line: Some(line),
        message,
        help: help.to_string(),
    };

    // (section, first body line, where its text starts)
    let mut current: Option<(Section, usize, usize)> = None;
    let mut preamble_sql: Option<usize> = None;
    let mut saw_section = false;
    let mut finished: Vec<(Section, Span)> = Vec::new();
    let mut end = 0;

    for (index, line) in text.split_inclusive('\n').enumerate() {
        let lineno = index + 1;
        let start = end;
        end += line.len();
        if let Some((word, args)) = directive(line) {
            let section = match word {
                "up" => Some(Section::Up),
                "down" => Some(Section::Down),
                "verify" => Some(Section::Verify),
                "no-transaction" => {
                    if !args.is_empty() {
                        problems.push(diag(
                            lineno,
                            format!(
                                "`-- strata:no-transaction` takes no arguments, found `{args}`"
                            ),
                            "remove the text after the directive",
                        ));
                    }
                    found.no_transaction = true;
                    None
                }
                "requires" => {
                    match crate::common::requirement(args) {
                        Some(id) => found.requires.push(id),
                        None => problems.push(diag(
                            lineno,
                            format!("`-- strata:requires {args}` does not name a migration"),
                            "write `-- strata:requires <source>/<version>`, e.g. `-- strata:requires app/20240101120000`",
                        )),
                    }
                    None
                }
                // Read by `strata lint` (the rule names are checked there).
                "allow" => None,
                other => {
                    problems.push(diag(
                        lineno,
                        format!("unknown directive `-- strata:{other}`"),
                        "known directives: up, down, verify, no-transaction, requires, allow",
                    ));
                    None
                }
            };
            // Other directive lines stay in the body they appear in, so
            // the checksum covers them.
            if let Some(section) = section {
                if !sections {
                    problems.push(diag(
                        lineno,
                        format!(
                            "`-- strata:{}` in a file that is already one section",
                            section.name()
                        ),
                        "a .up.sql/.down.sql file holds one body; remove the section line",
                    ));
                    continue;
                }
                saw_section = true;
                if let Some((done, line, from)) = current.take() {
                    finished.push((done, (from..start, line)));
                }
                if finished.iter().any(|(s, _)| *s == section) {
                    problems.push(diag(
                        lineno,
                        format!("a second `-- strata:{}` section", section.name()),
                        "merge the two sections into one",
                    ));
                }
                current = Some((section, lineno + 1, end));
            }
            continue;
        }
        let t = line.trim();
        if current.is_none() && !t.is_empty() && !t.starts_with("--") && preamble_sql.is_none() {
            preamble_sql = Some(lineno);
        }
    }
    if let Some((done, line, from)) = current.take() {
        finished.push((done, (from..text.len(), line)));
    }

    if !saw_section {
        found.up = Some((0..text.len(), 1));
    } else if let Some(line) = preamble_sql {
        problems.push(diag(
            line,
            "SQL before the first `-- strata:` section line".into(),
            "move it under `-- strata:up` (or down/verify)",
        ));
    }
    for (section, span) in finished {
        match section {
            Section::Up => found.up = Some(span),
            Section::Down => found.down = Some(span),
            Section::Verify => found.verify = Some(span),
        }
    }
    if saw_section && found.up.is_none() {
        problems.push(Diagnostic {
            path: path.to_path_buf(),
            line: None,
            message: "the file has sections but no `-- strata:up`".into(),
            help: "add a `-- strata:up` line above the migration's SQL".into(),
        });
    }
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn dir(files: &[(&str, &str)]) -> (Dir, SourceSpec) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "strata-native-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        fs::create_dir_all(&path).unwrap();
        for (name, text) in files {
            fs::write(path.join(name), text).unwrap();
        }
        let spec = SourceSpec {
            name: "app".into(),
            path: path.clone(),
            format: "strata".into(),
            confine: None,
            ..Default::default()
        };
        (Dir(path), spec)
    }

    #[test]
    fn sections_are_split_with_their_lines() {
        let (_d, spec) = dir(&[(
            "2_users.sql",
            "-- strata:up\ncreate table users (id int);\n-- strata:down\ndrop table users;\n-- strata:verify\nselect 1 from users;\n",
        )]);
        let m = NativeFormat.discover(&spec).unwrap().migrations.remove(0);
        assert_eq!(m.id.version.as_str(), "2");
        assert_eq!(m.name, "users");
        assert_eq!(m.up.sql.as_str(), "create table users (id int);\n");
        assert_eq!(m.up.line, 2);
        assert_eq!(m.down.as_ref().unwrap().sql.as_str(), "drop table users;\n");
        assert_eq!(m.down.as_ref().unwrap().line, 4);
        assert_eq!(m.verify.as_ref().unwrap().line, 6);
        assert_eq!(m.tx_mode, TxMode::Transaction);
    }

    #[test]
    fn file_without_sections_is_all_up_and_versions_sort_numerically() {
        let (_d, spec) = dir(&[("10_b.sql", "select 10;"), ("9_a.sql", "select 9;")]);
        let ms = NativeFormat.discover(&spec).unwrap().migrations;
        let names: Vec<_> = ms.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, vec!["a", "b"]);
        assert!(ms[0].down.is_none());
    }

    #[test]
    fn editing_down_or_line_endings_keeps_the_checksum() {
        let a = "-- strata:up\ncreate table t (id int);\n-- strata:down\ndrop table t;\n";
        let b = "\u{feff}-- strata:up\r\ncreate table t (id int);\r\n-- strata:down\r\ndrop table t cascade;\r\n";
        let (_d1, s1) = dir(&[("1_t.sql", a)]);
        let (_d2, s2) = dir(&[("1_t.sql", b)]);
        let m1 = NativeFormat.discover(&s1).unwrap().migrations.remove(0);
        let m2 = NativeFormat.discover(&s2).unwrap().migrations.remove(0);
        assert_eq!(m1.checksum, m2.checksum);
        let (_d3, s3) = dir(&[("1_t.sql", &a.replace("int", "bigint"))]);
        assert_ne!(
            m1.checksum,
            NativeFormat
                .discover(&s3)
                .unwrap()
                .migrations
                .remove(0)
                .checksum
        );
    }

    #[test]
    fn the_no_transaction_directive_counts_wherever_it_is() {
        let plain = "-- strata:up\ncreate index i on t (x);\n";
        let above = format!("-- strata:no-transaction\n{plain}");
        let (_a, s1) = dir(&[("1_i.sql", plain)]);
        let (_b, s2) = dir(&[("1_i.sql", &above)]);
        let m1 = NativeFormat.discover(&s1).unwrap().migrations.remove(0);
        let m2 = NativeFormat.discover(&s2).unwrap().migrations.remove(0);
        assert_eq!(m2.tx_mode, TxMode::NoTransaction);
        assert_ne!(m1.checksum, m2.checksum, "toggling the mode is an edit");
        let (_c, s3) = dir(&[
            ("2_i.up.sql", "create index concurrently i on t (x);\n"),
            (
                "2_i.down.sql",
                "-- strata:no-transaction\ndrop index concurrently i;\n",
            ),
        ]);
        assert_eq!(
            NativeFormat.discover(&s3).unwrap().migrations[0].tx_mode,
            TxMode::NoTransaction
        );
    }

    #[test]
    fn up_down_pairs_and_no_transaction() {
        let (_d, spec) = dir(&[
            (
                "3_idx.up.sql",
                "-- strata:no-transaction\ncreate index concurrently i on t (x);\n",
            ),
            ("3_idx.down.sql", "drop index i;\n"),
        ]);
        let m = NativeFormat.discover(&spec).unwrap().migrations.remove(0);
        assert_eq!(m.tx_mode, TxMode::NoTransaction);
        assert_eq!(m.down.unwrap().sql.as_str(), "drop index i;\n");
        assert_eq!(m.name, "idx");
    }

    #[test]
    fn malformed_files_are_reported_with_lines() {
        let (_d, spec) = dir(&[
            (
                "1_a.sql",
                "select 0;\n-- strata:up\nselect 1;\n-- strata:wat\n",
            ),
            ("2_b.sql", "-- strata:down\ndrop table x;\n"),
            ("notes.sql", "select 1;"),
            ("3_c.sql", "select 1;"),
            ("003_d.sql", "select 1;"),
            ("5_f.down.sql", "select 1;"),
            (
                "6_g.sql",
                "-- strata:up\ncreate table g (id int);\ncommit;\n",
            ),
            ("README.md", "ignored"),
        ]);
        let errs = NativeFormat.discover(&spec).unwrap_err();
        let text: Vec<String> = errs.iter().map(|d| d.to_string()).collect();
        let has = |needle: &str| text.iter().any(|t| t.contains(needle));
        assert!(
            has("1_a.sql:4: unknown directive `-- strata:wat`"),
            "{text:#?}"
        );
        assert!(has("1_a.sql:1: SQL before the first"), "{text:#?}");
        assert!(
            has("2_b.sql: the file has sections but no `-- strata:up`"),
            "{text:#?}"
        );
        assert!(has("notes.sql: the file name is not"), "{text:#?}");
        assert!(has("version is also used by"), "{text:#?}");
        assert!(
            has("5_f.down.sql: a down file without its up file"),
            "{text:#?}"
        );
        assert_eq!(errs.len(), 6, "{text:#?}");
    }

    /// Read for its checksums, a source keeps no SQL but tells everything
    /// else a plan needs exactly as a whole read does.
    #[test]
    fn reading_checksums_keeps_all_but_the_sql() {
        let (_d, whole) = dir(&[
            (
                "1_a.sql",
                "-- strata:up\r\ncreate table a (id int);\r\n-- strata:down\r\ndrop table a;\r\n-- strata:verify\r\nselect 1 from a;\r\n",
            ),
            ("2_b.sql", "create table b (id int);\n"),
            ("3_c.sql", "-- strata:up\n\n-- strata:verify\n-- nothing\n"),
            ("4_d.up.sql", "create index concurrently d on a (id);\n"),
            (
                "4_d.down.sql",
                "-- strata:no-transaction\ndrop index concurrently d;\n",
            ),
            (
                "5_e.sql",
                "-- strata:no-transaction\n-- strata:requires app/1\n-- strata:up\nselect 5;\n",
            ),
        ]);
        let checksums = whole.read_as(Reading::Checksums);
        let a = NativeFormat.discover(&whole).unwrap();
        let b = NativeFormat.discover(&checksums).unwrap();
        assert!(!a.text_skipped);
        assert!(b.text_skipped);
        assert_eq!(a.migrations.len(), 5);
        for (a, b) in a.migrations.iter().zip(&b.migrations) {
            assert_eq!(a.id, b.id);
            assert_eq!(a.checksum, b.checksum, "{}", a.id);
            assert_eq!(a.tx_mode, b.tx_mode, "{}", a.id);
            assert_eq!(a.unsupported, b.unsupported, "{}", a.id);
            assert_eq!(a.requires, b.requires, "{}", a.id);
            assert_eq!(a.path, b.path);
            let lines = |m: &Migration| {
                [Some(&m.up), m.down.as_ref(), m.verify.as_ref()].map(|b| b.map(|b| b.line))
            };
            assert_eq!(lines(a), lines(b), "{}", a.id);
            assert!(a.up.is_read() && !b.up.is_read(), "{}", a.id);
            assert!(b.up.sql.is_empty() && b.down.iter().all(|d| !d.is_read()));
        }
        assert_eq!(
            a.migrations[0].up.sql.as_str(),
            "create table a (id int);\n"
        );
        assert_eq!(a.migrations[3].tx_mode, TxMode::NoTransaction);
        assert!(a.migrations[2].verify.is_none(), "a blank verify is none");
        assert!(a.migrations[2].unsupported.is_some());
    }

    /// Regression: a migration just made by `strata new` (empty up) was a
    /// discovery error, so `status`, `down` and `repair` of every other
    /// migration failed. It is now listed, and only applying it is refused.
    /// Its empty down section is an empty down (reverting runs nothing).
    #[test]
    fn an_empty_up_is_a_migration_that_cannot_run_yet() {
        let (_d, spec) = dir(&[
            (
                "1_a.sql",
                "-- strata:up\nselect 1;\n-- strata:down\n-- nothing to undo\n",
            ),
            ("2_e.sql", "-- strata:up\n\n-- strata:down\n"),
        ]);
        let found = NativeFormat.discover(&spec).unwrap().migrations;
        assert_eq!(found.len(), 2);
        assert!(found[0].unsupported.is_none());
        assert!(found[0].down.as_ref().is_some_and(|d| d.is_blank()));
        assert!(
            found[1]
                .unsupported
                .as_deref()
                .is_some_and(|u| u.starts_with("its up section is empty"))
        );
    }
}
