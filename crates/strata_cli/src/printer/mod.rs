//! The only place that writes to the terminal. Human output is colored
//! (off for NO_COLOR, --no-color, or when not a terminal) with progress on
//! long runs; `--format json` prints one JSON document, or one event per
//! line for commands that do work. A closed pipe is not an error.

#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod human;

use crate::args::{Format, Global};
use anstyle::{AnsiColor, Style};
use std::io::{IsTerminal, Write};
use strata_engine::{EngineError, Event, Reporter};

pub use human::{HumanReporter, plural};

pub struct Printer {
    pub format: Format,
    pub quiet: bool,
    pub verbose: u8,
}

pub const GREEN: Style = AnsiColor::Green.on_default();
pub const YELLOW: Style = AnsiColor::Yellow.on_default();
pub const RED: Style = AnsiColor::Red.on_default();
pub const DIM: Style = Style::new().dimmed();
pub const BOLD: Style = Style::new().bold();

impl Printer {
    pub fn new(global: &Global) -> Self {
        if global.no_color {
            anstream::ColorChoice::Never.write_global();
        }
        Printer {
            format: global.format,
            quiet: global.quiet,
            verbose: global.verbose,
        }
    }

    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// A line of human output on stdout (hidden by --quiet).
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.quiet {
            self.summary(text);
        }
    }

    /// A line that --quiet keeps: a command's outcome in one line.
    pub fn summary(&self, text: impl AsRef<str>) {
        let mut out = anstream::stdout().lock();
        let _ = writeln!(out, "{}", text.as_ref());
    }

    /// A note on stderr (hidden by --quiet).
    pub fn note(&self, text: impl AsRef<str>) {
        if !self.quiet {
            let _ = writeln!(anstream::stderr(), "{}", text.as_ref());
        }
    }

    /// Problems in the migration files that do not stop strata, on stderr.
    pub fn warnings(&self, warnings: &[strata_engine::Diagnostic]) {
        for w in warnings {
            self.warning(w);
        }
    }

    /// One warning on stderr.
    pub fn warning(&self, text: impl std::fmt::Display) {
        let _ = writeln!(
            anstream::stderr(),
            "{}warning{}: {text}",
            YELLOW.bold().render(),
            YELLOW.bold().render_reset()
        );
    }

    /// One JSON document (or event) on stdout.
    pub fn json(&self, value: &impl serde::Serialize) {
        let mut out = std::io::stdout().lock();
        let text =
            serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// Prints an error: `error: ...` on stderr, or `{"error": {...}}`.
    pub fn error(&self, e: &anyhow::Error) {
        let kind = e.downcast_ref::<EngineError>().map_or("error", error_kind);
        if self.is_json() {
            let mut doc = serde_json::json!({ "kind": kind, "message": format!("{e:#}") });
            if let Some(EngineError::MigrationFailed { location, id, .. }) =
                e.downcast_ref::<EngineError>()
            {
                doc["location"] = serde_json::json!(location);
                doc["migration"] = serde_json::json!(id.to_string());
            }
            self.json(&serde_json::json!({ "error": doc }));
            return;
        }
        let mut err = anstream::stderr().lock();
        let _ = writeln!(
            err,
            "{}error{}: {e:#}",
            RED.bold().render(),
            RED.bold().render_reset()
        );
    }

    /// The lines of a file around `line`, marked, for a failure.
    pub fn snippet(&self, path: &std::path::Path, shown: &str, line: usize) {
        if self.is_json() {
            return;
        }
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        let mut err = anstream::stderr().lock();
        let _ = writeln!(
            err,
            "  {}--> {shown}:{line}{}",
            DIM.render(),
            DIM.render_reset()
        );
        let first = line.saturating_sub(2).max(1);
        for (i, l) in text
            .lines()
            .enumerate()
            .skip(first - 1)
            .take(line - first + 2)
        {
            let n = i + 1;
            let style = if n == line { RED } else { DIM };
            let _ = writeln!(
                err,
                "  {}{n:>4} |{} {l}",
                style.render(),
                style.render_reset()
            );
        }
    }

    /// The reporter for a command that does work.
    pub fn reporter(&self) -> Box<dyn Reporter + '_> {
        match self.format {
            Format::Json => Box::new(JsonReporter(self)),
            Format::Human | Format::Github => Box::new(HumanReporter::new(self)),
        }
    }
}

/// A command-line usage error as a JSON error line.
pub fn usage_error_json(message: &str) {
    let doc = serde_json::json!({ "error": { "kind": "usage", "message": message.trim() } });
    let _ = writeln!(std::io::stdout().lock(), "{doc}");
}

/// A stable name for each kind of error, for JSON output.
pub fn error_kind(e: &EngineError) -> &'static str {
    match e {
        EngineError::Config { .. } => "config",
        EngineError::NoDatabase(_) => "no_database",
        EngineError::Url(_) => "url",
        EngineError::Discover(_) => "invalid_migration",
        EngineError::Plan(_) => "plan",
        EngineError::Driver(_) => "database",
        EngineError::LockTimeout { .. } => "lock_timeout",
        EngineError::PlanMismatch { .. } => "plan_mismatch",
        EngineError::Protected { .. } | EngineError::NotConfirmed { .. } => "protected",
        EngineError::ApprovalRequired { .. } | EngineError::GeneratedDown { .. } => {
            "approval_required"
        }
        EngineError::Destructive { .. } => "destructive",
        EngineError::MigrationFailed { .. } => "migration_failed",
        EngineError::LockLost { .. } => "lock_lost",
        EngineError::Adopt(_) => "adopt",
        EngineError::Refused(_) => "refused",
        EngineError::Hook(_) => "hook",
        EngineError::Backup(_) => "backup",
        EngineError::EngineMismatch { .. } => "engine_mismatch",
        _ => "error",
    }
}

/// Newline-delimited JSON events.
struct JsonReporter<'a>(&'a Printer);

impl Reporter for JsonReporter<'_> {
    fn event(&self, event: &Event) {
        self.0.json(event);
    }
}

/// Whether a person is at the keyboard to answer a question.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}
