//! What `strata init` writes: the sources it found and the development
//! database, as strata.toml text.

use super::{CONFIG_FILE, read_dotenv};
use crate::EngineError;
use std::path::Path;
use strata_sql::EngineKind;

/// A source `strata init` writes into strata.toml.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewSource {
    pub name: String,
    pub path: String,
    pub format: String,
    pub priority: i64,
    pub engine: Option<String>,
    /// A folder of maintenance tasks (`kind = "task"`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub task: bool,
}

impl NewSource {
    /// The `[[source]]` table, with values quoted as TOML strings.
    pub fn block(&self) -> String {
        let quote = |v: &str| toml::Value::String(v.to_string()).to_string();
        let mut block = format!(
            "[[source]]\nname = {}\npath = {}\nformat = {}\npriority = {}\n",
            quote(&self.name),
            quote(&self.path),
            quote(&self.format),
            self.priority
        );
        if let Some(engine) = &self.engine {
            block.push_str(&format!("engine = {}\n", quote(engine)));
        }
        if self.task {
            block.push_str("kind = \"task\"\n");
        }
        block
    }
}

/// The development database `strata init` writes, and what the user
/// should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialDatabase {
    /// The `url` value, with `${VAR}` where a secret or a variable stands.
    pub url: String,
    pub note: String,
}

/// The database a new project really uses: `--database-url` (its password
/// left out, as `${STRATA_DB_PASSWORD}`), else `DATABASE_URL` from the
/// environment or `dir`'s `.env` (written as `${DATABASE_URL}`), else
/// `${DATABASE_URL}` when the detected sources are bound to one server
/// engine, else a SQLite file.
pub fn initial_database(
    given: Option<&str>,
    dir: &Path,
    engines: &[String],
) -> Result<InitialDatabase, EngineError> {
    if let Some(url) = given {
        let (bare, password) = strata_driver::split_password(url);
        return Ok(match password {
            None => InitialDatabase {
                url: url.to_string(),
                note: format!("The development environment is {url}."),
            },
            Some(_) => {
                let at = bare
                    .find('@')
                    .expect("a URL with a password has a userinfo");
                InitialDatabase {
                    url: format!("{}:${{STRATA_DB_PASSWORD}}{}", &bare[..at], &bare[at..]),
                    note: format!(
                        "The development environment is {}; its password is not written to {CONFIG_FILE}: set STRATA_DB_PASSWORD in the environment or in .env (keep .env out of version control).",
                        strata_driver::redact_url(url)
                    ),
                }
            }
        });
    }
    let from_env = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
    let from_dotenv = read_dotenv(dir)?
        .remove("DATABASE_URL")
        .filter(|u| !u.is_empty());
    if let Some(url) = from_env.or(from_dotenv) {
        return Ok(InitialDatabase {
            url: "${DATABASE_URL}".into(),
            note: format!(
                "The development environment is DATABASE_URL (now {}), read from the environment or .env each time.",
                strata_driver::redact_url(&url)
            ),
        });
    }
    let mut kinds: Vec<EngineKind> = engines
        .iter()
        .filter_map(|e| EngineKind::parse(e))
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    Ok(match kinds.as_slice() {
        [one] if one.is_server() => InitialDatabase {
            url: "${DATABASE_URL}".into(),
            note: format!(
                "The migrations are written for {one}: set DATABASE_URL to your {one} database (e.g. {}) in the environment or in .env.",
                one.example_url()
            ),
        },
        _ => InitialDatabase {
            url: "sqlite://strata.db".into(),
            note: "The development environment is a SQLite file, strata.db.".into(),
        },
    })
}

/// The `strata.toml` that `strata init` writes, with `sources`.
pub fn initial_config(sources: &[NewSource], url: &str) -> String {
    let blocks: Vec<String> = sources.iter().map(NewSource::block).collect();
    let url = toml_edit::Value::from(url).to_string();
    format!(
        r#"# strata configuration: see docs/config.md in the strata repository

[project]
default_env = "development"
# history_table = "strata_history"

{}
[env.development]
url = {url}

# [env.production]
# url = "${{DATABASE_URL}}"
# protected = true
# lock_timeout = "5s"
# statement_timeout = "10m"
"#,
        blocks.join("\n")
    )
}
