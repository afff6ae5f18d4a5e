//! Changed objects altered where they stand: a table's columns and
//! constraints, an enum's values, a domain, a sequence, a grant.

use super::{Migration, Plan, Step};
use crate::sql::{Object, column_sql, literal, quoted};
use crate::{Column, PartKind, Schema, Statement, Table};
use strata_sql::Dialect;

/// The statements that change `old` into `new` in place.
pub(super) fn alter(plan: &Plan<'_>, old: &Object, new: &Object, out: &mut Migration) {
    match new.kind {
        "grant" => {
            out.steps.push(Step::new(old.drop.clone()));
            out.steps.push(Step::new(new.sql.clone()));
        }
        "sequence" => sequence(plan, &new.name, out),
        "enum" => enumeration(plan, &new.name, out),
        "domain" => domain(plan, &new.name, out),
        "table" => match plan.dialect {
            Dialect::Postgres => {
                if let (Some(x), Some(y)) = (
                    plan.table(plan.from, &old.name),
                    plan.table(plan.to, &new.name),
                ) {
                    table(x, y, out);
                }
            }
            dialect => {
                if let (Some(x), Some(y)) = (
                    plan.from.table_statement(&new.name),
                    plan.to.table_statement(&new.name),
                ) {
                    if dialect == Dialect::Mysql {
                        // Whether a foreign key of this name is kept
                        // (`Some(true)`) or dropped: MySQL made an index
                        // for each that had none, and drops it itself once
                        // another index serves it.
                        let foreign_key = |name: &str| {
                            let has = |schema: &Schema| {
                                schema.statements.iter().any(|s| {
                                    s.kind == "foreign key"
                                        && s.name == name
                                        && s.on.as_deref() == Some(&y.name)
                                })
                            };
                            has(plan.from).then(|| has(plan.to))
                        };
                        mysql_table(x, y, &foreign_key, out);
                    } else {
                        sqlite_table(x, y, &new.sql, out);
                    }
                }
            }
        },
        // A comment, a sequence's owner, a function kept by CREATE OR
        // REPLACE: the new statement replaces the old.
        _ => out.steps.push(Step::new(new.sql.clone())),
    }
}

fn sequence(plan: &Plan<'_>, name: &str, out: &mut Migration) {
    let Some(s) = plan.to.sequences.iter().find(|s| s.name.sql == name) else {
        return;
    };
    out.steps.push(Step::new(format!(
        "ALTER SEQUENCE {} {} {}CYCLE;",
        s.name.sql,
        crate::sql::sequence_options(s),
        if s.cycle { "" } else { "NO " }
    )));
}

fn labels<'s>(schema: &'s Schema, name: &str) -> &'s [String] {
    schema
        .enums
        .iter()
        .find(|e| e.name.sql == name)
        .map_or(&[], |e| &e.labels)
}

/// Whether an enum loses a value or changes their order: then it must be
/// made anew and its columns converted, not only have values added.
pub(super) fn enum_values_removed(from: &Schema, to: &Schema, name: &str) -> bool {
    let (old, new) = (labels(from, name), labels(to, name));
    let kept: Vec<&String> = new.iter().filter(|l| old.contains(l)).collect();
    kept.len() != old.len() || kept.iter().zip(old).any(|(a, b)| *a != b)
}

/// Whether a column of `table` is of type `name` (or an array of it).
pub(super) fn uses_type(table: &Table, name: &str) -> bool {
    table
        .columns
        .iter()
        .any(|c| c.data_type.trim_end_matches("[]") == name)
}

