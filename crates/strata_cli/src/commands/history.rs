use crate::output;
use crate::printer::{DIM, GREEN, Printer, RED, YELLOW};
use std::process::ExitCode;
use strata_engine::Engine;
use strata_model::{HistoryStatus, LogAction};

pub async fn run(
    engine: &Engine,
    limit: Option<usize>,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let mut entries = engine.history().await?;
    if let Some(n) = limit {
        let skip = entries.len().saturating_sub(n);
        entries.drain(..skip);
    }
    if printer.is_json() {
        printer.json(&output::History {
            database: engine.database_display(),
            entries: entries.iter().map(output::HistoryItem::from).collect(),
        });
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        printer.line("No history yet: nothing has been applied to this database.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = printer.block();
    out.line(format!(
        "{:<24} {:<9} {:<32} {:<6} {:>8}  BY",
        "AT", "ACTION", "MIGRATION", "BATCH", "TIME"
    ));
    for e in &entries {
        let style = match (e.action, e.status) {
            (LogAction::Fail, _) => RED,
            (_, HistoryStatus::Applied) => GREEN,
            (LogAction::Revert | LogAction::Reset, _) | (_, HistoryStatus::Reverted) => YELLOW,
            _ => DIM,
        };
        out.line(format!(
            "{:<24} {}{:<9}{} {:<32} {:<6} {:>8}  {}{}",
            e.at.to_string(),
            style.render(),
            e.action.as_str(),
            style.render_reset(),
            format!("{} {}", e.id, e.name),
            e.batch,
            e.duration_ms.map(|d| format!("{d} ms")).unwrap_or_default(),
            e.applied_by,
            e.environment
                .as_deref()
                .map(|env| format!(" ({env})"))
                .unwrap_or_default(),
        ));
        if let Some(d) = &e.detail {
            out.line(format!(
                "{:<24} {}{}{}",
                "",
                DIM.render(),
                d.replace('\n', &format!("\n{:<25}", "")),
                DIM.render_reset()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}
