//! `strata verify [MIGRATION]`: runs the verify section of applied
//! migrations (SQL in a transaction that is rolled back; a script with the
//! `verify` action) and says which changes are not there.

use crate::{Engine, EngineError};
use strata_driver::Driver;
use strata_model::{Body, HistoryStatus, Migration, MigrationKind};

/// One migration's verify result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verified {
    pub source: String,
    pub version: String,
    pub name: String,
    pub ok: bool,
    /// Why the change is not there.
    pub message: Option<String>,
    /// The verify section: `path:line`.
    pub location: String,
}

impl Engine {
    /// Runs `m`'s verify section: `None` when the change is there, or why
    /// not (for `strata verify`, and after each apply with `verify_after`).
    pub(crate) async fn missing_change(
        &self,
        driver: &mut dyn Driver,
        m: &Migration,
        verify: &Body,
    ) -> Result<Option<String>, EngineError> {
        if m.kind == MigrationKind::Script {
            return Ok(crate::script::run_file(
                &self.script_env(&m.id.source),
                &m.id,
                &m.path,
                &verify.sql,
                "verify",
            )
            .await
            .err());
        }
        let statements = strata_sql::split(&verify.sql, driver.capabilities().dialect);
        Ok(driver.verify(&statements).await?)
    }

    /// Verifies every applied migration that has a verify section (or only
    /// `only`, `V` or `source/V`).
    pub async fn verify(&self, only: Option<&str>) -> Result<Vec<Verified>, EngineError> {
        let (found, history, _) = self.read_state(strata_discover::Reading::Whole).await?;
        let only = match only {
            Some(target) => Some(strata_plan::resolve(&found.migrations, &history, target)?),
            None => None,
        };
        let mut driver = self.connect().await?;
        let mut results = Vec::new();
        for m in &found.migrations {
            if only.as_ref().is_some_and(|o| o != &m.id) {
                continue;
            }
            let applied = history
                .iter()
                .any(|r| r.id == m.id && r.status == HistoryStatus::Applied);
            let (Some(verify), true) = (&m.verify, applied) else {
                continue;
            };
            let message = self.missing_change(driver.as_mut(), m, verify).await?;
            results.push(Verified {
                source: m.id.source.clone(),
                version: m.id.version.to_string(),
                name: m.name.clone(),
                ok: message.is_none(),
                message,
                location: format!("{}:{}", self.display_path(&verify.path), verify.line),
            });
        }
        Ok(results)
    }
}
