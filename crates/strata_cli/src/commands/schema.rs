use crate::args::{Global, SchemaAction};
use crate::printer::{DIM, GREEN, Printer, RED, YELLOW};
use std::process::ExitCode;
use strata_engine::Engine;
use strata_schema::{Change, Schema};

pub async fn run(g: &Global, action: &SchemaAction, printer: &Printer) -> anyhow::Result<ExitCode> {
    match action {
        SchemaAction::Dump => {
            let schema = super::load(g)?.schema().await?;
            if printer.is_json() {
                printer.json(&schema);
            } else {
                // The command's product: printed under --quiet too.
                printer.summary(strata_schema::dump(&schema).trim_end());
            }
            Ok(ExitCode::SUCCESS)
        }
        SchemaAction::Diff { from, to } => {
            let (from_name, a) = side(g, from).await?;
            let (to_name, b) = side(g, to).await?;
            let differences = strata_schema::diff(&a, &b);
            let code = if differences.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            };
            if printer.is_json() {
                printer.json(&serde_json::json!({
                    "from": from_name,
                    "to": to_name,
                    "differences": differences,
                }));
                return Ok(code);
            }
            if differences.is_empty() {
                printer.summary(format!("No differences between {from_name} and {to_name}."));
                return Ok(code);
            }
            let mut out = printer.block();
            for d in &differences {
                let (mark, style) = match d.change {
                    Change::Added => ("+", GREEN),
                    Change::Removed => ("-", RED),
                    Change::Changed => ("~", YELLOW),
                };
                out.line(format!(
                    "{}{mark} {} {}{}",
                    style.render(),
                    d.kind,
                    d.name,
                    style.render_reset()
                ));
                for detail in &d.details {
                    out.line(format!(
                        "    {}{detail}{}",
                        DIM.render(),
                        DIM.render_reset()
                    ));
                }
            }
            drop(out);
            printer.summary(format!(
                "{} difference(s) from {from_name} to {to_name}: + only in the second, - only in the first, ~ made differently.",
                differences.len()
            ));
            Ok(code)
        }
    }
}

/// The schema a side names (`env:NAME` or a database URL), and how it is
/// shown (passwords hidden).
async fn side(g: &Global, side: &str) -> anyhow::Result<(String, Schema)> {
    let side_global = if let Some(env) = side.strip_prefix("env:") {
        Global {
            env: Some(env.to_string()),
            database_url: None,
            ..g.clone()
        }
    } else if side.contains("://") || side.starts_with("sqlite:") {
        Global {
            database_url: Some(side.to_string()),
            ..g.clone()
        }
    } else {
        anyhow::bail!(
            "`{side}`: a side of `schema diff` is `env:NAME` or a database URL (comparing with the migrations or with SQL files needs a scratch database, which strata does not create yet)"
        );
    };
    let engine: Engine = super::load(&side_global)?;
    let schema = engine.schema().await?;
    Ok((engine.database_display(), schema))
}
