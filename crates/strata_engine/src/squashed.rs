//! How strata reads the history of a squashed source (`strata squash`):
//! on a database that applied every squashed migration the baseline counts
//! as applied, and another tool's history (`keep_foreign_history`) is
//! rewritten to match by the next run.

use crate::squash::{MANIFEST, SquashRecord, archive_of, read_manifest};
use crate::{Engine, EngineError};
use std::path::PathBuf;
use strata_model::{HistoryRow, HistoryStatus, Migration, Timestamp};

impl Engine {
    /// History rows as strata reads them once a source was squashed: on a
    /// database that applied every squashed migration, the baseline (of
    /// the last one's version) counts as applied with its own checksum
    /// and the other rows are folded into it; on one that applied none,
    /// nothing changes (the baseline runs); one that applied some is
    /// refused. The table itself is not written.
    pub(crate) fn squash_view(
        &self,
        rows: &mut Vec<HistoryRow>,
        migrations: &[Migration],
    ) -> Result<(), EngineError> {
        for source in self.sources() {
            if !archive_of(&source.path).join(MANIFEST).exists() {
                continue;
            }
            let manifest = read_manifest(&source.path)?;
            for record in &manifest.undone {
                let of = |r: &HistoryRow| record.covers(&source.name, r);
                let built_from_baseline = rows
                    .iter()
                    .filter(|r| of(r))
                    .all(|r| r.id.version.as_str() == record.into && r.name == record.name)
                    && rows.iter().any(of);
                if built_from_baseline && !manifest.squash.iter().any(|s| s.into == record.into) {
                    return Err(EngineError::Refused(format!(
                        "{} was built from the baseline {} {} of a squash that was undone: it never ran the migrations the baseline stood for, which are back now. Squash again (`strata squash --to {} --name {}`) so that it goes on, or rebuild it from the migrations",
                        self.database_display(),
                        record.into,
                        record.name,
                        record.into,
                        record.name
                    )));
                }
            }
            for record in manifest.squash {
                // Squashed again later, a baseline is gone too: its rows
                // are still folded into its own, which the later squash
                // folds in turn.
                let baseline = migrations
                    .iter()
                    .find(|m| m.id.source == source.name && m.id.version.as_str() == record.into);
                let of = |r: &HistoryRow| record.covers(&source.name, r);
                let applied: Vec<&str> = rows
                    .iter()
                    .filter(|r| of(r) && r.status == HistoryStatus::Applied)
                    .map(|r| r.id.version.as_str())
                    .collect();
                // None applied: the baseline runs. Only its own version:
                // the database was built from the baseline.
                if applied.is_empty() || applied == [record.into.as_str()] {
                    continue;
                }
                if applied.len() < record.versions.len() {
                    let missing: Vec<&String> = record
                        .versions
                        .iter()
                        .filter(|v| !applied.contains(&v.as_str()))
                        .collect();
                    return Err(EngineError::Refused(format!(
                        "{}: {} of the {} migrations of source {} squashed into {} ({}) are applied here, and {} not ({}): strata does not guess what the baseline would do to it. Bring it to all of them first with the archived files (`strata squash --undo`, `strata up --to {}`, then squash again), or to none",
                        self.database_display(),
                        applied.len(),
                        record.versions.len(),
                        source.name,
                        record.into,
                        baseline.map_or(record.name.clone(), |b| self.display_path(&b.path)),
                        missing.len(),
                        missing
                            .iter()
                            .map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        record.into
                    )));
                }
                rows.retain(|r| !of(r) || r.id.version.as_str() == record.into);
                if let Some(baseline) = baseline
                    && let Some(row) = rows.iter_mut().find(|r| r.id == baseline.id)
                {
                    row.checksum = baseline.checksum.clone();
                    row.name = baseline.name.clone();
                }
            }
        }
        Ok(())
    }

