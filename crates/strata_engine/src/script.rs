//! Runs script migrations: executables get the action (`up`, `down`,
//! `verify`) as their first argument; Python modules that define
//! `run_migration()` (and `rollback_migration()`, `verify_migration()`)
//! run through a small launcher. Every script gets `DATABASE_URL`,
//! `STRATA_ENV` and `STRATA_MIGRATION`, runs outside any transaction, is
//! stopped after the source's timeout, and its output's tail is kept,
//! with the database password hidden.

use crate::Engine;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use strata_model::MigrationId;
use strata_plan::Step;
use tokio::io::AsyncReadExt;

/// How much of a script's output history keeps.
const TAIL: usize = 2000;

/// The launcher for Python migration modules: imports the file and calls
/// the function for the action; a verify that returns False fails.
const PYTHON_LAUNCHER: &str = r#"
import importlib.util, sys
path, action = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("strata_migration", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
name = {"up": "run_migration", "down": "rollback_migration", "verify": "verify_migration"}[action]
function = getattr(module, name, None)
if function is None:
    print(f"{path} defines no {name}()", file=sys.stderr)
    sys.exit(3)
result = function()
if action == "verify" and result is False:
    print(f"{name}() returned False", file=sys.stderr)
    sys.exit(1)
"#;

/// The default time a script may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Runs `step`'s script with `action`; the tail of its output on success,
/// or why it failed.
pub async fn run(engine: &Engine, step: &Step, action: &str) -> Result<Option<String>, String> {
    let rel = step.path.as_deref().ok_or("the script's file is gone")?;
    let text = step
        .script
        .as_ref()
        .map(|b| b.sql.as_str())
        .unwrap_or_default();
    run_file(engine, &step.id, rel, text, action).await
}

/// Runs the script at `rel` (relative to the project) with `action`.
pub async fn run_file(
    engine: &Engine,
    id: &MigrationId,
    rel: &Path,
    text: &str,
    action: &str,
) -> Result<Option<String>, String> {
    let path = engine.root().join(rel);
    let mut command = command_for(&path, text, action)?;
    let url = engine.database().map_err(|e| e.to_string())?.url();
    command
        .env("DATABASE_URL", &url)
        .env("STRATA_ENV", engine.env_name.as_deref().unwrap_or(""))
        .env("STRATA_MIGRATION", id.to_string())
        .env("STRATA_ACTION", action)
        .current_dir(engine.root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", rel.display()))?;
    let (mut out, mut err) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let timeout = engine.script_timeout(&id.source);
    let run = async {
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let (_, _, status) = tokio::join!(
            out.read_to_end(&mut o),
            err.read_to_end(&mut e),
            child.wait()
        );
        (o, e, status)
    };
    let (stdout, stderr, status) = match tokio::time::timeout(timeout, run).await {
        Ok(done) => done,
        Err(_) => {
            return Err(format!(
                "stopped after {}s (the source's timeout); raise `timeout` in its [[source]] if it needs longer",
                timeout.as_secs()
            ));
        }
    };
    let output = redact(&tail(&stdout, &stderr), &url);
    match status {
        Ok(s) if s.success() => Ok((!output.is_empty()).then(|| format!("output: {output}"))),
        Ok(s) => Err(format!(
            "{} exited with {}{}",
            rel.display(),
            s.code()
                .map_or("a signal".to_string(), |c| format!("status {c}")),
            if output.is_empty() {
                String::new()
            } else {
                format!("; output: {output}")
            }
        )),
        Err(e) => Err(format!("waiting for {}: {e}", rel.display())),
    }
}

/// How to start the script at `path`: a Python module through the
/// launcher, a file with a known extension through its interpreter, an
/// executable directly.
fn command_for(path: &Path, text: &str, action: &str) -> Result<tokio::process::Command, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let python = std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut command = if ext == "py" && strata_discover::python_functions(text)[0] {
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
            "py" => python.as_str(),
            "js" | "mjs" => "node",
            "rb" => "ruby",
            "pl" => "perl",
            _ => return Ok(direct(path, action)),
        };
        let mut c = tokio::process::Command::new(interpreter);
        c.arg(path);
        c
    };
    command.arg(action);
    Ok(command)
}

fn direct(path: &Path, action: &str) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(path);
    c.arg(action);
    c
}

/// The interpreter of a `#!` line.
fn shebang(text: &str) -> Option<&str> {
    text.lines().next()?.strip_prefix("#!").map(str::trim)
}

/// The last part of what a script printed (stdout, then stderr).
fn tail(stdout: &[u8], stderr: &[u8]) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(stdout),
        String::from_utf8_lossy(stderr)
    );
    let text = text.trim();
    match text.char_indices().rev().nth(TAIL) {
        Some((i, _)) => format!("...{}", &text[i..]),
        None => text.to_string(),
    }
}

/// Hides the database URL and its password (as written, decoded, or as a
/// `password=` parameter) wherever a script printed them.
fn redact(text: &str, url: &str) -> String {
    let mut out = text.replace(url, &strata_driver::redact_url(url));
    for secret in secrets(url) {
        if secret.len() >= 3 {
            out = out.replace(&secret, "***");
        }
    }
    out
}

/// The password of a URL in every form a script may print it.
fn secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(rest) = url.find("://").map(|i| &url[i + 3..])
        && let Some(at) = rest.find('@')
        && let Some((_, password)) = rest[..at].split_once(':')
    {
        found.push(password.to_string());
    }
    for (key, value) in url
        .split(['?', '&'])
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
    {
        if key.eq_ignore_ascii_case("password") {
            found.push(value.to_string());
        }
    }
    let decoded: Vec<String> = found.iter().map(|s| percent_decode(s)).collect();
    found.extend(decoded);
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found.dedup();
    found
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_tail_hides_the_password() {
        let out = redact(
            "connecting to postgres://u:s3cret@h/db with s3cret",
            "postgres://u:s3cret@h/db",
        );
        assert!(!out.contains("s3cret"), "{out}");
        let out = redact(
            "p@ssword and q1w2e3",
            "postgres://u:p%40ssword@h/db?password=q1w2e3",
        );
        assert!(
            !out.contains("p@ssword") && !out.contains("q1w2e3"),
            "{out}"
        );
        let long = "x".repeat(5000);
        assert!(tail(long.as_bytes(), b"").len() <= TAIL + 4);
    }
}