fn enumeration(plan: &Plan<'_>, name: &str, out: &mut Migration) {
    let (old, new) = (labels(plan.from, name), labels(plan.to, name));
    if !enum_values_removed(plan.from, plan.to, name) {
        for (i, label) in new.iter().enumerate() {
            if old.contains(label) {
                continue;
            }
            let place = match new[i + 1..].iter().find(|l| old.contains(l)) {
                Some(next) => format!(" BEFORE {}", literal(next)),
                None => format!(" AFTER {}", literal(&new[i - 1])),
            };
            let mut step = Step::new(format!(
                "ALTER TYPE {name} ADD VALUE {}{place};",
                literal(label)
            ));
            step.outside_transaction = Some(
                "a value added to an enum cannot be used before its transaction commits (nor added in a transaction at all before PostgreSQL 12)"
                    .into(),
            );
            out.steps.push(step);
        }
        return;
    }
    // Values removed or reordered: a new type under the old name, and each
    // column converted through text.
    let renamed = format!("{}__strata_old", super::bare(name));
    let removed: Vec<String> = old
        .iter()
        .filter(|l| !new.contains(l))
        .map(|l| literal(l))
        .collect();
    out.steps.push(Step::new(format!(
        "ALTER TYPE {name} RENAME TO {};",
        quoted(&renamed)
    )));
    out.steps.push(Step::new(format!(
        "CREATE TYPE {name} AS ENUM ({});",
        new.iter()
            .map(|l| literal(l))
            .collect::<Vec<_>>()
            .join(", ")
    )));
    // The tables that stay as they are (those dropped, or dropped and
    // created again, are gone by now).
    let kept = |t: &&Table| {
        let k = ("table", t.name.sql.as_str());
        t.partition_of.is_none() && plan.in_b.contains_key(&k) && !plan.rebuilt.contains(&k)
    };
    for t in plan.from.tables.iter().filter(kept) {
        // Checks on the table may compare a column with a value of the old
        // type: off while the columns change, back on after.
        let checks: Vec<&crate::Constraint> = t
            .constraints
            .iter()
            .filter(|c| c.kind == crate::ConstraintKind::Check && uses_type(t, name))
            .collect();
        for c in &checks {
            out.steps.push(Step::new(format!(
                "ALTER TABLE {} DROP CONSTRAINT {};",
                t.name.sql, c.sql_name
            )));
        }
        for c in &t.columns {
            let array = match c.data_type.strip_suffix("[]") {
                Some(base) if base == name => "[]",
                None if c.data_type == name => "",
                _ => continue,
            };
            let column = format!("ALTER TABLE {} ALTER COLUMN {}", t.name.sql, c.sql_name);
            if c.default.is_some() {
                out.steps.push(Step::new(format!("{column} DROP DEFAULT;")));
            }
            let mut step = Step::new(format!(
                "{column} TYPE {name}{array} USING {}::text{array}::{name}{array};",
                c.sql_name
            ));
            if !removed.is_empty() {
                step = step.destroys(format!(
                    "fails on rows of {} holding a value the enum no longer has ({})",
                    t.name.sql,
                    removed.join(", ")
                ));
            }
            out.steps.push(step);
            if let Some(default) = &c.default {
                out.steps
                    .push(Step::new(format!("{column} SET DEFAULT {default};")));
            }
        }
        for c in &checks {
            out.steps.push(Step::new(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {};",
                t.name.sql, c.sql_name, c.definition
            )));
        }
    }
    let schema = name.rsplit_once('.').map(|(s, _)| format!("{s}."));
    out.steps.push(Step::new(format!(
        "DROP TYPE {}{};",
        schema.unwrap_or_default(),
        quoted(&renamed)
    )));
}

fn domain(plan: &Plan<'_>, name: &str, out: &mut Migration) {
    let find = |s: &Schema| s.domains.iter().find(|d| d.name.sql == name).cloned();
    let (Some(x), Some(y)) = (find(plan.from), find(plan.to)) else {
        return;
    };
    let alter = format!("ALTER DOMAIN {name}");
    if x.default != y.default {
        out.steps.push(Step::new(match &y.default {
            Some(d) => format!("{alter} SET DEFAULT {d};"),
            None => format!("{alter} DROP DEFAULT;"),
        }));
    }
    if x.not_null != y.not_null {
        let what = if y.not_null { "SET" } else { "DROP" };
        out.steps
            .push(Step::new(format!("{alter} {what} NOT NULL;")));
    }
    for c in &x.constraints {
        if !y.constraints.contains(c) {
            out.steps.push(Step::new(format!(
                "{alter} DROP CONSTRAINT {};",
                c.sql_name
            )));
        }
    }
    for c in &y.constraints {
        if !x.constraints.contains(c) {
            out.steps.push(Step::new(format!(
                "{alter} ADD CONSTRAINT {} {};",
                c.sql_name, c.definition
            )));
        }
    }
}

