//! `strata test`: each migration's up, down and up again on a scratch
//! database, a line per migration as its test ends, and a JUnit file for
//! CI systems.

use crate::printer::{DIM, GREEN, Printer, RED, YELLOW, plural};
use std::process::ExitCode;
use strata_engine::{DownKind, Engine, Outcome, TestOptions, TestReport, Tested};
use strata_schema::{Change, Difference};

pub async fn run(
    engine: &Engine,
    options: &TestOptions,
    junit: Option<&std::path::Path>,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let each = |t: &Tested| {
        if !printer.is_json() {
            print_tested(printer, t);
        }
    };
    // Found unwritable before the test runs, not after.
    if let Some(path) = junit {
        std::fs::File::create(path)
            .map_err(|e| anyhow::anyhow!("cannot write the JUnit file {}: {e}", path.display()))?;
    }
    let report = engine.test(options, &each).await?;
    if let Some(path) = junit {
        std::fs::write(path, junit_xml(&report))
            .map_err(|e| anyhow::anyhow!("cannot write the JUnit file {}: {e}", path.display()))?;
    }
    let code = if report.failed + report.not_run > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    if printer.is_json() {
        printer.json(&report);
        return Ok(code);
    }
    let mut context = Vec::new();
    if report.applied_first > 0 {
        context.push(format!(
            "{} applied first, untested",
            plural(report.applied_first, "migration")
        ));
    }
    if !report.roles_dropped.is_empty() {
        context.push(format!(
            "role(s) {} the migrations created on the server dropped again",
            report.roles_dropped.join(", ")
        ));
    }
    if !report.seeded.is_empty() {
        context.push(format!("seed: {}", report.seeded.join(", ")));
    }
    let context = if context.is_empty() {
        String::new()
    } else {
        format!(" ({})", context.join("; "))
    };
    printer.summary(if report.tested.is_empty() {
        format!("Nothing to test{context}.")
    } else if report.failed == 0 {
        format!(
            "{} passed on a scratch {} database{context}.",
            plural(report.passed, "migration"),
            report.engine
        )
    } else {
        let not_run = if report.not_run > 0 {
            format!(", {} not run", report.not_run)
        } else {
            String::new()
        };
        format!(
            "{} of {} failed{not_run} on a scratch {} database{context}.",
            report.failed,
            plural(report.tested.len(), "migration"),
            report.engine
        )
    });
    Ok(code)
}

/// A migration's line, and under a failure what went wrong.
fn print_tested(printer: &Printer, t: &Tested) {
    let (mark, style) = match (&t.outcome, t.passed) {
        (Outcome::NotRun { .. }, _) => ("-", DIM),
        (Outcome::Irreversible { .. }, true) => ("~", YELLOW),
        (_, true) => ("✓", GREEN),
        (_, false) => ("✗", RED),
    };
    let derived = if t.down == DownKind::Derived {
        format!(
            " {}(down derived from the up){}",
            DIM.render(),
            DIM.render_reset()
        )
    } else {
        String::new()
    };
    let mut lines = vec![format!(
        "  {}{mark}{} {}/{} {}: {}{derived}",
        style.render(),
        style.render_reset(),
        t.source,
        t.version,
        t.name,
        t.outcome.label()
    )];
    for line in details(&t.outcome).iter().flat_map(|d| d.lines()) {
        lines.push(format!("      {line}"));
    }
    for note in &t.notes {
        lines.push(format!(
            "      {}note: {note}{}",
            DIM.render(),
            DIM.render_reset()
        ));
    }
    // A failure is said under --quiet too.
    if t.passed || matches!(t.outcome, Outcome::NotRun { .. }) {
        let mut out = printer.block();
        lines.iter().for_each(|l| out.line(l));
    } else {
        printer.summary(lines.join("\n"));
    }
}

/// What went wrong, in lines (differences colored).
fn details(outcome: &Outcome) -> Vec<String> {
    match outcome {
        Outcome::Reversible => Vec::new(),
        Outcome::Irreversible { why } => vec![why.clone()],
        Outcome::NotRun { reason } => vec![reason.clone()],
        Outcome::VerifyFails { message } => vec![message.clone()],
        Outcome::UpFails { error, location }
        | Outcome::DownFails { error, location }
        | Outcome::ReapplyFails { error, location } => vec![match location {
            Some(at) => format!("{at}: {error}"),
            None => error.clone(),
        }],
        Outcome::DownLeavesDifference { differences } => {
            let mut lines = vec![
                "after the down, compared with before the up (+ left behind, - missing, ~ changed):"
                    .to_string(),
            ];
            lines.extend(super::schema::difference_lines(differences));
            lines
        }
        Outcome::ReapplyDiffers { differences } => {
            let mut lines = vec![
                "after the second up, compared with the first (+ only now, - only then, ~ changed):"
                    .to_string(),
            ];
            lines.extend(super::schema::difference_lines(differences));
            lines
        }
    }
}

/// The report as JUnit XML: a test case per migration (its source as the
/// class), a failure with what went wrong, a skipped case for one not run.
fn junit_xml(report: &TestReport) -> String {
    let skipped = report.not_run;
    let seconds = |ms: u64| format!("{:.3}", ms as f64 / 1000.0);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"strata test\" tests=\"{}\" failures=\"{}\" skipped=\"{skipped}\" time=\"{}\">\n",
        report.tested.len(),
        report.failed,
        seconds(report.duration_ms)
    ));
    xml.push_str(&format!(
        "  <testsuite name=\"migrations ({})\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{skipped}\" time=\"{}\">\n",
        escape(&report.engine),
        report.tested.len(),
        report.failed,
        seconds(report.duration_ms)
    ));
    for t in &report.tested {
        xml.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"{}\"",
            escape(&t.source),
            escape(&format!("{} {}", t.version, t.name)),
            escape(&t.path),
            seconds(t.duration_ms)
        ));
        let text = plain_details(&t.outcome).join("\n");
        match (&t.outcome, t.passed) {
            (Outcome::NotRun { reason }, _) => {
                xml.push_str(&format!(
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    escape(reason)
                ));
            }
            (_, false) => xml.push_str(&format!(
                ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                escape(t.outcome.label()),
                escape(t.outcome.label()),
                escape(&text)
            )),
            (_, true) if !text.is_empty() => xml.push_str(&format!(
                ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                escape(&text)
            )),
            _ => xml.push_str("/>\n"),
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// [`details`] without colors.
fn plain_details(outcome: &Outcome) -> Vec<String> {
    let plain = |differences: &[Difference]| {
        differences
            .iter()
            .flat_map(|d| {
                let mark = match d.change {
                    Change::Added => "+",
                    Change::Removed => "-",
                    Change::Changed => "~",
                };
                std::iter::once(format!("{mark} {} {}", d.kind, d.name))
                    .chain(d.details.iter().map(|x| format!("    {x}")))
            })
            .collect::<Vec<_>>()
    };
    match outcome {
        Outcome::DownLeavesDifference { differences } | Outcome::ReapplyDiffers { differences } => {
            plain(differences)
        }
        other => details(other),
    }
}

/// Text fit for an XML attribute or element.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            // Not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && c != '\t' && c != '\r' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}
