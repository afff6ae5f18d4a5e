//! Around a run: the `before_migrate`, `after_migrate` and `on_error`
//! hooks, the backup taken first, and the notifications of its start and
//! outcome.

use crate::config::NotifyOn;
use crate::events::{Event, Reporter};
use crate::hooks::{HookContext, HookPoint};
use crate::notify::Notice;
use crate::report::ms;
use crate::report::{Report, Request};
use crate::{Engine, EngineError};
use std::time::Instant;
use strata_driver::Driver;
use strata_model::{HistoryRow, Migration};
use strata_plan::Plan;

impl Engine {
    /// [`Engine::execute`] with the `before_migrate`, `after_migrate` and
    /// `on_error` hooks around it and the webhooks told of the start and
    /// the outcome (their failures are warnings); dry runs have neither.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn execute_hooked(
        &self,
        driver: &mut dyn Driver,
        plan: &Plan,
        (all_history, history): (&[HistoryRow], &[HistoryRow]),
        reporter: &dyn Reporter,
        started: Instant,
        report: &mut Report,
        request: &Request,
        migrations: &[Migration],
    ) -> Result<(), EngineError> {
        let (command, dry_run) = (request.command(), request.dry_run);
        let notice = |on, report, error| Notice {
            on,
            command,
            plan_hash: &plan.hash,
            steps: plan.steps.len(),
            dry_run,
            report,
            error,
        };
        let start = self.notifier.send(&notice(NotifyOn::Start, None, None));
        let mut context = HookContext {
            command: command.into(),
            plan_hash: plan.hash.clone(),
            dry_run,
            ..HookContext::default()
        };
        let mut result = self
            .hooks
            .run(HookPoint::BeforeMigrate, driver, &context, reporter)
            .await
            .map_err(|m| EngineError::Hook(format!("{m}; nothing was run")));
        // Backed up once the hooks let the run go on (a refused run leaves
        // no backup), before anything that can lose data.
        let backup_first = self.env.backup == Some(crate::config::BackupWhen::Before)
            && !request.kind.records_only();
        if result.is_ok() && backup_first && !dry_run {
            match self.ensure_backups_ignored() {
                Ok(Some(message)) => reporter.event(&Event::Warning { message }),
                Ok(None) => {}
                Err(e) => result = Err(e),
            }
        }
        if result.is_ok() && backup_first && !dry_run {
            match self
                .backup(&format!("before {command}"), Some(&plan.hash))
                .await
            {
                Ok(m) => reporter.event(&Event::BackedUp {
                    id: m.id,
                    file: self.display_path(&self.backup_dir().join(&m.file)),
                    size: m.size,
                }),
                Err(e) => result = Err(e),
            }
        }
        if result.is_ok() {
            result = self
                .execute(
                    driver,
                    plan,
                    all_history,
                    history,
                    reporter,
                    started,
                    report,
                    request,
                    migrations,
                )
                .await;
        }
        context.applied = report.applied;
        context.reverted = report.reverted;
        if result.is_ok() {
            result = self
                .hooks
                .run(HookPoint::AfterMigrate, driver, &context, reporter)
                .await
                .map_err(|m| {
                    EngineError::Hook(format!(
                        "{m}; the plan itself ran to the end and stays applied"
                    ))
                });
        }
        if let Err(e) = &result {
            context.error = Some(e.to_string());
            if let Err(message) = self
                .hooks
                .run(HookPoint::OnError, driver, &context, reporter)
                .await
            {
                reporter.event(&Event::Warning { message });
            }
        }
        report.duration_ms = ms(started.elapsed());
        start.delivered(reporter).await;
        // A failure is told by `run`, for every way a run can fail.
        if result.is_ok() {
            let done = notice(NotifyOn::Success, Some(&*report), None);
            self.notifier.send(&done).delivered(reporter).await;
        }
        result
    }
}
