//! The database engines strata works with, named in one place: their
//! aliases (in strata.toml, in a tool's configuration, in a folder name),
//! their URL schemes and their SQL dialect. Adding an engine adds a variant
//! here and a driver crate.

use crate::Dialect;
use std::fmt;

/// A database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EngineKind {
    Postgres,
    Sqlite,
    /// MySQL and MariaDB.
    Mysql,
}

impl EngineKind {
    pub const ALL: [EngineKind; 3] = [EngineKind::Postgres, EngineKind::Sqlite, EngineKind::Mysql];

    /// The name strata uses (`engine = "..."` in strata.toml, backups,
    /// JSON output).
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Postgres => "postgres",
            EngineKind::Sqlite => "sqlite",
            EngineKind::Mysql => "mysql",
        }
    }

    /// The engine a name stands for, as strata.toml, another tool's
    /// configuration (Prisma's `provider`, a Drizzle `dialect`) or a folder
    /// (`migrations/postgres`) writes it; engines that speak one of these
    /// protocols count as it (CockroachDB, Turso, SingleStore).
    pub fn parse(alias: &str) -> Option<EngineKind> {
        Some(match alias.to_ascii_lowercase().as_str() {
            "postgresql" | "postgres" | "pg" | "cockroachdb" => EngineKind::Postgres,
            "sqlite" | "turso" | "libsql" => EngineKind::Sqlite,
            "mysql" | "mariadb" | "singlestore" => EngineKind::Mysql,
            _ => return None,
        })
    }

    /// The engine of a database URL's scheme (`postgresql://`,
    /// `mariadb://`, `sqlite:`).
    pub fn from_scheme(scheme: &str) -> Option<EngineKind> {
        Some(match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => EngineKind::Postgres,
            "sqlite" => EngineKind::Sqlite,
            "mysql" | "mariadb" => EngineKind::Mysql,
            _ => return None,
        })
    }

    pub fn dialect(self) -> Dialect {
        match self {
            EngineKind::Postgres => Dialect::Postgres,
            EngineKind::Sqlite => Dialect::Sqlite,
            EngineKind::Mysql => Dialect::Mysql,
        }
    }

    /// Whether the database is a server to connect to (rather than a file).
    pub fn is_server(self) -> bool {
        self != EngineKind::Sqlite
    }

    /// A URL to show as an example of this engine's.
    pub fn example_url(self) -> &'static str {
        match self {
            EngineKind::Postgres => "postgres://app@localhost:5432/app",
            EngineKind::Sqlite => "sqlite://strata.db",
            EngineKind::Mysql => "mysql://app@localhost:3306/app",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_agree() {
        for kind in EngineKind::ALL {
            assert_eq!(EngineKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(EngineKind::parse("MariaDB"), Some(EngineKind::Mysql));
        assert_eq!(
            EngineKind::from_scheme("postgresql"),
            Some(EngineKind::Postgres)
        );
        assert_eq!(EngineKind::parse("oracle"), None);
    }
}
