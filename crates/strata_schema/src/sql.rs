//! The canonical SQL of a [`Schema`]: one object per block, in an order
//! that applies cleanly to an empty database, byte-identical for equal
//! schemas whatever order their objects were created in.

use crate::{Column, ConstraintKind, Schema, Table};
use std::fmt::Write;

/// The schema as SQL that recreates it on an empty database.
pub fn dump(schema: &Schema) -> String {
    let mut text = String::new();
    each_object(schema, &mut |o| {
        text.push_str(&o.sql);
        text.push_str("\n\n");
    });
    text
}

/// One object of a dump: what kind, its name (as SQL, qualified by its
/// table where it belongs to one), the statement that creates it and the
/// one that removes it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub kind: &'static str,
    pub name: String,
    pub sql: String,
    pub drop: String,
    /// What it belongs to and goes with (an index's table, a grant's
    /// object), by name as SQL.
    pub on: Option<String>,
}

impl Object {
    fn drop(&mut self, sql: String) -> &mut Self {
        self.drop = sql;
        self
    }

    fn on(&mut self, name: &str) -> &mut Self {
        self.on = Some(name.to_string());
        self
    }
}

/// The objects of `schema`, in the order a dump creates them.
pub fn objects(schema: &Schema) -> Vec<Object> {
    let mut out = Vec::new();
    each_object(schema, &mut |o| out.push(o));
    out
}

