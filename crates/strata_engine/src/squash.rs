//! `strata squash`: a source's migrations up to a version become one
//! baseline migration, with proof. The history is replayed on a scratch
//! database and dumped canonically; the squashed migrations' data
//! statements are carried after the schema; the baseline is applied to
//! another scratch database and both are compared object by object (and
//! the carried tables row by row). Only then are the old files moved to
//! `<source dir>_archive/`, beside a `SQUASHED.md` for people and a
//! `squash.toml` strata reads: on a database that applied every squashed
//! migration the baseline counts as applied (`squashed.rs`).

use crate::events::Silent;
use crate::report::{Request, RequestKind, ms};
use crate::squash_sql::{
    Carried, compared_tables, data_statements, statements, uncarried, unread_statements,
};
use crate::{Engine, EngineError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use strata_discover::{Bodies, NewMigration, SourceSpec};
use strata_model::{Migration, MigrationKind, Timestamp};
use strata_plan::UpOptions;
use strata_schema::{Difference, Schema};

/// What `strata squash` is asked.
#[derive(Debug, Clone)]
pub struct SquashOptions {
    /// The last migration squashed (`VERSION`).
    pub to: String,
    /// The baseline's name (`baseline`).
    pub name: String,
    /// Leave out the data statements that cannot be carried, instead of
    /// refusing.
    pub drop_data: bool,
    /// A real database that applied exactly the squashed migrations (as
    /// shown, and its schema): the history must build what it has.
    pub against: Option<(String, Schema)>,
}

/// One kind of object in the parity proof: how many the history builds,
/// and how many of those the baseline builds identically.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProofRow {
    pub kind: String,
    pub history: usize,
    pub matching: usize,
}

/// What `strata squash` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SquashReport {
    pub source: String,
    /// The baseline's files, as shown.
    pub baseline: Vec<String>,
    pub version: String,
    pub squashed: Vec<String>,
    pub carried: Vec<Carried>,
    /// Data statements left out (`--drop-data`).
    pub dropped: Vec<Carried>,
    pub proof: Vec<ProofRow>,
    /// The real database the history was also compared with.
    pub checked_against: Option<String>,
    /// Tables whose rows are the same after the history and the baseline.
    pub data_compared: Vec<String>,
    /// Tables whose rows are not (with `--drop-data`), and how.
    pub data_differs: Vec<String>,
    pub archive: String,
    pub note: Option<String>,
    pub duration_ms: u64,
}

/// A squash as `squash.toml` records it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SquashRecord {
    /// The baseline's version (that of the last migration squashed).
    pub into: String,
    pub name: String,
    /// The versions squashed, in order (the baseline's own last).
    pub versions: Vec<String>,
    /// Their names, in the same order (another tool's history may key its
    /// rows by them).
    #[serde(default)]
    pub names: Vec<String>,
    pub squashed_at: String,
    /// The baseline's files, relative to the source folder.
    pub baseline: Vec<PathBuf>,
    /// The files moved to the archive, relative to the source folder (and
    /// to the archive folder, where they went).
    pub moved: Vec<PathBuf>,
}

impl SquashRecord {
    /// Whether `row` (of `source`'s history) is of a migration it squashed.
    pub(crate) fn covers(&self, source: &str, row: &strata_model::HistoryRow) -> bool {
        row.id.source == source && self.versions.iter().any(|v| v == row.id.version.as_str())
    }
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Manifest {
    #[serde(default)]
    pub squash: Vec<SquashRecord>,
    /// Squashes undone: a tool's history a run rewrote for one is written
    /// back as it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undone: Vec<SquashRecord>,
}

/// The archive folder of a source: `<its folder>_archive`.
pub(crate) fn archive_of(source: &Path) -> PathBuf {
    let mut name = source.file_name().unwrap_or_default().to_os_string();
    name.push("_archive");
    source.with_file_name(name)
}

pub(crate) const MANIFEST: &str = "squash.toml";

pub(crate) fn read_manifest(source: &Path) -> Result<Manifest, EngineError> {
    let path = archive_of(source).join(MANIFEST);
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| EngineError::Config {
            path: path.clone(),
            message: e.to_string(),
            help: "it is written by `strata squash`: restore it from version control".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
        Err(e) => Err(EngineError::Io {
            what: format!("cannot read {}", path.display()),
            source: e,
        }),
    }
}

fn write_manifest(source: &Path, manifest: &Manifest) -> Result<(), EngineError> {
    let dir = archive_of(source);
    let path = dir.join(MANIFEST);
    if manifest.squash.is_empty() && manifest.undone.is_empty() {
        let _ = std::fs::remove_file(&path);
        return Ok(());
    }
    let text = format!(
        "# Written by `strata squash` (`strata squash --undo` reverses the last one): strata reads it to\n# count a baseline as applied on a database that applied every migration it squashed.\n{}",
        toml::to_string(manifest).map_err(|e| EngineError::Refused(e.to_string()))?
    );
    std::fs::write(&path, text).map_err(|e| EngineError::Io {
        what: format!("cannot write {}", path.display()),
        source: e,
    })
}

impl Engine {
    /// The source a squash works on: `--source`, or the only one.
    fn squash_source(&self) -> Result<&SourceSpec, EngineError> {
        match (self.only_source(), self.sources()) {
            (Some(_), [source, ..]) | (None, [source]) => Ok(source),
            _ => Err(EngineError::Refused(format!(
                "this project has {} sources: name the one to squash with --source",
                self.sources().len()
            ))),
        }
    }