    /// Keeps another tool's history (`keep_foreign_history`) as the squash
    /// left the files: on a database that applied every squashed
    /// migration, the tool's rows for them become one row for the
    /// baseline, as the tool would have it had it run the baseline; after
    /// `--undo`, they are written back. Done by a run, under its lock, and
    /// logged; a history already so is left alone.
    pub(crate) async fn reconcile_foreign_histories(
        &self,
        driver: &mut dyn strata_driver::Driver,
        all_history: &[HistoryRow],
        migrations: &[Migration],
    ) -> Result<(), EngineError> {
        for source in self
            .sources()
            .iter()
            .filter(|s| self.keeps_foreign_history(&s.name))
        {
            if !archive_of(&source.path).join(MANIFEST).exists() {
                continue;
            }
            let Some(tool) = strata_discover::format(&source.format).and_then(|f| f.history())
            else {
                continue;
            };
            let dialect = driver.capabilities().dialect;
            let Some(rows) = driver.query_text(&tool.query(dialect)).await? else {
                continue;
            };
            let recorded = tool.read(&rows, migrations, &source.name).applied;
            let has = |v: &str| recorded.iter().any(|r| tool.key(r) == tool.key(v));
            let all_applied = |record: &SquashRecord| {
                let applied = all_history
                    .iter()
                    .filter(|r| {
                        r.status == HistoryStatus::Applied && record.covers(&source.name, r)
                    })
                    .count();
                applied == record.versions.len()
            };
            let migration = |v: &str| {
                migrations
                    .iter()
                    .find(|m| m.id.source == source.name && m.id.version.as_str() == v)
            };
            let manifest = read_manifest(&source.path)?;
            for record in &manifest.squash {
                let others = &record.versions[..record.versions.len() - 1];
                let Some(baseline) = migration(&record.into) else {
                    continue;
                };
                if !all_applied(record) || !others.iter().any(|v| has(v)) {
                    continue;
                }
                // The tool's rows of the squashed migrations go; the
                // baseline's is written as the tool writes one.
                let mut changes: Vec<ForeignChange> = record
                    .versions
                    .iter()
                    .filter(|v| has(v))
                    .map(|v| ForeignChange::removed(&source.name, v, record))
                    .collect();
                changes.push(ForeignChange::added(self, baseline));
                let detail = format!(
                    "{}'s history: {} rows of migrations squashed into {} became its one",
                    source.format,
                    changes.len() - 1,
                    record.into
                );
                self.write_foreign(driver, tool, baseline, &changes, detail)
                    .await?;
            }
            for record in &manifest.undone {
                let present: Option<Vec<&Migration>> =
                    record.versions.iter().map(|v| migration(v)).collect();
                let Some(present) = present else { continue };
                let others = &record.versions[..record.versions.len() - 1];
                if !all_applied(record) || others.iter().all(|v| has(v)) {
                    continue;
                }
                let last = present[present.len() - 1];
                // The baseline's row goes, by the baseline's name.
                let mut changes = vec![ForeignChange {
                    name: record.name.clone(),
                    ..ForeignChange::removed(&source.name, &record.into, record)
                }];
                changes.extend(
                    present
                        .iter()
                        .filter(|m| !has(m.id.version.as_str()) || m.id == last.id)
                        .map(|m| ForeignChange::added(self, m)),
                );
                let detail = format!(
                    "{}'s history: the squash into {} was undone, its migrations' rows written back",
                    source.format, record.into
                );
                self.write_foreign(driver, tool, last, &changes, detail)
                    .await?;
            }
        }
        Ok(())
    }

    /// Writes `changes` to a tool's history in one transaction, with a
    /// line in strata's log (on `about`).
    async fn write_foreign(
        &self,
        driver: &mut dyn strata_driver::Driver,
        tool: &dyn strata_discover::ToolHistory,
        about: &Migration,
        changes: &[ForeignChange],
        detail: String,
    ) -> Result<(), EngineError> {
        let dialect = driver.capabilities().dialect;
        let foreign = changes
            .iter()
            .flat_map(|c| {
                tool.record(&strata_discover::Change {
                    applying: c.applying,
                    id: &c.id,
                    name: &c.name,
                    raw: &c.raw,
                    path: c.path.as_deref(),
                    current: Some(&about.id.version),
                    dialect,
                })
            })
            .collect();
        let log = strata_model::LogEntry {
            seq: 0,
            id: about.id.clone(),
            name: about.name.clone(),
            action: strata_model::LogAction::Repair,
            status: HistoryStatus::Applied,
            checksum: Some(about.checksum.clone()),
            batch: 0,
            at: Timestamp::now(),
            duration_ms: None,
            applied_by: strata_driver::os_identity(),
            strata_version: strata_model::STRATA_VERSION.into(),
            environment: self.env_name.clone(),
            detail: Some(detail),
        };
        driver
            .write_history(&strata_driver::HistoryWrite {
                upsert: None,
                delete: None,
                log,
                foreign,
            })
            .await?;
        Ok(())
    }

    pub(crate) fn keeps_foreign_history(&self, source: &str) -> bool {
        self.project
            .config
            .sources
            .iter()
            .any(|s| s.name == source && s.keep_foreign_history)
    }

    /// Whether `id` is the baseline of a squash (it has no down: what it
    /// stands for was never reverted as one).
    pub(crate) fn is_squash_baseline(&self, id: &strata_model::MigrationId) -> bool {
        self.sources()
            .iter()
            .filter(|s| s.name == id.source)
            .filter_map(|s| read_manifest(&s.path).ok())
            .any(|m| m.squash.iter().any(|r| r.into == id.version.as_str()))
    }

    /// Whether a source was squashed (its history is read through
    /// [`Engine::squash_view`]).
    pub(crate) fn has_squashes(&self) -> bool {
        self.sources()
            .iter()
            .any(|s| archive_of(&s.path).join(MANIFEST).exists())
    }
}

/// A row of another tool's history to remove or write.
struct ForeignChange {
    applying: bool,
    id: strata_model::MigrationId,
    name: String,
    /// The file as the tool hashes it (empty for a removal).
    raw: Vec<u8>,
    path: Option<PathBuf>,
}

impl ForeignChange {
    /// The row of `version`, one of those `record` squashed.
    fn removed(source: &str, version: &str, record: &SquashRecord) -> ForeignChange {
        let name = record
            .versions
            .iter()
            .position(|v| v == version)
            .and_then(|i| record.names.get(i))
            .cloned()
            .unwrap_or_default();
        ForeignChange {
            applying: false,
            id: strata_model::MigrationId {
                source: source.to_string(),
                version: strata_model::Version::parse_any(version)
                    .unwrap_or_else(|_| strata_model::Version::named(version, 0)),
            },
            name,
            raw: Vec::new(),
            path: None,
        }
    }

    fn added(engine: &Engine, m: &Migration) -> ForeignChange {
        let path = engine.project.root.join(&m.path);
        ForeignChange {
            applying: true,
            id: m.id.clone(),
            name: m.name.clone(),
            raw: std::fs::read(&path).unwrap_or_else(|_| m.up.sql.as_bytes().to_vec()),
            path: Some(path),
        }
    }
}
