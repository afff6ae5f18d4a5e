//! The audit log: one JSON line per state-changing command (who, where,
//! which environment and database, the command and its plan hash, the
//! result and counts), appended to a file only its owner can read. The file
//! is opened before any work starts, so a command that could not be
//! audited does not run.

use crate::run::Report;
use crate::{Engine, EngineError};
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use strata_model::{STRATA_VERSION, Timestamp};

/// An audit log opened for one command.
pub struct AuditLog {
    file: File,
    path: PathBuf,
    started: std::time::Instant,
}

/// How a command ended, for its audit line.
pub enum Outcome<'a> {
    Ran(&'a Report),
    Adopted {
        adopted: usize,
    },
    Restored {
        backup: &'a str,
    },
    Failed {
        error: &'a EngineError,
        report: Option<&'a Report>,
    },
}

impl Engine {
    /// Opens the configured audit log for appending (creating it with mode
    /// 0600); `None` when no audit log is configured.
    pub(crate) fn open_audit(&self) -> Result<Option<AuditLog>, EngineError> {
        let Some(rel) =
            self.env
                .audit_log
                .as_ref()
                .or(self.project.config.project.audit_log.as_ref())
        else {
            return Ok(None);
        };
        let path = self.project.root.join(rel);
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
        Ok(Some(AuditLog {
            file,
            path,
            started: std::time::Instant::now(),
        }))
    }
}

impl AuditLog {
    /// Appends the command's line. A failure to write is returned for the
    /// caller to report; the command's own result stands.
    pub fn record(
        mut self,
        engine: &Engine,
        command: &str,
        outcome: Outcome<'_>,
    ) -> Result<(), String> {
        let mut line = serde_json::json!({
            "time": Timestamp::now().rfc3339(),
            "user": strata_driver::os_identity(),
            "host": strata_driver::host_name(),
            "environment": engine.env_name,
            "database": engine.database_display(),
            "command": command,
            "strata_version": STRATA_VERSION,
            "duration_ms": self.started.elapsed().as_millis() as u64,
        });
        let fields = line.as_object_mut().expect("an object");
        let report = match &outcome {
            Outcome::Ran(r) => Some(*r),
            Outcome::Failed { report, .. } => *report,
            Outcome::Adopted { .. } | Outcome::Restored { .. } => None,
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
            Outcome::Ran(_) => {
                fields.insert("result".into(), "ok".into());
            }
            Outcome::Adopted { adopted } => {
                fields.insert("result".into(), "ok".into());
                fields.insert("recorded".into(), adopted.into());
            }
            Outcome::Restored { backup } => {
                fields.insert("result".into(), "ok".into());
                fields.insert("backup".into(), backup.into());
            }
            Outcome::Failed { error, .. } => {
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
