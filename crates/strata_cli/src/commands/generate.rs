//! `strata generate NAME --from STATE`: a migration written from a desired
//! state (SQL files, or a database changed by hand) instead of by hand:
//! the project's migrations are replayed on a scratch database, compared
//! with the state, and the difference written in the target source's
//! format, with the reverse difference as its down.

use super::new::{slug, target_source, write_new};
use super::schema::{Side, schema_of, side};
use crate::args::Global;
use crate::printer::{Printer, YELLOW};
use std::process::ExitCode;
use strata_engine::{Bodies, Replay};
use strata_model::Timestamp;
use strata_schema::{Migration, Schema, Step, objects};

pub async fn run(
    g: &Global,
    name: &str,
    from: &str,
    scratch_url: Option<&str>,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let slug = slug(name)?;
    let mut engine = super::load(g)?;
    if let Some(url) = scratch_url {
        engine.use_scratch_url(url.to_string());
    }
    let source = target_source(&engine, true)?.clone();
    let desired_side = side(g, from)?;
    if let Side::Migrations = desired_side {
        anyhow::bail!(
            "--from names the state to reach: SQL files (a file or directory), `env:NAME` or a database URL; the migrations are what it is compared with"
        );
    }
    if let Side::Database(other) = &desired_side
        && other.database()?.engine() != engine.database()?.engine()
    {
        anyhow::bail!(
            "{} is {} and the project's database is {}: generate writes migrations from a schema of the same engine",
            other.database_display(),
            other.database()?.engine(),
            engine.database()?.engine()
        );
    }
    let (desired_name, desired) = schema_of(&desired_side, &engine).await?;
    let current = engine.migrations_schema(Replay::All).await?;
    let differences = strata_schema::diff(&current, &desired);
    if differences.is_empty() {
        if printer.is_json() {
            printer.json(&serde_json::json!({"created": [], "differences": 0}));
        } else {
            printer.summary(format!(
                "Nothing to generate: the migrations already build {desired_name}."
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let forward = engine.migration(&current, &desired)?;
    let backward = engine.migration(&desired, &current)?;
    let dialect = engine.database()?.engine().dialect();
    let format = strata_engine::format(&source.format)
        .ok_or_else(|| anyhow::anyhow!("source {} has an unknown format", source.name))?;
    // What the source's format can hold: a migration outside a
    // transaction, for the concurrent index builds.
    let holds = |transaction: bool| {
        format.scaffold(&strata_engine::NewMigration {
            source: &source,
            slug: &slug,
            at: Timestamp::now(),
            sql: Some(Bodies {
                up: "",
                down: None,
                transaction,
            }),
            version: None,
        })
    };
    let mut parts = if dialect == strata_sql::Dialect::Postgres && holds(false).is_ok() {
        concurrently(&current, &desired, forward, backward)
    } else {
        vec![(forward, backward)]
    };
    if dialect == strata_sql::Dialect::Postgres && holds(false).is_err() {
        parts[0].0.notes.push(format!(
            "indexes are built without CONCURRENTLY: {} runs each migration in a transaction (a plain build blocks writes to its table while it runs)",
            source.format
        ));
    }
    // Refused before anything is written.
    for (up, down) in &parts {
        let transaction = up
            .steps
            .iter()
            .chain(&down.steps)
            .all(|s| s.outside_transaction.is_none());
        holds(transaction).map_err(anyhow::Error::msg)?;
    }
    let mut at = Timestamp::now();
    let mut created = Vec::new();
    for (i, (up, down)) in parts.iter().enumerate() {
        let part_slug = if i == 0 {
            slug.clone()
        } else {
            format!("{slug}_concurrently")
        };
        let (up_sql, down_sql) = (up.script(), down.script());
        let transaction = up
            .steps
            .iter()
            .chain(&down.steps)
            .all(|s| s.outside_transaction.is_none());
        let (scaffold, made_at) = write_new(&engine, &source, at, |at| {
            let new = strata_engine::NewMigration {
                source: &source,
                slug: &part_slug,
                at,
                sql: Some(Bodies {
                    up: &up_sql,
                    down: (!down.steps.is_empty()).then_some(down_sql.as_str()),
                    transaction,
                }),
                version: None,
            };
            format.scaffold(&new).map_err(anyhow::Error::msg)
        })?;
        // The next part comes after this one.
        at = Timestamp::from_unix_millis(made_at.unix_millis() + 1000);
        let path = engine.display_path(&source.path.join(&scaffold.files[0].0));
        let destructive = up.steps.iter().filter(|s| s.destructive.is_some()).count();
        created.push(serde_json::json!({
            "path": path,
            "source": source.name,
            "statements": up.steps.len(),
            "destructive": destructive,
            "transaction": transaction,
            "note": scaffold.note,
        }));
        if !printer.is_json() {
            printer.summary(format!(
                "created {path}: {} statement(s){}{}",
                up.steps.len(),
                if destructive > 0 {
                    format!(", {destructive} destructive (marked in the file)")
                } else {
                    String::new()
                },
                if transaction {
                    ""
                } else {
                    ", run outside a transaction"
                }
            ));
            if let Some(note) = &scaffold.note {
                printer.line(format!(
                    "  {}{note}{}",
                    YELLOW.render(),
                    YELLOW.render_reset()
                ));
            }
            for note in &up.notes {
                printer.line(format!("  note: {note}"));
            }
        }
    }
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "created": created,
            "differences": differences.len(),
        }));
    } else {
        printer.line(format!(
            "From the migrations to {desired_name}: {} difference(s). Read it; `strata test` proves its down undoes it, `strata up` applies it.",
            differences.len()
        ));
        // The database it was read from has the change already.
        if let Side::Database(_) = desired_side {
            let at = from.strip_prefix("env:").map_or_else(
                || "--database-url URL".to_string(),
                |env| format!("--env {env}"),
            );
            printer.line(format!(
                "{desired_name} has these changes already: there, record the new migration as applied without running it (`strata baseline <its version> {at}`)."
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// On PostgreSQL, an index added to a table that exists already is built
/// with `CREATE INDEX CONCURRENTLY` (writes to the table go on while it is
/// built), which cannot run in a transaction: such indexes go to a second
/// migration of their own, run outside one, whose down drops them
/// concurrently too. The parts in order, each an up and its down.
fn concurrently(
    current: &Schema,
    desired: &Schema,
    forward: Migration,
    backward: Migration,
) -> Vec<(Migration, Migration)> {
    let before = objects(current);
    let existing = |table: &str| {
        before
            .iter()
            .any(|o| matches!(o.kind, "table" | "materialized view") && o.name == table)
    };
    let new_indexes: Vec<_> = objects(desired)
        .into_iter()
        .filter(|o| {
            o.kind == "index"
                && o.on.as_deref().is_some_and(existing)
                && !before.iter().any(|b| b.kind == "index" && b.sql == o.sql)
        })
        .collect();
    let (moved, kept): (Vec<Step>, Vec<Step>) = forward
        .steps
        .into_iter()
        .partition(|s| new_indexes.iter().any(|o| o.sql == s.sql));
    if moved.is_empty() {
        return vec![(
            Migration {
                steps: kept,
                notes: forward.notes,
            },
            backward,
        )];
    }
    let (dropped, kept_down): (Vec<Step>, Vec<Step>) = backward
        .steps
        .into_iter()
        .partition(|s| new_indexes.iter().any(|o| o.drop == s.sql));
    let why = "CREATE INDEX CONCURRENTLY builds the index while writes to its table go on, and cannot run in a transaction";
    let concurrent = |steps: Vec<Step>, from: &str, to: &str, why: &str| Migration {
        steps: steps
            .into_iter()
            .map(|s| Step {
                sql: s.sql.replacen(from, to, 1),
                destructive: s.destructive,
                outside_transaction: Some(why.into()),
            })
            .collect(),
        notes: Vec::new(),
    };
    let built = {
        let mut m = concurrent(moved, " INDEX ", " INDEX CONCURRENTLY ", why);
        m.steps.iter_mut().for_each(|s| {
            if s.sql.starts_with("CREATE UNIQUE INDEX CONCURRENTLY") {
                s.outside_transaction = Some(format!("{why}; if it fails (a duplicate), it leaves an INVALID index: drop it before running this again"));
            }
        });
        m
    };
    let mut parts = Vec::new();
    if !kept.is_empty() {
        parts.push((
            Migration {
                steps: kept,
                notes: forward.notes,
            },
            Migration {
                steps: kept_down,
                notes: backward.notes,
            },
        ));
    }
    let dropped = concurrent(
        dropped,
        "DROP INDEX ",
        "DROP INDEX CONCURRENTLY ",
        "DROP INDEX CONCURRENTLY waits for the queries using the index instead of blocking the table, and cannot run in a transaction",
    );
    parts.push((built, dropped));
    parts
}
