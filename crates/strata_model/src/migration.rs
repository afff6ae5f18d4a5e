use crate::{Checksum, Version};
use std::fmt;
use std::path::PathBuf;

/// A migration's identity: the source (category) it belongs to and its
/// version within that source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MigrationId {
    pub source: String,
    pub version: Version,
}

impl MigrationId {
    pub fn new(source: impl Into<String>, version: Version) -> Self {
        MigrationId {
            source: source.into(),
            version,
        }
    }
}

impl fmt::Display for MigrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.source, self.version)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MigrationKind {
    Versioned,
    Repeatable,
    Baseline,
    Script,
    /// Recorded from another tool's history by `strata adopt`.
    Adopted,
}

impl MigrationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationKind::Versioned => "versioned",
            MigrationKind::Repeatable => "repeatable",
            MigrationKind::Baseline => "baseline",
            MigrationKind::Script => "script",
            MigrationKind::Adopted => "adopted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "versioned" => MigrationKind::Versioned,
            "repeatable" => MigrationKind::Repeatable,
            "baseline" => MigrationKind::Baseline,
            "script" => MigrationKind::Script,
            "adopted" => MigrationKind::Adopted,
            _ => return None,
        })
    }
}

/// How a migration is run: the semantics its own tool gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxMode {
    /// In one transaction together with its history row.
    Transaction,
    /// Statement by statement, outside any transaction.
    NoTransaction,
    /// The whole file sent to the server as one command, outside strata's
    /// transaction (golang-migrate, Prisma): the server runs a
    /// multi-statement command in its own implicit transaction, and a
    /// single statement that cannot run in a transaction block works.
    OneCommand,
}

impl TxMode {
    pub fn is_transactional(self) -> bool {
        self == TxMode::Transaction
    }

    /// `Transaction`, or `NoTransaction` when a file opts out.
    pub fn unless(no_transaction: bool) -> Self {
        if no_transaction {
            TxMode::NoTransaction
        } else {
            TxMode::Transaction
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TxMode::Transaction => "transaction",
            TxMode::NoTransaction => "no-transaction",
            TxMode::OneCommand => "one-command",
        }
    }
}

/// One section of a migration file (up, down or verify) with the line of the
/// file its first line is on, so errors can point back into the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// Shared: a plan's step holds the same text as the migration it runs,
    /// so a 50 MB data migration is in memory once.
    pub sql: std::sync::Arc<String>,
    /// 1-based line number in `path` of the body's first line.
    pub line: usize,
    pub path: PathBuf,
}

impl Body {
    /// A body whose text was not kept: discovery read and hashed the file
    /// for a command that runs nothing (a `status`, an `up` that may have
    /// nothing to do). Its `sql` is empty; [`Body::is_read`] tells it from
    /// a body that is empty in the file.
    pub fn unread(line: usize, path: PathBuf) -> Body {
        Body {
            sql: std::sync::Arc::clone(&UNREAD),
            line,
            path,
        }
    }

    /// False for a body made by [`Body::unread`]: running it would run
    /// nothing in place of the file's SQL.
    pub fn is_read(&self) -> bool {
        !std::sync::Arc::ptr_eq(&self.sql, &UNREAD)
    }

    /// True when the body holds nothing but whitespace and SQL comments.
    pub fn is_blank(&self) -> bool {
        is_blank(&self.sql)
    }
}

/// The one text every unread body shares.
static UNREAD: std::sync::LazyLock<std::sync::Arc<String>> =
    std::sync::LazyLock::new(|| std::sync::Arc::new(String::new()));

/// True when `sql` holds nothing but whitespace and SQL comments.
pub fn is_blank(sql: &str) -> bool {
    sql.lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
}

/// A migration as discovered on disk.
#[derive(Debug, Clone)]
pub struct Migration {
    pub id: MigrationId,
    pub name: String,
    pub kind: MigrationKind,
    /// The file (or directory) the user edits; shown in every message.
    pub path: PathBuf,
    pub up: Body,
    pub down: Option<Body>,
    pub verify: Option<Body>,
    pub tx_mode: TxMode,
    pub checksum: Checksum,
    /// Why strata cannot run this migration itself (a goose Go migration),
    /// when it cannot: it is listed, and a plan stops before it.
    pub unsupported: Option<String>,
    /// Migrations (of any source) that must be applied before this one
    /// (`-- strata:requires <source>/<version>`).
    pub requires: Vec<MigrationId>,
    /// What it does, in its author's words (a Python module's docstring's
    /// first line), for `list`.
    pub description: Option<String>,
}

impl Migration {
    /// `version_name`, the way the file is named.
    pub fn label(&self) -> String {
        format!("{}_{}", self.id.version, self.name)
    }
}
