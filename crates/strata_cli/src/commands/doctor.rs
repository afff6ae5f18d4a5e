use crate::output;
use crate::printer::{DIM, GREEN, Printer, RED, YELLOW};
use std::process::ExitCode;
use strata_engine::doctor::{Check, Level};
use strata_engine::{Engine, IntegrityCheck, IntegrityOptions, Severity};

pub async fn run(
    engine: &Engine,
    integrity: Option<&IntegrityOptions>,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let mut checks = engine.doctor().await?;
    if let Some(options) = integrity {
        // Only when the database answered: the connection check says why
        // not otherwise.
        if let Ok(found) = engine.integrity(options).await {
            // doctor's own `indexes` check says which are INVALID.
            let found: Vec<_> = found.into_iter().filter(|c| c.check != "index").collect();
            if found.iter().all(|c| c.severity == Severity::Ok) {
                checks.push(Check {
                    check: "integrity",
                    level: Level::Ok,
                    message: format!(
                        "{} checked: the data holds together",
                        crate::printer::plural(found.len(), "object")
                    ),
                    fix: None,
                });
            }
            checks.extend(
                found
                    .into_iter()
                    .filter(|c| c.severity != Severity::Ok)
                    .map(|c| Check {
                        check: "integrity",
                        level: match c.severity {
                            Severity::Warning => Level::Warning,
                            _ => Level::Problem,
                        },
                        message: format!(
                            "{} {}: {}",
                            c.check.replace('_', " "),
                            c.object,
                            with_sample(&c)
                        ),
                        fix: c.fix,
                    }),
            );
        }
    }
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

/// `strata check`: a line per check, a summary; exit 1 on a violation.
pub async fn check(
    engine: &Engine,
    options: &IntegrityOptions,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let checks = engine.integrity(options).await?;
    let count = |s: Severity| checks.iter().filter(|c| c.severity == s).count();
    let (violations, warnings) = (count(Severity::Violation), count(Severity::Warning));
    let code = if violations > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "database": engine.database_display(),
            "violations": violations,
            "warnings": warnings,
            "checks": checks,
        }));
        return Ok(code);
    }
    let mut out = printer.block();
    for c in &checks {
        let (style, mark) = match c.severity {
            Severity::Ok => (GREEN, "✓"),
            Severity::Warning => (YELLOW, "!"),
            Severity::Violation => (RED, "✗"),
        };
        out.line(format!(
            "  {}{mark}{} {} {}: {} {}{} ms{}",
            style.render(),
            style.render_reset(),
            c.check.replace('_', " "),
            c.object,
            with_sample(c),
            DIM.render(),
            c.duration_ms,
            DIM.render_reset()
        ));
        if let Some(fix) = c.fix.as_deref().filter(|_| c.severity != Severity::Ok) {
            out.line(format!(
                "      {}→ {fix}{}",
                DIM.render(),
                DIM.render_reset()
            ));
        }
    }
    drop(out);
    let elapsed = started.elapsed().as_millis();
    printer.summary(match (violations, warnings) {
        (0, 0) => format!(
            "{} checked on {}: the data holds together ({elapsed} ms).",
            crate::printer::plural(checks.len(), "object"),
            engine.database_display()
        ),
        (v, w) => format!(
            "{} checked on {}: {v} violation(s), {w} warning(s) ({elapsed} ms).",
            crate::printer::plural(checks.len(), "object"),
            engine.database_display()
        ),
    });
    Ok(code)
}

/// A check's message, with the few offending rows it found.
fn with_sample(c: &IntegrityCheck) -> String {
    if c.sample.is_empty() {
        return c.message.clone();
    }
    let more = match c.rows {
        Some(n) if n as usize > c.sample.len() => ", ...",
        _ => "",
    };
    format!("{} ({}{more})", c.message, c.sample.join("; "))
}
