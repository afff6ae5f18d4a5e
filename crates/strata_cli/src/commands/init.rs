use crate::output;
use crate::printer::{DIM, Printer, YELLOW};
use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;
use strata_engine::{CONFIG_FILE, NewSource, Project, initial_config};

/// Finds every migration directory of the repository and writes
/// strata.toml with a source for each (or a `migrations/` directory of
/// strata's own when there is none). With a strata.toml already there, only
/// sources for directories it does not list yet are added. Asks nothing.
pub fn run(database_url: Option<&str>, printer: &Printer) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let config = cwd.join(CONFIG_FILE);
    let scan = strata_engine::scan(&cwd);
    let existing = if config.exists() {
        Some(Project::load(&config)?)
    } else {
        None
    };
    // `./db/migrations` and `db/migrations/` are the same directory.
    let clean = |p: &Path| -> std::path::PathBuf {
        p.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect()
    };
    let listed: Vec<std::path::PathBuf> = existing
        .iter()
        .flat_map(|p| p.config.sources.iter().map(|s| clean(&s.path)))
        .collect();
    let mut names: Vec<String> = existing
        .iter()
        .flat_map(|p| p.config.sources.iter().map(|s| s.name.clone()))
        .collect();
    let first_priority = existing
        .iter()
        .flat_map(|p| p.config.sources.iter().map(|s| s.priority + 10))
        .max()
        .unwrap_or(0);
    let mut added = Vec::new();
    let new: Vec<_> = scan
        .detected
        .iter()
        .filter(|d| !listed.contains(&clean(&d.path)))
        .collect();
    let mut notes: Vec<(String, String)> = Vec::new();
    for (i, d) in new.iter().enumerate() {
        // The same layout once per engine (migrations/postgres,
        // migrations/mysql): named after the tool and the engine.
        let per_engine = new.iter().filter(|o| o.format == d.format).count() > 1;
        let base = match &d.engine {
            Some(engine) if per_engine => format!("{}-{engine}", d.format),
            _ if d.task => "maintenance".to_string(),
            // Migration modules in a folder of tasks: its one-off fixes.
            _ if new.iter().any(|o| o.task && o.path == d.path) => "maintenance-fixes".to_string(),
            _ => category(d.format, &d.path),
        };
        let name = unique_name(&base, &d.path, &names);
        names.push(name.clone());
        if let Some(note) = &d.note {
            notes.push((name.clone(), note.clone()));
        }
        added.push(NewSource {
            name,
            path: d.path.display().to_string(),
            format: d.format.to_string(),
            priority: first_priority + 10 * i as i64,
            engine: d.engine.clone(),
            task: d.task,
        });
    }

    let mut created = Vec::new();
    for s in added.iter().filter(|s| !s.task) {
        if let Some(order) = write_order(&cwd, s)? {
            created.push(order);
        }
    }
    let engines: Vec<String> = added.iter().filter_map(|s| s.engine.clone()).collect();
    let database = strata_engine::initial_database(database_url, &cwd, &engines)?;
    match &existing {
        Some(_) if !added.is_empty() => {
            let mut text = std::fs::read_to_string(&config)
                .with_context(|| format!("cannot read {}", config.display()))?;
            for s in &added {
                text.push_str(&format!("\n{}", s.block()));
            }
            std::fs::write(&config, text)
                .with_context(|| format!("cannot write {}", config.display()))?;
        }
        Some(_) => {}
        None => {
            if added.is_empty() {
                std::fs::create_dir_all(cwd.join("migrations"))
                    .context("cannot create migrations/")?;
                created.push("migrations/".to_string());
                added.push(NewSource {
                    name: "app".into(),
                    path: "migrations".into(),
                    format: "strata".into(),
                    priority: 0,
                    engine: None,
                    task: false,
                });
            }
            std::fs::write(&config, initial_config(&added, &database.url))
                .with_context(|| format!("cannot write {}", config.display()))?;
            created.insert(0, CONFIG_FILE.to_string());
        }
    }

    if printer.is_json() {
        printer.json(&output::Init {
            created,
            database: existing.is_none().then_some(database.url.as_str()),
            notes: notes
                .iter()
                .map(|(source, note)| output::Note { source, note })
                .collect(),
            added_sources: &added,
            unclassified: scan
                .unclassified
                .iter()
                .map(|u| output::Unclassified {
                    path: u.path.display().to_string(),
                    reason: u.reason.clone(),
                })
                .collect(),
        });
        return Ok(ExitCode::SUCCESS);
    }
    for c in &created {
        printer.summary(format!("created {c}"));
    }
    if existing.is_some() {
        printer.summary(if added.is_empty() {
            format!("{CONFIG_FILE} already lists every migration directory found; nothing changed")
        } else {
            format!("added {} source(s) to {CONFIG_FILE}", added.len())
        });
    }
    if !added.is_empty() {
        printer.line(format!(
            "\n{:<20} {:<15} {:<9} {:<9} PATH",
            "SOURCE", "FORMAT", "PRIORITY", "ENGINE"
        ));
        for s in &added {
            printer.line(format!(
                "{:<20} {:<15} {:<9} {:<9} {}",
                s.name,
                if s.task { "script (tasks)" } else { &s.format },
                s.priority,
                s.engine.as_deref().unwrap_or("-"),
                s.path
            ));
        }
    }
    for (source, note) in &notes {
        printer.warning(format!("source `{source}`: {note}"));
    }
    if !scan.unclassified.is_empty() {
        printer.line(format!(
            "\n{}could not classify:{}",
            YELLOW.render(),
            YELLOW.render_reset()
        ));
        for u in &scan.unclassified {
            printer.line(format!(
                "  {}  {}{}{}",
                u.path.display(),
                DIM.render(),
                u.reason,
                DIM.render_reset()
            ));
        }
    }
    if existing.is_none() {
        printer.line(format!("\n{} Next:", database.note));
        if added.iter().any(|s| s.format == "strata") {
            printer.line("  strata new create_users    # write a migration");
        } else {
            printer.line("  strata status              # what is applied and what is pending");
        }
        printer.line("  strata up                  # apply what is pending");
    }
    Ok(ExitCode::SUCCESS)
}

