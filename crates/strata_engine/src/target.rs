//! Which database a URL names, and the one place that picks a driver for it.

use crate::EngineError;
use std::path::Path;
use strata_driver::{Backup, Driver, TableName, redact_url};
use strata_sql::EngineKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Postgres {
        url: String,
    },
    /// MySQL or MariaDB (`mysql://`, `mariadb://`).
    Mysql {
        url: String,
    },
    /// A file path, or `:memory:`.
    Sqlite {
        path: String,
        display: String,
    },
}

impl DatabaseTarget {
    /// Parses a database URL; a relative SQLite path is taken from `base`.
    pub fn parse(url: &str, base: &Path) -> Result<Self, EngineError> {
        let url = url.trim();
        let scheme = url.split_once(':').map(|(s, _)| s);
        match scheme.and_then(EngineKind::from_scheme) {
            Some(EngineKind::Postgres) => Ok(DatabaseTarget::Postgres {
                url: url.to_string(),
            }),
            Some(EngineKind::Sqlite) => {
                let rest = &url["sqlite:".len()..];
                let rest = rest.strip_prefix("//").unwrap_or(rest);
                let rest = rest.split('?').next().unwrap_or(rest);
                if rest.is_empty() {
                    return Err(EngineError::Url(format!(
                        "`{url}` names no file; write sqlite://path/to/file.db or sqlite::memory:"
                    )));
                }
                let path = if rest == ":memory:" {
                    rest.to_string()
                } else {
                    base.join(rest).display().to_string()
                };
                Ok(DatabaseTarget::Sqlite {
                    path,
                    display: url.to_string(),
                })
            }
            Some(EngineKind::Mysql) => Ok(DatabaseTarget::Mysql {
                url: url.to_string(),
            }),
            // Not echoed: a string that is not a URL may hold a password
            // where redaction cannot find it.
            _ => Err(EngineError::Url(
                "the database URL is not one strata knows (it is not shown, as it may hold a password); use postgres://user@host/db, postgresql://..., mysql://user@host/db, mariadb://..., sqlite://path/to/file.db or sqlite::memory:".into(),
            )),
        }
    }

    /// Whether connecting means a network round trip (worth overlapping
    /// with reading the migration files) rather than opening a file.
    pub fn is_server(&self) -> bool {
        self.engine().is_server()
    }

    /// The URL as given (with its password: only for a script's
    /// environment, never for output).
    pub fn url(&self) -> String {
        match self {
            DatabaseTarget::Postgres { url } | DatabaseTarget::Mysql { url } => url.clone(),
            // The resolved file, so a script in another directory finds it.
            DatabaseTarget::Sqlite { path, .. } if path == ":memory:" => "sqlite::memory:".into(),
            DatabaseTarget::Sqlite { path, .. } => format!("sqlite://{path}"),
        }
    }

    /// What a script needs besides `DATABASE_URL` to reach the database
    /// with the engine's own client (`psql` reads `PGHOST` ... `PGPASSWORD`).
    pub fn client_env(&self) -> Vec<(&'static str, String)> {
        match self {
            #[cfg(feature = "postgres")]
            DatabaseTarget::Postgres { url } => strata_postgres::client_env(url),
            _ => Vec::new(),
        }
    }

    pub fn engine(&self) -> EngineKind {
        match self {
            DatabaseTarget::Postgres { .. } => EngineKind::Postgres,
            DatabaseTarget::Mysql { .. } => EngineKind::Mysql,
            DatabaseTarget::Sqlite { .. } => EngineKind::Sqlite,
        }
    }

    /// How messages name `database`, or its absence.
    pub(crate) fn shown(database: Option<&DatabaseTarget>) -> String {
        database.map_or_else(|| "(no database)".into(), DatabaseTarget::display)
    }

    /// The URL with any password hidden.
    pub fn display(&self) -> String {
        match self {
            DatabaseTarget::Postgres { url } | DatabaseTarget::Mysql { url } => redact_url(url),
            DatabaseTarget::Sqlite { display, .. } => display.clone(),
        }
    }

