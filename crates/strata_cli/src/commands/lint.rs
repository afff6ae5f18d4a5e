use crate::args::Format;
use crate::output;
use crate::printer::Annotated;
use crate::printer::{BOLD, DIM, Printer};
use annotate_snippets::{Level, Renderer};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use strata_engine::{Engine, LintFinding, LintLevel};

/// `strata lint --explain [RULE]`: one rule's documentation, or the list.
pub fn explain(rule: Option<&str>, printer: &Printer) -> anyhow::Result<ExitCode> {
    let Some(rule) = rule else {
        let rules = strata_lint::rules();
        if printer.is_json() {
            printer.json(&output::Rules { rules });
        } else {
            for r in &rules {
                printer.summary(format!(
                    "{:<46} {:<7} {:<7} {}",
                    r.name,
                    r.default_level.as_str(),
                    r.origin,
                    r.summary
                ));
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    let info = strata_lint::explain(rule).map_err(|e| anyhow::anyhow!("{e}"))?;
    if printer.is_json() {
        printer.json(&info);
    } else {
        printer.summary(format!(
            "{}{}{} ({} rule, default level {})\n\n{}\n\n{}",
            BOLD.render(),
            info.name,
            BOLD.render_reset(),
            info.origin,
            info.default_level.as_str(),
            info.summary,
            info.doc
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run(
    engine: &Engine,
    paths: &[PathBuf],
    pending_only: bool,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let report = engine.lint(paths, pending_only).await?;
    let errors = report
        .findings
        .iter()
        .filter(|f| f.level == LintLevel::Error)
        .count();
    let warnings = report.findings.len() - errors;
    let code = if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    match printer.format {
        Format::Json => printer.json(&report),
        Format::Github => {
            for f in &report.findings {
                printer.summary(github(engine.root(), f));
            }
        }
        Format::Human => {
            // Rendered on every core and written at once: a large project
            // has thousands of findings.
            let renderer = crate::printer::renderer(anstream::stdout().current_choice());
            let rendered = strata_model::parallel_map(report.findings.iter().collect(), |f| {
                human(f, &renderer)
            });
            let mut text = String::new();
            for r in rendered {
                text.push_str(&r);
                text.push_str("\n\n");
            }
            let _ = anstream::stdout().lock().write_all(text.as_bytes());
        }
    }
    if printer.format != Format::Json {
        let what = match report.scope {
            "pending" => "pending migration(s)",
            _ => "migration(s)",
        };
        printer.summary(match report.findings.len() {
            0 => format!("{} {what} linted: no findings.", report.migrations),
            _ => format!(
                "{} {what} linted: {errors} error(s), {warnings} warning(s){}",
                report.migrations,
                if errors > 0 {
                    String::new()
                } else {
                    format!(
                        " {}(warnings do not fail the run){}",
                        DIM.render(),
                        DIM.render_reset()
                    )
                }
            ),
        });
    }
    Ok(code)
}

/// One finding as an annotated snippet of its file.
fn human(f: &LintFinding, renderer: &Renderer) -> String {
    Annotated {
        level: match f.level {
            LintLevel::Error => Level::ERROR,
            _ => Level::WARNING,
        },
        title: &f.message,
        rule: Some(&f.rule),
        path: &f.path.display().to_string(),
        text: &f.snippet.text,
        first_line: f.snippet.first_line,
        span: f.snippet.span.clone(),
        help: f.help.as_deref(),
        context: false,
    }
    .render(renderer)
}

/// One finding as a GitHub Actions workflow command.
fn github(root: &std::path::Path, f: &LintFinding) -> String {
    use crate::printer::github::{escape_data, escape_property, workspace_path};
    let level = match f.level {
        LintLevel::Error => "error",
        _ => "warning",
    };
    let mut message = f.message.clone();
    if let Some(help) = &f.help {
        message.push('\n');
        message.push_str(help);
    }
    format!(
        "::{level} file={},line={},col={},endLine={},title={}::{}",
        escape_property(&workspace_path(root, &f.path)),
        f.line,
        f.column,
        f.end_line,
        escape_property(&format!("strata lint: {}", f.rule)),
        escape_data(&message)
    )
}
