//! The backup seam: each engine writes, checks and restores its backups
//! with its own tools ([`Backup`]); the engine keeps the manifests,
//! retention and approval. And the helpers the engines share for running a
//! client program.

use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// A database's backups, as its engine makes them.
#[async_trait]
pub trait Backup: Send + Sync {
    /// The extension of its backup files (`dump`, `sqlite`, `sql`).
    fn extension(&self) -> &'static str;

    /// Writes a backup into the new file `dest` (created mode 0600); the
    /// program (and version) or API that wrote it. A failure is said in a
    /// sentence.
    async fn write(&self, dest: &Path) -> Result<String, String>;

    /// Replaces the database's data with the backup at `path`.
    async fn restore(&self, path: &Path) -> Result<(), String>;
}

/// Creates the new file `path`, readable by its owner only.
pub fn create_private(path: &Path) -> Result<std::fs::File, String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

/// The first of `names` found on PATH.
pub fn program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// The `--version` line of `program`, when it runs.
pub async fn tool_version(program: &Path) -> Option<String> {
    let out = tokio::process::Command::new(program)
        .arg("--version")
        .output()
        .await
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs `cmd` with its standard output into the new 0600 file `path`.
pub async fn run_into(cmd: tokio::process::Command, path: &Path, what: &str) -> Result<(), String> {
    let file = create_private(path)?;
    run_to(cmd, Stdio::from(file), what).await
}

/// Runs `cmd` with its standard output to `stdout`; a failure carries its
/// standard error (URLs in it redacted).
pub async fn run_to(
    mut cmd: tokio::process::Command,
    stdout: Stdio,
    what: &str,
) -> Result<(), String> {
    let out = cmd
        .stdout(stdout)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?
        .wait_with_output()
        .await
        .map_err(|e| format!("{what} did not finish: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(format!(
        "{what} failed ({}): {}",
        out.status,
        crate::redact_url(stderr.trim())
    ))
}
