//! Runs script migrations: executables get the action (`up`, `down`,
//! `verify`) as their first argument; Python modules that define
//! `run_migration()` (and `rollback_migration()`, `verify_migration()`)
//! run through a small launcher. Every script gets `DATABASE_URL`,
//! `STRATA_ENV` and `STRATA_MIGRATION`, runs outside any transaction, is
//! stopped after the source's timeout, and its output's tail is kept,
//! with the database password hidden.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use strata_model::MigrationId;
use strata_plan::Step;
use tokio::io::AsyncBufReadExt;
use tokio::sync::Notify;

/// How much of a script's output history keeps.
const TAIL: usize = 2000;

/// The launcher for Python migration modules: imports the module under its
/// own name with its folder on the path (so it imports its neighbours, as
/// `python -m` would let it) and calls the function for the action; a
/// verify that returns False fails.
const PYTHON_LAUNCHER: &str = r#"
import importlib.util, os, sys
path, action = sys.argv[1], sys.argv[2]
folder, file = os.path.split(os.path.abspath(path))
sys.path.insert(0, folder)
name = os.path.splitext(file)[0]
spec = importlib.util.spec_from_file_location(name, path)
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
spec.loader.exec_module(module)
name = {"up": "run_migration", "dry-run": "run_migration", "down": "rollback_migration", "verify": "verify_migration"}[action]
function = getattr(module, name, None)
if function is None:
    print(f"{path} defines no {name}()", file=sys.stderr)
    sys.exit(3)
result = function(dry_run=True) if action == "dry-run" else function()
if action == "verify" and result is False:
    print(f"{name}() returned False", file=sys.stderr)
    sys.exit(1)
"#;

/// The default time a script may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// How long a stopped script's process group has between SIGTERM and
/// SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// Scripts running now, and how to tell them to stop.
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static INTERRUPT: Notify = Notify::const_new();
static INTERRUPTED_BY: std::sync::Mutex<&str> = std::sync::Mutex::new("Ctrl-C");

fn interrupted_by() -> &'static str {
    INTERRUPTED_BY.lock().map_or("a signal", |w| *w)
}

/// Asks every running script to stop, on Ctrl-C or SIGTERM (`why`; a
/// script runs in a process group of its own, so the terminal's Ctrl-C does
/// not reach it): its whole process group is ended and its migration
/// recorded as failed. `false` when no script is running (the caller then
/// stops as usual).
pub fn interrupt_scripts(why: &'static str) -> bool {
    if RUNNING.load(Ordering::SeqCst) == 0 {
        return false;
    }
    if let Ok(mut by) = INTERRUPTED_BY.lock() {
        *by = why;
    }
    INTERRUPT.notify_waiters();
    true
}

/// The `application_name` a script's PostgreSQL sessions get (through
/// `PGAPPNAME`), so that strata can end them when it stops the script.
pub fn application_name(what: impl std::fmt::Display) -> String {
    format!("strata-script {what}")
}