/// A PostgreSQL table's own changes: constraints other than foreign keys
/// (those are objects of their own), columns, logging.
fn table(x: &Table, y: &Table, out: &mut Migration) {
    let alter = format!("ALTER TABLE {}", y.name.sql);
    if x.unlogged != y.unlogged {
        let what = if y.unlogged { "UNLOGGED" } else { "LOGGED" };
        out.steps.push(Step::new(format!("{alter} SET {what};")));
    }
    let own = |t: &Table| {
        t.constraints
            .iter()
            .filter(|c| c.kind != crate::ConstraintKind::ForeignKey)
            .cloned()
            .collect::<Vec<_>>()
    };
    let (xc, yc) = (own(x), own(y));
    for c in xc.iter().filter(|c| !yc.contains(c)) {
        out.steps.push(Step::new(format!(
            "{alter} DROP CONSTRAINT {};",
            c.sql_name
        )));
    }
    let added: Vec<&Column> = y
        .columns
        .iter()
        .filter(|c| !x.columns.iter().any(|d| d.name == c.name))
        .collect();
    for c in &x.columns {
        match y.columns.iter().find(|d| d.name == c.name) {
            None => {
                out.steps.push(
                    Step::new(format!("{alter} DROP COLUMN {};", c.sql_name)).destroys(format!(
                        "drops column {}.{} and the data in it",
                        y.name.sql, c.sql_name
                    )),
                );
                if let Some(n) = added.iter().find(|n| n.data_type == c.data_type) {
                    out.notes.push(format!(
                        "column {0}.{1} is dropped and {0}.{2} added with the same type: if that is a rename, use ALTER TABLE {0} RENAME COLUMN {1} TO {2}, which keeps the data (strata does not guess renames)",
                        y.name.sql, c.sql_name, n.sql_name
                    ));
                }
            }
            Some(d) => column(&alter, c, d, out),
        }
    }
    for c in &added {
        let mut step = Step::new(format!("{alter} ADD COLUMN {};", column_sql(c)));
        if c.not_null && c.default.is_none() && c.identity.is_none() && c.generated.is_none() {
            step.destructive = Some(format!(
                "fails if {} has rows: the new column is NOT NULL without a default",
                y.name.sql
            ));
        }
        out.steps.push(step);
    }
    for c in yc.iter().filter(|c| !xc.contains(c)) {
        out.steps.push(Step::new(format!(
            "{alter} ADD CONSTRAINT {} {};",
            c.sql_name, c.definition
        )));
    }
    let order = |t: &Table, other: &Table| -> Vec<String> {
        t.columns
            .iter()
            .filter(|c| other.columns.iter().any(|d| d.name == c.name))
            .map(|c| c.name.clone())
            .collect()
    };
    let kept_last = y
        .columns
        .iter()
        .skip_while(|c| x.columns.iter().any(|d| d.name == c.name))
        .all(|c| !x.columns.iter().any(|d| d.name == c.name));
    if order(x, y) != order(y, x) || !kept_last {
        out.notes.push(format!(
            "PostgreSQL cannot reorder columns: {} keeps its column order (new columns come last), which the second schema does not have",
            y.name.sql
        ));
    }
}

