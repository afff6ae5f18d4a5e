//! `strata squash`: the proof table, what was carried, where the files
//! went; `strata squash --undo`.

use crate::printer::{DIM, GREEN, Printer, YELLOW, plural};
use std::process::ExitCode;
use strata_engine::{Engine, SquashOptions};

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
    out.line(format!(
        "Parity proof: the history and the baseline, each built on a scratch database:"
    ));
    out.line(format!("  {:<20} {:>8} {:>8}", "KIND", "HISTORY", "BASELINE"));
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
        out.line(format!("  {}{note}{}", YELLOW.render(), YELLOW.render_reset()));
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
