//! Reads a MySQL/MariaDB database's schema from information_schema (one
//! query per kind of object, never one per table) into statements that
//! recreate it: tables with their columns, keys and checks, then foreign
//! keys, then views each after the views it reads.

use crate::MysqlDriver;
use std::collections::{BTreeMap, BTreeSet};
use strata_driver::{Result, Session, cell as col, cell_text as text};
use strata_schema::{Part, PartKind, Schema, Statement};

fn quote(ident: &str) -> String {
    strata_driver::quote_ident_for(strata_sql::Dialect::Mysql, ident)
}

/// A string literal (MySQL reads backslashes in strings).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

#[derive(Default)]
struct ForeignKey {
    columns: Vec<String>,
    referenced: String,
    to: Vec<String>,
    on_update: String,
    on_delete: String,
}

#[derive(Default)]
struct Table {
    engine: Option<String>,
    collation: Option<String>,
    comment: String,
    /// (name, definition) in order.
    columns: Vec<(String, String)>,
    /// (name, unique, kind, parts) by name; PRIMARY first when printed.
    keys: BTreeMap<String, (bool, String, Vec<String>)>,
    /// (name, definition) by name.
    checks: Vec<(String, String)>,
}

/// Reads the schema; tables named in `skip` are left out.
pub(crate) async fn read(driver: &mut MysqlDriver<'_>, skip: &[String]) -> Result<Schema> {
    let database = text(&driver.rows("SELECT DATABASE()").await?[0], 0);
    let mariadb = text(&driver.rows("SELECT VERSION()").await?[0], 0).contains("MariaDB");
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for r in driver.rows(
        "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION, TABLE_COMMENT FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
    )
    .await?
    {
        if skip.contains(&text(&r, 0)) {
            continue;
        }
        tables.insert(
            text(&r, 0),
            Table {
                engine: col(&r, 1),
                collation: col(&r, 2),
                comment: text(&r, 3),
                ..Table::default()
            },
        );
    }

    // Column-level checks (MariaDB keeps where a check was written).
    let level = if mariadb { "LEVEL" } else { "'Table'" };
    let mut column_checks: BTreeMap<(String, String), String> = BTreeMap::new();
    for r in driver
        .rows(&format!(
            "SELECT c.TABLE_NAME, c.CONSTRAINT_NAME, c.CHECK_CLAUSE, {level} \
             FROM information_schema.CHECK_CONSTRAINTS c \
             WHERE c.CONSTRAINT_SCHEMA = DATABASE() ORDER BY c.TABLE_NAME, c.CONSTRAINT_NAME"
        ))
        .await?
    {
        let Some(table) = tables.get_mut(&text(&r, 0)) else {
            continue;
        };
        if text(&r, 3) == "Column" {
            column_checks.insert((text(&r, 0), text(&r, 1)), text(&r, 2));
        } else {
            table.checks.push((
                text(&r, 1),
                format!("CONSTRAINT {} CHECK ({})", quote(&text(&r, 1)), text(&r, 2)),
            ));
        }
    }

    for r in driver
        .rows(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, \
         GENERATION_EXPRESSION, COLLATION_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION",
        )
        .await?
    {
        let (table_name, name) = (text(&r, 0), text(&r, 1));
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        let extra = text(&r, 5);
        let mut sql = format!("{} {}", quote(&name), text(&r, 2));
        if let Some(collation) = col(&r, 7).filter(|c| Some(c) != table.collation.as_ref()) {
            sql.push_str(&format!(" COLLATE {collation}"));
        }
        let generated = extra.contains("GENERATED");
        if generated {
            let kind = if extra.contains("STORED") {
                "STORED"
            } else {
                "VIRTUAL"
            };
            sql.push_str(&format!(" GENERATED ALWAYS AS ({}) {kind}", text(&r, 6)));
        }
        if text(&r, 3) == "NO" {
            sql.push_str(" NOT NULL");
        }
        if let Some(default) = col(&r, 4).filter(|d| d != "NULL" && !generated) {
            sql.push_str(&format!(" DEFAULT {default}"));
        }
        if let Some(update) = extra
            .to_ascii_lowercase()
            .strip_prefix("on update ")
            .map(str::to_string)
        {
            sql.push_str(&format!(" ON UPDATE {update}"));
        }
        if extra.contains("auto_increment") {
            sql.push_str(" AUTO_INCREMENT");
        }
        let comment = text(&r, 8);
        if !comment.is_empty() {
            sql.push_str(&format!(" COMMENT {}", literal(&comment)));
        }
        if let Some(check) = column_checks.get(&(table_name, name.clone())) {
            sql.push_str(&format!(" CHECK ({check})"));
        }
        table.columns.push((name, sql));
    }

    for r in driver.rows(
        "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE, COLLATION \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
         ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
    )
    .await?
    {
        let Some(table) = tables.get_mut(&text(&r, 0)) else {
            continue;
        };
        let mut part = quote(&text(&r, 3));
        if let Some(prefix) = col(&r, 4) {
            part.push_str(&format!("({prefix})"));
        }
        if text(&r, 6) == "D" {
            part.push_str(" DESC");
        }
        table
            .keys
            .entry(text(&r, 1))
            .or_insert_with(|| (text(&r, 2) == "0", text(&r, 5), Vec::new()))
            .2
            .push(part);
    }

    let mut schema = Schema::default();
    for (name, t) in &tables {
        let parts = table_parts(t);
        schema.statements.push(Statement {
            kind: "table".into(),
            name: name.clone(),
            sql: create_table(name, &parts),
            on: None,
            parts,
        });
    }

    // Foreign keys, after every table they may reference.
    let mut foreign: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
    for r in driver.rows(
        "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, \
         k.REFERENCED_COLUMN_NAME, c.UPDATE_RULE, c.DELETE_RULE \
         FROM information_schema.KEY_COLUMN_USAGE k \
         JOIN information_schema.REFERENTIAL_CONSTRAINTS c \
              ON c.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND c.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
              AND c.TABLE_NAME = k.TABLE_NAME \
         WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
    )
    .await?
    {
        if !tables.contains_key(&text(&r, 0)) {
            continue;
        }
        let fk = foreign
            .entry((text(&r, 0), text(&r, 1)))
            .or_insert_with(|| ForeignKey {
                referenced: text(&r, 3),
                on_update: text(&r, 5),
                on_delete: text(&r, 6),
                ..ForeignKey::default()
            });
        fk.columns.push(quote(&text(&r, 2)));
        fk.to.push(quote(&text(&r, 4)));
    }
    for ((table, name), fk) in foreign {
        schema.statements.push(Statement {
            kind: "foreign key".into(),
            sql: format!(
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
                quote(&table),
                quote(&name),
                fk.columns.join(", "),
                quote(&fk.referenced),
                fk.to.join(", "),
                fk.on_delete,
                fk.on_update
            ),
            name,
            on: Some(table),
            parts: Vec::new(),
        });
    }

    read_routines(driver, &mut schema).await?;

    // Views, each after the views it reads; their text names this
    // database, which a copy elsewhere would not.
    let own = format!("{}.", quote(&database));
    let mut views: BTreeMap<String, String> = BTreeMap::new();
    for r in driver
        .rows(
            "SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION FROM information_schema.VIEWS \
         WHERE TABLE_SCHEMA = DATABASE()",
        )
        .await?
    {
        let check = match text(&r, 2).as_str() {
            "NONE" | "" => String::new(),
            option => format!(" WITH {option} CHECK OPTION"),
        };
        views.insert(
            text(&r, 0),
            format!(
                "CREATE VIEW {} AS {}{check}",
                quote(&text(&r, 0)),
                text(&r, 1).replace(&own, "")
            ),
        );
    }
    // information_schema does not say which views a view reads: its text
    // names them (read once per pair).
    let reads: BTreeMap<String, BTreeSet<String>> = views
        .iter()
        .map(|(name, sql)| {
            let named = views
                .keys()
                .filter(|other| *other != name && sql.contains(&quote(other)));
            (name.clone(), named.cloned().collect())
        })
        .collect();
    let ordered: Vec<(String, String)> = strata_schema::dependency_order(
        views
            .into_iter()
            .map(|(n, s)| (n.clone(), (n, s)))
            .collect(),
        &reads,
    );
    for (name, sql) in ordered {
        schema.statements.push(Statement {
            kind: "view".into(),
            name,
            sql,
            ..Statement::default()
        });
    }
    read_triggers_and_events(driver, &mut schema, &tables).await?;
    Ok(schema)
}

