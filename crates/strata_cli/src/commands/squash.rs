//! `strata squash`: the proof table, what was carried, where the files
//! went; `strata squash --undo`.

use crate::printer::{DIM, GREEN, Printer, YELLOW, plural};
use std::process::ExitCode;
use strata_engine::{Engine, MigrationState, SquashOptions};

pub async fn run(
    engine: &Engine,
    options: &SquashOptions,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let report = engine.squash(options).await?;
    if printer.is_json() {
        printer.json(&report);
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = printer.block();
    out.line("Parity proof: the history and the baseline, each built on a scratch database:");
    out.line(format!(
        "  {:<20} {:>8} {:>8}",
        "KIND", "HISTORY", "BASELINE"
    ));
    let (mut all, mut matching) = (0, 0);
    for row in &report.proof {
        out.line(format!(
            "  {:<20} {:>8} {:>8}",
            row.kind, row.history, row.matching
        ));
        all += row.history;
        matching += row.matching;
    }
    out.line(format!(
        "  {}{matching}/{all} objects match{}",
        GREEN.render(),
        GREEN.render_reset()
    ));
    if let Some(env) = &report.checked_against {
        out.line(format!(
            "  {}{env}: identical to the history{}",
            GREEN.render(),
            GREEN.render_reset()
        ));
    }
    if !report.data_compared.is_empty() {
        out.line(format!(
            "  {}rows of {} identical{}",
            GREEN.render(),
            report.data_compared.join(", "),
            GREEN.render_reset()
        ));
    }
    for c in &report.carried {
        out.line(format!(
            "  carried {}{}{}",
            DIM.render(),
            c.location,
            DIM.render_reset()
        ));
    }
    for d in &report.data_differs {
        out.line(format!(
            "  {}rows differ{} {d}",
            YELLOW.render(),
            YELLOW.render_reset()
        ));
    }
    for c in &report.dropped {
        out.line(format!(
            "  {}left out{} {}: {}",
            YELLOW.render(),
            YELLOW.render_reset(),
            c.location,
            c.refused.as_deref().unwrap_or_default()
        ));
    }
    if let Some(note) = &report.note {
        out.line(format!(
            "  {}{note}{}",
            YELLOW.render(),
            YELLOW.render_reset()
        ));
    }
    drop(out);
    printer.summary(format!(
        "Squashed {} of source {} into {} (version {}); the old files are in {} (SQUASHED.md says which went where). A database that applied them all counts the baseline as applied; `strata squash --undo` brings them back.",
        plural(report.squashed.len(), "migration"),
        report.source,
        report.baseline.join(", "),
        report.version,
        report.archive
    ));
    Ok(ExitCode::SUCCESS)
}

/// `--check-env ENV`: its database's schema, once it is seen to have
/// applied exactly the migrations up to `to` (read only).
pub async fn against(
    g: &crate::args::Global,
    env: &str,
    to: &str,
) -> anyhow::Result<(String, strata_schema::Schema)> {
    let engine = super::load(&crate::args::Global {
        env: Some(env.to_string()),
        database_url: None,
        ..g.clone()
    })?;
    let (entries, _) = engine.status().await?;
    let last = entries
        .iter()
        .position(|e| e.id.version.as_str() == to)
        .ok_or_else(|| anyhow::anyhow!("--to {to}: no migration of that version"))?;
    let applied = |e: &&strata_plan::StatusEntry| e.state == MigrationState::Applied;
    let not_yet: Vec<String> = entries[..=last]
        .iter()
        .filter(|e| !applied(e))
        .map(|e| e.id.to_string())
        .collect();
    let beyond: Vec<String> = entries[last + 1..]
        .iter()
        .filter(applied)
        .map(|e| e.id.to_string())
        .collect();
    if !not_yet.is_empty() || !beyond.is_empty() {
        anyhow::bail!(
            "--check-env {env}: {} has not applied exactly the migrations up to {to} (not applied: {}; applied after: {}), so its schema is not what they build; choose an environment that stands at {to}",
            engine.database_display(),
            if not_yet.is_empty() {
                "none".to_string()
            } else {
                not_yet.join(", ")
            },
            if beyond.is_empty() {
                "none".to_string()
            } else {
                beyond.join(", ")
            }
        );
    }
    Ok((
        format!("environment {env} ({})", engine.database_display()),
        engine.schema().await?,
    ))
}

pub fn undo(engine: &Engine, printer: &Printer) -> anyhow::Result<ExitCode> {
    let record = engine.unsquash()?;
    if printer.is_json() {
        printer.json(&record);
    } else {
        printer.summary(format!(
            "Undid the squash into {} {}: {} back, the baseline removed.",
            record.into,
            record.name,
            plural(record.moved.len(), "file")
        ));
    }
    Ok(ExitCode::SUCCESS)
}