    /// Squashes the source's migrations up to `options.to` into one
    /// baseline, proving it first; nothing is written unless the proof
    /// holds.
    pub async fn squash(&self, options: &SquashOptions) -> Result<SquashReport, EngineError> {
        let started = std::time::Instant::now();
        let source = self.squash_source()?.clone();
        let found = self.migrations()?;
        let ours: Vec<&Migration> = found
            .migrations
            .iter()
            .filter(|m| m.id.source == source.name && m.kind != MigrationKind::Repeatable)
            .collect();
        let last = ours
            .iter()
            .position(|m| m.id.version.as_str() == options.to || m.id.version.to_string() == options.to)
            .ok_or_else(|| {
                EngineError::Refused(format!(
                    "--to {}: source {} has no migration of that version (`strata list` shows them)",
                    options.to, source.name
                ))
            })?;
        let squashed = &ours[..=last];
        if squashed.len() < 2 {
            return Err(EngineError::Refused(format!(
                "--to {}: that is the source's first migration; there is nothing to squash it with",
                options.to
            )));
        }
        if let Some(m) = squashed.iter().find(|m| m.kind == MigrationKind::Script) {
            return Err(EngineError::Refused(format!(
                "{} ({}) is a script: what it does to data cannot be carried into SQL; squash up to the migration before it",
                m.id,
                self.display_path(&m.path)
            )));
        }
        let format = strata_discover::format(&source.format).ok_or_else(|| {
            EngineError::Refused(format!("source {} has an unknown format", source.name))
        })?;
        let dialect = self.database()?.engine().dialect();
        let through = squashed[last].id.to_string();

        let statements = statements(self, squashed, dialect);
        let unread = unread_statements(&statements, dialect);
        if !unread.is_empty() {
            return Err(EngineError::Refused(format!(
                "the squashed migrations make what strata's schema model does not read, so the baseline would not have it; nothing was written:\n{}\nsquash up to the migration before the first of them, or move those statements to a migration after --to",
                unread.join("\n")
            )));
        }
        // The history: its schema, and the rows of every table.
        let mut carried = data_statements(&statements);
        let (history, history_rows) = self
            .on_a_scratch(async |scratch: &Engine| {
                let up = Request::new(RequestKind::Up(UpOptions {
                    to: Some(through.clone()),
                    ..UpOptions::default()
                }));
                scratch.run_unaudited(&up, &Silent).await.map_err(|e| {
                    EngineError::Refused(format!(
                        "the migrations up to {through} do not apply to an empty database, so there is nothing to squash them into: {e}"
                    ))
                })?;
                let schema = scratch.schema().await?;
                let rows = scratch.table_rows(&compared_tables(&schema, dialect)).await?;
                Ok((schema, rows))
            })
            .await?;
        let schema_sql = strata_schema::dump(&history);
        let tables = compared_tables(&history, dialect);

        // The baseline, on another scratch database: the schema, then each
        // data statement (those that fail depend on a state the history
        // passed through and the baseline does not).
        let (baseline, baseline_rows) = self
            .on_a_scratch(async |scratch: &Engine| {
                let mut driver = scratch.connect().await?;
                for st in strata_sql::split(&schema_sql, dialect) {
                    driver.batch(st.sql).await.map_err(|e| {
                        EngineError::Refused(format!(
                            "the canonical dump does not apply to an empty database at `{}`: {e} (please report it)",
                            st.sql.lines().next().unwrap_or_default()
                        ))
                    })?;
                }
                for c in &mut carried {
                    if let Err(e) = driver.batch(&c.sql).await {
                        c.refused = Some(format!(
                            "fails after the whole schema is built ({e}): it depends on a state the history passed through"
                        ));
                    }
                }
                drop(driver);
                Ok((scratch.schema().await?, scratch.table_rows(&tables).await?))
            })
            .await?;

        let proof = proof(&history, &baseline);
        let differences = strata_schema::diff(&history, &baseline);
        if !differences.is_empty() {
            return Err(EngineError::Refused(format!(
                "the baseline does not build what the history builds ({} difference(s): {}); nothing was written (please report it)",
                differences.len(),
                shown(&differences)
            )));
        }
        if let Some((name, live)) = &options.against {
            let differences = strata_schema::diff(&history, live);
            if !differences.is_empty() {
                return Err(EngineError::Refused(format!(
                    "{name} is not what the squashed migrations build ({} difference(s): {}); nothing was written. `strata drift` shows them",
                    differences.len(),
                    shown(&differences)
                )));
            }
        }
        let mismatched: Vec<String> = tables
            .iter()
            .filter_map(|(t, _)| {
                let (h, b) = (history_rows.get(t)?, baseline_rows.get(t)?);
                (h != b).then(|| {
                    if h.len() == b.len() {
                        format!("table {t}: {} row(s) each, with other values", h.len())
                    } else {
                        format!(
                            "table {t}: {} row(s) after the history, {} after the baseline",
                            h.len(),
                            b.len()
                        )
                    }
                })
            })
            .collect();
        let refused: Vec<&Carried> = carried.iter().filter(|c| c.refused.is_some()).collect();
        if (!refused.is_empty() || !mismatched.is_empty()) && !options.drop_data {
            let mut why: Vec<String> = refused
                .iter()
                .map(|c| {
                    format!(
                        "  {}: {}",
                        c.location,
                        c.refused.as_deref().unwrap_or_default()
                    )
                })
                .collect();
            let uncarried = uncarried(&statements);
            why.extend(mismatched.iter().map(|m| {
                if uncarried.is_empty() {
                    format!("  {m} (a data statement carried gives other rows on the final schema: a default, a trigger or a type changed after it)")
                } else {
                    format!("  {m} (written by what strata does not carry: {})", uncarried.join(", "))
                }
            }));
            return Err(EngineError::Refused(format!(
                "the squashed migrations' data cannot all be carried safely; nothing was written:\n{}\nsquash up to an earlier version, or pass --drop-data to leave those statements out (listed)",
                why.join("\n")
            )));
        }
        let (carried, dropped): (Vec<Carried>, Vec<Carried>) =
            carried.into_iter().partition(|c| c.refused.is_none());

        // Files: the old ones to the archive, then the baseline.
        let version = squashed[last].id.version.as_str().to_string();
        let slug = options.name.clone();
        let mut text = format!(
            "-- {} migrations of source {} (up to {version}) squashed by `strata squash`: see {}/SQUASHED.md\n\n{}",
            squashed.len(),
            source.name,
            self.display_path(&archive_of(&source.path)),
            schema_sql.trim_end()
        );
        if !carried.is_empty() {
            text.push_str("\n\n-- Data carried from the squashed migrations.\n");
            for c in &carried {
                text.push_str(&format!("\n-- from {}\n{}\n", c.location, c.sql.trim_end()));
            }
        }
        let scaffold = format
            .scaffold(&NewMigration {
                source: &source,
                slug: &slug,
                at: Timestamp::now(),
                sql: Some(Bodies {
                    up: &text,
                    down: None,
                    transaction: true,
                }),
                version: Some(&version),
            })
            .map_err(EngineError::Refused)?;
        // The record first, then the moves, then the baseline: stopped
        // half way, `strata squash --undo` finds what to bring back.
        let moved = self.to_archive(&source, squashed)?;
        let written: Vec<PathBuf> = scaffold.files.iter().map(|(rel, _)| rel.clone()).collect();
        let record = SquashRecord {
            into: version.clone(),
            name: slug,
            versions: squashed
                .iter()
                .map(|m| m.id.version.as_str().to_string())
                .collect(),
            names: squashed.iter().map(|m| m.name.clone()).collect(),
            squashed_at: Timestamp::now().rfc3339(),
            baseline: written.clone(),
            moved: moved.clone(),
        };
        let archive = archive_of(&source.path);
        create_dir(&archive)?;
        self.write_squashed_md(&source, &record, squashed, &dropped)?;
        let mut manifest = read_manifest(&source.path)?;
        manifest.squash.push(record);
        write_manifest(&source.path, &manifest)?;
        for rel in &moved {
            std::fs::rename(source.path.join(rel), archive.join(rel)).map_err(|e| {
                EngineError::Io {
                    what: format!("cannot move {} to {}", rel.display(), archive.display()),
                    source: e,
                }
            })?;
        }
        for (rel, body) in &scaffold.files {
            let path = source.path.join(rel);
            if let Some(dir) = path.parent() {
                create_dir(dir)?;
            }
            std::fs::write(&path, body).map_err(|e| EngineError::Io {
                what: format!("cannot write {}", path.display()),
                source: e,
            })?;
        }
        // Seed files named after a squashed version would name no
        // migration now.
        let mut note = scaffold.note.clone();
        if let Some(seed) = &self.project.config.test.seed {
            let dir = self.project.root.join(seed);
            let stale: Vec<String> = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    let stem = n.trim_end_matches(".sql");
                    let v = stem.split_once('_').map_or(stem, |(v, _)| v);
                    v != version && squashed.iter().any(|m| m.id.version.as_str() == v)
                })
                .collect();
            if !stale.is_empty() {
                let said = format!(
                    "seed file(s) {} in {} are named after squashed versions: rename them after {version} (the baseline), or `strata test` refuses them",
                    stale.join(", "),
                    self.display_path(&dir)
                );
                note = Some(match note {
                    Some(n) => format!("{n}; {said}"),
                    None => said,
                });
            }
        }
        Ok(SquashReport {
            source: source.name.clone(),
            baseline: written
                .iter()
                .map(|r| self.display_path(&source.path.join(r)))
                .collect(),
            version,
            squashed: squashed.iter().map(|m| m.id.to_string()).collect(),
            carried,
            dropped,
            proof,
            checked_against: options.against.as_ref().map(|(name, _)| name.clone()),
            data_compared: tables
                .iter()
                .map(|(t, _)| t.clone())
                .filter(|t| {
                    !mismatched
                        .iter()
                        .any(|m| m.starts_with(&format!("table {t}:")))
                })
                .collect(),
            data_differs: mismatched,
            archive: self.display_path(&archive_of(&source.path)),
            note,
            duration_ms: ms(started.elapsed()),
        })
    }

    /// The squashed migrations' files (and folders), relative to the
    /// source folder: what moves to the archive, where nothing of the same
    /// name may be.
    fn to_archive(
        &self,
        source: &SourceSpec,
        squashed: &[&Migration],
    ) -> Result<Vec<PathBuf>, EngineError> {
        let archive = archive_of(&source.path);
        let mut paths: Vec<PathBuf> = Vec::new();
        for m in squashed {
            let bodies = [Some(&m.up), m.down.as_ref(), m.verify.as_ref()];
            for path in
                std::iter::once(&m.path).chain(bodies.into_iter().flatten().map(|b| &b.path))
            {
                // A folder migration (Prisma, diesel) moves as a whole.
                // Migration paths are shown from the project's root.
                let full = self.project.root.join(path);
                let Ok(rel) = full.strip_prefix(&source.path) else {
                    continue;
                };
                let Some(top) = rel.components().next() else {
                    continue;
                };
                let top = PathBuf::from(top.as_os_str());
                if !paths.contains(&top) && source.path.join(&top).exists() {
                    paths.push(top);
                }
            }
        }
        for rel in &paths {
            let to = archive.join(rel);
            if to.exists() {
                return Err(EngineError::Refused(format!(
                    "{} exists already: the archive holds a file of the same name; move it away first",
                    self.display_path(&to)
                )));
            }
        }
        Ok(paths)
    }

    fn write_squashed_md(
        &self,
        source: &SourceSpec,
        record: &SquashRecord,
        squashed: &[&Migration],
        dropped: &[Carried],
    ) -> Result<(), EngineError> {
        let path = archive_of(&source.path).join("SQUASHED.md");
        let mut text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            "# Squashed migrations\n\nWritten by `strata squash`. A database that applied every migration of a squash counts its\nbaseline as applied; an empty one runs the baseline; one that applied only some is refused.\n`strata squash --undo` brings the last squash's files back.\n".to_string()
        });
        text.push_str(&format!(
            "\n## {} {} ({})\n\n| version | name | file |\n|---|---|---|\n",
            record.into, record.name, record.squashed_at
        ));
        for m in squashed {
            text.push_str(&format!(
                "| {} | {} | {} |\n",
                m.id.version,
                m.name,
                self.project
                    .root
                    .join(&m.path)
                    .strip_prefix(&source.path)
                    .unwrap_or(&m.path)
                    .display()
            ));
        }
        if !dropped.is_empty() {
            text.push_str("\nLeft out of the baseline (`--drop-data`):\n\n");
            for c in dropped {
                text.push_str(&format!(
                    "- {}: `{}` ({})\n",
                    c.location,
                    c.sql.lines().next().unwrap_or_default(),
                    c.refused.as_deref().unwrap_or_default()
                ));
            }
        }
        text.push_str(&format!(
            "\nBaseline: {}\n",
            record
                .baseline
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        std::fs::write(&path, text).map_err(|e| EngineError::Io {
            what: format!("cannot write {}", path.display()),
            source: e,
        })
    }

    /// `strata squash --undo`: the last squash's baseline removed and its
    /// files moved back. The database's history was never changed.
    pub fn unsquash(&self) -> Result<SquashRecord, EngineError> {
        let source = self.squash_source()?.clone();
        let mut manifest = read_manifest(&source.path)?;
        let Some(record) = manifest.squash.pop() else {
            return Err(EngineError::Refused(format!(
                "source {} has no squash to undo ({} has no record of one)",
                source.name,
                self.display_path(&archive_of(&source.path).join(MANIFEST))
            )));
        };
        let archive = archive_of(&source.path);
        for rel in &record.moved {
            if source.path.join(rel).exists()
                && archive.join(rel).exists()
                && !record.baseline.iter().any(|b| b.starts_with(rel))
            {
                return Err(EngineError::Refused(format!(
                    "{} exists again: move it away before undoing the squash",
                    self.display_path(&source.path.join(rel))
                )));
            }
        }
        for rel in &record.baseline {
            let path = source.path.join(rel);
            let _ = std::fs::remove_file(&path);
            // A baseline folder (Prisma, diesel) goes when it is empty.
            if let Some(dir) = path.parent().filter(|d| *d != source.path) {
                let _ = std::fs::remove_dir(dir);
            }
        }
        // A squash stopped half way moved only some.
        for rel in record.moved.iter().filter(|rel| archive.join(rel).exists()) {
            std::fs::rename(archive.join(rel), source.path.join(rel)).map_err(|e| {
                EngineError::Io {
                    what: format!(
                        "cannot move {} back from {}",
                        rel.display(),
                        archive.display()
                    ),
                    source: e,
                }
            })?;
        }
        // Remembered: a tool's history runs rewrote for the squash is
        // written back by the next run, and a database built from the
        // baseline is told what happened.
        manifest.undone.push(record.clone());
        write_manifest(&source.path, &manifest)?;
        if manifest.squash.is_empty() {
            let _ = std::fs::remove_file(archive.join("SQUASHED.md"));
            let _ = std::fs::remove_dir(&archive);
        }
        Ok(record)
    }

    /// The rows of `tables` (name, and the columns to read), each as
    /// text, sorted: what a data comparison compares.
    async fn table_rows(
        &self,
        tables: &[(String, String)],
    ) -> Result<BTreeMap<String, Vec<Vec<Option<String>>>>, EngineError> {
        let mut driver = self.connect().await?;
        let mut out = BTreeMap::new();
        for (table, columns) in tables {
            let mut rows = driver
                .query_text(&format!("SELECT {columns} FROM {table}"))
                .await?
                .unwrap_or_default();
            rows.sort();
            out.insert(table.clone(), rows);
        }
        Ok(out)
    }
}

/// Objects per kind: how many the history builds, how many of those the
/// baseline builds the same.
fn proof(history: &Schema, baseline: &Schema) -> Vec<ProofRow> {
    let built = strata_schema::objects(baseline);
    let mut rows: BTreeMap<String, ProofRow> = BTreeMap::new();
    for o in strata_schema::objects(history) {
        let row = rows.entry(o.kind.to_string()).or_insert(ProofRow {
            kind: o.kind.to_string(),
            history: 0,
            matching: 0,
        });
        row.history += 1;
        if built
            .iter()
            .any(|b| b.kind == o.kind && b.name == o.name && b.sql == o.sql)
        {
            row.matching += 1;
        }
    }
    rows.into_values().collect()
}

fn shown(differences: &[Difference]) -> String {
    differences
        .iter()
        .map(|d| format!("{:?} {} {}", d.change, d.kind, d.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn create_dir(dir: &Path) -> Result<(), EngineError> {
    std::fs::create_dir_all(dir).map_err(|e| EngineError::Io {
        what: format!("cannot create {}", dir.display()),
        source: e,
    })
}