/// Functions and procedures, with their parameters, before the views
/// that may call them.
async fn read_routines(driver: &mut MysqlDriver<'_>, schema: &mut Schema) -> Result<()> {
    let mut parameters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in driver
        .rows(
            "SELECT SPECIFIC_NAME, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER, ROUTINE_TYPE \
         FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = DATABASE() \
         AND ORDINAL_POSITION > 0 ORDER BY SPECIFIC_NAME, ORDINAL_POSITION",
        )
        .await?
    {
        // A function's parameters are all IN, and MySQL takes no mode there.
        let mode = col(&r, 1)
            .filter(|_| text(&r, 4) == "PROCEDURE")
            .map(|m| format!("{m} "))
            .unwrap_or_default();
        parameters.entry(text(&r, 0)).or_default().push(format!(
            "{mode}{} {}",
            quote(&text(&r, 2)),
            text(&r, 3)
        ));
    }
    for r in driver.rows(
        "SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, IS_DETERMINISTIC, \
         SQL_DATA_ACCESS, SECURITY_TYPE, ROUTINE_COMMENT FROM information_schema.ROUTINES \
         WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_TYPE, ROUTINE_NAME",
    )
    .await?
    {
        let (name, kind) = (text(&r, 0), text(&r, 1));
        let returns = match kind.as_str() {
            "FUNCTION" => format!(" RETURNS {}", text(&r, 2)),
            _ => String::new(),
        };
        let deterministic = if text(&r, 4) == "YES" {
            "DETERMINISTIC"
        } else {
            "NOT DETERMINISTIC"
        };
        let comment = match text(&r, 7) {
            c if c.is_empty() => String::new(),
            c => format!(" COMMENT {}", literal(&c)),
        };
        schema.statements.push(Statement {
            kind: kind.to_ascii_lowercase(),
            sql: format!(
                "CREATE {kind} {}({}){returns} {deterministic} {} SQL SECURITY {}{comment}\n{}",
                quote(&name),
                parameters
                    .get(&name)
                    .map(|p| p.join(", "))
                    .unwrap_or_default(),
                text(&r, 5),
                text(&r, 6),
                text(&r, 3)
            ),
            name,
            ..Statement::default()
        });
    }
    Ok(())
}

