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
        let items: Vec<_> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "seq": e.seq,
                    "at": e.at,
                    "action": e.action.as_str(),
                    "source": e.id.source,
                    "version": e.id.version,
                    "name": e.name,
                    "status": e.status.as_str(),
                    "batch": e.batch,
                    "duration_ms": e.duration_ms,
                    "checksum": e.checksum.as_ref().map(|c| &c.hex),
                    "applied_by": e.applied_by,
                    "environment": e.environment,
                    "strata_version": e.strata_version,
                    "detail": e.detail,
                })
            })
            .collect();
        printer
            .json(&serde_json::json!({ "database": engine.database_display(), "entries": items }));
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        printer.line("No history yet: nothing has been applied to this database.");
        return Ok(ExitCode::SUCCESS);
    }
    printer.line(format!(
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
        printer.line(format!(
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
            printer.line(format!(
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
