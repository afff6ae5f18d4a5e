use crate::output;
use crate::printer::{BOLD, DIM, Printer};
use std::process::ExitCode;
use strata_engine::Engine;
use strata_model::Migration;

pub fn run(engine: &Engine, printer: &Printer) -> anyhow::Result<ExitCode> {
    let found = engine.migrations_listed()?;
    let migrations = &found.migrations;
    let groups = groups(engine, migrations);
    if printer.is_json() {
        printer.json(&output::List {
            sources: groups
                .iter()
                .map(|(s, ms)| output::ListSource {
                    name: s.name.clone(),
                    format: s.format.clone(),
                    path: engine.display_path(&s.path),
                    migrations: ms.len(),
                })
                .collect(),
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
        .map(|m| m.description.as_ref().unwrap_or(&m.name).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(11, 50);
    // What it does, cut to the column.
    let described = |m: &Migration| {
        let text = m.description.as_ref().unwrap_or(&m.name);
        match text.char_indices().nth(names - 1) {
            Some((i, _)) if text.chars().count() > names => format!("{}…", &text[..i]),
            _ => text.clone(),
        }
    };
    let mut out = printer.block();
    for (i, (source, ms)) in groups.iter().enumerate() {
        if i > 0 {
            out.line("");
        }
        out.line(format!(
            "{}{} ({}){}  {}{}, {}{}",
            BOLD.render(),
            source.name,
            ms.len(),
            BOLD.render_reset(),
            DIM.render(),
            source.format,
            engine.display_path(&source.path),
            DIM.render_reset()
        ));
        out.line(format!(
            "  {:<width$}  {:<names$}  {:<5} {:<7} {:<15} PATH",
            "MIGRATION", "DESCRIPTION", "DOWN", "VERIFY", "RUNS"
        ));
        for m in ms {
            let runs = match &m.unsupported {
                Some(_) => "not by strata",
                None => m.tx_mode.as_str(),
            };
            out.line(format!(
                "  {:<width$}  {:<names$}  {:<5} {:<7} {:<15} {}{}{}",
                m.id.to_string(),
                described(m),
                if m.down.is_some() { "yes" } else { "no" },
                if m.verify.is_some() { "yes" } else { "no" },
                runs,
                DIM.render(),
                engine.display_path(&m.path),
                DIM.render_reset()
            ));
            if let Some(reason) = &m.unsupported {
                out.line(format!(
                    "  {:<width$}  {}{reason}{}",
                    "",
                    DIM.render(),
                    DIM.render_reset()
                ));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The selected sources in configuration order, each with its migrations
/// in the order they run.
fn groups<'a>(
    engine: &'a Engine,
    migrations: &'a [Migration],
) -> Vec<(&'a strata_engine::SourceSpec, Vec<&'a Migration>)> {
    engine
        .sources()
        .iter()
        .map(|s| {
            let ms = migrations
                .iter()
                .filter(|m| m.id.source == s.name)
                .collect();
            (s, ms)
        })
        .collect()
}
