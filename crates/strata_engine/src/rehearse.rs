//! `strata test`: on a scratch database, each migration in turn is applied,
//! reverted and applied again, with the schema read at each step: the down
//! must bring back the schema from before the up, and the second up the
//! one the first made.

use crate::events::{Event, Reporter};
use crate::report::{Request, RequestKind, ms};
use crate::scratch::sql_files;
use crate::{Engine, EngineError};
use std::path::PathBuf;
use std::sync::Mutex;
use strata_model::{MigrationId, MigrationKind};
use strata_plan::{DownTarget, MigrationState, Plan, PlanError, UpOptions};
use strata_schema::Difference;

/// What `strata test` tests.
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// From this migration on (`V` or `source/V`); those before it are
    /// applied untested.
    pub from: Option<String>,
    /// Only the migrations not applied in this engine's database, on top
    /// of those that are (what a branch adds).
    pub only_pending: bool,
    /// A migration without a down passes (by default it fails: nothing
    /// could revert it).
    pub allow_irreversible: bool,
}

/// Which down a migration has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DownKind {
    /// Its own: a down section or file.
    Written,
    /// None of its own: strata derived one from its up (what `strata down`
    /// would run once approved).
    Derived,
    None,
}

/// What testing one migration found: the first thing that went wrong.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// Up, down and up again, each leaving the schema it should.
    Reversible,
    /// It applies, but has no down (or is repeatable, which has none).
    Irreversible { why: String },
    UpFails {
        error: String,
        location: Option<String>,
    },
    /// Its verify section says the change is not there after the up.
    VerifyFails { message: String },
    DownFails {
        error: String,
        location: Option<String>,
    },
    /// The schema after the down is not the one before the up.
    DownLeavesDifference { differences: Vec<Difference> },
    ReapplyFails {
        error: String,
        location: Option<String>,
    },
    /// The schema after the second up is not the one after the first.
    ReapplyDiffers { differences: Vec<Difference> },
    /// An earlier failure left nothing to test it on.
    NotRun { reason: String },
}

impl Outcome {
    /// How the outcome is said in a line.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Reversible => "reversible",
            Outcome::Irreversible { .. } => "irreversible",
            Outcome::UpFails { .. } => "up fails",
            Outcome::VerifyFails { .. } => "verify fails after up",
            Outcome::DownFails { .. } => "down fails",
            Outcome::DownLeavesDifference { .. } => "down leaves a difference",
            Outcome::ReapplyFails { .. } => "re-apply fails",
            Outcome::ReapplyDiffers { .. } => "re-apply makes a different schema",
            Outcome::NotRun { .. } => "not run",
        }
    }
}

/// One migration's test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Tested {
    pub source: String,
    pub version: String,
    pub name: String,
    /// The migration's file, as shown.
    pub path: String,
    pub down: DownKind,
    pub passed: bool,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What differs but is no failure (a column order PostgreSQL cannot
    /// restore).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub duration_ms: u64,
}

/// What `strata test` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TestReport {
    /// The engine the scratch database ran on.
    pub engine: String,
    /// Migrations applied first, untested (before `--from`, or applied
    /// already with `--only-pending`).
    pub applied_first: usize,
    /// The seed files loaded, as shown.
    pub seeded: Vec<String>,
    /// Roles the migrations created on the server, dropped afterwards
    /// (PostgreSQL).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles_dropped: Vec<String>,
    pub tested: Vec<Tested>,
    pub passed: usize,
    pub failed: usize,
    /// Left untested after a failure that left nothing to test them on.
    pub not_run: usize,
    pub duration_ms: u64,
}

/// The seed: files loaded before the first migration tested, and files
/// loaded right after a migration (of this version) is applied.
struct Seed {
    first: Vec<PathBuf>,
    after: Vec<(String, PathBuf)>,
}

