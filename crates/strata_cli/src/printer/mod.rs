//! The only place that writes to the terminal. Human output is colored
//! (off for NO_COLOR, --no-color, or when not a terminal) with progress on
//! long runs; `--format json` prints one JSON document, or one event per
//! line for commands that do work. A closed pipe is not an error.

#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod github;
pub mod human;

use crate::args::{Format, Global};
use crate::output::{ErrorBody, ErrorDoc};
use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};
use anstyle::{AnsiColor, Style};
use std::io::{IsTerminal, Write};
use strata_engine::{EngineError, Event, Reporter, Traced};

pub use human::{HumanReporter, plural};

pub struct Printer {
    pub format: Format,
    pub quiet: bool,
    pub verbose: u8,
    /// The database (of an environment's several) the current command
    /// runs on: every JSON document then names it (`database_name`).
    database: std::sync::Mutex<Option<String>>,
    /// `--format github`: the failure was annotated on its file already.
    annotated: std::sync::atomic::AtomicBool,
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
            database: Default::default(),
            annotated: Default::default(),
        }
    }

    /// Names the database the following output is about.
    pub fn for_database(&self, name: Option<String>) {
        if let Ok(mut db) = self.database.lock() {
            *db = name;
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

    /// Lines of human output (hidden by --quiet) written to stdout in one
    /// go when the returned block is dropped: a table of ten thousand rows
    /// is one write, not ten thousand.
    pub fn block(&self) -> Block<'_> {
        Block {
            printer: self,
            text: String::new(),
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
        let mut text =
            serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        // The database first, the document's own fields in their order.
        let name = self.database.lock().ok().and_then(|db| db.clone());
        if let (Some(name), Some(rest)) = (name, text.strip_prefix('{')) {
            let sep = if rest.starts_with('}') { "" } else { "," };
            let name = serde_json::Value::from(name);
            text = format!("{{\"database_name\":{name}{sep}{rest}");
        }
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// Prints an error: `error: ...` on stderr, or `{"error": {...}}`.
    /// GitHub workflow commands for a failure ([`github::error_annotations`]):
    /// the error that follows is then not annotated again.
    pub fn annotate(&self, lines: Vec<String>) {
        self.annotated
            .store(true, std::sync::atomic::Ordering::Relaxed);
        for line in lines {
            self.summary(line);
        }
    }

    pub fn error(&self, e: &anyhow::Error) {
        if self.format == Format::Github
            && !self.annotated.load(std::sync::atomic::Ordering::Relaxed)
        {
            // Any failure shows in the run's annotations, even one with no
            // file (a configuration error, a refusal).
            self.summary(github::annotation(
                "error",
                None,
                None,
                "strata",
                &format!("{e:#}"),
            ));
        }
        if self.is_json() {
            let engine = e.downcast_ref::<EngineError>();
            // Not the engine's: the command line refused what it was given.
            let kind = engine.map_or("error", |e| e.kind().as_str());
            let error = ErrorBody::new(kind, format!("{e:#}"), engine);
            self.json(&ErrorDoc { error });
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

    /// The lines of a file around `line`, the failing one marked, for a
    /// failed migration (on stderr; the error itself follows).
    pub fn snippet(&self, path: &std::path::Path, shown: &str, line: usize) {
        if self.is_json() {
            return;
        }
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        let first = line.saturating_sub(2).max(1);
        let lines: Vec<&str> = text
            .lines()
            .skip(first - 1)
            .take(line - first + 2)
            .collect();
        let region = lines.join("\n");
        // A line past the end (an error at the end of the input) marks the
        // end of the text.
        let before = lines[..(line - first).min(lines.len())]
            .iter()
            .map(|l| l.len() + 1)
            .sum::<usize>()
            .min(region.len());
        let failing = lines.get(line - first).map_or(0, |l| l.len());
        let annotated = Annotated {
            level: Level::NOTE,
            title: "the statement that failed",
            rule: None,
            path: shown,
            text: &region,
            first_line: first,
            span: before..before + failing,
            help: None,
            context: true,
        };
        let renderer = renderer(anstream::stderr().current_choice());
        let _ = writeln!(anstream::stderr().lock(), "{}", annotated.render(&renderer));
    }

    /// The reporter for a command that does work.
    /// Every event also goes to the run log ([`strata_engine::trace`]).
    pub fn reporter(&self) -> Box<dyn Reporter + '_> {
        match self.format {
            Format::Json => Box::new(Traced(JsonReporter(self))),
            Format::Human | Format::Github => Box::new(Traced(HumanReporter::new(self))),
        }
    }
}

/// A stretch of a file with a span marked, as lint findings and failed
/// migrations show it (one renderer for both).
pub struct Annotated<'a> {
    pub level: Level<'static>,
    pub title: &'a str,
    /// The lint rule, shown as `error[rule]`.
    pub rule: Option<&'a str>,
    pub path: &'a str,
    pub text: &'a str,
    /// The file line `text` starts on.
    pub first_line: usize,
    pub span: std::ops::Range<usize>,
    pub help: Option<&'a str>,
    /// Show every line of `text`, not only the marked ones.
    pub context: bool,
}

impl Annotated<'_> {
    pub fn render(&self, renderer: &Renderer) -> String {
        let snippet = Snippet::source(self.text)
            .line_start(self.first_line)
            .path(self.path)
            .fold(!self.context)
            .annotation(AnnotationKind::Primary.span(self.span.clone()));
        let mut group = self.level.clone().primary_title(self.title);
        if let Some(rule) = self.rule {
            group = group.id(rule);
        }
        let mut group = group.element(snippet);
        if let Some(help) = self.help {
            group = group.element(Level::HELP.message(help));
        }
        renderer.render(&[group])
    }
}

/// Plain or colored, as the stream the text goes to is.
pub fn renderer(choice: anstream::ColorChoice) -> Renderer {
    if choice == anstream::ColorChoice::Never {
        Renderer::plain()
    } else {
        Renderer::styled()
    }
}

/// A command-line usage error as a JSON error line.
pub fn usage_error_json(message: &str) {
    let error = ErrorBody::new("usage", message.trim().to_string(), None);
    let text = serde_json::to_string(&ErrorDoc { error }).expect("an error serializes");
    let _ = writeln!(std::io::stdout().lock(), "{text}");
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

/// Lines collected for one write ([`Printer::block`]).
pub struct Block<'a> {
    printer: &'a Printer,
    text: String,
}

impl Block<'_> {
    /// Adds a line.
    pub fn line(&mut self, text: impl AsRef<str>) {
        self.text.push_str(text.as_ref());
        self.text.push('\n');
    }
}

impl Drop for Block<'_> {
    fn drop(&mut self) {
        if !self.printer.quiet && !self.text.is_empty() {
            let _ = anstream::stdout().lock().write_all(self.text.as_bytes());
        }
    }
}
