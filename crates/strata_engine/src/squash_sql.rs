//! What `strata squash` reads of the squashed migrations' statements:
//! the data statements it carries after the schema, those it cannot carry,
//! what the schema model does not read (refused), and which columns of
//! which tables its row comparison reads.

use crate::Engine;
use strata_model::Migration;
use strata_schema::Schema;

/// A data statement of a squashed migration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Carried {
    /// `path:line` of the statement.
    pub location: String,
    pub sql: String,
    /// Why it was not carried, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// A statement of a squashed migration's up.
pub(crate) struct Placed<'a> {
    /// `path:line`.
    pub location: String,
    /// From its first token (leading comments left out) to its end.
    pub text: &'a str,
    /// Its first word, upper-cased.
    pub first: String,
}

/// Every statement of the squashed migrations' ups, in order.
pub(crate) fn statements<'a>(
    engine: &Engine,
    squashed: &[&'a Migration],
    dialect: strata_sql::Dialect,
) -> Vec<Placed<'a>> {
    let mut out = Vec::new();
    for m in squashed {
        let body = &m.up;
        for st in strata_sql::split(&body.sql, dialect) {
            out.push(Placed {
                location: format!(
                    "{}:{}",
                    engine.display_path(&body.path),
                    body.line + st.line_in(&body.sql)
                ),
                text: body.sql[st.token_offset..st.offset + st.sql.len()].trim(),
                first: strata_sql::first_word(&st, &body.sql),
            });
        }
    }
    out
}

/// The statements that write data, in order: what a schema dump does not
/// hold. COPY ... FROM STDIN carries its rows after the statement: not
/// carried (the rows compared then say so).
pub(crate) fn data_statements(statements: &[Placed]) -> Vec<Carried> {
    statements
        .iter()
        .filter(|s| {
            matches!(
                s.first.as_str(),
                "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "REPLACE"
            ) || (s.first == "SELECT" && s.text.to_ascii_lowercase().contains("setval("))
        })
        .map(|s| Carried {
            location: s.location.clone(),
            sql: s.text.to_string(),
            refused: None,
        })
        .collect()
}

/// The statements that may write rows and are not carried (DO blocks,
/// COPY ... FROM STDIN, procedure calls), by place.
pub(crate) fn uncarried(statements: &[Placed]) -> Vec<String> {
    statements
        .iter()
        .filter_map(|s| {
            let what = match s.first.as_str() {
                "DO" => "a DO block",
                "COPY" => "COPY",
                "CALL" => "a procedure call",
                _ => return None,
            };
            Some(format!("{what} at {}", s.location))
        })
        .collect()
}

/// Every table of `schema` (a partitioned one once, not its partitions)
/// with the columns to compare: not those whose default differs from run
/// to run (`now()`, `gen_random_uuid()`), which no two databases share.
pub(crate) fn compared_tables(
    schema: &Schema,
    dialect: strata_sql::Dialect,
) -> Vec<(String, String)> {
    const VOLATILE: &[&str] = &[
        "now()",
        "current_timestamp",
        "current_date",
        "current_time",
        "localtimestamp",
        "clock_timestamp",
        "statement_timestamp",
        "transaction_timestamp",
        "random(",
        "gen_random_uuid",
        "uuid_generate",
        "uuid()",
        "sysdate",
        "'now'",
        "unixepoch(",
    ];
    let volatile = |default: &str| {
        let d = default.to_ascii_lowercase();
        VOLATILE.iter().any(|v| d.contains(v))
    };
    let list = |columns: Vec<String>| {
        if columns.is_empty() {
            "count(*)".to_string()
        } else {
            columns.join(", ")
        }
    };
    let mut out: Vec<(String, String)> = schema
        .tables
        .iter()
        .filter(|t| t.partition_of.is_none())
        .map(|t| {
            let columns = t
                .columns
                .iter()
                .filter(|c| !c.default.as_deref().is_some_and(volatile))
                .map(|c| c.sql_name.clone())
                .collect();
            (t.name.sql.clone(), list(columns))
        })
        .collect();
    let q = |s: &str| strata_driver::quote_ident_for(dialect, s);
    out.extend(
        schema
            .statements
            .iter()
            .filter(|s| s.kind == "table")
            .map(|s| {
                let columns = s
                    .parts
                    .iter()
                    .filter(|p| p.kind == strata_schema::PartKind::Column && !volatile(&p.sql))
                    .map(|p| q(&p.name))
                    .collect();
                (q(&s.name), list(columns))
            }),
    );
    out
}

/// The statements that make what the schema model does not read, by
/// place: a baseline built from the model would not have it.
pub(crate) fn unread_statements(
    statements: &[Placed],
    dialect: strata_sql::Dialect,
) -> Vec<String> {
    statements
        .iter()
        .filter_map(|s| {
            let text = s
                .text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_ascii_uppercase();
            unread(&text, dialect).map(|what| format!("  {}: {what}", s.location))
        })
        .collect()
}

