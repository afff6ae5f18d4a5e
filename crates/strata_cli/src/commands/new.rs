use crate::printer::Printer;
use anyhow::{Context, bail};
use std::process::ExitCode;
use strata_engine::Engine;
use strata_model::Timestamp;

const TEMPLATE: &str = "-- strata:up\n\n\n-- strata:down\n\n\n-- strata:verify\n\n";

/// Writes `<UTC yyyymmddhhmmss>_<name>.sql` into the first strata-format
/// source (or `--source`).
pub fn run(engine: &Engine, name: &str, printer: &Printer) -> anyhow::Result<ExitCode> {
    let slug: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    if slug.is_empty() {
        bail!(
            "`{name}` has no letters or digits to name a migration with; try e.g. `strata new create_users`"
        );
    }
    let Some(source) = engine.sources().iter().find(|s| s.format == "strata") else {
        bail!(
            "no source of format `strata` to write into; add a [[source]] with format = \"strata\" to strata.toml"
        );
    };
    std::fs::create_dir_all(&source.path)
        .with_context(|| format!("cannot create {}", source.path.display()))?;
    let taken: Vec<String> = std::fs::read_dir(&source.path)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.split('_').next())
                .map(str::to_string)
        })
        .collect();
    // Two files made within one second get consecutive versions.
    let mut at = Timestamp::now();
    while taken.contains(&at.compact()) {
        at = Timestamp::from_unix_millis(at.unix_millis() + 1000);
    }
    let path = source.path.join(format!("{}_{slug}.sql", at.compact()));
    std::fs::write(&path, TEMPLATE).with_context(|| format!("cannot write {}", path.display()))?;
    let shown = engine.display_path(&path);
    if printer.is_json() {
        printer.json(&serde_json::json!({ "created": shown, "source": source.name, "version": at.compact(), "name": slug }));
    } else {
        printer.summary(format!("created {shown}"));
    }
    Ok(ExitCode::SUCCESS)
}