/// Each object of `schema` in turn, in the order a dump creates them,
/// none kept: a dump or its hash need no more memory than one object.
pub(crate) fn each_object(schema: &Schema, sink: &mut dyn FnMut(Object)) {
    let mut out = Dump {
        current: None,
        sink,
    };
    if !schema.functions.is_empty() {
        // Function bodies may read tables created further down.
        out.block(
            "setting",
            "check_function_bodies",
            "SET check_function_bodies = false;".into(),
        );
    }
    for s in &schema.schemas {
        out.block("schema", &s.sql, format!("CREATE SCHEMA {};", s.sql))
            .drop(format!("DROP SCHEMA {};", s.sql));
    }
    for e in &schema.extensions {
        out.block("extension", &e.name, e.sql.clone())
            .drop(format!("DROP EXTENSION {};", quoted(&e.name)));
    }
    for e in &schema.enums {
        let labels: Vec<String> = e.labels.iter().map(|l| literal(l)).collect();
        out.block(
            "enum",
            &e.name.sql,
            format!(
                "CREATE TYPE {} AS ENUM ({});",
                e.name.sql,
                labels.join(", ")
            ),
        )
        .drop(format!("DROP TYPE {};", e.name.sql));
    }
    for d in &schema.domains {
        let mut sql = format!("CREATE DOMAIN {} AS {}", d.name.sql, d.data_type);
        if let Some(c) = &d.collation {
            let _ = write!(sql, " COLLATE {c}");
        }
        if let Some(default) = &d.default {
            let _ = write!(sql, " DEFAULT {default}");
        }
        if d.not_null {
            sql.push_str(" NOT NULL");
        }
        for c in &d.constraints {
            let _ = write!(sql, "\n    CONSTRAINT {} {}", c.sql_name, c.definition);
        }
        sql.push(';');
        out.block("domain", &d.name.sql, sql)
            .drop(format!("DROP DOMAIN {};", d.name.sql));
    }
    for c in &schema.composites {
        let attributes: Vec<String> = c
            .attributes
            .iter()
            .map(|(name, data_type)| format!("\n    {name} {data_type}"))
            .collect();
        out.block(
            "type",
            &c.name.sql,
            format!(
                "CREATE TYPE {} AS ({}\n);",
                c.name.sql,
                attributes.join(",")
            ),
        )
        .drop(format!("DROP TYPE {};", c.name.sql));
    }
    for f in &schema.functions {
        out.block(
            "function",
            &f.name.sql,
            format!("{};", f.definition.trim_end()),
        )
        .drop(format!(
            "DROP {} {};",
            if f.definition.contains(" PROCEDURE ") {
                "PROCEDURE"
            } else {
                "FUNCTION"
            },
            f.name.sql
        ));
    }
    for s in &schema.sequences {
        out.block(
            "sequence",
            &s.name.sql,
            format!(
                "CREATE SEQUENCE {} {}{};",
                s.name.sql,
                sequence_options(s),
                if s.cycle { " CYCLE" } else { "" }
            ),
        )
        .drop(format!("DROP SEQUENCE {};", s.name.sql));
    }
    for t in creation_order(&schema.tables) {
        let table = out
            .block("table", &t.name.sql, create_table(t))
            .drop(format!("DROP TABLE {};", t.name.sql));
        if let Some((parent, _)) = &t.partition_of {
            table.on(parent);
        }
    }
    for s in &schema.sequences {
        if let Some(owner) = &s.owned_by {
            out.block(
                "sequence owner",
                &s.name.sql,
                format!("ALTER SEQUENCE {} OWNED BY {owner};", s.name.sql),
            )
            .drop(format!("ALTER SEQUENCE {} OWNED BY NONE;", s.name.sql))
            .on(owner
                .rsplit_once('.')
                .map_or(owner.as_str(), |(table, _)| table));
        }
    }
    for t in &schema.tables {
        for c in t
            .constraints
            .iter()
            .filter(|c| c.kind == ConstraintKind::ForeignKey || t.partition_of.is_some())
        {
            out.block(
                "constraint",
                &format!("{}.{}", t.name.sql, c.sql_name),
                format!(
                    "ALTER TABLE {} ADD CONSTRAINT {} {};",
                    t.name.sql, c.sql_name, c.definition
                ),
            )
            .drop(format!(
                "ALTER TABLE {} DROP CONSTRAINT {};",
                t.name.sql, c.sql_name
            ))
            .on(&t.name.sql);
        }
    }
    for t in &schema.tables {
        for i in &t.indexes {
            // An index of a partitioned table is created on its partitions
            // too: the server prints it `ON ONLY` (the parent alone), as
            // it was left once its partitions' indexes were attached.
            let definition = match &t.partition_by {
                Some(_) => i.definition.replacen(" ON ONLY ", " ON ", 1),
                None => i.definition.clone(),
            };
            out.block(
                "index",
                &format!("{}.{}", t.name.sql, i.name),
                format!("{definition};"),
            )
            .drop(drop_index(t.name.schema.as_deref(), &i.name))
            .on(&t.name.sql);
        }
    }
    for v in &schema.views {
        let query = v.query.trim().trim_end_matches(';');
        out.block(
            if v.materialized {
                "materialized view"
            } else {
                "view"
            },
            &v.name.sql,
            format!(
                "CREATE {}VIEW {}{} AS\n{query};",
                if v.materialized { "MATERIALIZED " } else { "" },
                v.name.sql,
                if v.options.is_empty() {
                    String::new()
                } else {
                    format!(" WITH ({})", v.options.join(", "))
                }
            ),
        )
        .drop(format!(
            "DROP {}VIEW {};",
            if v.materialized { "MATERIALIZED " } else { "" },
            v.name.sql
        ));
        for i in &v.indexes {
            out.block(
                "index",
                &format!("{}.{}", v.name.sql, i.name),
                format!("{};", i.definition),
            )
            .drop(drop_index(v.name.schema.as_deref(), &i.name))
            .on(&v.name.sql);
        }
    }
    for s in &schema.statements {
        let kind = kind_of(&s.kind);
        let drop = match (kind, &s.on) {
            ("constraint", Some(table)) => format!(
                "ALTER TABLE {} DROP FOREIGN KEY {};",
                backquoted(table),
                backquoted(&s.name)
            ),
            _ => format!("DROP {} {};", kind.to_uppercase(), backquoted(&s.name)),
        };
        let object = out
            .block(
                kind,
                &s.name,
                format!("{};", s.sql.trim().trim_end_matches(';')),
            )
            .drop(drop);
        if let Some(table) = &s.on {
            object.on(table);
        }
    }
    for t in &schema.tables {
        for trigger in &t.triggers {
            out.block(
                "trigger",
                &format!("{}.{}", t.name.sql, trigger.name),
                format!("{};", trigger.sql),
            )
            .drop(format!(
                "DROP TRIGGER {} ON {};",
                quoted(&trigger.name),
                t.name.sql
            ))
            .on(&t.name.sql);
        }
    }
    for e in &schema.event_triggers {
        out.block("event trigger", &e.name, e.sql.clone())
            .drop(format!("DROP EVENT TRIGGER {};", quoted(&e.name)));
    }
    for t in &schema.tables {
        if t.row_security {
            out.block(
                "row level security",
                &t.name.sql,
                format!("ALTER TABLE {} ENABLE ROW LEVEL SECURITY;", t.name.sql),
            )
            .drop(format!(
                "ALTER TABLE {} DISABLE ROW LEVEL SECURITY;",
                t.name.sql
            ))
            .on(&t.name.sql);
        }
        if t.force_row_security {
            out.block(
                "forced row level security",
                &t.name.sql,
                format!("ALTER TABLE {} FORCE ROW LEVEL SECURITY;", t.name.sql),
            )
            .drop(format!(
                "ALTER TABLE {} NO FORCE ROW LEVEL SECURITY;",
                t.name.sql
            ))
            .on(&t.name.sql);
        }
    }
    for t in &schema.tables {
        for p in &t.policies {
            let mut sql = format!(
                "CREATE POLICY {} ON {} AS {} FOR {} TO {}",
                p.sql_name,
                t.name.sql,
                if p.permissive {
                    "PERMISSIVE"
                } else {
                    "RESTRICTIVE"
                },
                p.command,
                p.roles.join(", ")
            );
            if let Some(using) = &p.using {
                let _ = write!(sql, " USING ({using})");
            }
            if let Some(check) = &p.with_check {
                let _ = write!(sql, " WITH CHECK ({check})");
            }
            sql.push(';');
            out.block("policy", &format!("{}.{}", t.name.sql, p.sql_name), sql)
                .drop(format!("DROP POLICY {} ON {};", p.sql_name, t.name.sql))
                .on(&t.name.sql);
        }
    }
    for g in &schema.grants {
        let columns = g
            .columns
            .as_ref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        let privileges: Vec<String> = g
            .privileges
            .split(", ")
            .map(|p| format!("{p}{columns}"))
            .collect();
        let on = match &g.columns {
            Some(c) => format!("{} ({c})", g.on),
            None => g.on.clone(),
        };
        out.block(
            "grant",
            &format!("{on} TO {}", g.grantee),
            format!(
                "GRANT {} ON {} TO {}{};",
                privileges.join(", "),
                g.on,
                g.grantee,
                if g.grantable {
                    " WITH GRANT OPTION"
                } else {
                    ""
                }
            ),
        )
        .drop(format!(
            "REVOKE {} ON {} FROM {};",
            privileges.join(", "),
            g.on,
            g.grantee
        ))
        .on(g.on.split_once(' ').map_or(g.on.as_str(), |(_, name)| name));
    }
    for p in &schema.publications {
        out.block("publication", &p.name, p.sql.clone())
            .drop(format!("DROP PUBLICATION {};", quoted(&p.name)));
    }
    for t in &schema.tables {
        if let Some(c) = &t.comment {
            out.block(
                "comment",
                &t.name.sql,
                format!("COMMENT ON TABLE {} IS {};", t.name.sql, literal(c)),
            )
            .drop(format!("COMMENT ON TABLE {} IS NULL;", t.name.sql))
            .on(&t.name.sql);
        }
        for col in &t.columns {
            if let Some(c) = &col.comment {
                out.block(
                    "comment",
                    &format!("{}.{}", t.name.sql, col.sql_name),
                    format!(
                        "COMMENT ON COLUMN {}.{} IS {};",
                        t.name.sql,
                        col.sql_name,
                        literal(c)
                    ),
                )
                .drop(format!(
                    "COMMENT ON COLUMN {}.{} IS NULL;",
                    t.name.sql, col.sql_name
                ))
                .on(&t.name.sql);
            }
        }
    }
    out.flush();
}

