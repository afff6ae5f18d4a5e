use crate::output;
use crate::printer::{DIM, Printer};
use std::process::ExitCode;
use strata_engine::Engine;

pub fn run(engine: &Engine, printer: &Printer) -> anyhow::Result<ExitCode> {
    let found = engine.migrations()?;
    let migrations = &found.migrations;
    if printer.is_json() {
        printer.json(&output::List {
            migrations: migrations
                .iter()
                .map(|m| output::ListItem::new(engine, m))
                .collect(),
            warnings: found.warnings.iter().map(ToString::to_string).collect(),
        });
        return Ok(ExitCode::SUCCESS);
    }
    printer.warnings(&found.warnings);
    if migrations.is_empty() {
        printer.line("No migrations yet; `strata new NAME` writes one.");
        return Ok(ExitCode::SUCCESS);
    }
    let width = migrations
        .iter()
        .map(|m| m.id.to_string().len())
        .max()
        .unwrap_or(0)
        .max(9);
    let names = migrations
        .iter()
        .map(|m| m.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(30);
    printer.line(format!(
        "{:<width$}  {:<names$} {:<5} {:<7} {:<15} PATH",
        "MIGRATION", "NAME", "DOWN", "VERIFY", "RUNS"
    ));
    for m in migrations {
        let runs = match &m.unsupported {
            Some(_) => "not by strata",
            None => m.tx_mode.as_str(),
        };
        printer.line(format!(
            "{:<width$}  {:<names$} {:<5} {:<7} {:<15} {}{}{}",
            m.id.to_string(),
            m.name,
            if m.down.is_some() { "yes" } else { "no" },
            if m.verify.is_some() { "yes" } else { "no" },
            runs,
            DIM.render(),
            engine.display_path(&m.path),
            DIM.render_reset()
        ));
        if let Some(reason) = &m.unsupported {
            printer.line(format!(
                "{:<width$}  {}{reason}{}",
                "",
                DIM.render(),
                DIM.render_reset()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}
