use crate::args::{Global, SchemaAction};
use crate::printer::{DIM, GREEN, Printer, RED, YELLOW};
use std::process::ExitCode;
use strata_engine::{Engine, MigrationState, Replay};
use strata_schema::{Change, Difference, Schema};

pub async fn run(g: &Global, action: &SchemaAction, printer: &Printer) -> anyhow::Result<ExitCode> {
    match action {
        SchemaAction::Dump => {
            let engine = super::load(g)?;
            super::existing_sqlite(&engine)?;
            let schema = engine.schema().await?;
            if printer.is_json() {
                printer.json(&schema);
            } else {
                // The command's product: printed under --quiet too.
                printer.summary(strata_schema::dump(&schema).trim_end());
            }
            Ok(ExitCode::SUCCESS)
        }
        SchemaAction::Diff {
            from,
            to,
            sql,
            scratch_url,
        } => {
            let (mut from_side, mut to_side) = (side(g, from)?, side(g, to)?);
            if let (Some(x), Some(y)) = (from_side.database(), to_side.database())
                && x.database()?.engine() != y.database()?.engine()
            {
                anyhow::bail!(
                    "{} is {} and {} is {}: schema diff compares schemas of one engine",
                    x.database_display(),
                    x.database()?.engine(),
                    y.database_display(),
                    y.database()?.engine()
                );
            }
            // Scratch databases go beside the other side's database, or the
            // project's when neither side is a database.
            let mut project = match (from_side.database(), to_side.database()) {
                (None, None) => Some(super::load(g)?),
                _ => None,
            };
            if let Some(url) = scratch_url
                && let Some(engine) = from_side
                    .database_mut()
                    .or(to_side.database_mut())
                    .or(project.as_mut())
            {
                engine.use_scratch_url(url.clone());
            }
            let beside = from_side
                .database()
                .or(to_side.database())
                .or(project.as_ref())
                .expect("an engine is loaded");
            let (from_name, a) = schema_of(&from_side, beside).await?;
            let (to_name, b) = schema_of(&to_side, beside).await?;
            let differences = strata_schema::diff(&a, &b);
            if *sql {
                let migration = beside.migration(&a, &b)?;
                if printer.is_json() {
                    printer.json(&serde_json::json!({
                        "from": from_name,
                        "to": to_name,
                        "steps": migration.steps,
                        "notes": migration.notes,
                    }));
                } else if differences.is_empty() {
                    printer.summary(format!(
                        "-- No differences between {from_name} and {to_name}."
                    ));
                } else {
                    printer.summary(format!(
                        "-- From {from_name} to {to_name}: {} statement(s), {} destructive.\n{}",
                        migration.steps.len(),
                        migration
                            .steps
                            .iter()
                            .filter(|s| s.destructive.is_some())
                            .count(),
                        migration.script().trim_end()
                    ));
                }
                return Ok(exit(&differences));
            }
            if printer.is_json() {
                printer.json(&serde_json::json!({
                    "from": from_name,
                    "to": to_name,
                    "differences": differences,
                }));
            } else if differences.is_empty() {
                printer.summary(format!("No differences between {from_name} and {to_name}."));
            } else {
                print_differences(printer, &differences);
                printer.summary(format!(
                    "{} difference(s) from {from_name} to {to_name}: + only in the second, - only in the first, ~ made differently.",
                    differences.len()
                ));
            }
            Ok(exit(&differences))
        }
    }
}