impl Engine {
    /// Tests the project's migrations on a scratch database (see the
    /// module's documentation); `each` is told of every migration as its
    /// test ends.
    pub async fn test(
        &self,
        options: &TestOptions,
        each: &(dyn Fn(&Tested) + Sync),
    ) -> Result<TestReport, EngineError> {
        let started = std::time::Instant::now();
        let applied_here = if options.only_pending {
            Some(self.applied_here().await?)
        } else {
            None
        };
        let seed = self.seed()?;
        let engine = self.database()?.engine().to_string();
        let (mut applied_first, mut seeded, mut tested) = (0, Vec::new(), Vec::new());
        // Roles are the server's: those the migrations make are dropped
        // with each scratch database.
        let roles = crate::roles::roles_created(&self.migrations()?.migrations);
        let mut before: Option<Vec<String>> = None;
        let mut roles_dropped = Vec::new();
        loop {
            let done = tested.len();
            let (before, dropped) = (&mut before, &mut roles_dropped);
            let part = self
                .on_a_scratch(async |scratch: &Engine| {
                    if before.is_none() {
                        *before = Some(scratch.roles_among(&roles).await?);
                    }
                    let part = scratch
                        .rehearse(options, applied_here.as_deref(), &seed, done, each)
                        .await;
                    let made = scratch
                        .drop_roles_made(&roles, before.as_deref().unwrap_or_default())
                        .await;
                    // The test's own failure first.
                    let part = part?;
                    for role in made? {
                        if !dropped.contains(&role) {
                            dropped.push(role);
                        }
                    }
                    Ok(part)
                })
                .await?;
            if done == 0 {
                (applied_first, seeded) = (part.first, part.seeded);
            }
            tested.extend(part.tested);
            if !part.rebuild {
                break;
            }
        }
        let passed = tested.iter().filter(|t| t.passed).count();
        let not_run = tested
            .iter()
            .filter(|t| matches!(t.outcome, Outcome::NotRun { .. }))
            .count();
        Ok(TestReport {
            roles_dropped,
            engine,
            applied_first,
            seeded,
            failed: tested.len() - passed - not_run,
            not_run,
            passed,
            tested,
            duration_ms: ms(started.elapsed()),
        })
    }

    /// The migrations applied in this engine's database, refusing one
    /// that is failed, edited or missing (the test would not start where
    /// the database is).
    async fn applied_here(&self) -> Result<Vec<MigrationId>, EngineError> {
        let (entries, _) = self.status().await?;
        let unsettled = strata_plan::unsettled(&entries);
        if !unsettled.is_empty() {
            return Err(EngineError::Refused(format!(
                "--only-pending starts from what {} has applied, and {} migration(s) there are not as their files say ({}): settle them first (`strata status` says how)",
                self.database_display(),
                unsettled.len(),
                unsettled.join(", ")
            )));
        }
        Ok(entries
            .into_iter()
            .filter(|e| e.state == MigrationState::Applied)
            .map(|e| e.id)
            .collect())
    }

    /// `[test] seed`, read into what loads when.
    fn seed(&self) -> Result<Seed, EngineError> {
        let mut seed = Seed {
            first: Vec::new(),
            after: Vec::new(),
        };
        let Some(path) = &self.project.config.test.seed else {
            return Ok(seed);
        };
        let path = self.project.root.join(path);
        if !path.exists() {
            return Err(EngineError::Refused(format!(
                "[test] seed: there is no {}: write the seed data there, or change the setting in strata.toml",
                self.display_path(&path)
            )));
        }
        let directory = path.is_dir();
        for file in sql_files(&path)? {
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let version = stem.split_once('_').map_or(stem.as_str(), |(v, _)| v);
            if directory && version.starts_with(|c: char| c.is_ascii_digit()) {
                seed.after.push((version.to_string(), file));
            } else {
                seed.first.push(file);
            }
        }
        Ok(seed)
    }

