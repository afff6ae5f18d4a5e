use crate::output;
use crate::printer::{DIM, GREEN, Printer, RED};
use std::process::ExitCode;
use strata_engine::Engine;

pub async fn run(
    engine: &Engine,
    only: Option<&str>,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let results = engine.verify(only).await?;
    let failed = results.iter().filter(|r| !r.ok).count();
    let code = if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    if printer.is_json() {
        printer.json(&output::Verify { failed, results });
        return Ok(code);
    }
    for r in &results {
        if r.ok {
            printer.line(format!(
                "  {}✓{} {}/{} {}",
                GREEN.render(),
                GREEN.render_reset(),
                r.source,
                r.version,
                r.name
            ));
        } else {
            printer.summary(format!(
                "  {}✗{} {}/{} {}: {} {}({}){}",
                RED.render(),
                RED.render_reset(),
                r.source,
                r.version,
                r.name,
                r.message.as_deref().unwrap_or(""),
                DIM.render(),
                r.location,
                DIM.render_reset()
            ));
        }
    }
    printer.summary(if results.is_empty() {
        "Nothing to verify: no applied migration has a verify section.".to_string()
    } else if failed == 0 {
        format!("Verified {}.", crate::printer::plural(results.len(), "migration"))
    } else {
        format!("{failed} of {} verify check(s) failed; `strata down` reverts a migration, `strata status` shows them all.", results.len())
    });
    Ok(code)
}
