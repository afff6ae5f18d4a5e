//! Roles a test's migrations create. A role belongs to the server, not to
//! the scratch database the test runs on, so dropping that database leaves
//! it behind: the next test's `CREATE ROLE` would fail on it, and the real
//! `strata up` too. `strata test` drops the roles its migrations made.

use crate::{Engine, EngineError};
use strata_driver::Cells;
use strata_model::Migration;
use strata_sql::Dialect;

/// The roles `migrations` create (`CREATE ROLE`, `CREATE USER`, `CREATE
/// GROUP`, also inside a DO block), by name as the server keeps it.
pub(crate) fn roles_created(migrations: &[Migration]) -> Vec<String> {
    let mut names = Vec::new();
    for m in migrations {
        for body in [Some(&m.up), m.down.as_ref()].into_iter().flatten() {
            let words: Vec<&str> = body.sql.split_whitespace().collect();
            for w in words.windows(3) {
                let kind = w[1].to_ascii_uppercase();
                if w[0].eq_ignore_ascii_case("CREATE")
                    && matches!(kind.as_str(), "ROLE" | "USER" | "GROUP")
                {
                    let name = w[2].trim_end_matches(';');
                    let name = match name.strip_prefix('"') {
                        Some(quoted) => quoted.trim_end_matches('"').replace("\"\"", "\""),
                        None => name.to_ascii_lowercase(),
                    };
                    if !name.is_empty() && !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
        }
    }
    names
}

impl Engine {
    /// Which of `names` are roles on this engine's server now
    /// (PostgreSQL; elsewhere none are looked for).
    pub(crate) async fn roles_among(&self, names: &[String]) -> Result<Vec<String>, EngineError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut driver = self.connect().await?;
        if driver.capabilities().dialect != Dialect::Postgres {
            return Ok(Vec::new());
        }
        let list: Vec<String> = names
            .iter()
            .map(|n| format!("'{}'", n.replace('\'', "''")))
            .collect();
        let rows = driver
            .query_text(&format!(
                "SELECT rolname FROM pg_roles WHERE rolname IN ({})",
                list.join(", ")
            ))
            .await?
            .unwrap_or_default();
        Ok(rows
            .iter()
            .filter_map(|r| r.get(0).map(str::to_string))
            .collect())
    }

    /// Drops the roles of `names` that exist now and did not `before`,
    /// with what they own or were granted in this (scratch) database;
    /// returns them.
    pub(crate) async fn drop_roles_made(
        &self,
        names: &[String],
        before: &[String],
    ) -> Result<Vec<String>, EngineError> {
        let made: Vec<String> = self
            .roles_among(names)
            .await?
            .into_iter()
            .filter(|r| !before.contains(r))
            .collect();
        let mut driver = self.connect().await?;
        for role in &made {
            let q = strata_driver::quote_ident_for(Dialect::Postgres, role);
            driver
                .batch(&format!("DROP OWNED BY {q}; DROP ROLE {q}"))
                .await?;
        }
        Ok(made)
    }
}