/// Triggers (in the order each table's fire) and events. An event's
/// `STARTS` is not read: unless given, it is the time it was created.
async fn read_triggers_and_events(
    driver: &mut MysqlDriver<'_>,
    schema: &mut Schema,
    tables: &BTreeMap<String, Table>,
) -> Result<()> {
    for r in driver.rows(
        "SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_STATEMENT \
         FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
         ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
    )
    .await?
    {
        if !tables.contains_key(&text(&r, 3)) {
            continue;
        }
        schema.statements.push(Statement {
            kind: "trigger".into(),
            name: text(&r, 0),
            sql: format!(
                "CREATE TRIGGER {} {} {} ON {} FOR EACH ROW {}",
                quote(&text(&r, 0)),
                text(&r, 1),
                text(&r, 2),
                quote(&text(&r, 3)),
                text(&r, 4)
            ),
            on: Some(text(&r, 3)),
            parts: Vec::new(),
        });
    }
    for r in driver.rows(
        "SELECT EVENT_NAME, EVENT_TYPE, EXECUTE_AT, INTERVAL_VALUE, INTERVAL_FIELD, ON_COMPLETION, \
         STATUS, EVENT_COMMENT, EVENT_DEFINITION FROM information_schema.EVENTS \
         WHERE EVENT_SCHEMA = DATABASE() ORDER BY EVENT_NAME",
    )
    .await?
    {
        let schedule = match text(&r, 1).as_str() {
            "ONE TIME" => format!("AT {}", literal(&text(&r, 2))),
            _ => format!("EVERY {} {}", literal(&text(&r, 3)), text(&r, 4)),
        };
        let status = match text(&r, 6).as_str() {
            "ENABLED" => "ENABLE",
            "SLAVESIDE_DISABLED" => "DISABLE ON SLAVE",
            _ => "DISABLE",
        };
        let comment = match text(&r, 7) {
            c if c.is_empty() => String::new(),
            c => format!(" COMMENT {}", literal(&c)),
        };
        schema.statements.push(Statement {
            kind: "event".into(),
            name: text(&r, 0),
            sql: format!(
                "CREATE EVENT {} ON SCHEDULE {schedule} ON COMPLETION {} {status}{comment} DO {}",
                quote(&text(&r, 0)),
                text(&r, 5),
                text(&r, 8)
            ),
            ..Statement::default()
        });
    }
    Ok(())
}

