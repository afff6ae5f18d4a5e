use crate::output;
use crate::printer::{DIM, GREEN, Printer, RED, YELLOW};
use std::process::ExitCode;
use strata_engine::Engine;
use strata_engine::doctor::Level;

pub async fn run(engine: &Engine, printer: &Printer) -> anyhow::Result<ExitCode> {
    let checks = engine.doctor().await?;
    let problems = checks.iter().filter(|c| c.level == Level::Problem).count();
    let code = if problems > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    if printer.is_json() {
        printer.json(&output::Doctor { problems, checks });
        return Ok(code);
    }
    for c in &checks {
        let (style, word) = match c.level {
            Level::Ok => (GREEN, "ok"),
            Level::Warning => (YELLOW, "warning"),
            Level::Problem => (RED, "problem"),
        };
        let fix = c
            .fix
            .as_deref()
            .map(|f| format!(" {}→ {f}{}", DIM.render(), DIM.render_reset()))
            .unwrap_or_default();
        printer.line(format!(
            "{}{word:<8}{} {:<11} {}{fix}",
            style.render(),
            style.render_reset(),
            c.check,
            c.message
        ));
    }
    let warnings = checks.iter().filter(|c| c.level == Level::Warning).count();
    printer.summary(match (problems, warnings) {
        (0, 0) => "No problems found.".to_string(),
        (0, w) => format!("No problems found; {w} warning(s) to read above."),
        (p, 0) => format!("{p} problem(s) found."),
        (p, w) => format!("{p} problem(s) found, and {w} warning(s)."),
    });
    Ok(code)
}
