//! An environment with several databases (`[env.X.databases]`): which
//! one a named migration or task is in, and the order to work on them.

use crate::{Engine, EngineError};

impl Engine {
    /// The database (of several) that `named` is in: a migration or task
    /// named `SOURCE/NAME`, or a bare name only one source has.
    pub fn database_of(&self, named: &str) -> Option<String> {
        let source = match named.rsplit_once('/') {
            Some((source, _)) => source.to_string(),
            None => match self.task(named) {
                Ok(task) => task.source,
                Err(_) => {
                    let found = self.migrations().ok()?;
                    let mut sources: Vec<&str> = found
                        .migrations
                        .iter()
                        .filter(|m| m.name == named || m.id.version.as_str() == named)
                        .map(|m| m.id.source.as_str())
                        .collect();
                    sources.dedup();
                    match sources.as_slice() {
                        [one] => one.to_string(),
                        _ => return None,
                    }
                }
            },
        };
        self.source_config(&source)
            .map(|s| s.database_name().to_string())
    }

    /// The environment's databases in the order to work on them: one whose
    /// sources (or migrations) require another's comes after it; `main`
    /// first otherwise.
    pub fn database_order(&self) -> Result<Vec<String>, EngineError> {
        let names = self.env.database_names();
        let db_of = |source: &str| {
            self.source_config(source)
                .map(|s| s.database_name().to_string())
        };
        let mut edges: Vec<(String, String)> = Vec::new();
        for s in &self.project.config.sources {
            for r in &s.requires {
                if let Some(before) = db_of(r) {
                    edges.push((before, s.database_name().to_string()));
                }
            }
        }
        for m in self.migrations()?.migrations {
            for r in &m.requires {
                if let (Some(before), Some(after)) = (db_of(&r.source), db_of(&m.id.source)) {
                    edges.push((before, after));
                }
            }
        }
        edges.retain(|(a, b)| a != b);
        let mut order = Vec::new();
        let mut left = names.clone();
        while !left.is_empty() {
            let Some(i) = left
                .iter()
                .position(|n| !edges.iter().any(|(a, b)| b == n && left.contains(a)))
            else {
                return Err(self.project.config_error(
                    format!(
                        "the databases {} require each other (through their sources' requires)",
                        left.join(", ")
                    ),
                    "a database's migrations may require another's, not both ways",
                ));
            };
            order.push(left.remove(i));
        }
        Ok(order)
    }
}
