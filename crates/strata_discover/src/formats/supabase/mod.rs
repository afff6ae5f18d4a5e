//! Supabase (`supabase/migrations/<timestamp>_<name>.sql`): each file is
//! one migration, its whole text the up body; there is no down.

mod history;

use crate::common::{Parts, finish, problem, read_body, sql_files, version_and_name};
use crate::formats::{DirView, Evidence, Format, NewMigration, Scaffold, ToolHistory};
use crate::{Diagnostic, Found, SourceSpec};
use strata_model::TxMode;
use strata_sql::EngineKind;

/// Supabase: the whole file is up, there is no down, each file runs in a
/// transaction. Like the Supabase CLI, a `.sql` file whose name does not
/// start with a timestamp is skipped, with a warning.
pub struct SupabaseFormat;

impl Format for SupabaseFormat {
    fn name(&self) -> &'static str {
        "supabase"
    }

    fn scaffold(&self, new: &NewMigration) -> Result<Scaffold, String> {
        let mut scaffold = Scaffold::file(
            format!("{}_{}.sql", new.stamp(), new.slug),
            format!("-- {}\n", new.words()),
        );
        if let Some(sql) = &new.sql {
            sql.in_transaction("supabase")?;
            scaffold.files[0]
                .1
                .push_str(&format!("{}\n", sql.up.trim_end()));
            scaffold.note = sql.down_dropped("supabase");
        }
        Ok(scaffold)
    }

    fn detect(&self, dir: &DirView) -> Option<Evidence> {
        (dir.versioned() > 0 && !dir.pairs() && dir.dir.ends_with("supabase/migrations")).then_some(
            Evidence::Certain {
                engine: Some(EngineKind::Postgres),
            },
        )
    }

    fn history(&self) -> Option<&dyn ToolHistory> {
        Some(&history::SupabaseHistory)
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let mut migrations = Vec::new();
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        for (path, stem) in sql_files(source)? {
            let Some((version, name)) = version_and_name(&stem, &[]) else {
                warnings.push(problem(
                    &path,
                    0,
                    "skipped: the name is not `<timestamp>_<name>.sql`, so the Supabase CLI does not run it either",
                    "rename it (e.g. 20240101120000_add_users.sql) to make it a migration",
                ));
                continue;
            };
            match read_body(&path) {
                Ok(up) => migrations.push(
                    Parts {
                        version,
                        name,
                        up,
                        down: None,
                        tx_mode: TxMode::Transaction,
                        unsupported: None,
                        path,
                    }
                    .build(source),
                ),
                Err(d) => problems.push(d),
            }
        }
        finish(migrations, problems, warnings)
    }
}
