//! A database's schema as one model: what each driver's introspection
//! reads (a few bulk catalog queries), what `strata schema dump` prints
//! canonically, and what a diff will compare.
//!
//! Pure types and rendering, no I/O. Definitions that the server can
//! print canonically itself (a constraint, an index, a view's query, a
//! column's default) are kept as the server printed them: they compare
//! equal exactly when the server would build the same object.

mod diff;
mod migrate;
mod order;
mod sql;

use serde::Serialize;

pub use diff::{Change, Difference, diff};
pub use migrate::{Migration, Step, migration};
pub use order::dependency_order;
pub use sql::{Object, dump, objects};

/// One database's schema, every list in a stable order (by name), so the
/// same schema always dumps to the same text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Schema {
    /// Schemas other than `public` (PostgreSQL).
    pub schemas: Vec<Name>,
    pub extensions: Vec<Extension>,
    pub enums: Vec<Enum>,
    pub domains: Vec<Domain>,
    pub composites: Vec<Composite>,
    /// Functions and procedures, by signature.
    pub functions: Vec<Function>,
    pub sequences: Vec<Sequence>,
    pub tables: Vec<Table>,
    /// In an order each can be created in: a view after those it reads.
    pub views: Vec<View>,
    pub event_triggers: Vec<Definition>,
    /// Privileges granted on tables, columns, sequences, schemas and
    /// functions (an owner's own are not listed).
    pub grants: Vec<Grant>,
    pub publications: Vec<Definition>,
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
    /// Row level security policies, by name.
    pub policies: Vec<Policy>,
    /// By name; a partition's clones of its parent's are the parent's.
    pub triggers: Vec<Definition>,
    pub comment: Option<String>,
}

/// An object whose whole definition is one statement the server prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Definition {
    pub name: String,
    pub sql: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domain {
    pub name: Name,
    pub data_type: String,
    pub collation: Option<String>,
    pub default: Option<String>,
    pub not_null: bool,
    /// Its check constraints, by name.
    pub constraints: Vec<Constraint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Composite {
    pub name: Name,
    /// In order: (name as SQL, type).
    pub attributes: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Function {
    /// `sql` is the signature (`public.add(integer, integer)`).
    pub name: Name,
    /// `CREATE OR REPLACE FUNCTION ...` as the server prints it.
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub name: String,
    pub sql_name: String,
    pub permissive: bool,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
    pub command: String,
    /// Roles as SQL (`PUBLIC` for everyone), sorted.
    pub roles: Vec<String>,
    pub using: Option<String>,
    pub with_check: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Grant {
    /// What it is on, as SQL: `TABLE public.t`, `SEQUENCE s`, `SCHEMA s`,
    /// `FUNCTION f(integer)`.
    pub on: String,
    /// Only some columns of a table (as SQL, comma-separated).
    pub columns: Option<String>,
    /// Role as SQL, or `PUBLIC`.
    pub grantee: String,
    /// Sorted, comma-separated (`INSERT, SELECT`).
    pub privileges: String,
    pub grantable: bool,
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
    /// Its options (`security_invoker=true`, `check_option=cascaded`,
    /// a materialized view's storage parameters), as the server keeps
    /// them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// A materialized view's indexes, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
}

/// An object kept as the statement that creates it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// `table`, `index`, `view`, `trigger`, `foreign key`, ...
    pub kind: String,
    pub name: String,
    pub sql: String,
    /// The table it belongs to (an index's, a trigger's, a foreign key's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    /// A table's columns, keys and checks, and its options, each as it
    /// is written in the statement: what `schema diff --sql` alters one by
    /// one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
}

/// One part of a table kept as a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    pub kind: PartKind,
    /// Unquoted (`PRIMARY` for a primary key; empty for the options).
    pub name: String,
    /// As written in the table's statement (the column's type, default,
    /// ...; the key's columns). Empty where only the name is known.
    pub sql: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    Column,
    /// A column the engine computes (not copied when a table is rebuilt).
    Generated,
    Key,
    Check,
    /// What follows the parentheses (`ENGINE=InnoDB COLLATE=...`).
    Options,
}

impl Schema {
    /// Leaves out the schemas (namespaces) `names` and all that is in
    /// them: a tool's own (`supabase_migrations`), which is not the
    /// application's.
    pub fn leave_out_schemas(&mut self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        let out = |n: &Name| n.schema.as_ref().is_some_and(|s| names.contains(s));
        self.schemas.retain(|n| !names.contains(&n.name));
        self.enums.retain(|x| !out(&x.name));
        self.domains.retain(|x| !out(&x.name));
        self.composites.retain(|x| !out(&x.name));
        self.functions.retain(|x| !out(&x.name));
        self.sequences.retain(|x| !out(&x.name));
        self.tables.retain(|x| !out(&x.name));
        self.views.retain(|x| !out(&x.name));
        let on = |g: &Grant| {
            names.iter().any(|n| {
                let q = crate::sql::quoted(n);
                [n.as_str(), q.as_str()]
                    .iter()
                    .any(|n| g.on == format!("SCHEMA {n}") || g.on.contains(&format!(" {n}.")))
            })
        };
        self.grants.retain(|g| !on(g));
    }

    /// Puts every list in its canonical order (views keep the creation
    /// order introspection gave them).
    pub fn sort(&mut self) {
        self.schemas.sort();
        self.extensions.sort_by(|a, b| a.name.cmp(&b.name));
        self.enums.sort_by(|a, b| a.name.cmp(&b.name));
        self.domains.sort_by(|a, b| a.name.cmp(&b.name));
        for d in &mut self.domains {
            d.constraints.sort_by(|a, b| a.name.cmp(&b.name));
        }
        self.composites.sort_by(|a, b| a.name.cmp(&b.name));
        self.functions.sort_by(|a, b| a.name.cmp(&b.name));
        self.sequences.sort_by(|a, b| a.name.cmp(&b.name));
        self.tables.sort_by(|a, b| a.name.cmp(&b.name));
        for t in &mut self.tables {
            t.constraints.sort_by(|a, b| a.name.cmp(&b.name));
            t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
            t.policies.sort_by(|a, b| a.name.cmp(&b.name));
            t.triggers.sort_by(|a, b| a.name.cmp(&b.name));
        }
        for v in &mut self.views {
            v.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        }
        self.event_triggers.sort_by(|a, b| a.name.cmp(&b.name));
        self.grants.sort();
        self.publications.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// A table kept as its statement (SQLite, MySQL), by name.
    pub fn table_statement(&self, name: &str) -> Option<&Statement> {
        self.statements
            .iter()
            .find(|s| s.kind == "table" && s.name == name)
    }

    /// SHA-256 of the canonical dump: equal for equal schemas.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        sql::each_object(self, &mut |o| {
            hasher.update(o.sql.as_bytes());
            hasher.update(b"\n\n");
        });
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests;
