//! `strata validate`: static checks without running anything: every file
//! parses, versions are unique per source, requirements resolve; with a
//! database, applied migrations still match their files and nothing pending
//! is out of order.

use crate::{Engine, EngineError};
use strata_discover::DiscoverError;
use strata_plan::{PlanError, UpOptions};

/// One problem `validate` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    /// `file`, `order`, `drift`, `missing`, `out_of_order` or `plan`.
    pub kind: &'static str,
    pub message: String,
}

impl Engine {
    /// The findings; `with_database` also compares with the history.
    pub async fn validate(&self, with_database: bool) -> Result<Vec<Finding>, EngineError> {
        let found = match self.migrations() {
            Ok(found) => found,
            Err(EngineError::Discover(DiscoverError::Invalid(diags))) => {
                return Ok(diags
                    .iter()
                    .map(|d| Finding {
                        kind: "file",
                        message: d.to_string(),
                    })
                    .collect());
            }
            Err(EngineError::Plan(e)) => {
                return Ok(vec![Finding {
                    kind: "order",
                    message: e.to_string(),
                }]);
            }
            Err(e) => return Err(e),
        };
        if !with_database {
            return Ok(Vec::new());
        }
        let mut driver = self.connect().await?;
        let history = self.history_rows(driver.as_mut()).await?;
        let opts = UpOptions {
            ignore_missing: self.project.config.project.ignore_missing,
            ..UpOptions::default()
        };
        Ok(
            match strata_plan::plan_up(&found.migrations, &history, &opts) {
                Ok(_) => Vec::new(),
                Err(PlanError::Blocked(problems)) => problems
                    .iter()
                    .map(|p| Finding {
                        kind: match p {
                            strata_plan::Problem::Drifted { .. } => "drift",
                            strata_plan::Problem::Missing { .. } => "missing",
                            strata_plan::Problem::OutOfOrder { .. } => "out_of_order",
                        },
                        message: p.to_string(),
                    })
                    .collect(),
                Err(e) => vec![Finding {
                    kind: "plan",
                    message: e.to_string(),
                }],
            },
        )
    }
}
