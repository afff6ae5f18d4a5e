//! What a command is asked to do ([`Request`]) and what it did ([`Report`]).

use crate::events::Event;
use strata_discover::Reading;
pub use strata_plan::RequestKind;
use strata_plan::UpOptions;

/// What to do.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: RequestKind,
    /// `--approve HASH`: run only if the plan has this hash.
    pub approve: Option<String>,
    /// `--yes`: the user accepts changes to a protected environment.
    pub yes: bool,
    /// `--dry-run`: run the plan in a transaction that is rolled back.
    pub dry_run: bool,
    /// `--allow-destructive`: run destructive statements on an environment
    /// with `allow_destructive = false` (still approved).
    pub allow_destructive: bool,
    /// `--restart`: run an interrupted statement-by-statement migration
    /// from its first statement instead of resuming after the last one
    /// that completed.
    pub restart: bool,
    /// `--terminate-stale`: end the session holding the migration lock (a
    /// killed run's, still running on the server) after confirmation.
    pub terminate_stale: bool,
}

impl Request {
    pub fn new(kind: RequestKind) -> Self {
        Request {
            kind,
            approve: None,
            yes: false,
            dry_run: false,
            allow_destructive: false,
            restart: false,
            terminate_stale: false,
        }
    }

    pub fn up() -> Self {
        Self::new(RequestKind::Up(UpOptions::default()))
    }

    pub fn command(&self) -> &'static str {
        self.kind.command()
    }

    /// What the first read of the files keeps. An `up` most often has
    /// nothing to do, and its plan needs no SQL to find out: the files are
    /// read again, whole, only when it has steps. Other requests plan on
    /// the SQL itself (a down derived from an up).
    pub(crate) fn first_reading(&self) -> Reading {
        match self.kind {
            RequestKind::Up(_) => Reading::Checksums,
            _ => Reading::Whole,
        }
    }
}

/// A duration in whole milliseconds, as reports and events give them.
pub(crate) fn ms(d: std::time::Duration) -> u64 {
    d.as_millis() as u64
}

/// What a run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub command: String,
    pub plan_hash: String,
    pub applied: usize,
    pub reverted: usize,
    /// Steps that only wrote history (baseline, repair).
    pub recorded: usize,
    pub failed: usize,
    /// Steps a dry run could not try (they run outside a transaction).
    pub skipped: usize,
    pub dry_run: bool,
    pub duration_ms: u64,
}

impl Report {
    /// The event that ends a run's output.
    pub(crate) fn finished(&self) -> Event {
        Event::Finished {
            applied: self.applied,
            reverted: self.reverted,
            recorded: self.recorded,
            failed: self.failed,
            skipped: self.skipped,
            dry_run: self.dry_run,
            duration_ms: self.duration_ms,
        }
    }

    /// Steps that did something (applied, reverted, recorded or failed).
    pub fn steps(&self) -> usize {
        self.applied + self.reverted + self.recorded + self.failed
    }
}