/// What of a statement (upper-cased, its spaces collapsed) the schema
/// model does not read (docs/schema.md lists it), if anything.
fn unread(text: &str, dialect: strata_sql::Dialect) -> Option<&'static str> {
    if dialect == strata_sql::Dialect::Mysql {
        return if text.starts_with("CREATE TABLE") || text.starts_with("ALTER TABLE") {
            [
                ("PARTITION BY", "table partitioning"),
                (" INVISIBLE", "an invisible column"),
            ]
            .iter()
            .find(|(w, _)| text.contains(w))
            .map(|(_, what)| *what)
        } else {
            None
        };
    }
    if dialect != strata_sql::Dialect::Postgres {
        return None;
    }
    const STATEMENTS: &[(&str, &str)] = &[
        ("CREATE AGGREGATE", "an aggregate"),
        ("CREATE OR REPLACE AGGREGATE", "an aggregate"),
        ("ALTER DEFAULT PRIVILEGES", "default privileges"),
        ("CREATE OPERATOR", "an operator"),
        ("CREATE CAST", "a cast"),
        ("CREATE RULE", "a rule"),
        ("CREATE OR REPLACE RULE", "a rule"),
        ("CREATE STATISTICS", "extended statistics"),
        ("SECURITY LABEL", "a security label"),
        ("CREATE TEXT SEARCH", "a text search configuration"),
        ("CREATE COLLATION", "a collation"),
        ("CREATE FOREIGN", "a foreign table or data wrapper"),
        ("CREATE SERVER", "a foreign server"),
        ("CREATE USER MAPPING", "a user mapping"),
        ("CREATE CONVERSION", "a conversion"),
        ("CREATE ACCESS METHOD", "an access method"),
        ("CREATE TRANSFORM", "a transform"),
        ("CREATE LANGUAGE", "a language"),
        ("CREATE OR REPLACE LANGUAGE", "a language"),
        ("CREATE ROLE", "a role (the server's, not the database's)"),
        ("CREATE USER", "a role (the server's, not the database's)"),
        ("CREATE GROUP", "a role (the server's, not the database's)"),
        ("ALTER ROLE", "a role's settings (the server's)"),
        ("CREATE TABLESPACE", "a tablespace (the server's)"),
    ];
    if let Some((_, what)) = STATEMENTS.iter().find(|(s, _)| text.starts_with(s)) {
        return Some(what);
    }
    let revoke_on = [
        " ON FUNCTION",
        " ON PROCEDURE",
        " ON ROUTINE",
        " ON ALL ",
        " ON SCHEMA",
        " ON TYPE",
        " ON DOMAIN",
        " ON LANGUAGE",
        " ON DATABASE",
    ];
    if text.starts_with("REVOKE") && revoke_on.iter().any(|o| text.contains(o)) {
        return Some(
            "a privilege revoked from a routine, schema or type (its default ACL is not read)",
        );
    }
    let trigger = [
        "CREATE TRIGGER",
        "CREATE OR REPLACE TRIGGER",
        "CREATE CONSTRAINT TRIGGER",
    ];
    if trigger.iter().any(|t| text.starts_with(t)) && text.contains("INSTEAD OF") {
        return Some("a trigger on a view");
    }
    let table = text.starts_with("CREATE TABLE")
        || text.starts_with("CREATE UNLOGGED TABLE")
        || text.starts_with("CREATE TEMP")
        || text.starts_with("ALTER TABLE");
    if table {
        const TABLE_PARTS: &[(&str, &str)] = &[
            (" INHERITS", "table inheritance"),
            ("AS IDENTITY (", "an identity column's sequence options"),
            (") WITH (", "a table's storage parameters"),
            (" SET (", "a table's storage parameters"),
            (" SET STATISTICS", "a column's statistics target"),
            (" SET STORAGE", "a column's storage"),
            (" SET TABLESPACE", "a tablespace"),
            (" CLUSTER ON", "a table's clustering index"),
            (" REPLICA IDENTITY", "a table's replica identity"),
            (" SET ACCESS METHOD", "a table's access method"),
            (" SET WITHOUT OIDS", "a table option"),
        ];
        return TABLE_PARTS
            .iter()
            .find(|(w, _)| text.contains(w))
            .map(|(_, what)| *what);
    }
    let comment_read = ["COMMENT ON TABLE", "COMMENT ON COLUMN"];
    if text.starts_with("COMMENT ON") && !comment_read.iter().any(|c| text.starts_with(c)) {
        return Some("a comment on something else than a table or column");
    }
    None
}
