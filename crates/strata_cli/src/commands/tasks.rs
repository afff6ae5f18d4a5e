use crate::output;
use crate::printer::{DIM, GREEN, Printer, RED, YELLOW, plural};
use std::process::ExitCode;
use strata_engine::{Engine, TaskRequest};

pub async fn list(engine: &Engine, printer: &Printer) -> anyhow::Result<ExitCode> {
    let tasks = engine.task_list().await?;
    if printer.is_json() {
        printer.json(&output::Tasks {
            tasks: tasks
                .iter()
                .map(|t| output::TaskItem::new(engine, t))
                .collect(),
        });
        return Ok(ExitCode::SUCCESS);
    }
    if tasks.is_empty() {
        printer.line(
            "No tasks: a source with kind = \"task\" in strata.toml holds maintenance scripts.",
        );
        return Ok(ExitCode::SUCCESS);
    }
    let width = tasks
        .iter()
        .map(|t| t.task.id().len())
        .max()
        .unwrap_or(0)
        .max(4);
    let described = |t: &strata_engine::TaskInfo| {
        t.task
            .description
            .clone()
            .unwrap_or_else(|| engine.display_path(&t.task.path))
    };
    let names = tasks
        .iter()
        .map(|t| described(t).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(11, 50);
    printer.line(format!(
        "{:<width$}  {:<9} {:<names$}  LAST RUN",
        "TASK", "READONLY", "DESCRIPTION"
    ));
    for t in &tasks {
        let last = match &t.last {
            None => format!("{}never{}", DIM.render(), DIM.render_reset()),
            Some(r) => {
                let (style, how) = match (r.finished_at, r.ok, r.exit_status) {
                    (None, ..) => (YELLOW, "running, or did not finish".to_string()),
                    (Some(_), true, _) => (GREEN, "ok".to_string()),
                    (Some(_), false, Some(code)) => (RED, format!("exit {code}")),
                    (Some(_), false, None) => (RED, "stopped".to_string()),
                };
                format!(
                    "{} {}{how}{} ({})",
                    r.started_at,
                    style.render(),
                    style.render_reset(),
                    plural(t.runs, "run")
                )
            }
        };
        printer.line(format!(
            "{:<width$}  {:<9} {:<names$}  {last}",
            t.task.id(),
            if t.task.readonly { "yes" } else { "no" },
            described(t),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run(
    engine: &Engine,
    request: &TaskRequest,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let reporter = printer.reporter();
    let report = engine.run_task(request, reporter.as_ref()).await?;
    // A read-only check exits 1 for its findings; anything else is a
    // failure.
    let code = match report.run.exit_status {
        Some(0) => ExitCode::SUCCESS,
        Some(1) if report.task.readonly => ExitCode::from(1),
        _ => ExitCode::from(2),
    };
    if printer.is_json() {
        printer.json(&output::TaskRunDoc::new(&report));
        return Ok(code);
    }
    // What it printed was shown as it came.
    let run = &report.run;
    let took = run.duration_ms.unwrap_or(0);
    printer.summary(match (run.ok, run.exit_status) {
        (true, _) => format!(
            "{}✓{} task {} finished in {took} ms",
            GREEN.render(),
            GREEN.render_reset(),
            report.task.id()
        ),
        (false, Some(code)) => format!(
            "{}✗{} task {} exited with status {code} after {took} ms",
            RED.render(),
            RED.render_reset(),
            report.task.id()
        ),
        (false, None) => format!(
            "{}✗{} task {}: {}",
            RED.render(),
            RED.render_reset(),
            report.task.id(),
            run.output.as_deref().unwrap_or("stopped")
        ),
    });
    Ok(code)
}