    /// The test itself, on the scratch database this engine is bound to,
    /// from the `done`th migration to test on (those before it were
    /// tested on earlier scratch databases and are applied untested here).
    async fn rehearse(
        &self,
        options: &TestOptions,
        applied_here: Option<&[MigrationId]>,
        seed: &Seed,
        done: usize,
        each: &(dyn Fn(&Tested) + Sync),
    ) -> Result<Rehearsed, EngineError> {
        let (found, history, _) = self.read_state(strata_discover::Reading::Whole).await?;
        let order: Vec<MigrationId> = self
            .plan(&Request::up())
            .await?
            .steps
            .into_iter()
            .map(|s| s.id)
            .collect();
        for (version, file) in &seed.after {
            if !found
                .migrations
                .iter()
                .any(|m| m.id.version.as_str() == version)
            {
                return Err(EngineError::Refused(format!(
                    "[test] seed: {} is named after version {version}, which no migration has: a seed file in a directory loads after the migration whose version starts its name",
                    self.display_path(file)
                )));
            }
        }
        let from = match &options.from {
            Some(target) => {
                let id = strata_plan::resolve(&found.migrations, &history, target)?;
                Some(order.iter().position(|o| *o == id).ok_or_else(|| {
                    EngineError::Refused(format!(
                        "--from {target}: {id} is not one strata would apply (it cannot run here)"
                    ))
                })?)
            }
            None => None,
        };
        let untested = |i: usize, id: &MigrationId| {
            from.is_some_and(|f| i < f) || applied_here.is_some_and(|a| a.contains(id))
        };
        let (first, tested): (Vec<&MigrationId>, Vec<&MigrationId>) = {
            let (first, tested): (Vec<_>, Vec<_>) = order
                .iter()
                .enumerate()
                .partition(|(i, id)| untested(*i, id));
            (
                first.into_iter().map(|(_, id)| id).collect(),
                tested.into_iter().map(|(_, id)| id).collect(),
            )
        };
        let mut seeded = Vec::new();
        let after = |id: &MigrationId| {
            let version = id.version.to_string();
            seed.after
                .iter()
                .filter(move |(v, _)| *v == version)
                .map(|(_, f)| f)
        };
        // The seed loads between the migrations applied first and the
        // first one tested, also when that one is replayed.
        for (i, id) in first.iter().chain(&tested[..done]).enumerate() {
            if i == first.len() {
                self.load_seed(seed.first.iter(), &mut seeded).await?;
            }
            self.step(up(id)).await.map_err(|f| {
                EngineError::Refused(format!(
                    "{id} does not apply on the scratch database, so nothing after it can be tested: {}{}",
                    f.error,
                    f.location.map(|l| format!(" ({l})")).unwrap_or_default()
                ))
            })?;
            self.load_seed(after(id), &mut seeded).await?;
        }
        if done == 0 {
            self.load_seed(seed.first.iter(), &mut seeded).await?;
        }
        let mut results = Vec::new();
        let mut stopped: Option<String> = None;
        for id in &tested[done..] {
            let migration = found
                .migrations
                .iter()
                .find(|m| m.id == **id)
                .expect("planned migrations are found ones");
            let started = std::time::Instant::now();
            let mut rebuild = false;
            let (outcome, down, notes) = match &stopped {
                Some(reason) => (
                    Outcome::NotRun {
                        reason: reason.clone(),
                    },
                    DownKind::None,
                    Vec::new(),
                ),
                None => {
                    let (outcome, down, left, notes) = self.cycle(migration).await?;
                    match left {
                        Left::Applied => self.load_seed(after(id), &mut seeded).await?,
                        Left::Elsewhere => rebuild = true,
                        Left::Failed => stopped = Some(format!("not tested: {id} does not apply")),
                    }
                    (outcome, down, notes)
                }
            };
            let passed = match &outcome {
                Outcome::Reversible => true,
                Outcome::Irreversible { .. } => {
                    options.allow_irreversible
                        || migration.kind == MigrationKind::Repeatable
                        || self.is_squash_baseline(&migration.id)
                }
                _ => false,
            };
            let tested = Tested {
                source: id.source.clone(),
                version: id.version.to_string(),
                name: migration.name.clone(),
                path: self.display_path(&migration.path),
                down,
                passed,
                outcome,
                notes,
                duration_ms: ms(started.elapsed()),
            };
            // Stopped by a signal: the scratch database went away under
            // the test, which is no finding about the migration.
            if crate::scratch::stopping() {
                return Err(EngineError::Refused("stopped before the test ended".into()));
            }
            each(&tested);
            results.push(tested);
            if rebuild {
                break;
            }
        }
        let rebuild = done + results.len() < tested.len();
        Ok(Rehearsed {
            first: first.len(),
            seeded,
            tested: results,
            rebuild,
        })
    }