/// One column's changes, in an order each can run in: identity and
/// default off before the type changes, back on after.
fn column(alter: &str, c: &Column, d: &Column, out: &mut Migration) {
    let column = format!("{alter} ALTER COLUMN {}", d.sql_name);
    if c.generated != d.generated {
        // A generation expression is not altered in place before
        // PostgreSQL 17: the column is made again.
        let mut drop = Step::new(format!("{alter} DROP COLUMN {};", c.sql_name));
        if c.generated.is_none() {
            drop = drop.destroys(format!(
                "drops column {} (to make it a generated column) and the data in it",
                c.sql_name
            ));
        }
        out.steps.push(drop);
        out.steps
            .push(Step::new(format!("{alter} ADD COLUMN {};", column_sql(d))));
        return;
    }
    if c.identity.is_some() && d.identity.is_none() {
        out.steps
            .push(Step::new(format!("{column} DROP IDENTITY;")));
    }
    if c.default.is_some() && c.default != d.default {
        out.steps.push(Step::new(format!("{column} DROP DEFAULT;")));
    }
    if c.data_type != d.data_type || c.collation != d.collation {
        let collate = d
            .collation
            .as_ref()
            .map(|c| format!(" COLLATE {c}"))
            .unwrap_or_default();
        let mut step = Step::new(format!(
            "{column} TYPE {}{collate} USING {}::{};",
            d.data_type, d.sql_name, d.data_type
        ));
        if !widens(&c.data_type, &d.data_type) {
            step = step.destroys(narrows(&d.sql_name, &c.data_type, &d.data_type));
        }
        out.steps.push(step);
    }
    if let Some(default) = d.default.as_ref().filter(|_| c.default != d.default) {
        out.steps
            .push(Step::new(format!("{column} SET DEFAULT {default};")));
    }
    if c.not_null != d.not_null {
        let what = if d.not_null { "SET" } else { "DROP" };
        out.steps
            .push(Step::new(format!("{column} {what} NOT NULL;")));
    }
    match (&c.identity, &d.identity) {
        (None, Some(how)) => out.steps.push(Step::new(format!(
            "{column} ADD GENERATED {how} AS IDENTITY;"
        ))),
        (Some(was), Some(how)) if was != how => out
            .steps
            .push(Step::new(format!("{column} SET GENERATED {how};"))),
        _ => {}
    }
}

