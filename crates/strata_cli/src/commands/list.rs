use crate::printer::{DIM, Printer};
use std::process::ExitCode;
use strata_engine::Engine;

pub fn run(engine: &Engine, printer: &Printer) -> anyhow::Result<ExitCode> {
    let migrations = engine.migrations()?;
    if printer.is_json() {
        let items: Vec<_> = migrations
            .iter()
            .map(|m| {
                serde_json::json!({
                    "source": m.id.source,
                    "version": m.id.version,
                    "name": m.name,
                    "kind": m.kind.as_str(),
                    "path": engine.display_path(&m.path),
                    "has_down": m.down.is_some(),
                    "has_verify": m.verify.is_some(),
                    "transactional": m.tx_mode.is_transactional(),
                    "checksum": m.checksum.hex,
                })
            })
            .collect();
        printer.json(&serde_json::json!({ "migrations": items }));
        return Ok(ExitCode::SUCCESS);
    }
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
    printer.line(format!(
        "{:<width$}  {:<30} {:<5} {:<5} PATH",
        "MIGRATION", "NAME", "DOWN", "TX"
    ));
    for m in &migrations {
        printer.line(format!(
            "{:<width$}  {:<30} {:<5} {:<5} {}{}{}",
            m.id.to_string(),
            m.name,
            if m.down.is_some() { "yes" } else { "no" },
            if m.tx_mode.is_transactional() {
                "yes"
            } else {
                "no"
            },
            DIM.render(),
            engine.display_path(&m.path),
            DIM.render_reset()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
