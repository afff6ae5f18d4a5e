//! The backup seam: each engine writes, checks and restores its backups
//! with its own tools ([`Backup`]); the engine keeps the manifests,
//! retention and approval. And the helpers the engines share for running a
//! client program.

use async_trait::async_trait;
use std::io::{Read, Write};
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

    /// Writes a backup into `out` as it is made (a file that encrypts what
    /// it is given: no plain copy is ever on disk); the program that wrote
    /// it, as [`Backup::write`].
    async fn write_to(&self, out: &mut (dyn Write + Send)) -> Result<String, String>;

    /// Replaces the database's data with the backup read from `input` (a
    /// file decrypted as it is read).
    async fn restore_from(&self, input: &mut (dyn Read + Send)) -> Result<(), String>;
}

/// How much is read or written at a time when a backup streams.
const CHUNK: usize = 64 * 1024;

/// Runs `cmd`, writing its standard output into `out` as it comes; a
/// failure carries its standard error (URLs in it redacted).
pub async fn run_out_to(
    mut cmd: tokio::process::Command,
    out: &mut (dyn Write + Send),
    what: &str,
) -> Result<(), String> {
    use tokio::io::AsyncReadExt;
    let (mut child, errors) = start(cmd.stdout(Stdio::piped()), what)?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut buf = vec![0; CHUNK];
    loop {
        let n = stdout
            .read(&mut buf)
            .await
            .map_err(|e| format!("reading {what}'s output: {e}"))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])
            .map_err(|e| format!("writing {what}'s output: {e}"))?;
    }
    finished(child, errors, what).await
}

/// Runs `cmd` with `input` as its standard input.
pub async fn run_in_from(
    mut cmd: tokio::process::Command,
    input: &mut (dyn Read + Send),
    what: &str,
) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let (mut child, errors) = start(cmd.stdin(Stdio::piped()).stdout(Stdio::null()), what)?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut buf = vec![0; CHUNK];
    let fed = loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => break Err(format!("reading the backup: {e}")),
        };
        // The program stopped reading (it failed): its error says why.
        if stdin.write_all(&buf[..n]).await.is_err() {
            break Ok(());
        }
    };
    drop(stdin);
    if let Err(e) = fed {
        let _ = child.kill().await;
        return Err(e);
    }
    finished(child, errors, what).await
}

/// Starts `cmd` (killed if dropped), with its standard error read to the
/// end beside the work, for [`finished`] to say.
fn start(
    cmd: &mut tokio::process::Command,
    what: &str,
) -> Result<(tokio::process::Child, tokio::task::JoinHandle<String>), String> {
    let mut child = cmd
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let mut stderr = child.stderr.take().expect("piped");
    let errors = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text).await;
        String::from_utf8_lossy(&text).into_owned()
    });
    Ok((child, errors))
}

/// Waits for a command [`start`]ed; a failure carries its standard error
/// (URLs in it redacted).
async fn finished(
    mut child: tokio::process::Child,
    errors: tokio::task::JoinHandle<String>,
    what: &str,
) -> Result<(), String> {
    let status = child
        .wait()
        .await
        .map_err(|e| format!("{what} did not finish: {e}"))?;
    let stderr = errors.await.unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({status}): {}",
        crate::redact_url(stderr.trim())
    ))
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
    let (child, errors) = start(cmd.stdout(stdout), what)?;
    finished(child, errors, what).await
}