    /// How this database's engine backs it up and restores it; a backup
    /// leaves out the rows of `lock_table` (a lease held while it was
    /// taken must not come back with a restore).
    pub fn backup(&self, lock_table: &TableName) -> Result<Box<dyn Backup>, EngineError> {
        #[cfg(feature = "backup")]
        match self {
            #[cfg(feature = "postgres")]
            DatabaseTarget::Postgres { url } => {
                return Ok(Box::new(strata_postgres::PgBackup {
                    url: url.clone(),
                    lock_table: lock_table.clone(),
                }));
            }
            #[cfg(feature = "mysql")]
            DatabaseTarget::Mysql { url } => {
                return Ok(Box::new(strata_mysql::MysqlBackup { url: url.clone() }));
            }
            #[cfg(feature = "sqlite")]
            DatabaseTarget::Sqlite { path, .. } => {
                return Ok(Box::new(strata_sqlite::SqliteBackup {
                    path: path.clone(),
                    lock_table: lock_table.clone(),
                }));
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
        let _ = lock_table;
        Err(not_built(self.engine(), "backup"))
    }

    /// What keeps `kind`'s own tool from reading the backup file at `path`.
    pub async fn check_backup(kind: EngineKind, path: &Path) -> Vec<String> {
        let _ = path;
        #[cfg(feature = "backup")]
        match kind {
            #[cfg(feature = "postgres")]
            EngineKind::Postgres => return strata_postgres::check_backup(path).await,
            #[cfg(feature = "mysql")]
            EngineKind::Mysql => return strata_mysql::check_backup(path),
            #[cfg(feature = "sqlite")]
            EngineKind::Sqlite => return strata_sqlite::check_backup(path),
            #[allow(unreachable_patterns)]
            _ => {}
        }
        vec![not_built(kind, "backup").to_string()]
    }

    /// [`DatabaseTarget::check_backup`] of a backup read from `input` (an
    /// encrypted file, decrypted as it is read).
    pub async fn check_backup_from(
        kind: EngineKind,
        input: &mut (dyn std::io::Read + Send),
    ) -> Vec<String> {
        let _ = &input;
        #[cfg(feature = "backup")]
        match kind {
            #[cfg(feature = "postgres")]
            EngineKind::Postgres => return strata_postgres::check_backup_from(input).await,
            #[cfg(feature = "mysql")]
            EngineKind::Mysql => return strata_mysql::check_backup_from(input),
            #[cfg(feature = "sqlite")]
            EngineKind::Sqlite => return strata_sqlite::check_backup_from(input),
            #[allow(unreachable_patterns)]
            _ => {}
        }
        vec![not_built(kind, "backup").to_string()]
    }

    pub async fn connect(&self, table: TableName) -> Result<Box<dyn Driver>, EngineError> {
        let _ = &table;
        match self {
            #[cfg(feature = "postgres")]
            DatabaseTarget::Postgres { url } => {
                Ok(Box::new(strata_postgres::connect(url, table).await?))
            }
            #[cfg(feature = "mysql")]
            DatabaseTarget::Mysql { url } => Ok(Box::new(strata_mysql::connect(url, table).await?)),
            #[cfg(feature = "sqlite")]
            DatabaseTarget::Sqlite { path, display } => Ok(Box::new(strata_sqlite::connect(
                path,
                table,
                display.clone(),
            )?)),
            #[allow(unreachable_patterns)]
            _ => Err(not_built(self.engine(), self.engine().name())),
        }
    }
}

/// What a build without `feature` says when it is asked for.
fn not_built(engine: EngineKind, feature: &str) -> EngineError {
    EngineError::Refused(format!(
        "this build of strata was made without the `{feature}` feature, which {engine} needs here: add it to strata's features in Cargo.toml"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let base = Path::new("/proj");
        assert_eq!(
            DatabaseTarget::parse("sqlite://app.db", base).unwrap(),
            DatabaseTarget::Sqlite {
                path: "/proj/app.db".into(),
                display: "sqlite://app.db".into()
            }
        );
        assert!(matches!(
            DatabaseTarget::parse("sqlite:///abs/x.db", base).unwrap(),
            DatabaseTarget::Sqlite { path, .. } if path == "/abs/x.db"
        ));
        assert!(matches!(
            DatabaseTarget::parse("sqlite::memory:", base).unwrap(),
            DatabaseTarget::Sqlite { path, .. } if path == ":memory:"
        ));
        assert!(matches!(
            DatabaseTarget::parse("postgresql://u@h/d", base).unwrap(),
            DatabaseTarget::Postgres { .. }
        ));
        let err = DatabaseTarget::parse("host=h password=secret", base)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(matches!(
            DatabaseTarget::parse("mariadb://root@h/d", base).unwrap(),
            DatabaseTarget::Mysql { .. }
        ));
        assert!(DatabaseTarget::parse("sqlite://", base).is_err());
    }
}
