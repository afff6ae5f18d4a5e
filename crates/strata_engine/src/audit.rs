//! The audit log: one JSON line per state-changing command (who, where,
//! which environment and database, the command and its plan hash, the
//! result and counts), appended to a file only its owner can read. The file
//! is opened before any work starts, so a command that could not be
//! audited does not run ([`crate::Engine::audited`] does both).

use crate::EngineError;
use crate::report::Report;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use strata_model::{STRATA_VERSION, Timestamp};

/// An audit log opened for one command.
pub(crate) struct AuditLog {
    file: File,
    path: PathBuf,
    started: std::time::Instant,
}

/// How a command that succeeded ended, for its audit line.
pub(crate) enum Outcome<'a> {
    Ran(&'a Report),
    Adopted {
        adopted: usize,
    },
    Restored {
        backup: &'a str,
    },
    /// A maintenance task ran (`ok`: it exited 0).
    Task {
        task: &'a str,
        ok: bool,
    },
}

/// What a command returns, as its audit line tells it.
pub(crate) trait Audited {
    fn outcome(&self) -> Outcome<'_>;
}

impl Audited for Report {
    fn outcome(&self) -> Outcome<'_> {
        Outcome::Ran(self)
    }
}

impl AuditLog {
    /// Opens the audit log at `path` for appending, creating it (and its
    /// directory) with mode 0600.
    pub(crate) fn open(path: PathBuf) -> Result<AuditLog, EngineError> {
        let cannot = |e: std::io::Error| {
            EngineError::Refused(format!(
                "cannot open the audit log {}: {e}; nothing was run (fix its directory or permissions, or change audit_log in strata.toml)",
                path.display()
            ))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(cannot)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(cannot)?;
        Ok(AuditLog {
            file,
            path,
            started: std::time::Instant::now(),
        })
    }

    /// Appends the command's line. A failure to write is returned for the
    /// caller to report; the command's own result stands.
    pub(crate) fn record<T: Audited>(
        mut self,
        environment: Option<&str>,
        database: &str,
        command: &str,
        result: &Result<T, EngineError>,
    ) -> Result<(), String> {
        let mut line = serde_json::json!({
            "time": Timestamp::now().rfc3339(),
            "user": strata_driver::os_identity(),
            "host": strata_driver::host_name(),
            "environment": environment,
            "database": database,
            "command": command,
            "strata_version": STRATA_VERSION,
            "duration_ms": crate::report::ms(self.started.elapsed()),
        });
        let fields = line.as_object_mut().expect("an object");
        let outcome = result.as_ref().map(Audited::outcome);
        let report = match &outcome {
            Ok(Outcome::Ran(r)) => Some(*r),
            Ok(_) => None,
            Err(error) => error.report(),
        };
        if let Some(r) = report {
            fields.insert("plan_hash".into(), r.plan_hash.clone().into());
            fields.insert("applied".into(), r.applied.into());
            fields.insert("reverted".into(), r.reverted.into());
            fields.insert("recorded".into(), r.recorded.into());
            fields.insert("failed".into(), r.failed.into());
            fields.insert("dry_run".into(), r.dry_run.into());
        }
        match outcome {
            Ok(Outcome::Ran(_)) => {
                fields.insert("result".into(), "ok".into());
            }
            Ok(Outcome::Adopted { adopted }) => {
                fields.insert("result".into(), "ok".into());
                fields.insert("recorded".into(), adopted.into());
            }
            Ok(Outcome::Restored { backup }) => {
                fields.insert("result".into(), "ok".into());
                fields.insert("backup".into(), backup.into());
            }
            Ok(Outcome::Task { task, ok }) => {
                fields.insert("result".into(), if ok { "ok" } else { "failed" }.into());
                fields.insert("task".into(), task.into());
            }
            Err(error) => {
                fields.insert("result".into(), "error".into());
                // Errors name URLs only redacted, and carry no values.
                fields.insert("error".into(), error.to_string().into());
            }
        }
        writeln!(self.file, "{line}")
            .and_then(|()| self.file.flush())
            .map_err(|e| format!("could not write the audit log {}: {e}", self.path.display()))
    }
}