/// Objects handed on one at a time; the last one stays until the next
/// (its drop statement and owner are set after it is made).
struct Dump<'s> {
    current: Option<Object>,
    sink: &'s mut dyn FnMut(Object),
}

impl Dump<'_> {
    /// One object and the statement that creates it.
    fn block(&mut self, kind: &'static str, name: &str, sql: String) -> &mut Object {
        self.flush();
        self.current.insert(Object {
            kind,
            name: name.to_string(),
            sql,
            drop: String::new(),
            on: None,
        })
    }

    fn flush(&mut self) {
        if let Some(o) = self.current.take() {
            (self.sink)(o);
        }
    }
}

/// The kind of an object an engine keeps as a statement.
fn kind_of(kind: &str) -> &'static str {
    match kind {
        "table" => "table",
        "index" => "index",
        "view" => "view",
        "trigger" => "trigger",
        "function" => "function",
        "procedure" => "procedure",
        "event" => "event",
        "foreign key" => "constraint",
        _ => "object",
    }
}

/// A sequence's type, increment, bounds, start and cache, as `CREATE` and
/// `ALTER SEQUENCE` write them (each says its cycling its own way).
pub(crate) fn sequence_options(s: &crate::Sequence) -> String {
    format!(
        "AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {}",
        s.data_type, s.increment, s.min, s.max, s.start, s.cache
    )
}

