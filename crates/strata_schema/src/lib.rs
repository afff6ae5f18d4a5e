//! A database's schema as one model: what each driver's introspection
//! reads (a few bulk catalog queries), what `strata schema dump` prints
//! canonically, and what a diff will compare.
//!
//! Pure types and rendering, no I/O. Definitions that the server can
//! print canonically itself (a constraint, an index, a view's query, a
//! column's default) are kept as the server printed them: they compare
//! equal exactly when the server would build the same object.

mod sql;

use serde::Serialize;

pub use sql::dump;

/// One database's schema, every list in a stable order (by name), so the
/// same schema always dumps to the same text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Schema {
    /// Schemas other than `public` (PostgreSQL).
    pub schemas: Vec<Name>,
    pub extensions: Vec<Extension>,
    pub enums: Vec<Enum>,
    pub sequences: Vec<Sequence>,
    pub tables: Vec<Table>,
    /// In an order each can be created in: a view after those it reads.
    pub views: Vec<View>,
    /// Objects an engine keeps as their creating statement (SQLite's
    /// indexes, views and triggers): created in this order after tables.
    pub statements: Vec<Statement>,
}

/// A name within a schema, and its SQL form as the server quotes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Name {
    /// `None` where the engine has no schemas (SQLite).
    pub schema: Option<String>,
    pub name: String,
    /// Qualified and quoted only where needed (`sales."Order"`).
    pub sql: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extension {
    pub name: String,
    pub schema: String,
    /// Its `CREATE EXTENSION` statement, names quoted by the server.
    pub sql: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enum {
    pub name: Name,
    /// In their sort order.
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sequence {
    pub name: Name,
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
    /// `table.column` (quoted) a `serial` column's sequence belongs to.
    pub owned_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    pub name: Name,
    pub unlogged: bool,
    /// `PARTITION BY ...` of a partitioned table.
    pub partition_by: Option<String>,
    /// The parent and `FOR VALUES ...` of a partition.
    pub partition_of: Option<(String, String)>,
    /// In their order in the table.
    pub columns: Vec<Column>,
    /// By name. Foreign keys are created after every table.
    pub constraints: Vec<Constraint>,
    /// By name; those that back a constraint are the constraint's.
    pub indexes: Vec<Index>,
    pub row_security: bool,
    pub force_row_security: bool,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    /// Quoted where needed.
    pub sql_name: String,
    /// As the server prints it (`character varying(20)`, `numeric(12,2)`).
    pub data_type: String,
    /// Only when not the type's default collation.
    pub collation: Option<String>,
    pub not_null: bool,
    pub default: Option<String>,
    /// `ALWAYS` or `BY DEFAULT`.
    pub identity: Option<String>,
    /// A generated column's `(expression) STORED` (or `VIRTUAL`).
    pub generated: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Constraint {
    pub name: String,
    pub sql_name: String,
    pub kind: ConstraintKind,
    /// As the server prints it (`FOREIGN KEY (a) REFERENCES t(id) ON DELETE
    /// CASCADE NOT VALID`).
    pub definition: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    PrimaryKey,
    Unique,
    ForeignKey,
    Check,
    Exclusion,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Index {
    pub name: String,
    /// The whole `CREATE INDEX` statement as the server prints it.
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct View {
    pub name: Name,
    pub materialized: bool,
    /// The query, as the server prints it.
    pub query: String,
}

/// An object kept as the statement that creates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// `index`, `view`, `trigger`.
    pub kind: String,
    pub name: String,
    pub sql: String,
}

impl Schema {
    /// Puts every list in its canonical order (views keep the creation
    /// order introspection gave them).
    pub fn sort(&mut self) {
        self.schemas.sort();
        self.extensions.sort_by(|a, b| a.name.cmp(&b.name));
        self.enums.sort_by(|a, b| a.name.cmp(&b.name));
        self.sequences.sort_by(|a, b| a.name.cmp(&b.name));
        self.tables.sort_by(|a, b| a.name.cmp(&b.name));
        for t in &mut self.tables {
            t.constraints.sort_by(|a, b| a.name.cmp(&b.name));
            t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }

    /// SHA-256 of the canonical dump: equal for equal schemas.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(dump(self).as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests;
