//! Prisma: `prisma/migrations/<dir>/migration.sql` with
//! `migration_lock.toml`; no down.

mod history;

use crate::common::{Parts, finish, problem, read_body, version_and_name};
use crate::formats::{
    DirView, Evidence, Format, NewMigration, Scaffold, ToolHistory, name, versioned,
};
use crate::{Diagnostic, Found, SourceSpec};
use strata_model::TxMode;
use strata_sql::EngineKind;

/// Prisma: the directory name is version and name (`20240101120000_init`,
/// or a short number such as `0_init` for a baseline); Prisma sends the
/// file as one command, and so does strata.
pub struct PrismaFormat;

/// The `provider` of a Prisma `migration_lock.toml`, if there is one.
pub fn prisma_provider(dir: &std::path::Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Lock {
        provider: String,
    }
    let text = std::fs::read_to_string(dir.join("migration_lock.toml")).ok()?;
    toml::from_str::<Lock>(&text).ok().map(|l| l.provider)
}

impl Format for PrismaFormat {
    fn name(&self) -> &'static str {
        "prisma"
    }

    fn scaffold(&self, new: &NewMigration) -> Result<Scaffold, String> {
        let mut scaffold = Scaffold::file(
            format!("{}_{}/migration.sql", new.stamp(), new.slug),
            format!("-- {}\n", new.words()),
        );
        if let Some(sql) = &new.sql {
            sql.in_transaction("prisma")?;
            scaffold.files[0]
                .1
                .push_str(&format!("{}\n", sql.up.trim_end()));
            scaffold.note = sql.down_dropped("prisma");
        }
        Ok(scaffold)
    }

    fn detect(&self, dir: &DirView) -> Option<Evidence> {
        let ours = dir.dir.join("migration_lock.toml").is_file()
            || dir
                .subdirs()
                .any(|d| d.join("migration.sql").is_file() && versioned(name(d)));
        ours.then(|| Evidence::Certain {
            engine: prisma_provider(dir.dir).and_then(|p| EngineKind::parse(&p)),
        })
    }

    fn history(&self) -> Option<&dyn ToolHistory> {
        Some(&history::PrismaHistory)
    }

    fn discover(&self, source: &SourceSpec) -> Result<Found, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut migrations = Vec::new();
        for dir in crate::dirs_sorted(source)? {
            let sql = dir.join("migration.sql");
            if !sql.is_file() {
                warnings.push(problem(
                    &dir,
                    0,
                    "skipped: the directory has no migration.sql",
                    "Prisma would stop here; add the file or remove the directory",
                ));
                continue;
            }
            let dir_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let Some((version, name)) = version_and_name(dir_name, &[]) else {
                problems.push(problem(
                    &dir,
                    0,
                    "the directory name is not `<version>_<name>`",
                    "rename it as `prisma migrate dev` would, e.g. 20240101120000_init",
                ));
                continue;
            };
            match read_body(&sql) {
                Ok(up) => migrations.push(
                    Parts {
                        version,
                        name,
                        up,
                        down: None,
                        tx_mode: TxMode::OneCommand,
                        unsupported: None,
                        path: sql,
                    }
                    .build(source),
                ),
                Err(d) => problems.push(d),
            }
        }
        finish(migrations, problems, warnings)
    }
}