/// `DROP INDEX` of index `name` in `schema`.
fn drop_index(schema: Option<&str>, name: &str) -> String {
    let schema = schema
        .map(|s| format!("{}.", quoted(s)))
        .unwrap_or_default();
    format!("DROP INDEX {schema}{};", quoted(name))
}

/// `name` as a quoted identifier, whatever it holds.
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `name` as a MySQL identifier (SQLite reads that quoting too).
pub(crate) fn backquoted(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A SQL string literal of `text`.
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Tables before their partitions (a partition of a partition after its
/// parent), each group in name order.
fn creation_order(tables: &[Table]) -> Vec<&Table> {
    let mut done: Vec<&Table> = Vec::with_capacity(tables.len());
    let mut left: Vec<&Table> = tables.iter().collect();
    while !left.is_empty() {
        let (ready, rest): (Vec<&Table>, Vec<&Table>) = left.into_iter().partition(|t| {
            t.partition_of
                .as_ref()
                .is_none_or(|(parent, _)| done.iter().any(|d| &d.name.sql == parent))
        });
        if ready.is_empty() {
            // A parent that is not in the model: still printed, last.
            done.extend(rest);
            break;
        }
        done.extend(ready);
        left = rest;
    }
    done
}

/// A column as `CREATE TABLE` and `ADD COLUMN` write it.
pub(crate) fn column_sql(c: &Column) -> String {
    let mut col = format!("{} {}", c.sql_name, c.data_type);
    if let Some(collation) = &c.collation {
        let _ = write!(col, " COLLATE {collation}");
    }
    if let Some(identity) = &c.identity {
        let _ = write!(col, " GENERATED {identity} AS IDENTITY");
    }
    if let Some(expr) = &c.generated {
        let _ = write!(col, " GENERATED ALWAYS AS {expr}");
    }
    if let Some(default) = &c.default {
        let _ = write!(col, " DEFAULT {default}");
    }
    if c.not_null {
        col.push_str(" NOT NULL");
    }
    col
}

fn create_table(t: &Table) -> String {
    let mut sql = String::new();
    if let Some((parent, bound)) = &t.partition_of {
        let _ = write!(
            sql,
            "CREATE TABLE {} PARTITION OF {parent} {bound};",
            t.name.sql
        );
        return sql;
    }
    let _ = write!(
        sql,
        "CREATE {}TABLE {} (",
        if t.unlogged { "UNLOGGED " } else { "" },
        t.name.sql
    );
    let mut parts: Vec<String> = t.columns.iter().map(column_sql).collect();
    parts.extend(
        t.constraints
            .iter()
            .filter(|c| c.kind != ConstraintKind::ForeignKey)
            .map(|c| format!("CONSTRAINT {} {}", c.sql_name, c.definition)),
    );
    for (i, part) in parts.iter().enumerate() {
        let _ = write!(
            sql,
            "\n    {part}{}",
            if i + 1 < parts.len() { "," } else { "" }
        );
    }
    sql.push_str(if parts.is_empty() { ")" } else { "\n)" });
    if let Some(by) = &t.partition_by {
        let _ = write!(sql, " PARTITION BY {by}");
    }
    sql.push(';');
    sql
}