/// What a script runs with: the project's directory, the database and
/// environment it is told of, and how long it may take.
pub(crate) struct ScriptEnv {
    pub root: PathBuf,
    /// The database URL (`DATABASE_URL`), or why there is none.
    pub url: Result<String, String>,
    pub env: String,
    pub timeout: Duration,
    /// The interpreter of Python scripts.
    pub python: String,
    /// The engine client's own variables for the database (`PGHOST`...).
    pub client_env: Vec<(&'static str, String)>,
}

/// Runs `step`'s script with `action`; the tail of its output on success,
/// or why it failed.
pub(crate) async fn run(
    script: &ScriptEnv,
    step: &Step,
    action: &str,
) -> Result<Option<String>, String> {
    let rel = step.path.as_deref().ok_or("the script's file is gone")?;
    let text = step
        .script
        .as_ref()
        .map(|b| b.sql.as_str())
        .unwrap_or_default();
    run_file(script, &step.id, rel, text, action).await
}

/// Runs the script at `rel` (relative to the project) with `action`.
pub(crate) async fn run_file(
    script: &ScriptEnv,
    id: &MigrationId,
    rel: &Path,
    text: &str,
    action: &str,
) -> Result<Option<String>, String> {
    let path = script.root.join(rel);
    let mut command = command_for(&path, text, Some(action), &script.python)?;
    command
        .env("STRATA_MIGRATION", id.to_string())
        .env("STRATA_ACTION", action);
    let done = wait(script, &id.to_string(), rel, command, false).await?;
    let output = done.tail();
    if let Some(why) = done.stopped {
        return Err(if output.is_empty() {
            why
        } else {
            format!("{why}; output: {output}")
        });
    }
    match done.code {
        Some(0) => Ok((!output.is_empty()).then(|| format!("output: {output}"))),
        code => Err(format!(
            "{} exited with {}{}",
            rel.display(),
            code.map_or("a signal".to_string(), |c| format!("status {c}")),
            if output.is_empty() {
                String::new()
            } else {
                format!("; output: {output}")
            }
        )),
    }
}

/// A script that ran to its end.
pub(crate) struct Finished {
    /// Its exit status (`None`: ended by a signal).
    pub code: Option<i32>,
    /// What it printed (stdout, then stderr), the database password hidden.
    pub output: String,
    /// Why it was stopped before its end (timeout, Ctrl-C, SIGTERM), and
    /// what was done about it.
    pub stopped: Option<String>,
}

impl Finished {
    /// The last part of what it printed, as history keeps it.
    pub fn tail(&self) -> String {
        let text = self.output.trim();
        match text.char_indices().rev().nth(TAIL) {
            Some((i, _)) => format!("...{}", &text[i..]),
            None => text.to_string(),
        }
    }
}

/// Runs the maintenance task at `rel` with `args` (a Python file as a
/// program, not a migration module).
pub(crate) async fn run_task(
    script: &ScriptEnv,
    id: &str,
    rel: &Path,
    text: &str,
    args: &[String],
    live: bool,
) -> Result<Finished, String> {
    let path = script.root.join(rel);
    let mut command = command_for(&path, text, None, &script.python)?;
    command.args(args).env("STRATA_TASK", id);
    wait(script, id, rel, command, live).await
}

/// Starts `command` for the script `rel` (`what` names it to the
/// database) and waits for it within the timeout, copying what it prints
/// to strata's own output as it comes when `live`; why not when it could
/// not start.
async fn wait(
    script: &ScriptEnv,
    what: &str,
    rel: &Path,
    mut command: tokio::process::Command,
    live: bool,
) -> Result<Finished, String> {
    let url = script.url.clone()?;
    command
        .env("DATABASE_URL", &url)
        .env("STRATA_ENV", &script.env)
        .envs(script.client_env.iter().map(|(k, v)| (*k, v)))
        .env("PGAPPNAME", application_name(what))
        .current_dir(&script.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so that stopping it stops what it started
    // (psql, a child shell) too.
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", rel.display()))?;
    let group = child.id();
    let (out, err) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let timeout = script.timeout;
    let (mut o, mut e) = (Vec::new(), Vec::new());
    RUNNING.fetch_add(1, Ordering::SeqCst);
    let stopped = {
        let run = async {
            tokio::join!(
                collect(out, &mut o, live.then_some(Stream::Out), &url),
                collect(err, &mut e, live.then_some(Stream::Err), &url),
                child.wait()
            )
            .2
        };
        tokio::select! {
            done = tokio::time::timeout(timeout, run) => match done {
                Ok(status) => Ok(status),
                Err(_) => Err(format!(
                    "stopped after {}s (the source's timeout); raise `timeout` in its [[source]] if it needs longer",
                    timeout.as_secs()
                )),
            },
            () = INTERRUPT.notified() => Err(format!("stopped by {}", interrupted_by())),
        }
    };
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    // What it printed, up to its end or its stop.
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&o),
        String::from_utf8_lossy(&e)
    );
    let output = strata_driver::redact_in(&printed, &url);
    match stopped {
        Ok(status) => {
            let status = status.map_err(|e| format!("waiting for {}: {e}", rel.display()))?;
            Ok(Finished {
                code: status.code(),
                output,
                stopped: None,
            })
        }
        Err(why) => {
            let how = end_group(group, &mut child).await;
            Ok(Finished {
                code: None,
                output,
                stopped: Some(format!(
                    "{why}; {how}; what it changed before that stays, so check the database before running it again"
                )),
            })
        }
    }
}