/// A table's columns, keys (the primary key first), checks and options,
/// as its `CREATE TABLE` writes them.
fn table_parts(t: &Table) -> Vec<Part> {
    let part = |kind, name: &str, sql: String| Part {
        kind,
        name: name.to_string(),
        sql,
    };
    let mut parts: Vec<Part> = t
        .columns
        .iter()
        .map(|(name, sql)| part(PartKind::Column, name, sql.clone()))
        .collect();
    if let Some((_, _, columns)) = t.keys.get("PRIMARY") {
        parts.push(part(
            PartKind::Key,
            "PRIMARY",
            format!("PRIMARY KEY ({})", columns.join(", ")),
        ));
    }
    for (key, (unique, kind, columns)) in t.keys.iter().filter(|(k, _)| *k != "PRIMARY") {
        let what = match kind.as_str() {
            "FULLTEXT" => "FULLTEXT KEY",
            "SPATIAL" => "SPATIAL KEY",
            _ if *unique => "UNIQUE KEY",
            _ => "KEY",
        };
        parts.push(part(
            PartKind::Key,
            key,
            format!("{what} {} ({})", quote(key), columns.join(", ")),
        ));
    }
    for (name, sql) in &t.checks {
        parts.push(part(PartKind::Check, name, sql.clone()));
    }
    let mut options = String::new();
    if let Some(engine) = &t.engine {
        options.push_str(&format!(" ENGINE={engine}"));
    }
    if let Some(collation) = &t.collation {
        options.push_str(&format!(" COLLATE={collation}"));
    }
    if !t.comment.is_empty() {
        options.push_str(&format!(" COMMENT={}", literal(&t.comment)));
    }
    parts.push(part(PartKind::Options, "", options));
    parts
}

fn create_table(name: &str, parts: &[Part]) -> String {
    let (options, definitions): (Vec<&Part>, Vec<&Part>) =
        parts.iter().partition(|p| p.kind == PartKind::Options);
    let definitions: Vec<&str> = definitions.iter().map(|p| p.sql.as_str()).collect();
    format!(
        "CREATE TABLE {} (\n    {}\n){}",
        quote(name),
        definitions.join(",\n    "),
        options.first().map_or("", |p| p.sql.as_str())
    )
}
