use super::{BOLD, DIM, GREEN, Printer, RED, YELLOW, interactive};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;
use strata_engine::{Event, Reporter, StepInfo};
use strata_plan::{Plan, StepAction};

/// Progress and results of a run, for a person.
pub struct HumanReporter<'a> {
    printer: &'a Printer,
    bar: Mutex<Option<ProgressBar>>,
    command: Mutex<String>,
}

impl<'a> HumanReporter<'a> {
    pub fn new(printer: &'a Printer) -> Self {
        HumanReporter {
            printer,
            bar: Mutex::new(None),
            command: Mutex::new(String::new()),
        }
    }

    fn print(&self, text: String) {
        let bar = self.bar.lock().expect("bar lock");
        match bar.as_ref() {
            Some(b) => b.suspend(|| self.printer.summary(&text)),
            None => self.printer.summary(&text),
        }
    }
}

pub fn action_word(a: StepAction) -> &'static str {
    match a {
        StepAction::Apply => "apply",
        StepAction::Revert => "revert",
        StepAction::Baseline => "baseline",
        StepAction::AcceptChecksum => "repair",
        StepAction::ClearFailed => "clear",
        StepAction::Forget => "forget",
        StepAction::ResolveStatement { .. } => "resolve",
    }
}

fn label(s: &StepInfo) -> String {
    format!("{}/{} {}", s.source, s.version, s.name)
}

pub fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

