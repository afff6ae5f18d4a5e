use crate::output;
use crate::printer::{DIM, GREEN, Printer, RED, YELLOW};
use anstyle::Style;
use std::process::ExitCode;
use strata_engine::{Engine, MigrationState};

fn style(state: MigrationState) -> Style {
    match state {
        MigrationState::Applied => GREEN,
        MigrationState::Pending => YELLOW,
        MigrationState::Reverted => DIM,
        _ => RED,
    }
}

pub async fn run(engine: &Engine, check: bool, printer: &Printer) -> anyhow::Result<ExitCode> {
    let (entries, warnings) = engine.status().await?;
    let attention = entries.iter().filter(|e| e.state.needs_attention()).count();
    let code = if check && attention > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    if printer.is_json() {
        let warnings = warnings.iter().map(ToString::to_string).collect();
        printer.json(&output::Status::new(engine, &entries, warnings));
        return Ok(code);
    }
    printer.warnings(&warnings);
    if entries.is_empty() {
        printer.line("No migrations yet; `strata new NAME` writes one.");
        return Ok(code);
    }
    let width = entries
        .iter()
        .map(|e| e.id.to_string().len())
        .max()
        .unwrap_or(0)
        .max(9);
    let names = entries
        .iter()
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(30);
    let mut out = printer.block();
    out.line(format!(
        "{:<9} {:<width$}  {:<names$} APPLIED AT",
        "STATE", "MIGRATION", "NAME"
    ));
    for e in &entries {
        let s = style(e.state);
        out.line(format!(
            "{}{:<9}{} {:<width$}  {:<names$} {}",
            s.render(),
            e.state.as_str(),
            s.render_reset(),
            e.id.to_string(),
            e.name,
            e.applied_at.map(|t| t.to_string()).unwrap_or_default()
        ));
        if let Some(d) = &e.detail {
            out.line(format!(
                "          {}{}{}",
                DIM.render(),
                d.replace('\n', "\n          "),
                DIM.render_reset()
            ));
        }
    }
    drop(out);
    let count =
        |states: &[MigrationState]| entries.iter().filter(|e| states.contains(&e.state)).count();
    let pending = count(&[MigrationState::Pending, MigrationState::Reverted]);
    printer.line("");
    if engine.sources().len() > 1 {
        let label = |name: &str| {
            let n = entries.iter().filter(|e| e.id.source == name).count();
            format!("{name} ({n}):")
        };
        let width = engine
            .sources()
            .iter()
            .map(|s| label(&s.name).len())
            .max()
            .unwrap_or(0);
        for source in engine.sources() {
            let of = |wanted: &dyn Fn(MigrationState) -> bool| {
                entries
                    .iter()
                    .filter(|e| e.id.source == source.name && wanted(e.state))
                    .count()
            };
            let pending = |s| matches!(s, MigrationState::Pending | MigrationState::Reverted);
            printer.line(format!(
                "{:<width$} {} applied, {} pending, {} need attention",
                label(&source.name),
                of(&|s| s == MigrationState::Applied),
                of(&pending),
                of(&|s| s.needs_attention() && !pending(s)),
            ));
        }
    }
    printer.summary(format!(
        "{}: {} applied, {pending} pending, {} need attention ({})",
        crate::printer::plural(entries.len(), "migration"),
        count(&[MigrationState::Applied]),
        attention - pending,
        engine.database_display()
    ));
    Ok(code)
}