/// Whether the database is what its applied migrations build.
pub async fn drift(engine: &Engine, printer: &Printer) -> anyhow::Result<ExitCode> {
    let (entries, _) = engine.status().await?;
    let unsettled = strata_plan::unsettled(&entries);
    if !unsettled.is_empty() {
        anyhow::bail!(
            "{} migration(s) are not as their files say here ({}): drift replays the files, so that difference would show as drift; settle them first (`strata status` says how: `strata up`, `strata repair`)",
            unsettled.len(),
            unsettled.join(", ")
        );
    }
    // The replay stops after the last applied migration: those after it
    // are not applied here yet.
    let last = entries
        .iter()
        .rposition(|e| e.state == MigrationState::Applied);
    if let (Some(last), Some(gap)) = (
        last,
        entries
            .iter()
            .position(|e| e.state != MigrationState::Applied),
    ) && gap < last
    {
        anyhow::bail!(
            "{} is not applied here but {} after it is: drift replays the migrations in order up to the last applied one, and cannot leave one out; apply it (`strata up`) first",
            entries[gap].id,
            entries[last].id
        );
    }
    let applied_count = last.map_or(0, |i| i + 1);
    let through = last.map(|i| entries[i].id.to_string());
    let replay = match (last, &through) {
        (None, _) => Replay::Nothing,
        (Some(i), Some(id)) if i + 1 < entries.len() => Replay::Through(id),
        _ => Replay::All,
    };
    let live = engine.schema().await?;
    let built = engine.migrations_schema(replay).await?;
    let differences = strata_schema::diff(&built, &live);
    let database = engine.database_display();
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "database": database,
            "drift": !differences.is_empty(),
            "differences": differences,
        }));
    } else if differences.is_empty() {
        printer.summary(format!(
            "No drift: {database} has the schema its {applied_count} applied migration(s) build."
        ));
    } else {
        print_differences(printer, &differences);
        printer.summary(format!(
            "Drift: {} difference(s) between what the migrations build and {database}: + only in the database (made outside the migrations), - missing from it, ~ changed.",
            differences.len()
        ));
    }
    Ok(exit(&differences))
}

/// 1 when there are differences.
fn exit(differences: &[Difference]) -> ExitCode {
    if differences.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// One line per difference (`+`, `-`, `~`), a changed table's details
/// under it.
fn print_differences(printer: &Printer, differences: &[Difference]) {
    let mut out = printer.block();
    for line in difference_lines(differences) {
        out.line(line);
    }
}

/// The lines [`print_differences`] prints, colored.
pub(super) fn difference_lines(differences: &[Difference]) -> Vec<String> {
    let mut lines = Vec::new();
    for d in differences {
        let (mark, style) = match d.change {
            Change::Added => ("+", GREEN),
            Change::Removed => ("-", RED),
            Change::Changed => ("~", YELLOW),
        };
        lines.push(format!(
            "{}{mark} {} {}{}",
            style.render(),
            d.kind,
            d.name,
            style.render_reset()
        ));
        for detail in &d.details {
            lines.push(format!(
                "    {}{detail}{}",
                DIM.render(),
                DIM.render_reset()
            ));
        }
    }
    lines
}

/// What a side of `schema diff` is.
pub(super) enum Side {
    Database(Box<Engine>),
    /// The project's migrations, replayed.
    Migrations,
    /// SQL files: a desired state.
    Sql(std::path::PathBuf),
}

impl Side {
    fn database(&self) -> Option<&Engine> {
        match self {
            Side::Database(engine) => Some(engine),
            _ => None,
        }
    }

    fn database_mut(&mut self) -> Option<&mut Engine> {
        match self {
            Side::Database(engine) => Some(engine),
            _ => None,
        }
    }
}

/// A side: `env:NAME`, a database URL, `migrations`, or a SQL file or
/// directory.
pub(super) fn side(g: &Global, side: &str) -> anyhow::Result<Side> {
    let side_global = if side == "migrations" {
        return Ok(Side::Migrations);
    } else if let Some(env) = side.strip_prefix("env:") {
        Global {
            env: Some(env.to_string()),
            database_url: None,
            ..g.clone()
        }
    } else if side.contains("://") || side.starts_with("sqlite:") {
        Global {
            database_url: Some(side.to_string()),
            ..g.clone()
        }
    } else if std::path::Path::new(side).exists() {
        return Ok(Side::Sql(side.into()));
    } else {
        anyhow::bail!(
            "`{side}` is not a file or directory here; a schema is named by `env:NAME`, a database URL, `migrations` (for `schema diff`), or a SQL file or directory"
        );
    };
    let engine = super::load(&side_global)?;
    super::existing_sqlite(&engine).map_err(|e| anyhow::anyhow!("`{side}`: {e}"))?;
    Ok(Side::Database(Box::new(engine)))
}

/// A side's schema and how it is shown (passwords hidden); the migrations
/// and SQL files are applied to a scratch database beside `beside`'s.
pub(super) async fn schema_of(side: &Side, beside: &Engine) -> anyhow::Result<(String, Schema)> {
    Ok(match side {
        Side::Database(engine) => (engine.database_display(), engine.schema().await?),
        Side::Migrations => (
            "the migrations".into(),
            beside.migrations_schema(Replay::All).await?,
        ),
        Side::Sql(path) => (path.display().to_string(), beside.sql_schema(path).await?),
    })
}
