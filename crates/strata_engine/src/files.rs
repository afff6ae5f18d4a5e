//! Reading the migration files of the selected sources: whole, or only
//! what a plan is made of, on another thread while a server connects.

use crate::{Engine, EngineError};
use std::path::{Path, PathBuf};
use strata_discover::{Diagnostic, DiscoverError, Found, Reading, SourceSpec};
use strata_model::Migration;
use strata_plan::Plan;

impl Engine {
    /// Reads every migration of the selected sources, with the warnings
    /// found on the way.
    pub fn migrations(&self) -> Result<Found, EngineError> {
        self.check_project()?;
        discover(&self.sources, &self.ordering(false))
    }

    /// [`Engine::migrations`] for a listing: every file read and hashed,
    /// its SQL not kept where a format allows ([`Found::text_skipped`]).
    pub fn migrations_listed(&self) -> Result<Found, EngineError> {
        self.check_project()?;
        let sources: Vec<SourceSpec> = self
            .sources
            .iter()
            .map(|s| s.read_as(Reading::Checksums))
            .collect();
        discover(&sources, &self.ordering(false))
    }

    /// The plan `plan` makes of the migrations `found`. A plan with steps
    /// needs their SQL: when `found` was read without it, the files are
    /// read again, whole (into `found`), and the plan made on that read.
    pub(crate) fn plan_with_sql(
        &self,
        found: &mut Found,
        mut plan: impl FnMut(&[Migration]) -> Result<Plan, EngineError>,
    ) -> Result<Plan, EngineError> {
        let first = plan(&found.migrations)?;
        if first.is_empty() || !found.text_skipped {
            return Ok(first);
        }
        *found = discover(&self.database_sources(Reading::Whole), &self.ordering(true))?;
        plan(&found.migrations)
    }

    /// The sources worked on against the database, to be read as `text`.
    fn database_sources(&self, text: Reading) -> Vec<SourceSpec> {
        self.sources
            .iter()
            .filter(|s| self.on_database(&s.name))
            .map(|s| s.read_as(text))
            .collect()
    }

    /// How to order the selected sources' migrations; `on_database`: only
    /// those worked on against the database, saying which were skipped.
    fn ordering(&self, on_database: bool) -> Ordering {
        let config = &self.project.config.sources;
        let keep = |name: &str| {
            if on_database {
                self.on_database(name)
            } else {
                self.selects(name)
            }
        };
        Ordering {
            root: self.project.root.clone(),
            sources: config
                .iter()
                .filter(|s| keep(&s.name))
                .map(|s| strata_plan::SourceOrder {
                    name: s.name.clone(),
                    priority: s.priority,
                    requires: s.requires.clone(),
                })
                .collect(),
            known: config.iter().map(|s| s.name.clone()).collect(),
            skipped: if on_database {
                self.skipped.iter().map(|(_, d)| d.clone()).collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Starts reading the migrations on another thread, so a large
    /// directory is read while a connection to a server is being set up.
    /// An embedded database is opened (and so created) only after the files
    /// have been read, so bad files leave it untouched.
    pub(crate) fn migrations_in_background(&self, text: Reading) -> Pending {
        if let Err(e) = self.check_project() {
            return Pending::Done(Err(e));
        }
        let sources = self.database_sources(text);
        let ordering = self.ordering(true);
        let read = move || discover(&sources, &ordering);
        match &self.database {
            Ok(d) if d.is_server() => Pending::Running(std::thread::spawn(read)),
            _ => Pending::Done(read()),
        }
    }
}

/// Reads the migrations. Their paths, and the paths problems name, are
/// relative to the project, as the user knows them (join them to the
/// project root to open them).
fn discover(sources: &[SourceSpec], order: &Ordering) -> Result<Found, EngineError> {
    let mut found = read_files(sources, &order.root)?;
    found.migrations = strata_plan::order(found.migrations, &order.sources, &order.known)?;
    found.warnings.extend(order.skipped.iter().cloned());
    Ok(found)
}

/// What ordering the migrations needs from the configuration.
#[derive(Clone)]
struct Ordering {
    root: PathBuf,
    sources: Vec<strata_plan::SourceOrder>,
    known: Vec<String>,
    skipped: Vec<Diagnostic>,
}

fn read_files(sources: &[SourceSpec], root: &Path) -> Result<Found, DiscoverError> {
    // Byte-wise first: ten thousand paths under the root are the usual
    // case, and comparing components one by one is the cost of it.
    let under = {
        let mut prefix = root.as_os_str().as_encoded_bytes().to_vec();
        prefix.push(b'/');
        prefix
    };
    // In place: the path's own buffer keeps the part under the root.
    let show = |p: &mut PathBuf| {
        let bytes = p.as_os_str().as_encoded_bytes();
        if bytes.starts_with(&under) && std::str::from_utf8(&bytes[under.len()..]).is_ok() {
            let mut bytes = std::mem::take(p).into_os_string().into_encoded_bytes();
            bytes.drain(..under.len());
            *p = PathBuf::from(String::from_utf8(bytes).expect("checked to be UTF-8"));
        } else if let Ok(rest) = p.strip_prefix(root) {
            *p = rest.to_path_buf();
        }
    };
    match strata_discover::discover_all(sources) {
        Ok(mut found) => {
            for d in &mut found.warnings {
                show(&mut d.path);
            }
            for m in &mut found.migrations {
                for body in [Some(&mut m.up), m.down.as_mut(), m.verify.as_mut()]
                    .into_iter()
                    .flatten()
                {
                    show(&mut body.path);
                }
                show(&mut m.path);
            }
            Ok(found)
        }
        Err(DiscoverError::Invalid(mut diags)) => {
            for d in &mut diags {
                show(&mut d.path);
            }
            Err(DiscoverError::Invalid(diags))
        }
        Err(other) => Err(other),
    }
}

/// Migrations being read on another thread, or already read.
pub(crate) enum Pending {
    Running(std::thread::JoinHandle<Result<Found, EngineError>>),
    Done(Result<Found, EngineError>),
}

impl Pending {
    /// Fails now if the migrations were read already and are invalid.
    pub(crate) fn ready(self) -> Result<Self, EngineError> {
        match self {
            Pending::Done(Err(e)) => Err(e),
            other => Ok(other),
        }
    }

    pub(crate) fn join(self) -> Result<Found, EngineError> {
        match self {
            Pending::Running(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Pending::Done(result) => result,
        }
    }
}
