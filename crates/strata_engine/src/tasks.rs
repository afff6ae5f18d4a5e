//! Maintenance tasks (`kind = "task"` sources): listed with their last run
//! (`strata tasks`) and run by name (`strata run TASK -- args`). A task
//! that does not say it only reads (`strata: readonly`) needs the
//! environment's approval and runs under the migration lock. Every run is
//! a row of the task-run table, written when it starts and completed when
//! it ends, and an entry of the timeline; tasks are never pending.

use crate::audit::{Audited, Outcome};
use crate::events::Reporter;
use crate::report::ms;
use crate::{Engine, EngineError};
use std::time::Instant;
use strata_discover::Task;
use strata_driver::Driver;
use strata_model::{HistoryStatus, LogAction, LogEntry, MigrationId, TaskRun, Timestamp, Version};

/// What `strata run` asks.
#[derive(Debug, Clone, Default)]
pub struct TaskRequest {
    /// `NAME` or `SOURCE/NAME`.
    pub task: String,
    pub args: Vec<String>,
    /// `--approve HASH`.
    pub approve: Option<String>,
    /// `--yes` (a protected environment).
    pub yes: bool,
    /// `--terminate-stale` (`Some(yes)`), for the migration lock.
    pub terminate: Option<bool>,
    /// Copy what the task prints to strata's own output as it comes.
    pub live: bool,
}

/// A task as `strata tasks` shows it.
#[derive(Debug, Clone)]
pub struct TaskInfo {
    pub task: Task,
    /// Its most recent run in this database, when one is recorded.
    pub last: Option<TaskRun>,
    pub runs: usize,
}

/// A finished run of a task (it may have failed: `run.ok`).
#[derive(Debug, Clone)]
pub struct TaskReport {
    pub task: Task,
    pub run: TaskRun,
    /// Everything it printed (stdout, then stderr), the password hidden.
    pub output: String,
}

impl Audited for TaskReport {
    fn outcome(&self) -> Outcome<'_> {
        Outcome::Task {
            task: &self.task.name,
            ok: self.run.ok,
        }
    }
}

impl Engine {
    /// The tasks of the selected task sources.
    pub fn tasks(&self) -> Result<Vec<Task>, EngineError> {
        let mut all = Vec::new();
        let mut problems = Vec::new();
        for source in &self.task_sources {
            match strata_discover::tasks(source) {
                Ok(tasks) => all.extend(tasks),
                Err(d) => problems.extend(d),
            }
        }
        if !problems.is_empty() {
            return Err(strata_discover::DiscoverError::Invalid(problems).into());
        }
        Ok(all)
    }

    /// Every task with its last run here.
    pub async fn task_list(&self) -> Result<Vec<TaskInfo>, EngineError> {
        let tasks = self.tasks()?;
        let runs = self.connect().await?.read_task_runs().await?;
        Ok(tasks
            .into_iter()
            .map(|task| {
                let mine: Vec<&TaskRun> = runs
                    .iter()
                    .filter(|r| r.source == task.source && r.task == task.name)
                    .collect();
                TaskInfo {
                    last: mine.last().map(|r| (*r).clone()),
                    runs: mine.len(),
                    task,
                }
            })
            .collect())
    }

