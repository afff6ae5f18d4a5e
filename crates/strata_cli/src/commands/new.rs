use crate::output;
use crate::printer::Printer;
use anyhow::{Context, bail};
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use strata_engine::Engine;
use strata_model::Timestamp;

/// Writes a new migration into the first strata-format source, or into
/// `--source S` in that source's own layout (a Supabase timestamped file, a
/// Prisma folder, a Python module added to its ORDER, ...); a task source
/// gets a new task script.
pub fn run(
    engine: &Engine,
    name: &str,
    up: Option<&Path>,
    auto_down: bool,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let slug = slug(name)?;
    let task = engine
        .task_sources()
        .first()
        .filter(|_| engine.sources().is_empty());
    let source = match (engine.only_source(), task) {
        (Some(_), Some(task)) => task,
        _ => target_source(engine, false)?,
    };
    if up.is_some() && source.format != "strata" {
        bail!(
            "--up writes strata-format migrations; source {} is `{}`: write the SQL into the new file instead",
            source.name,
            source.format
        );
    }
    let format = strata_engine::format(&source.format)
        .with_context(|| format!("source {} has an unknown format", source.name))?;
    let (scaffold, _) = write_new(engine, source, Timestamp::now(), |at| {
        let new = strata_engine::NewMigration {
            source,
            slug: &slug,
            at,
            sql: None,
            version: None,
        };
        let mut scaffold = if task.is_some_and(|t| t.name == source.name) {
            // A task is named by its file's stem: one name, one file.
            let taken = std::fs::read_dir(&source.path)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s) == slug
                });
            if taken {
                bail!(
                    "source {} has a task named {slug} already; choose another name",
                    source.name
                );
            }
            strata_engine::task_scaffold(&slug)
        } else {
            format.scaffold(&new).map_err(anyhow::Error::msg)?
        };
        if let (Some(file), Some(first)) = (up, scaffold.files.first_mut()) {
            first.1 = with_up(engine, &source.name, file, auto_down)?;
        }
        Ok(scaffold)
    })?;
    let created = source.path.join(&scaffold.files[0].0);
    let shown = engine.display_path(&created);
    if printer.is_json() {
        // The version its file name gives it (its name, when it has none).
        let first = scaffold.files[0].0.iter().next().unwrap_or_default();
        let first = first.to_string_lossy();
        let version = first
            .split_once(&format!("_{slug}"))
            .map(|(v, _)| v.trim_end_matches('_'))
            .filter(|v| !v.is_empty() && *v != slug)
            .unwrap_or(&slug)
            .to_string();
        printer.json(&output::New {
            created: shown,
            source: source.name.clone(),
            version,
            name: slug,
        });
    } else {
        printer.summary(format!("created {shown}"));
        if let Some(note) = &scaffold.note {
            printer.line(note);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A migration's name in snake_case (`Create users` -> `create_users`).
pub(super) fn slug(name: &str) -> anyhow::Result<String> {
    let slug: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    if slug.is_empty() {
        bail!(
            "`{name}` has no letters or digits to name a migration with; try e.g. `strata new create_users`"
        );
    }
    Ok(slug)
}

/// The source a new migration goes to: `--source S`, else the first of
/// format `strata`; with `any_single`, the project's only source whatever
/// its format.
pub(super) fn target_source(
    engine: &Engine,
    any_single: bool,
) -> anyhow::Result<&strata_engine::SourceSpec> {
    if engine.only_source().is_some() || (any_single && engine.sources().len() == 1) {
        return engine
            .sources()
            .first()
            .context("the source named by --source has no migrations folder");
    }
    match engine.sources().iter().find(|s| s.format == "strata") {
        Some(s) => Ok(s),
        None => bail!(
            "no source of format `strata` to write into; name one with --source ({}), or add a [[source]] with format = \"strata\" to strata.toml",
            engine
                .sources()
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Writes the files `make` lays out for a migration made at `at`, or a
/// second later, and so on, until its first file is a new one (two
/// migrations made within one second get consecutive versions); with the
/// time it was made at.
pub(super) fn write_new(
    engine: &Engine,
    source: &strata_engine::SourceSpec,
    mut at: Timestamp,
    mut make: impl FnMut(Timestamp) -> anyhow::Result<strata_engine::Scaffold>,
) -> anyhow::Result<(strata_engine::Scaffold, Timestamp)> {
    let scaffold = loop {
        let scaffold = make(at)?;
        let first = source.path.join(&scaffold.files[0].0);
        if !first.exists() {
            break scaffold;
        }
        if at.unix_millis() - Timestamp::now().unix_millis() > 120_000 {
            bail!(
                "{} exists already; choose another name",
                engine.display_path(&first)
            );
        }
        at = Timestamp::from_unix_millis(at.unix_millis() + 1000);
    };
    for (rel, text) in &scaffold.files {
        let path = source.path.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok((scaffold, at))
}

/// The file text for an up read from `file` (`-`: standard input), with a
/// down derived from it when `auto_down`; an up with statements that cannot
/// be reversed mechanically is refused, each one named.
fn with_up(engine: &Engine, source: &str, file: &Path, auto_down: bool) -> anyhow::Result<String> {
    let mut up = String::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut up)
            .context("cannot read the up SQL from standard input")?;
    } else {
        up = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
    }
    let shown = if file == Path::new("-") {
        "<stdin>".to_string()
    } else {
        file.display().to_string()
    };
    if up.trim().is_empty() {
        bail!("{shown} holds no SQL; write the up into it first");
    }
    let up = format!("{}\n", up.trim_end());
    let down = if auto_down {
        match strata_sql::reverse(&up, engine.dialect_of(source)) {
            Ok(down) => down,
            Err(refused) => {
                let lines: Vec<String> = refused
                    .iter()
                    .map(|r| format!("  {shown}:{}: {}", r.line + 1, r.why))
                    .collect();
                bail!(
                    "no down can be derived; nothing was written. These statements have no mechanical inverse:\n{}\nwrite the down yourself (drop --down auto)",
                    lines.join("\n")
                );
            }
        }
    } else {
        "\n".to_string()
    };
    Ok(format!(
        "-- strata:up\n{up}\n-- strata:down\n{down}\n-- strata:verify\n\n"
    ))
}