    /// Up, verify, down and up again for one migration: what it found,
    /// which down it has, and where that left the scratch database.
    async fn cycle(
        &self,
        m: &strata_model::Migration,
    ) -> Result<(Outcome, DownKind, Left, Vec<String>), EngineError> {
        let id = &m.id;
        let mut notes = Vec::new();
        let before = self.schema().await?;
        if let Err(f) = self.step(up(id)).await {
            return Ok((f.up(), DownKind::None, Left::Failed, notes));
        }
        let after = self.schema().await?;
        let verify = self.verified(m).await?;
        let down = match self.plan(&Request::new(revert(id))).await {
            Ok(plan) if plan.generated_downs.is_empty() => DownKind::Written,
            Ok(_) => DownKind::Derived,
            Err(EngineError::Plan(PlanError::Irreversible(_))) => {
                let why = if m.kind == MigrationKind::Repeatable {
                    "repeatable: it runs again when it changes, and has no down".to_string()
                } else {
                    "no down section, and none strata can derive from its up".to_string()
                };
                let outcome = verify.unwrap_or(Outcome::Irreversible { why });
                return Ok((outcome, DownKind::None, Left::Applied, notes));
            }
            Err(e) => return Err(e),
        };
        if let Err(f) = self.step(Request::new(revert(id))).await {
            // A down that failed in a transaction left the migration
            // applied, as the first up did; anything else is in between.
            let applied = self.state_of(id).await? == Some(MigrationState::Applied)
                && strata_schema::diff(&after, &self.schema().await?).is_empty();
            return Ok((
                verify.unwrap_or(Outcome::DownFails {
                    error: f.error,
                    location: f.location,
                }),
                down,
                if applied {
                    Left::Applied
                } else {
                    Left::Elsewhere
                },
                notes,
            ));
        }
        let reverted = failing(
            strata_schema::diff(&before, &self.schema().await?),
            &mut notes,
        );
        if let Err(f) = self.step(up(id)).await {
            // What the down left behind is most often why.
            if !reverted.is_empty() {
                return Ok((
                    Outcome::DownLeavesDifference {
                        differences: reverted,
                    },
                    down,
                    Left::Elsewhere,
                    notes,
                ));
            }
            return Ok((
                Outcome::ReapplyFails {
                    error: f.error,
                    location: f.location,
                },
                down,
                Left::Elsewhere,
                notes,
            ));
        }
        let reapplied = failing(
            strata_schema::diff(&after, &self.schema().await?),
            &mut notes,
        );
        // The schema is not the first up's: what follows is tested on one
        // that is.
        let left = if reverted.is_empty() && reapplied.is_empty() {
            Left::Applied
        } else {
            Left::Elsewhere
        };
        let outcome = if let Some(verify) = verify {
            verify
        } else if !reverted.is_empty() {
            Outcome::DownLeavesDifference {
                differences: reverted,
            }
        } else if !reapplied.is_empty() {
            Outcome::ReapplyDiffers {
                differences: reapplied,
            }
        } else {
            Outcome::Reversible
        };
        Ok((outcome, down, left, notes))
    }

    /// The migration's verify section's finding after its up, if it has
    /// one that fails.
    async fn verified(&self, m: &strata_model::Migration) -> Result<Option<Outcome>, EngineError> {
        let Some(verify) = &m.verify else {
            return Ok(None);
        };
        let mut driver = self.connect().await?;
        Ok(self
            .missing_change(driver.as_mut(), m, verify)
            .await?
            .map(|message| Outcome::VerifyFails { message }))
    }

    async fn state_of(&self, id: &MigrationId) -> Result<Option<MigrationState>, EngineError> {
        let (entries, _) = self.status().await?;
        Ok(entries.into_iter().find(|e| e.id == *id).map(|e| e.state))
    }

    /// Runs one request on the scratch database, approving whatever it
    /// asks (a derived down), and says why it failed.
    async fn step(&self, request: Request) -> Result<(), Failure> {
        let reporter = Rehearsal::default();
        match self.run_unaudited(&request, &reporter).await {
            Ok(_) => Ok(()),
            Err(e) => Err(reporter
                .failure
                .into_inner()
                .ok()
                .flatten()
                .unwrap_or(Failure {
                    error: e.to_string(),
                    location: None,
                })),
        }
    }

    /// Loads seed files, noting each as loaded.
    async fn load_seed(
        &self,
        files: impl Iterator<Item = &PathBuf>,
        seeded: &mut Vec<String>,
    ) -> Result<(), EngineError> {
        let mut files = files.peekable();
        if files.peek().is_none() {
            return Ok(());
        }
        let mut driver = self.connect().await?;
        for file in files {
            self.apply_sql_file(driver.as_mut(), file, "the seed does not load here")
                .await
                .map_err(|e| match e {
                    // A table not made yet: the seed loads too early.
                    EngineError::Refused(m)
                        if ["no such table", "does not exist", "doesn't exist"]
                            .iter()
                            .any(|t| m.contains(t)) =>
                    {
                        EngineError::Refused(format!(
                            "{m}\na seed file named `VERSION_name.sql` in a seed directory loads right after that migration, once its tables exist"
                        ))
                    }
                    e => e,
                })?;
            seeded.push(self.display_path(file));
        }
        Ok(())
    }
}

