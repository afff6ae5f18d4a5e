use crate::printer::{DIM, GREEN, Printer, YELLOW};
use anyhow::bail;
use std::process::ExitCode;
use strata_engine::Engine;

pub async fn run(
    engine: &Engine,
    from: &str,
    dry_run: bool,
    keep: bool,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let Some(tool) = strata_engine::tool(from) else {
        bail!(
            "strata cannot adopt from `{from}`; it knows {}",
            strata_engine::tool_names().join(", ")
        );
    };
    let reporter = printer.reporter();
    let report = if keep {
        engine.adopt_and_keep(tool, reporter.as_ref()).await?
    } else {
        engine.adopt(tool, dry_run, reporter.as_ref()).await?
    };
    if printer.is_json() {
        printer.json(&report);
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if dry_run { "would adopt" } else { "adopted" };
    let list = |title: &str, style: anstyle::Style, items: &[String]| {
        if items.is_empty() {
            return;
        }
        printer.line(format!(
            "{}{title}{} ({}):",
            style.render(),
            style.render_reset(),
            items.len()
        ));
        for i in items {
            printer.line(format!("  {i}"));
        }
    };
    list(verb, GREEN, &report.adopted);
    list("already in strata's history", DIM, &report.already);
    list(
        &format!("in {}'s history but with no file here", report.tool),
        YELLOW,
        &report.foreign_only,
    );
    list(
        &format!(
            "marked failed or dirty by {} (not adopted; check the database)",
            report.tool
        ),
        YELLOW,
        &report.dirty,
    );
    list("pending (`strata up` applies them)", DIM, &report.pending);
    printer.summary(format!(
        "{} {} migration(s) from {} into source {}{}",
        if dry_run { "Would adopt" } else { "Adopted" },
        report.adopted.len(),
        report.tool,
        report.source,
        if dry_run {
            "; nothing was written (--dry-run)"
        } else {
            ""
        }
    ));
    if keep {
        printer.summary(format!(
            "strata.toml now keeps {}'s history for source {} (keep_foreign_history = true)",
            report.tool, report.source
        ));
    }
    Ok(ExitCode::SUCCESS)
}
