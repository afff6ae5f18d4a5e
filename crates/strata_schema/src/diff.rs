//! What differs between two schemas, object by object: an object is the
//! same when the statement that creates it is the same.

use crate::sql::{Object, objects};
use crate::{Column, Part, PartKind, Schema, Table};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Only in the second schema.
    Added,
    /// Only in the first.
    Removed,
    /// In both, made differently.
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub change: Change,
    pub kind: &'static str,
    /// As SQL, qualified by its table where it belongs to one.
    pub name: String,
    /// What changed in a table: its columns and constraints, one line
    /// each (`column email: type text -> character varying(100)`).
    pub details: Vec<String>,
    /// The statement that creates it on each side (`None` where absent).
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Difference {
    /// A table whose columns are the same but in another order: what
    /// PostgreSQL leaves after a column is dropped and added again (it adds
    /// at the end, and cannot move one).
    pub fn is_column_order_only(&self) -> bool {
        self.kind == "table"
            && self.change == Change::Changed
            && !self.details.is_empty()
            && self.details.iter().all(|d| d.contains(": position "))
    }
}

/// What differs from `from` to `to`: what `to` lacks, in `from`'s order,
/// then what is new or changed, in `to`'s.
pub fn diff<'a>(from: &'a Schema, to: &'a Schema) -> Vec<Difference> {
    let (a, b) = (objects(from), objects(to));
    let key = |o: &Object| (o.kind, o.name.clone());
    let in_a: HashMap<_, &Object> = a.iter().map(|o| (key(o), o)).collect();
    let in_b: HashMap<_, &Object> = b.iter().map(|o| (key(o), o)).collect();
    let mut out = Vec::new();
    for o in a.iter().filter(|o| o.kind != "setting") {
        if !in_b.contains_key(&key(o)) {
            out.push(difference(Change::Removed, o, Some(&o.sql), None));
        }
    }
    for o in b.iter().filter(|o| o.kind != "setting") {
        match in_a.get(&key(o)) {
            None => out.push(difference(Change::Added, o, None, Some(&o.sql))),
            Some(old) if old.sql != o.sql => {
                let mut d = difference(Change::Changed, o, Some(&old.sql), Some(&o.sql));
                if o.kind == "table" {
                    let table = |s: &'a Schema| s.tables.iter().find(|t| t.name.sql == o.name);
                    if let (Some(x), Some(y)) = (table(from), table(to)) {
                        d.details = table_details(x, y);
                    } else if let (Some(x), Some(y)) =
                        (from.table_statement(&o.name), to.table_statement(&o.name))
                    {
                        d.details = part_details(&x.parts, &y.parts);
                    }
                }
                if o.kind == "enum" {
                    let labels = |s: &'a Schema| {
                        s.enums
                            .iter()
                            .find(|e| e.name.sql == o.name)
                            .map_or(&[][..], |e| &e.labels[..])
                    };
                    let (x, y) = (labels(from), labels(to));
                    for l in x.iter().filter(|l| !y.contains(l)) {
                        d.details.push(format!("value '{l}' removed"));
                    }
                    for l in y.iter().filter(|l| !x.contains(l)) {
                        d.details.push(format!("value '{l}' added"));
                    }
                    if d.details.is_empty() {
                        d.details.push("values reordered".into());
                    }
                }
                out.push(d);
            }
            Some(_) => {}
        }
    }
    out
}

fn difference(change: Change, o: &Object, from: Option<&str>, to: Option<&str>) -> Difference {
    Difference {
        change,
        kind: o.kind,
        name: o.name.clone(),
        details: Vec::new(),
        from: from.map(str::to_string),
        to: to.map(str::to_string),
    }
}

/// The columns and constraints that differ between two versions of a
/// table, and its own options.
fn table_details(a: &Table, b: &Table) -> Vec<String> {
    let mut out = Vec::new();
    if a.unlogged != b.unlogged {
        out.push(format!("unlogged: {} -> {}", a.unlogged, b.unlogged));
    }
    if a.partition_by != b.partition_by || a.partition_of != b.partition_of {
        out.push("partitioning".into());
    }
    for c in &a.columns {
        if !b.columns.iter().any(|x| x.name == c.name) {
            out.push(format!("column {} removed", c.sql_name));
        }
    }
    for (i, c) in b.columns.iter().enumerate() {
        match a.columns.iter().position(|x| x.name == c.name) {
            None => out.push(format!("column {} added", c.sql_name)),
            Some(j) => {
                out.extend(column_details(&a.columns[j], c));
                if i != j {
                    out.push(format!(
                        "column {}: position {} -> {}",
                        c.sql_name,
                        j + 1,
                        i + 1
                    ));
                }
            }
        }
    }
    for c in &a.constraints {
        match b.constraints.iter().find(|x| x.name == c.name) {
            None => out.push(format!("constraint {} removed", c.sql_name)),
            Some(x) if x.definition != c.definition => out.push(format!(
                "constraint {}: {} -> {}",
                c.sql_name, c.definition, x.definition
            )),
            Some(_) => {}
        }
    }
    for c in &b.constraints {
        if !a.constraints.iter().any(|x| x.name == c.name) {
            out.push(format!("constraint {} added", c.sql_name));
        }
    }
    out
}

/// The columns, keys, checks and options that differ between two
/// versions of a table kept as a statement (SQLite, MySQL).
fn part_details(a: &[Part], b: &[Part]) -> Vec<String> {
    let what = |p: &Part| match p.kind {
        PartKind::Column | PartKind::Generated => format!("column {}", p.name),
        PartKind::Key => match p.name.as_str() {
            "PRIMARY" => "primary key".to_string(),
            name if name.starts_with("foreign key") => name.to_string(),
            name => format!("key {name}"),
        },
        PartKind::Check => format!("check {}", p.name),
        PartKind::Options => "options".to_string(),
    };
    let same = |p: &Part, q: &Part| what(p) == what(q);
    let mut out = Vec::new();
    for p in a {
        match b.iter().find(|q| same(p, q)) {
            None => out.push(format!("{} removed", what(p))),
            Some(q) if q.sql != p.sql => {
                out.push(format!("{}: {} -> {}", what(p), p.sql.trim(), q.sql.trim()))
            }
            Some(_) => {}
        }
    }
    for q in b {
        if !a.iter().any(|p| same(p, q)) {
            out.push(format!("{} added", what(q)));
        }
    }
    out
}

fn column_details(a: &Column, b: &Column) -> Vec<String> {
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
    let mut out = Vec::new();
    let mut attribute = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("column {}: {what} {x} -> {y}", b.sql_name));
        }
    };
    attribute("type", a.data_type.clone(), b.data_type.clone());
    attribute("collation", show(&a.collation), show(&b.collation));
    attribute("not null", a.not_null.to_string(), b.not_null.to_string());
    attribute("default", show(&a.default), show(&b.default));
    attribute("identity", show(&a.identity), show(&b.identity));
    attribute("generated", show(&a.generated), show(&b.generated));
    out
}