impl Reporter for HumanReporter<'_> {
    fn event(&self, event: &Event) {
        let p = self.printer;
        match event {
            Event::Started {
                command,
                database,
                environment,
                plan_hash,
                steps,
            } => {
                *self.command.lock().expect("lock") = command.clone();
                if *steps == 0 || p.quiet {
                    return;
                }
                let env = environment
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                self.print(format!(
                    "{}strata {command}{}: {} on {database}{env} {}plan {plan_hash}{}",
                    BOLD.render(),
                    BOLD.render_reset(),
                    plural(*steps, "step"),
                    DIM.render(),
                    DIM.render_reset()
                ));
                if std::io::stderr().is_terminal() && *steps > 1 {
                    let bar = ProgressBar::new(*steps as u64);
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
                            .expect("valid template")
                            .progress_chars("=> "),
                    );
                    bar.enable_steady_tick(std::time::Duration::from_millis(120));
                    *self.bar.lock().expect("bar lock") = Some(bar);
                }
            }
            Event::Warning { message } => p.note(format!(
                "{}warning{}: {message}",
                YELLOW.bold().render(),
                YELLOW.bold().render_reset()
            )),
            Event::LockWaiting { holder } => p.note(format!(
                "{}waiting for the migration lock, held by {holder}{}",
                YELLOW.render(),
                YELLOW.render_reset()
            )),
            Event::LockAcquired { waited_ms } => {
                p.note(format!("got the migration lock after {waited_ms} ms"))
            }
            Event::Blocked {
                migration,
                sessions,
            } => {
                p.note(format!(
                    "{}{migration} is waiting for a lock held by:{}",
                    YELLOW.render(),
                    YELLOW.render_reset()
                ));
                for s in sessions {
                    p.note(format!("    {s}"));
                }
            }
            Event::HookFinished {
                hook,
                run,
                duration_ms,
            } => {
                if p.verbose > 0 {
                    self.print(format!("  hook {hook} ({run}) ran in {duration_ms} ms"));
                }
            }
            Event::BackedUp { id, file, size } => {
                self.print(format!("  backed up first: {id} ({file}, {size} bytes)"));
            }
            Event::Reset { dropped } => {
                if !p.quiet {
                    self.print(format!("  dropped {}", plural(dropped.len(), "object")));
                    if p.verbose > 0 {
                        for d in dropped {
                            self.print(format!("    {d}"));
                        }
                    }
                }
            }
            Event::MigrationStarted { step, .. } => {
                if let Some(b) = self.bar.lock().expect("bar lock").as_ref() {
                    b.set_message(format!("{} {}", action_word(step.action), label(step)));
                }
            }
            Event::MigrationSkipped { step, reason, sql } => {
                if !p.quiet {
                    self.print(format!(
                        "  {}-{} {:<8} {} {}(not tried: {reason}){}",
                        YELLOW.render(),
                        YELLOW.render_reset(),
                        action_word(step.action),
                        label(step),
                        DIM.render(),
                        DIM.render_reset()
                    ));
                    if let Some(sql) = sql {
                        for line in sql.trim().lines() {
                            self.print(format!("      {line}"));
                        }
                    }
                }
            }
            Event::Resuming {
                step,
                completed,
                total,
                line,
            } => {
                let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
                p.note(format!(
                    "{}resuming{} {}: statements 1-{completed} of {total} completed in an earlier run; going on at statement {}{at}",
                    YELLOW.render(),
                    YELLOW.render_reset(),
                    label(step),
                    completed + 1
                ));
            }
            Event::MigrationFinished {
                step,
                duration_ms,
                locks,
            } => {
                if !p.quiet {
                    let mut notes = String::new();
                    if step.out_of_order {
                        notes.push_str(" (out of order)");
                    }
                    if !step.transactional && step.action == StepAction::Apply {
                        notes.push_str(" (no transaction)");
                    }
                    self.print(format!(
                        "  {}✓{} {:<8} {}{notes} {}{duration_ms} ms{}",
                        GREEN.render(),
                        GREEN.render_reset(),
                        action_word(step.action),
                        label(step),
                        DIM.render(),
                        DIM.render_reset()
                    ));
                    if !locks.is_empty() {
                        self.print(format!(
                            "             {}locks: {}{}",
                            DIM.render(),
                            locks.join(", "),
                            DIM.render_reset()
                        ));
                    }
                }
                if let Some(b) = self.bar.lock().expect("bar lock").as_ref() {
                    b.inc(1);
                }
            }
            Event::MigrationFailed {
                step, duration_ms, ..
            } => {
                self.print(format!(
                    "  {}✗{} {:<8} {} {}{duration_ms} ms{}",
                    RED.render(),
                    RED.render_reset(),
                    action_word(step.action),
                    label(step),
                    DIM.render(),
                    DIM.render_reset()
                ));
            }
            Event::Finished {
                applied,
                reverted,
                recorded,
                failed,
                skipped,
                dry_run,
                duration_ms,
            } => {
                if let Some(b) = self.bar.lock().expect("bar lock").take() {
                    b.finish_and_clear();
                }
                let command = self.command.lock().expect("lock").clone();
                let mut parts = Vec::new();
                if *applied > 0 {
                    parts.push(format!("applied {}", plural(*applied, "migration")));
                }
                if *reverted > 0 {
                    parts.push(format!("reverted {}", plural(*reverted, "migration")));
                }
                if *recorded > 0 {
                    parts.push(format!("recorded {}", plural(*recorded, "migration")));
                }
                if *failed > 0 {
                    parts.push(format!("{} failed", plural(*failed, "migration")));
                }
                if *skipped > 0 {
                    parts.push(format!("{} not tried", plural(*skipped, "migration")));
                }
                if parts.is_empty() {
                    let text = match command.as_str() {
                        "up" => "Nothing to apply.",
                        "down" | "redo" => "Nothing to revert.",
                        "repair" => "Nothing to repair.",
                        "baseline" => "Nothing to record: those migrations are applied already.",
                        _ => "Nothing to do.",
                    };
                    self.print(text.to_string());
                } else {
                    let mut text = parts.join(", ");
                    if *dry_run && applied + reverted + failed == 0 {
                        self.print(format!(
                            "Dry run: {text} in {duration_ms} ms; nothing was executed."
                        ));
                    } else if *dry_run {
                        self.print(format!(
                            "Dry run: {text} in {duration_ms} ms, then rolled everything back; nothing was kept."
                        ));
                    } else {
                        text[..1].make_ascii_uppercase();
                        self.print(format!("{text} in {duration_ms} ms."));
                    }
                }
            }
        }
    }

    fn confirm_terminate(&self, holder: &strata_engine::LockHolder) -> bool {
        if !interactive() {
            return false;
        }
        let mut err = anstream::stderr().lock();
        let _ = write!(
            err,
            "{}The migration lock is held by {holder}.{} End that session (its statement is cancelled and rolled back)? Type `terminate` to go on: ",
            YELLOW.render(),
            YELLOW.render_reset()
        );
        let _ = err.flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "terminate"
    }

    fn confirm(&self, plan: &Plan, environment: &str) -> bool {
        if !interactive() {
            return false;
        }
        let mut err = anstream::stderr().lock();
        let _ = writeln!(
            err,
            "{}{environment} needs your approval.{} This will run plan {}:",
            YELLOW.render(),
            YELLOW.render_reset(),
            plan.hash
        );
        if plan.reset_first {
            let _ = writeln!(
                err,
                "  drop every object in the schema (strata's own tables are kept)"
            );
        }
        for s in &plan.steps {
            let _ = writeln!(err, "  {:<8} {}  {}", action_word(s.action), s.id, s.name);
        }
        for w in &plan.warnings {
            let _ = writeln!(err, "{}note{}: {w}", YELLOW.render(), YELLOW.render_reset());
        }
        let _ = write!(err, "Type the environment name ({environment}) to go on: ");
        let _ = err.flush();
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer).is_err() {
            return false;
        }
        answer.trim() == environment
    }
}