/// A MySQL table's changes, part by part; columns are put in the second
/// schema's order (`FIRST`, `AFTER`).
fn mysql_table(
    x: &Statement,
    y: &Statement,
    foreign_key: &dyn Fn(&str) -> Option<bool>,
    out: &mut Migration,
) {
    let alter = format!("ALTER TABLE {}", crate::sql::backquoted(&y.name));
    let parts = |s: &Statement, kind: PartKind| -> Vec<crate::Part> {
        s.parts.iter().filter(|p| p.kind == kind).cloned().collect()
    };
    let (xo, yo) = (parts(x, PartKind::Options), parts(y, PartKind::Options));
    if xo != yo
        && let Some(o) = yo.first()
    {
        // A comment that is gone is set empty, not left as it was.
        let cleared =
            xo.first().is_some_and(|x| x.sql.contains(" COMMENT=")) && !o.sql.contains(" COMMENT=");
        let comment = if cleared { " COMMENT=''" } else { "" };
        out.steps
            .push(Step::new(format!("{alter}{}{comment};", o.sql)));
    }
    let (xk, yk) = (parts(x, PartKind::Key), parts(y, PartKind::Key));
    let drop_key = |k: &crate::Part| {
        Step::new(if k.name == "PRIMARY" {
            format!("{alter} DROP PRIMARY KEY;")
        } else {
            format!("{alter} DROP INDEX {};", crate::sql::backquoted(&k.name))
        })
    };
    // A key that goes is dropped after the new ones are added (one of
    // them may be what a foreign key now uses), unless a column it holds
    // goes too (dropping the column drops it from the key), it is changed
    // under the same name, or it was made for a foreign key that is gone
    // by now. One made for a foreign key that stays is left to MySQL.
    let gone_columns: Vec<String> = parts(x, PartKind::Column)
        .iter()
        .filter(|c| !y.parts.iter().any(|d| d.name == c.name))
        .map(|c| crate::sql::backquoted(&c.name))
        .collect();
    let (early, late): (Vec<&crate::Part>, Vec<&crate::Part>) =
        xk.iter().filter(|k| !yk.contains(k)).partition(|k| {
            yk.iter().any(|n| n.name == k.name)
                || gone_columns.iter().any(|c| k.sql.contains(c))
                || foreign_key(&k.name) == Some(false)
        });
    for k in early {
        out.steps.push(drop_key(k));
    }
    let (xc, yc) = (parts(x, PartKind::Check), parts(y, PartKind::Check));
    for c in xc.iter().filter(|c| !yc.contains(c)) {
        out.steps.push(Step::new(format!(
            "{alter} DROP CONSTRAINT {};",
            crate::sql::backquoted(&c.name)
        )));
    }
    let (xs, ys) = (parts(x, PartKind::Column), parts(y, PartKind::Column));
    for c in xs.iter().filter(|c| !ys.iter().any(|d| d.name == c.name)) {
        let added = ys
            .iter()
            .find(|d| !xs.iter().any(|x| x.name == d.name) && mysql_type(d) == mysql_type(c));
        if let Some(n) = added {
            out.notes.push(format!(
                "column {0}.{1} is dropped and {0}.{2} added with the same type: if that is a rename, use ALTER TABLE {3} RENAME COLUMN {4} TO {5}, which keeps the data (strata does not guess renames)",
                y.name,
                c.name,
                n.name,
                crate::sql::backquoted(&y.name),
                crate::sql::backquoted(&c.name),
                crate::sql::backquoted(&n.name)
            ));
        }
        out.steps.push(
            Step::new(format!(
                "{alter} DROP COLUMN {};",
                crate::sql::backquoted(&c.name)
            ))
            .destroys(format!(
                "drops column {}.{} and the data in it",
                y.name, c.name
            )),
        );
    }
    // The columns as they stand, put in order one by one.
    let mut current: Vec<String> = xs
        .iter()
        .filter(|c| ys.iter().any(|d| d.name == c.name))
        .map(|c| c.name.clone())
        .collect();
    for (i, c) in ys.iter().enumerate() {
        let place = match i {
            0 => " FIRST".to_string(),
            _ => format!(" AFTER {}", crate::sql::backquoted(&ys[i - 1].name)),
        };
        let before = current.iter().position(|n| *n == c.name);
        let old = xs.iter().find(|d| d.name == c.name);
        let mut step = match (before, old) {
            (None, _) => Step::new(format!("{alter} ADD COLUMN {}{place};", c.sql)),
            (Some(at), Some(old)) if at != i || old.sql != c.sql => {
                let step = Step::new(format!("{alter} MODIFY COLUMN {}{place};", c.sql));
                let (from, to) = (mysql_type(old), mysql_type(c));
                if widens(&from, &to) {
                    step
                } else {
                    step.destroys(narrows(&c.name, &from, &to))
                }
            }
            _ => continue,
        };
        if before.is_none() && c.sql.contains(" NOT NULL") && !c.sql.contains(" DEFAULT ") {
            step.destructive = Some(format!(
                "the new column {} is NOT NULL without a default: existing rows get the type's zero value (or it fails in strict mode)",
                c.name
            ));
        }
        if let Some(at) = before {
            current.remove(at);
        }
        current.insert(i.min(current.len()), c.name.clone());
        out.steps.push(step);
    }
    for k in yk.iter().filter(|k| !xk.contains(k)) {
        out.steps.push(Step::new(format!("{alter} ADD {};", k.sql)));
    }
    for k in late.into_iter().filter(|k| foreign_key(&k.name).is_none()) {
        out.steps.push(drop_key(k));
    }
    for c in yc.iter().filter(|c| !xc.contains(c)) {
        out.steps.push(Step::new(format!("{alter} ADD {};", c.sql)));
    }
}