    /// The task `name` (`NAME` or `SOURCE/NAME`) names.
    pub fn task(&self, name: &str) -> Result<Task, EngineError> {
        let tasks = self.tasks()?;
        let (source, bare) = match name.rsplit_once('/') {
            Some((s, n)) => (Some(s), n),
            None => (None, name),
        };
        let mut found: Vec<&Task> = tasks
            .iter()
            .filter(|t| t.name == bare && source.is_none_or(|s| s == t.source))
            .collect();
        match found.len() {
            1 => Ok(found.remove(0).clone()),
            0 if self.task_sources.is_empty() => Err(EngineError::UnknownTask(format!(
                "no task named `{name}`: no source has kind = \"task\" (add one in strata.toml for a folder of maintenance scripts)"
            ))),
            0 => Err(EngineError::UnknownTask(format!(
                "no task named `{name}`; `strata tasks` lists them"
            ))),
            _ => Err(EngineError::UnknownTask(format!(
                "task `{name}` is in several sources ({}); name one as SOURCE/{bare}",
                found.iter().map(|t| t.id()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// What `--approve` names for running `task` with `args`: the task, its
    /// file as it is now, and the arguments.
    pub fn task_hash(task: &Task, args: &[String]) -> String {
        let text = format!(
            "{}\n{}\n{}",
            task.id(),
            task.checksum.hex,
            args.join("\u{0}")
        );
        strata_model::Checksum::of_body(&text).hex[..16].to_string()
    }

    /// Runs a task, recorded; its report says whether it succeeded.
    pub async fn run_task(
        &self,
        request: &TaskRequest,
        reporter: &dyn Reporter,
    ) -> Result<TaskReport, EngineError> {
        let task = self.task(&request.task)?;
        self.check_task_policy(&task, request)?;
        let work = async {
            if task.readonly {
                let mut driver = self.connect().await?;
                self.run_recorded(driver.as_mut(), &task, request).await
            } else {
                let mut session = self.locked(reporter, request.terminate).await?;
                let result = self.run_recorded(session.driver(), &task, request).await;
                session.release(result).await
            }
        };
        self.audited(&format!("run {}", task.id()), false, reporter, work)
            .await
    }

    fn check_task_policy(&self, task: &Task, request: &TaskRequest) -> Result<(), EngineError> {
        if task.readonly || !(self.env.protected || self.env.require_approval) {
            return Ok(());
        }
        let env = self.env_name.clone().unwrap_or_default();
        let hash = Self::task_hash(task, &request.args);
        if self.env.protected && !request.yes {
            return Err(EngineError::Protected {
                env,
                command: format!("run {}", task.id()),
                hash,
            });
        }
        match &request.approve {
            Some(approved) if *approved == hash => Ok(()),
            Some(approved) => Err(EngineError::PlanMismatch {
                approved: approved.clone(),
                actual: hash,
            }),
            None => Err(EngineError::TaskApproval {
                env,
                task: task.id(),
                hash,
            }),
        }
    }

    async fn run_recorded(
        &self,
        driver: &mut dyn Driver,
        task: &Task,
        request: &TaskRequest,
    ) -> Result<TaskReport, EngineError> {
        // Read first: a run is recorded only once it can start.
        let text = std::fs::read_to_string(&task.path).map_err(|e| EngineError::Io {
            what: format!("cannot read {}", task.path.display()),
            source: e,
        })?;
        let env = self.script_env(&task.source);
        let hidden = |text: &str| match &env.url {
            Ok(url) => strata_driver::redact_in(text, url),
            Err(_) => text.to_string(),
        };
        let checksum = strata_model::Checksum::of_body(&text);
        driver.ensure_history().await?;
        let started = Timestamp::now();
        let mut run = TaskRun {
            run_id: format!("{}-{}", started.unix_millis(), std::process::id()),
            source: task.source.clone(),
            task: task.name.clone(),
            checksum: checksum.hex.clone(),
            args: hidden(&request.args.join(" ")),
            started_at: started,
            finished_at: None,
            duration_ms: None,
            exit_status: None,
            ok: false,
            output: None,
            run_by: strata_driver::os_identity(),
            strata_version: env!("CARGO_PKG_VERSION").to_string(),
            environment: self.env_name.clone(),
        };
        driver.start_task(&run).await?;
        let rel = task
            .path
            .strip_prefix(&self.project.root)
            .unwrap_or(&task.path);
        let t0 = Instant::now();
        let outcome =
            crate::script::run_task(&env, &task.id(), rel, &text, &request.args, request.live)
                .await;
        let (output, detail) = match &outcome {
            Ok(done) => {
                run.exit_status = done.code.map(i64::from);
                run.ok = done.code == Some(0);
                let tail = done.tail();
                let detail = match (&done.stopped, done.code) {
                    (Some(why), _) => why.clone(),
                    (None, Some(c)) => format!("exit status {c}"),
                    (None, None) => "ended by a signal".into(),
                };
                run.output = match &done.stopped {
                    Some(why) if tail.is_empty() => Some(why.clone()),
                    Some(why) => Some(format!("{why}; output: {tail}")),
                    None => Some(tail).filter(|t| !t.is_empty()),
                };
                (done.output.clone(), detail)
            }
            Err(why) => {
                run.output = Some(why.clone());
                (String::new(), why.clone())
            }
        };
        if outcome.as_ref().map_or(true, |done| done.stopped.is_some()) {
            // Queries it left running on the server go too.
            let _ = driver
                .end_sessions(&crate::script::application_name(task.id()))
                .await;
        }
        let duration = ms(t0.elapsed());
        run.finished_at = Some(Timestamp::now());
        run.duration_ms = Some(duration as i64);
        let log = LogEntry {
            seq: 0,
            id: MigrationId::new(task.source.clone(), Version::named(&task.name, 0)),
            name: task.name.clone(),
            action: LogAction::Task,
            status: if run.ok {
                HistoryStatus::Applied
            } else {
                HistoryStatus::Failed
            },
            checksum: Some(checksum),
            batch: 0,
            at: started,
            duration_ms: Some(duration as i64),
            applied_by: run.run_by.clone(),
            strata_version: run.strata_version.clone(),
            environment: run.environment.clone(),
            detail: Some(if request.args.is_empty() {
                detail
            } else {
                format!("{detail}; arguments: {}", run.args)
            }),
        };
        // A long task may outlive its connection: finish the record on a
        // new one rather than lose it.
        if driver.finish_task(&run, &log).await.is_err() {
            let mut fresh = self.connect().await?;
            fresh.finish_task(&run, &log).await.map_err(|e| {
                EngineError::Refused(format!(
                    "task {} ran ({}), but its run could not be recorded: {e}; its row stays unfinished",
                    task.id(),
                    log.detail.as_deref().unwrap_or_default()
                ))
            })?;
        }
        Ok(TaskReport {
            task: task.clone(),
            run,
            output,
        })
    }
}
