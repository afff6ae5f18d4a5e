use crate::output;
use crate::printer::{DIM, GREEN, Printer, RED, interactive};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use strata_engine::{BackupManifest, Engine};

pub async fn create(engine: &Engine, printer: &Printer) -> anyhow::Result<ExitCode> {
    if let Some(note) = engine.ensure_backups_ignored()? {
        printer.warning(&note);
    }
    let m = engine.backup("manual", None).await?;
    if printer.is_json() {
        printer.json(&m);
    } else {
        printer.summary(format!(
            "{}backed up{} {} to {} ({} bytes, sha256 {})",
            GREEN.render(),
            GREEN.render_reset(),
            m.database,
            engine.display_path(&engine.backup_dir().join(&m.file)),
            m.size,
            &m.sha256[..16]
        ));
        printer.line(format!("id: {}", m.id));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn list(engine: &Engine, printer: &Printer) -> anyhow::Result<ExitCode> {
    let all = engine.backups()?;
    if printer.is_json() {
        printer.json(&output::Backups { backups: all });
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        printer.summary(format!(
            "No backups in {}.",
            engine.display_path(&engine.backup_dir())
        ));
        return Ok(ExitCode::SUCCESS);
    }
    printer.summary(format!(
        "{:<32} {:<12} {:<24} {:>12}  {}",
        "ID", "ENVIRONMENT", "CREATED", "BYTES", "REASON"
    ));
    for m in &all {
        printer.summary(row(m));
    }
    Ok(ExitCode::SUCCESS)
}

fn row(m: &BackupManifest) -> String {
    let reason = match &m.plan_hash {
        Some(h) => format!("{} (plan {h})", m.reason),
        None => m.reason.clone(),
    };
    format!(
        "{:<32} {:<12} {:<24} {:>12}  {reason}",
        m.id,
        m.environment.as_deref().unwrap_or("-"),
        m.created_at,
        m.size
    )
}

pub async fn verify(
    engine: &Engine,
    id: &str,
    identity: Option<&std::path::Path>,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let check = engine.verify_backup(id, identity).await?;
    let code = if check.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if printer.is_json() {
        printer.json(&check);
        return Ok(code);
    }
    if check.ok {
        printer.summary(format!(
            "{}ok{}: backup {id} matches its manifest and can be read.",
            GREEN.render(),
            GREEN.render_reset()
        ));
    } else {
        for p in &check.problems {
            printer.summary(format!(
                "{}problem{}: {p}",
                RED.render(),
                RED.render_reset()
            ));
        }
        printer.summary(format!("backup {id} does not verify: do not restore it."));
    }
    Ok(code)
}

/// What the user said to let a restore go ahead: `--approve ID`, `--yes`,
/// and `--terminate-stale` (with `--yes`).
pub struct Consent<'a> {
    pub approve: Option<&'a str>,
    pub yes: bool,
    pub terminate: Option<bool>,
}

pub async fn restore(
    engine: &Engine,
    id: &str,
    identity: Option<&std::path::Path>,
    consent: Consent<'_>,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let Consent {
        approve,
        yes,
        terminate,
    } = consent;
    if let Some(a) = approve
        && a != id
    {
        anyhow::bail!("--approve names backup `{a}`, but the backup to restore is `{id}`");
    }
    let approved = !engine.env.protected || (yes && (approve.is_some() || confirm(engine, id)));
    let reporter = printer.reporter();
    let (m, before) = engine
        .restore(id, identity, approved, terminate, reporter.as_ref())
        .await?;
    if printer.is_json() {
        printer.json(&output::Restored {
            restored: m,
            backed_up_first: before,
        });
    } else {
        if let Some(b) = &before {
            printer.summary(format!(
                "backed up the current state first: {} {}({}){}",
                b.id,
                DIM.render(),
                engine.display_path(&engine.backup_dir().join(&b.file)),
                DIM.render_reset()
            ));
        }
        printer.summary(format!(
            "{}restored{} {} from backup {} {}(taken {}){}",
            GREEN.render(),
            GREEN.render_reset(),
            engine.database_display(),
            m.id,
            DIM.render(),
            m.created_at,
            DIM.render_reset()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks at a terminal for the environment's name before restoring.
fn confirm(engine: &Engine, id: &str) -> bool {
    if !interactive() {
        return false;
    }
    let env = engine.env_name.clone().unwrap_or_default();
    let mut err = anstream::stderr().lock();
    let _ = write!(
        err,
        "Restoring backup {id} replaces the data of `{env}`. Type the environment name ({env}) to go on: "
    );
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == env
}
