use crate::output;
use crate::printer::{Printer, RED};
use std::process::ExitCode;
use strata_engine::Engine;

pub async fn run(
    engine: &Engine,
    with_database: bool,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let findings = engine.validate(with_database).await?;
    let code = if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if printer.is_json() {
        printer.json(&output::Validate {
            database_checked: with_database,
            findings,
        });
        return Ok(code);
    }
    if printer.format == crate::args::Format::Github {
        use crate::printer::github::{annotation, workspace_path};
        for f in &findings {
            let file = f
                .path
                .as_deref()
                .map(|p| workspace_path(engine.root(), std::path::Path::new(p)));
            printer.summary(annotation(
                "error",
                file.as_deref(),
                f.line,
                &format!("strata validate: {}", f.kind),
                &f.message,
            ));
        }
    }
    for f in findings
        .iter()
        .filter(|_| printer.format != crate::args::Format::Github)
    {
        printer.summary(format!(
            "{}{}{}: {}",
            RED.render(),
            f.kind,
            RED.render_reset(),
            f.message
        ));
    }
    printer.summary(match (findings.len(), with_database) {
        (0, true) => "Valid: the files are well-formed, their PostgreSQL SQL parses, and they agree with the database's history (SQLite and MySQL syntax is checked by `strata up --dry-run`).".to_string(),
        (0, false) => "Valid: the files are well-formed, their PostgreSQL SQL parses, versions are unique and requirements resolve (SQLite and MySQL syntax is checked by `strata up --dry-run`; pass --env to compare with a database).".to_string(),
        (n, _) => format!("{}.", crate::printer::plural(n, "finding")),
    });
    Ok(code)
}