/// SQLite alters little in place: the table is made again under its name
/// and the rows copied (the old one renamed out of the way first, with
/// other tables' references to it left as they are).
fn sqlite_table(x: &Statement, y: &Statement, create: &str, out: &mut Migration) {
    let q = crate::sql::backquoted;
    if let Some(column) = added_column(x, y) {
        out.steps.push(Step::new(format!(
            "ALTER TABLE {} ADD COLUMN {column};",
            q(&y.name)
        )));
        return;
    }
    let old = format!("_strata_old_{}", y.name);
    // Generated columns are computed again, not copied.
    let names = |s: &Statement| -> Vec<String> {
        s.parts
            .iter()
            .filter(|p| p.kind == PartKind::Column)
            .map(|p| p.name.clone())
            .collect()
    };
    let (xs, ys) = (names(x), names(y));
    let common: Vec<String> = ys.iter().filter(|c| xs.contains(c)).map(|c| q(c)).collect();
    let lost: Vec<&String> = xs.iter().filter(|c| !ys.contains(c)).collect();
    // With foreign keys enforced, the rename would point other tables'
    // references at the old table, and dropping it would cascade to
    // their rows: they are off for the rebuild, which SQLite allows only
    // outside a transaction.
    let mut off = Step::new("PRAGMA foreign_keys = OFF;");
    off.outside_transaction = Some(
        "SQLite turns foreign keys off only outside a transaction (run the rebuild in a `-- strata:no-transaction` migration)".into(),
    );
    out.steps.push(off);
    out.steps.push(Step::new("PRAGMA legacy_alter_table = ON;"));
    out.steps.push(Step::new(format!(
        "ALTER TABLE {} RENAME TO {};",
        q(&y.name),
        q(&old)
    )));
    out.steps.push(Step::new(create.to_string()));
    if !common.is_empty() {
        out.steps.push(Step::new(format!(
            "INSERT INTO {0} ({1}) SELECT {1} FROM {2};",
            q(&y.name),
            common.join(", "),
            q(&old)
        )));
    }
    let mut drop = Step::new(format!("DROP TABLE {};", q(&old)));
    if !lost.is_empty() {
        drop = drop.destroys(format!(
            "rebuilds table {} without column(s) {}: the data in them is lost",
            y.name,
            lost.iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.steps.push(drop);
    out.steps
        .push(Step::new("PRAGMA legacy_alter_table = OFF;"));
    out.steps.push(Step::new("PRAGMA foreign_keys = ON;"));
}

/// Whether SQLite's change of `table` is a rebuild (not only a column
/// added).
pub(super) fn sqlite_rebuilds(from: &Schema, to: &Schema, table: &str) -> bool {
    match (from.table_statement(table), to.table_statement(table)) {
        (Some(x), Some(y)) => added_column(x, y).is_none(),
        _ => true,
    }
}

/// The column `y` adds to `x` the way SQLite's `ADD COLUMN` writes it
/// (its definition before the closing parenthesis of `x`'s statement, all
/// else the same): then that is all a migration needs, no rebuild.
fn added_column<'y>(x: &Statement, y: &'y Statement) -> Option<&'y str> {
    let head = x.sql.trim_end().strip_suffix(')')?.trim_end();
    let rest = y.sql.trim_end().strip_prefix(head)?.strip_suffix(')')?;
    let column = rest.trim_start().strip_prefix(',')?.trim();
    let added: Vec<&crate::Part> = y
        .parts
        .iter()
        .filter(|p| !x.parts.iter().any(|q| q.name == p.name))
        .collect();
    let one = added.len() == 1 && x.parts.iter().all(|p| y.parts.contains(p));
    (one && added[0].kind == PartKind::Column).then_some(column)
}

/// The type of a MySQL column part (`int unsigned`, `varchar(50)`): what
/// follows its name.
fn mysql_type(p: &crate::Part) -> String {
    let mut words = p.sql.split_whitespace().skip(1);
    let mut out = words.next().unwrap_or_default().to_string();
    if let Some(modifier) = words.next().filter(|w| w.eq_ignore_ascii_case("unsigned")) {
        out.push(' ');
        out.push_str(modifier);
    }
    out
}

fn narrows(column: &str, from: &str, to: &str) -> String {
    format!(
        "converts column {column} from {from} to {to}: values that do not fit fail (or lose precision)"
    )
}

/// Whether every value of type `from` fits `to` unchanged: a wider
/// integer, a longer or unbounded string, a decimal with as many digits
/// on each side of the point, a double from a float.
pub(super) fn widens(from: &str, to: &str) -> bool {
    let (from, to) = (from.trim().to_lowercase(), to.trim().to_lowercase());
    if from == to {
        return true;
    }
    let (fb, fa) = type_parts(&from);
    let (tb, ta) = type_parts(&to);
    let int_rank = |t: &str| match t {
        "tinyint" => Some(1),
        "smallint" => Some(2),
        "mediumint" => Some(3),
        "integer" | "int" => Some(4),
        "bigint" => Some(5),
        _ => None,
    };
    let unsigned = |t: &str| t.ends_with(" unsigned");
    if let (Some(x), Some(y)) = (
        int_rank(fb.trim_end_matches(" unsigned")),
        int_rank(tb.trim_end_matches(" unsigned")),
    ) {
        return y >= x && unsigned(&fb) == unsigned(&tb);
    }
    let texts = ["text", "mediumtext", "longtext"];
    let position = |t: &str| texts.iter().position(|x| *x == t);
    match (fb.as_str(), tb.as_str()) {
        ("character varying" | "varchar", "text" | "mediumtext" | "longtext") => true,
        ("character varying", "character varying") | ("varchar", "varchar") => {
            ta.is_empty() || (fa.len() == 1 && ta.len() == 1 && ta[0] >= fa[0])
        }
        (a, b) if position(a).is_some() && position(b).is_some() => position(b) >= position(a),
        ("numeric", "numeric") | ("decimal", "decimal") => match (fa.as_slice(), ta.as_slice()) {
            (_, []) => fb == "numeric",
            ([p], [q]) => q >= p,
            ([p], [q, t]) | ([p, 0], [q, t]) if q - t >= *p => true,
            ([p, s], [q, t]) => t >= s && q - t >= p - s,
            _ => false,
        },
        ("real", "double precision") | ("float", "double") => true,
        _ => false,
    }
}

/// A type's name and its numeric arguments (`numeric(12,2)`: `numeric`,
/// [12, 2]); a modifier after them (`unsigned`) stays with the name.
fn type_parts(t: &str) -> (String, Vec<i64>) {
    match t.split_once('(') {
        Some((base, rest)) => {
            let (args, after) = rest.split_once(')').unwrap_or((rest, ""));
            let args = args
                .split(',')
                .filter_map(|a| a.trim().parse().ok())
                .collect();
            (format!("{}{}", base.trim(), after.trim_end()), args)
        }
        None => (t.to_string(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::widens;

    #[test]
    fn widenings_are_told_from_narrowings() {
        for (from, to) in [
            ("integer", "bigint"),
            ("smallint", "integer"),
            ("character varying(20)", "text"),
            ("character varying(20)", "character varying(40)"),
            ("character varying(20)", "character varying"),
            ("numeric(12,2)", "numeric(14,2)"),
            ("numeric(12,2)", "numeric"),
            ("int(11)", "bigint(20)"),
            ("int unsigned", "bigint unsigned"),
            ("varchar(50)", "varchar(200)"),
            ("text", "longtext"),
            ("decimal(10,2)", "decimal(12,3)"),
            ("real", "double precision"),
        ] {
            assert!(widens(from, to), "{from} -> {to}");
        }
        for (from, to) in [
            ("bigint", "integer"),
            ("text", "character varying(20)"),
            ("character varying(40)", "character varying(20)"),
            ("numeric(12,2)", "numeric(12,3)"),
            ("decimal(10,2)", "decimal(8,2)"),
            ("varchar(200)", "varchar(50)"),
            ("int", "int unsigned"),
            ("integer", "text"),
            ("timestamp", "date"),
        ] {
            assert!(!widens(from, to), "{from} -> {to}");
        }
    }
}
