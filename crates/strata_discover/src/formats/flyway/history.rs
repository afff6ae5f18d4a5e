//! `flyway_schema_history`: a row per script run, by file name, with
//! baseline markers and undo rows. strata reads it for `adopt`, but cannot
//! keep it: Flyway checks a CRC32 of every script it recorded.

use crate::formats::{Change, ForeignWrite, Recorded, ToolHistory, col, truthy};
use strata_model::{Lane, Migration, Version};
use strata_sql::Dialect;

pub(crate) struct FlywayHistory;

impl ToolHistory for FlywayHistory {
    fn table(&self) -> &'static str {
        "flyway_schema_history"
    }

    fn query(&self, _: Dialect) -> String {
        "SELECT script, type, success, version FROM flyway_schema_history ORDER BY installed_rank"
            .into()
    }

    /// Matched by script file name. A `flyway baseline` marker stands for
    /// every version up to its own; a later undo takes a version back; a
    /// repeatable is left to strata to run (Flyway's CRC32 cannot tell
    /// whether it changed since).
    fn read(
        &self,
        rows: &[Vec<Option<String>>],
        migrations: &[Migration],
        source: &str,
    ) -> Recorded {
        let mut recorded = Recorded::default();
        let file_of = |m: &Migration| {
            m.path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
        };
        let mut state: Vec<(String, bool)> = Vec::new();
        for r in rows.iter().filter(|r| truthy(col(r, 2).as_deref())) {
            let script = col(r, 0).unwrap_or_default();
            let kind = col(r, 1).unwrap_or_default();
            let version = col(r, 3);
            if kind == "BASELINE" {
                if let Some(marker) = version.and_then(|v| Version::parse_any(&v).ok()) {
                    for m in migrations
                        .iter()
                        .filter(|m| m.id.version.lane() == Lane::Numbered && m.id.version <= marker)
                    {
                        state.push((m.id.version.to_string(), true));
                    }
                }
                continue;
            }
            if kind.starts_with("UNDO") {
                if let Some(v) = version.and_then(|v| Version::parse_any(&v).ok()) {
                    state.push((v.to_string(), false));
                }
                continue;
            }
            match migrations
                .iter()
                .find(|m| file_of(m).as_deref() == Some(script.as_str()))
            {
                Some(m) if m.id.version.lane() == Lane::Repeatable => {}
                Some(m) => {
                    state.push((m.id.version.to_string(), true));
                    if m.id.version.lane() == Lane::Baseline {
                        for c in migrations
                            .iter()
                            .filter(|c| m.id.version.covers(&c.id.version))
                        {
                            state.push((c.id.version.to_string(), true));
                        }
                    }
                }
                None => recorded.foreign_only.push(format!("{source}/{script}")),
            }
        }
        // The last word on each version counts.
        let mut last: Vec<(String, bool)> = Vec::new();
        for (v, applied_now) in state {
            let k = self.key(&v);
            last.retain(|(x, _)| self.key(x) != k);
            last.push((v, applied_now));
        }
        recorded
            .applied
            .extend(last.into_iter().filter(|(_, a)| *a).map(|(v, _)| v));
        recorded
    }

    fn keepable(&self) -> bool {
        false
    }

    fn record(&self, _: &Change<'_>) -> Vec<ForeignWrite> {
        Vec::new()
    }
}