/// What a source is named after: a folder of Python migrations after the
/// part of the repository it belongs to (`backend/database/migrations`:
/// `backend`), a folder of scripts after itself (`scripts/deployment`:
/// `deployment`), any other after its tool.
fn category(format: &str, path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| c.as_os_str().to_str().map(str::to_string))
        .collect();
    let generic = [
        "migrations",
        "migration",
        "db",
        "database",
        "src",
        "scripts",
    ];
    match format {
        "python" => parts
            .iter()
            .find(|p| !generic.contains(&p.as_str()))
            .cloned()
            .unwrap_or_else(|| "python".into()),
        "script" => parts.last().cloned().unwrap_or_else(|| "scripts".into()),
        _ => format.to_string(),
    }
}

/// Writes the `ORDER` file of a new Python or script source whose
/// migrations have no version in their names: in the order git first saw
/// each file (its name for files git does not know), for the user to
/// review. Nothing when the folder has one already or needs none.
fn write_order(root: &Path, source: &NewSource) -> anyhow::Result<Option<String>> {
    let dir = root.join(&source.path);
    let spec = strata_engine::SourceSpec {
        name: source.name.clone(),
        path: dir.clone(),
        format: source.format.clone(),
        ..Default::default()
    };
    let files = strata_engine::unversioned(&spec);
    let path = dir.join(strata_engine::ORDER_FILE);
    if files.is_empty() || path.exists() {
        return Ok(None);
    }
    let added = git_added(root, &dir);
    let mut dated: Vec<(usize, String)> = files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(root).unwrap_or(f);
            let file = f.file_name().unwrap_or_default().to_string_lossy();
            let stem = file.rsplit_once('.').map_or(&*file, |(s, _)| s).to_string();
            let seen = added.iter().position(|a| Path::new(a) == rel);
            (seen.unwrap_or(usize::MAX), stem)
        })
        .collect();
    dated.sort();
    let mut text = String::from(
        "# The order these migrations run in, one name per line (written by\n# `strata init` from when git first saw each file; edit it to change\n# the order, and add each new migration where it should run).\n",
    );
    for (_, name) in &dated {
        text.push_str(name);
        text.push('\n');
    }
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Some(format!(
        "{}/{}",
        source.path,
        strata_engine::ORDER_FILE
    )))
}

/// The files git added under `dir`, oldest commit first (paths relative
/// to `root`); empty outside a repository.
fn git_added(root: &Path, dir: &Path) -> Vec<String> {
    let out = std::process::Command::new("git")
        .args([
            "log",
            "--reverse",
            "--diff-filter=A",
            "--name-only",
            "--relative",
            "--format=",
        ])
        .arg("--")
        .arg(dir)
        .current_dir(root)
        .stderr(std::process::Stdio::null())
        .output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// `base` (the format's name, or format-engine), or the directory's path
/// when that is taken.
fn unique_name(base: &str, path: &Path, taken: &[String]) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let base = clean(base);
    if !taken.contains(&base) {
        return base;
    }
    let from_path = clean(&path.display().to_string());
    let mut name = from_path.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{from_path}_{n}");
        n += 1;
    }
    name
}