/// The differences that fail a test; those that do not (a column order
/// PostgreSQL cannot restore) become notes.
fn failing(differences: Vec<Difference>, notes: &mut Vec<String>) -> Vec<Difference> {
    let (order, failing): (Vec<Difference>, Vec<Difference>) = differences
        .into_iter()
        .partition(Difference::is_column_order_only);
    notes.extend(order.iter().map(|d| {
        format!(
            "table {}: the columns come back in another order ({}): PostgreSQL adds a column at the end and cannot move one",
            d.name,
            d.details.join("; ")
        )
    }));
    failing
}

fn up(id: &MigrationId) -> Request {
    Request::new(RequestKind::Up(UpOptions {
        only: Some(id.to_string()),
        allow_out_of_order: true,
        ..UpOptions::default()
    }))
}

fn revert(id: &MigrationId) -> RequestKind {
    RequestKind::Down(DownTarget::Only {
        target: id.to_string(),
        cascade: false,
    })
}

/// What one scratch database's part of a test did.
struct Rehearsed {
    /// Migrations applied first, untested.
    first: usize,
    seeded: Vec<String>,
    tested: Vec<Tested>,
    /// Migrations are left to test on a new scratch database: the last
    /// one tested left this one elsewhere than its up would.
    rebuild: bool,
}

/// Where testing a migration left the scratch database.
enum Left {
    /// As its up did: the next one is tested on it.
    Applied,
    /// Elsewhere (a down that failed half way, a second up that failed):
    /// the next one is tested on a new scratch database, with everything
    /// up to this one applied.
    Elsewhere,
    /// Its up failed: nothing after it can be tested.
    Failed,
}

/// Why a step failed: the database's error and the statement's place.
struct Failure {
    error: String,
    location: Option<String>,
}

impl Failure {
    fn up(self) -> Outcome {
        Outcome::UpFails {
            error: self.error,
            location: self.location,
        }
    }
}

/// The database's error in a failed step's message, without what names
/// the migration and place (the test's line does) or the advice for a
/// real run after it (`run strata up again`): the message's first line
/// after `: `, and its `detail:` and `hint:` lines.
fn cause(message: &str) -> String {
    let mut lines = message.lines();
    let first = lines.next().unwrap_or_default();
    let first = first.split_once(": ").map_or(first, |(_, e)| e);
    let cause = std::iter::once(first)
        .chain(lines.filter(|l| l.starts_with("detail: ") || l.starts_with("hint: ")))
        .collect::<Vec<_>>()
        .join("\n");
    without_scratch_names(&cause)
}

/// `text` without the scratch database's name where MySQL qualifies a
/// table with it (`'strata_scratch_12_345.users'`): it means nothing to
/// the reader, and differs from run to run.
fn without_scratch_names(text: &str) -> String {
    const PREFIX: &str = "strata_scratch_";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(PREFIX) {
        let after = &rest[at + PREFIX.len()..];
        let digits = after
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        out.push_str(&rest[..at]);
        match after[digits..].strip_prefix('.') {
            Some(tail) => rest = tail,
            None => {
                out.push_str(&rest[at..at + PREFIX.len() + digits]);
                rest = &after[digits..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Keeps the failure a step reports; approves what it asks.
#[derive(Default)]
struct Rehearsal {
    failure: Mutex<Option<Failure>>,
}

impl Reporter for Rehearsal {
    fn event(&self, event: &Event) {
        if let Event::MigrationFailed {
            error, location, ..
        } = event
            && let Ok(mut failure) = self.failure.lock()
        {
            *failure = Some(Failure {
                error: cause(error),
                location: location.clone(),
            });
        }
    }

    fn confirm(&self, _: &Plan, _: &str) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_failed_step_says_the_database_error_only() {
        assert_eq!(
            super::cause(
                "migration app/2 (tags) could not be reverted at m/2.sql:4: Unknown table 'strata_scratch_19098_1796.no_such_table' (MySQL error 1051)\nthe migration ran without a transaction"
            ),
            "Unknown table 'no_such_table' (MySQL error 1051)"
        );
        assert_eq!(
            super::cause(
                "migration app/1 (a) failed at m/1.sql:2: boom\ndetail: d\nhint: h\nnothing of this migration was kept"
            ),
            "boom\ndetail: d\nhint: h"
        );
        assert_eq!(
            super::without_scratch_names("strata_scratch_1 is a name"),
            "strata_scratch_1 is a name"
        );
    }
}
