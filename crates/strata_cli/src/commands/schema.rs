use crate::args::SchemaAction;
use crate::printer::Printer;
use std::process::ExitCode;
use strata_engine::Engine;

pub async fn run(
    engine: &Engine,
    action: &SchemaAction,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    match action {
        SchemaAction::Dump => {
            let schema = engine.schema().await?;
            if printer.is_json() {
                printer.json(&schema);
            } else {
                // The command's product: printed under --quiet too.
                printer.summary(strata_schema::dump(&schema).trim_end());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
