use crate::args::UpArgs;
use crate::output;
use crate::printer::{DIM, Printer, human::action_word};
use std::process::ExitCode;
use strata_engine::{Engine, Request, RequestKind, UpOptions};

pub fn up_options(args: &UpArgs) -> UpOptions {
    UpOptions {
        to: args.to.clone(),
        only: args.only.clone(),
        allow_out_of_order: args.allow_out_of_order,
        ignore_missing: args.ignore_missing,
    }
}

pub async fn run(engine: &Engine, args: &UpArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let plan = match engine
        .plan(&Request::new(RequestKind::Up(up_options(args))))
        .await
    {
        Ok(plan) => plan,
        Err(e) => {
            if printer.format == crate::args::Format::Github {
                printer.annotate(crate::printer::github::error_annotations(
                    engine.root(),
                    "plan",
                    &e,
                ));
            }
            return Err(e.into());
        }
    };
    if printer.is_json() {
        printer.json(&output::PlanDoc::new(engine, &plan));
        return Ok(ExitCode::SUCCESS);
    }
    if plan.steps.is_empty() {
        printer.summary(format!(
            "Nothing to apply. {}(plan {}){}",
            DIM.render(),
            plan.hash,
            DIM.render_reset()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    printer.line(format!(
        "Plan {} for {}: {} steps",
        plan.hash,
        engine.database_display(),
        plan.steps.len()
    ));
    for (i, s) in plan.steps.iter().enumerate() {
        let mut notes = Vec::new();
        if !s.tx_mode.is_transactional() {
            notes.push("no transaction");
        }
        if s.out_of_order {
            notes.push("out of order");
        }
        if s.retry {
            notes.push("retry");
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join(", "))
        };
        printer.line(format!(
            "{:>4}. {:<8} {}  {}{notes}  {}{}{}",
            i + 1,
            action_word(s.action),
            s.id,
            s.name,
            DIM.render(),
            s.path
                .as_deref()
                .map(|p| engine.display_path(p))
                .unwrap_or_default(),
            DIM.render_reset()
        ));
    }
    // The same selection, so the hash matches when it runs.
    let mut command = String::from("strata up");
    if let Some(env) = &engine.env_name {
        command.push_str(&format!(" --env {env}"));
    }
    if let Some(db) = &engine.database_name {
        command.push_str(&format!(" --database {db}"));
    }
    if let Some(source) = engine.only_source() {
        command.push_str(&format!(" --source {source}"));
    }
    if let Some(to) = &args.to {
        command.push_str(&format!(" --to {to}"));
    }
    if let Some(only) = &args.only {
        command.push_str(&format!(" --only {only}"));
    }
    if args.allow_out_of_order {
        command.push_str(" --allow-out-of-order");
    }
    if args.ignore_missing {
        command.push_str(" --ignore-missing");
    }
    for w in &plan.warnings {
        printer.warning(w);
    }
    printer.line("");
    printer.summary(format!("Run it with: {command} --approve {}", plan.hash));
    Ok(ExitCode::SUCCESS)
}
