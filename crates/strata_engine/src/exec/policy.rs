//! The environment's rules for a plan about to run for real.

use crate::events::Reporter;
use crate::report::{Request, RequestKind};
use crate::{Engine, EngineError};
use strata_plan::Plan;

impl Engine {
    /// The environment's rules for a plan about to run for real:
    /// `protected` (destructive commands need --yes and approval),
    /// `allow_destructive = false` (destructive statements need
    /// --allow-destructive and approval) and `require_approval` (every
    /// plan needs approval). Approval is `--approve HASH` or a confirmation
    /// typed at a terminal, asked for once.
    pub(super) fn check_policies(
        &self,
        request: &Request,
        plan: &Plan,
        dialect: strata_sql::Dialect,
        reporter: &dyn Reporter,
    ) -> Result<(), EngineError> {
        let env = self.env_name.clone().unwrap_or_default();
        let hash = plan.hash.clone();
        let protected = self.env.protected && request.kind.undoes();
        if protected && !request.yes {
            return Err(EngineError::Protected {
                env,
                command: request.command().into(),
                hash,
            });
        }
        let destructive: Vec<String> = if self.env.allow_destructive {
            Vec::new()
        } else {
            strata_plan::destructive_statements(plan, dialect)
                .into_iter()
                .map(|(id, path, line, why)| {
                    format!("  {}:{line}: {id} {why}", self.display_path(&path))
                })
                .collect()
        };
        let refuse_destructive = |statements: Vec<String>| EngineError::Destructive {
            env: env.clone(),
            statements,
            hash: hash.clone(),
        };
        if !destructive.is_empty() && !request.allow_destructive {
            return Err(refuse_destructive(destructive));
        }
        let generated = !plan.generated_downs.is_empty();
        // `baseline --all-sources` records other sources' migrations as
        // applied without running them: listed, and approved, first.
        let wide = matches!(
            request.kind,
            RequestKind::Baseline {
                all_sources: true,
                ..
            }
        ) && plan
            .steps
            .iter()
            .any(|s| s.id.source != plan.steps[0].id.source);
        let must_approve =
            protected || self.env.require_approval || !destructive.is_empty() || generated || wide;
        if must_approve && request.approve.is_none() && !reporter.confirm(plan, &env) {
            return Err(if wide {
                EngineError::WideBaseline {
                    migrations: plan
                        .steps
                        .iter()
                        .map(|s| format!("  {} ({})", s.id, s.name))
                        .collect(),
                    hash,
                }
            } else if generated {
                EngineError::GeneratedDown {
                    down: plan.warnings.join("\n"),
                    hash,
                }
            } else if protected {
                EngineError::NotConfirmed {
                    env,
                    command: request.command().into(),
                    hash,
                }
            } else if !destructive.is_empty() {
                refuse_destructive(destructive)
            } else {
                EngineError::ApprovalRequired { env, hash }
            });
        }
        Ok(())
    }
}
