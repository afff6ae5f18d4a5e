//! Settings from the process environment (`STRATA_*`), for twelve-factor
//! deployments: each stands for a strata.toml setting and wins over it; a
//! command-line flag wins over both. docs/config.md has the table.

use crate::EngineError;
use crate::config::{BackupWhen, EnvConfig, LockModeConfig, ProjectSection};
use std::time::Duration;

/// `[project]` settings: (variable, what it sets).
pub const PROJECT_VARIABLES: &[(&str, &str)] = &[
    ("STRATA_HISTORY_TABLE", "[project] history_table"),
    ("STRATA_DEFAULT_ENV", "[project] default_env"),
    ("STRATA_AUDIT_LOG", "[project] audit_log"),
    ("STRATA_IGNORE_MISSING", "[project] ignore_missing"),
    ("STRATA_FOLLOW_SYMLINKS", "[project] follow_symlinks"),
    ("STRATA_SCRATCH_URL", "[project] scratch_url"),
    ("STRATA_SCHEMA_FINGERPRINT", "[project] schema_fingerprint"),
    ("STRATA_LOG_FILE", "[project] log_file (also `--log-file`)"),
    ("STRATA_LOG_MAX_SIZE", "[project] log_max_size"),
    ("STRATA_LOG_KEEP", "[project] log_keep"),
    (
        "STRATA_METRICS_FILE",
        "[project] metrics_file (also `--metrics-file`)",
    ),
];

/// An environment's settings, for the one selected.
pub const ENV_VARIABLES: &[(&str, &str)] = &[
    ("STRATA_PROTECTED", "[env.X] protected"),
    ("STRATA_LOCK_TIMEOUT", "[env.X] lock_timeout"),
    ("STRATA_STATEMENT_TIMEOUT", "[env.X] statement_timeout"),
    ("STRATA_LOCK_WAIT", "[env.X] lock_wait"),
    ("STRATA_LOCK_MODE", "[env.X] lock_mode"),
    ("STRATA_REQUIRE_APPROVAL", "[env.X] require_approval"),
    ("STRATA_ALLOW_DESTRUCTIVE", "[env.X] allow_destructive"),
    ("STRATA_VERIFY_AFTER", "[env.X] verify_after"),
    ("STRATA_LOCK_RETRIES", "[env.X] lock_retries"),
    ("STRATA_LOCK_RETRY_WAIT", "[env.X] lock_retry_wait"),
    ("STRATA_BACKUP", "[env.X] backup"),
];

/// A variable's value, when it is set (and not empty).
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn bad(name: &str, value: &str, want: &str) -> EngineError {
    EngineError::Refused(format!(
        "{name}={value}: {want}; fix or unset the environment variable"
    ))
}

fn flag(name: &str) -> Result<Option<bool>, EngineError> {
    let Some(v) = var(name) else { return Ok(None) };
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(Some(true)),
        "0" | "false" | "no" | "off" => Ok(Some(false)),
        _ => Err(bad(name, &v, "write true or false")),
    }
}

fn duration(name: &str) -> Result<Option<Duration>, EngineError> {
    let Some(v) = var(name) else { return Ok(None) };
    humantime::parse_duration(v.trim()).map(Some).map_err(|e| {
        bad(
            name,
            &v,
            &format!("{e}: write a duration such as 30s or 5m"),
        )
    })
}

/// The `[project]` settings the environment sets, over strata.toml's.
pub(crate) fn project(section: &mut ProjectSection) -> Result<(), EngineError> {
    if let Some(v) = var("STRATA_HISTORY_TABLE") {
        section.history_table = Some(v);
    }
    if let Some(v) = var("STRATA_DEFAULT_ENV") {
        section.default_env = Some(v);
    }
    if let Some(v) = var("STRATA_AUDIT_LOG") {
        section.audit_log = Some(v.into());
    }
    if let Some(v) = flag("STRATA_IGNORE_MISSING")? {
        section.ignore_missing = v;
    }
    if let Some(v) = flag("STRATA_FOLLOW_SYMLINKS")? {
        section.follow_symlinks = v;
    }
    if let Some(v) = var("STRATA_SCRATCH_URL") {
        section.scratch_url = Some(v);
    }
    if let Some(v) = flag("STRATA_SCHEMA_FINGERPRINT")? {
        section.schema_fingerprint = Some(v);
    }
    if let Some(v) = var("STRATA_LOG_FILE") {
        section.log_file = Some(v.into());
    }
    if let Some(v) = var("STRATA_LOG_MAX_SIZE") {
        let value = toml::Value::String(v.clone());
        crate::config::parse_size(&value).map_err(|e| {
            bad(
                "STRATA_LOG_MAX_SIZE",
                &v,
                &format!("{e}: write 10MB or a number of bytes"),
            )
        })?;
        section.log_max_size = Some(value);
    }
    if let Some(v) = var("STRATA_LOG_KEEP") {
        section.log_keep = Some(
            v.trim()
                .parse()
                .map_err(|_| bad("STRATA_LOG_KEEP", &v, "write a whole number such as 5"))?,
        );
    }
    if let Some(v) = var("STRATA_METRICS_FILE") {
        section.metrics_file = Some(v.into());
    }
    Ok(())
}

/// The selected environment's settings the environment sets, over
/// strata.toml's.
pub(crate) fn environment(env: &mut EnvConfig) -> Result<(), EngineError> {
    if let Some(v) = flag("STRATA_PROTECTED")? {
        env.protected = v;
    }
    if let Some(v) = duration("STRATA_LOCK_TIMEOUT")? {
        env.lock_timeout = Some(v);
    }
    if let Some(v) = duration("STRATA_STATEMENT_TIMEOUT")? {
        env.statement_timeout = Some(v);
    }
    if let Some(v) = duration("STRATA_LOCK_WAIT")? {
        env.lock_wait = Some(v);
    }
    if let Some(v) = var("STRATA_LOCK_MODE") {
        env.lock_mode = Some(match v.trim().to_ascii_lowercase().as_str() {
            "native" => LockModeConfig::Native,
            "lease" => LockModeConfig::Lease,
            _ => return Err(bad("STRATA_LOCK_MODE", &v, "write native or lease")),
        });
    }
    if let Some(v) = flag("STRATA_REQUIRE_APPROVAL")? {
        env.require_approval = v;
    }
    if let Some(v) = flag("STRATA_ALLOW_DESTRUCTIVE")? {
        env.allow_destructive = v;
    }
    if let Some(v) = flag("STRATA_VERIFY_AFTER")? {
        env.verify_after = v;
    }
    if let Some(v) = var("STRATA_LOCK_RETRIES") {
        env.lock_retries = v
            .trim()
            .parse()
            .map_err(|_| bad("STRATA_LOCK_RETRIES", &v, "write a whole number such as 3"))?;
    }
    if let Some(v) = duration("STRATA_LOCK_RETRY_WAIT")? {
        env.lock_retry_wait = Some(v);
    }
    if let Some(v) = var("STRATA_BACKUP") {
        env.backup = Some(match v.trim().to_ascii_lowercase().as_str() {
            "before" => BackupWhen::Before,
            "never" => BackupWhen::Never,
            _ => return Err(bad("STRATA_BACKUP", &v, "write before or never")),
        });
    }
    Ok(())
}
