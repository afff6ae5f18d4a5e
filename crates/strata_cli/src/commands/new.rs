use crate::output;
use crate::printer::Printer;
use anyhow::{Context, bail};
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use strata_engine::Engine;
use strata_model::Timestamp;

/// A new migration. It has no down section until one is written: a down
/// left empty would revert by running nothing, while a migration without
/// one gets a derived down (shown, and approved) or is refused.
const TEMPLATE: &str = "-- strata:up\n\n\n-- To make it revertible, add a `-- strata:down` line followed by the statements that undo the up.\n\n-- strata:verify\n\n";

/// Writes `<UTC yyyymmddhhmmss>_<name>.sql` into the first strata-format
/// source (or `--source`).
pub fn run(
    engine: &Engine,
    name: &str,
    up: Option<&Path>,
    auto_down: bool,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
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
    let text = match up {
        None => TEMPLATE.to_string(),
        Some(file) => with_up(engine, &source.name, file, auto_down)?,
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
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    let shown = engine.display_path(&path);
    if printer.is_json() {
        printer.json(&output::New {
            created: shown,
            source: source.name.clone(),
            version: at.compact(),
            name: slug,
        });
    } else {
        printer.summary(format!("created {shown}"));
    }
    Ok(ExitCode::SUCCESS)
}

/// The file text for an up read from `file` (`-`: standard input), with a
/// down derived from it when `auto_down`; an up with statements that cannot
/// be reversed mechanically is refused, each one named.
fn with_up(engine: &Engine, source: &str, file: &Path, auto_down: bool) -> anyhow::Result<String> {
    let mut up = String::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut up)
            .context("cannot read the up SQL from standard input")?;
    } else {
        up = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
    }
    let shown = if file == Path::new("-") {
        "<stdin>".to_string()
    } else {
        file.display().to_string()
    };
    if up.trim().is_empty() {
        bail!("{shown} holds no SQL; write the up into it first");
    }
    let up = format!("{}\n", up.trim_end());
    let down = if auto_down {
        match strata_sql::reverse(&up, engine.dialect_of(source)) {
            Ok(down) => down,
            Err(refused) => {
                let lines: Vec<String> = refused
                    .iter()
                    .map(|r| format!("  {shown}:{}: {}", r.line + 1, r.why))
                    .collect();
                bail!(
                    "no down can be derived; nothing was written. These statements have no mechanical inverse:\n{}\nwrite the down yourself (drop --down auto)",
                    lines.join("\n")
                );
            }
        }
    } else {
        "\n".to_string()
    };
    Ok(format!(
        "-- strata:up\n{up}\n-- strata:down\n{down}\n-- strata:verify\n\n"
    ))
}
