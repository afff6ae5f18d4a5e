use crate::printer::Printer;
use anyhow::Context;
use std::process::ExitCode;
use strata_engine::{CONFIG_FILE, initial_config};

/// Writes strata.toml and migrations/ in the current directory; asks
/// nothing, changes nothing that exists.
pub fn run(printer: &Printer) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let config = cwd.join(CONFIG_FILE);
    let migrations = cwd.join("migrations");
    let mut created = Vec::new();
    let mut kept = Vec::new();
    if config.exists() {
        kept.push(CONFIG_FILE);
    } else {
        std::fs::write(&config, initial_config())
            .with_context(|| format!("cannot write {}", config.display()))?;
        created.push(CONFIG_FILE);
    }
    if migrations.is_dir() {
        kept.push("migrations/");
    } else {
        std::fs::create_dir_all(&migrations)
            .with_context(|| format!("cannot create {}", migrations.display()))?;
        created.push("migrations/");
    }
    if printer.is_json() {
        printer.json(&serde_json::json!({ "created": created, "kept": kept }));
        return Ok(ExitCode::SUCCESS);
    }
    for c in &created {
        printer.line(format!("created {c}"));
    }
    for k in &kept {
        printer.line(format!("kept {k} (it already exists)"));
    }
    if created.contains(&CONFIG_FILE) {
        printer.line("The development environment is a SQLite file, strata.db. Next:");
        printer.line("  strata new create_users    # write a migration");
        printer.line("  strata up                  # apply it");
    }
    Ok(ExitCode::SUCCESS)
}