/// Where a running script's output is copied to, as it comes.
#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

/// Reads `from` to its end into `into`, copying each line (password
/// hidden) to `live` as it comes.
async fn collect(
    from: impl tokio::io::AsyncRead + Unpin,
    into: &mut Vec<u8>,
    live: Option<Stream>,
    url: &str,
) {
    use std::io::Write;
    let mut lines = tokio::io::BufReader::new(from);
    loop {
        let start = into.len();
        match lines.read_until(b'\n', into).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let Some(stream) = live else { continue };
                let line = strata_driver::redact_in(&String::from_utf8_lossy(&into[start..]), url);
                let _ = match stream {
                    Stream::Out => std::io::stdout().write_all(line.as_bytes()),
                    Stream::Err => std::io::stderr().write_all(line.as_bytes()),
                };
            }
        }
    }
}

/// Ends a stopped script's whole process group: SIGTERM, then SIGKILL to
/// what is left after [`GRACE`]. Says what was done.
async fn end_group(group: Option<u32>, child: &mut tokio::process::Child) -> String {
    #[cfg(unix)]
    if let Some(pid) = group.and_then(|g| i32::try_from(g).ok()) {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        let pgid = Pid::from_raw(pid);
        let _ = killpg(pgid, Signal::SIGTERM);
        let exited = tokio::time::timeout(GRACE, child.wait()).await.is_ok();
        // The leader may be gone while a child it started is not.
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = child.wait().await;
        return if exited {
            "its process group was ended (SIGTERM)".into()
        } else {
            format!(
                "its process group did not end within {}s of SIGTERM and was killed (SIGKILL)",
                GRACE.as_secs()
            )
        };
    }
    let _ = group;
    let _ = child.kill().await;
    "the script was killed".into()
}

/// How to start the script at `path`: a Python module through the
/// launcher, a file with a known extension through its interpreter, an
/// executable directly.
fn command_for(
    path: &Path,
    text: &str,
    action: Option<&str>,
    python: &str,
) -> Result<tokio::process::Command, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let module = action.is_some() && ext == "py" && strata_discover::python_functions(text)[0];
    let mut command = if module {
        let mut c = tokio::process::Command::new(python);
        c.arg("-c").arg(PYTHON_LAUNCHER).arg(path);
        c
    } else if let Some(interpreter) = shebang(text) {
        let mut parts = interpreter.split_whitespace();
        let mut c = tokio::process::Command::new(parts.next().unwrap_or("sh"));
        c.args(parts).arg(path);
        c
    } else {
        let interpreter = match ext {
            "sh" => "sh",
            "bash" => "bash",
            "py" => python,
            "js" | "mjs" => "node",
            "rb" => "ruby",
            "pl" => "perl",
            _ => path.as_os_str().to_str().unwrap_or_default(),
        };
        let mut c = tokio::process::Command::new(interpreter);
        if interpreter != path.as_os_str() {
            c.arg(path);
        }
        c
    };
    command.args(action);
    Ok(command)
}

/// The interpreter of a `#!` line.
fn shebang(text: &str) -> Option<&str> {
    text.lines().next()?.strip_prefix("#!").map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_tail_is_cut() {
        let done = Finished {
            code: Some(0),
            output: "x".repeat(5000),
            stopped: None,
        };
        assert!(done.tail().len() <= TAIL + 4);
    }
}
