//! The DDL that turns one schema into another (`schema diff --sql`):
//! what the first has and the second lacks is dropped (what depends on
//! it first), what is new is created, and what changed is altered where
//! the engine can alter it, or dropped and created again with everything
//! that goes with it (its indexes, grants, the views that read it).

use crate::sql::{Object, objects};
use crate::{PartKind, Schema, Table};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use strata_sql::Dialect;

mod alter;

/// The statements, in the order to run them, and what to read first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Migration {
    pub steps: Vec<Step>,
    /// What the statements cannot do or did not guess (a column order
    /// the engine cannot change, a drop and a create that may be a
    /// rename).
    pub notes: Vec<String>,
}

impl Migration {
    /// The statements as a script: the notes first, as comments, and a
    /// comment above each statement that destroys data or must run
    /// outside a transaction.
    pub fn script(&self) -> String {
        let mut text = String::new();
        for note in &self.notes {
            text.push_str(&format!("-- Note: {note}.\n"));
        }
        for step in &self.steps {
            if !text.is_empty() {
                text.push('\n');
            }
            if let Some(what) = &step.destructive {
                text.push_str(&format!("-- DESTRUCTIVE: {what}.\n"));
            }
            if let Some(why) = &step.outside_transaction {
                text.push_str(&format!("-- OUTSIDE A TRANSACTION: {why}.\n"));
            }
            text.push_str(&step.sql);
            text.push('\n');
        }
        text
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub sql: String,
    /// What it destroys, where it loses data (`drops table t and its
    /// rows`).
    pub destructive: Option<String>,
    /// Why it cannot run in one transaction with the others, where so.
    pub outside_transaction: Option<String>,
}

impl Step {
    fn new(sql: impl Into<String>) -> Step {
        Step {
            sql: sql.into(),
            destructive: None,
            outside_transaction: None,
        }
    }

    fn destroys(mut self, what: impl Into<String>) -> Step {
        self.destructive = Some(what.into());
        self
    }
}

type Key<'a> = (&'static str, &'a str);

/// How far a change reaches into what depends on an object.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// A table whose columns changed shape: what reads it by name (views,
    /// triggers, policies) is made again; its indexes and constraints
    /// follow on their own.
    Names,
    /// A table whose column's type is made anew: also its indexes and
    /// constraints, which may compare that column with a value.
    Readers,
    /// An object dropped: everything that reads it or belongs to it.
    All,
}

fn key(o: &Object) -> Key<'_> {
    (o.kind, o.name.as_str())
}

/// Kinds dropped after everything else has changed: tables and columns
/// may use them until then.
const LATE: &[&str] = &[
    "schema",
    "extension",
    "enum",
    "domain",
    "type",
    "function",
    "procedure",
    "sequence",
    "event",
];

/// Kinds that read other objects by name in their definition, and so are
/// dropped and created again when what they read is.
const READERS: &[&str] = &[
    "view",
    "materialized view",
    "trigger",
    "policy",
    "constraint",
    "index",
];

/// The statements that turn `from` into `to` on `dialect`.
pub fn migration(from: &Schema, to: &Schema, dialect: Dialect) -> Migration {
    let (a, b) = (objects(from), objects(to));
    let plan = Plan::new(from, to, &a, &b, dialect);
    plan.statements()
}

struct Plan<'a> {
    from: &'a Schema,
    to: &'a Schema,
    a: &'a [Object],
    b: &'a [Object],
    in_a: HashMap<Key<'a>, &'a Object>,
    in_b: HashMap<Key<'a>, &'a Object>,
    dialect: Dialect,
    /// Changed objects altered where they stand.
    altered: HashSet<Key<'a>>,
    /// Objects in both that are dropped and created again.
    rebuilt: HashSet<Key<'a>>,
}

impl<'a> Plan<'a> {
    fn new(
        from: &'a Schema,
        to: &'a Schema,
        a: &'a [Object],
        b: &'a [Object],
        dialect: Dialect,
    ) -> Plan<'a> {
        let mut plan = Plan {
            from,
            to,
            a,
            b,
            in_a: a.iter().map(|o| (key(o), o)).collect(),
            in_b: b.iter().map(|o| (key(o), o)).collect(),
            dialect,
            altered: HashSet::new(),
            rebuilt: HashSet::new(),
        };
        let mut shaken = Vec::new();
        for o in b {
            let Some(old) = plan.in_a.get(&key(o)).copied() else {
                continue;
            };
            if old.sql == o.sql || o.kind == "setting" {
                continue;
            }
            if plan.alterable(old, o) {
                plan.altered.insert(key(o));
                shaken.extend(plan.reshaped(old, o));
            } else {
                plan.rebuilt.insert(key(o));
            }
        }
        plan.spread(shaken);
        plan
    }

    /// Whether a changed object can be altered where it stands, keeping
    /// its data and what depends on it.
    fn alterable(&self, old: &Object, new: &Object) -> bool {
        match (self.dialect, new.kind) {
            (_, "comment" | "sequence owner" | "grant" | "sequence" | "enum") => true,
            (Dialect::Postgres, "table") => {
                let (x, y) = (
                    self.table(self.from, &old.name),
                    self.table(self.to, &new.name),
                );
                x.zip(y).is_some_and(|(x, y)| {
                    x.partition_of == y.partition_of && x.partition_by == y.partition_by
                })
            }
            (_, "table") => true,
            (_, "function") => {
                // CREATE OR REPLACE keeps a function whose arguments and
                // result stay as they were.
                let header = |sql: &str| {
                    let mut lines = sql.lines();
                    let first = lines.next().unwrap_or_default().to_string();
                    let returns = lines.find(|l| l.trim_start().starts_with("RETURNS "));
                    (first, returns.map(str::to_string))
                };
                self.dialect == Dialect::Postgres && header(&old.sql) == header(&new.sql)
            }
            (_, "domain") => {
                let find =
                    |s: &'a Schema, name: &str| s.domains.iter().find(|d| d.name.sql == name);
                find(self.from, &old.name)
                    .zip(find(self.to, &new.name))
                    .is_some_and(|(x, y)| x.data_type == y.data_type && x.collation == y.collation)
            }
            _ => false,
        }
    }

    /// What an in-place change reaches (a table losing a column or
    /// changing a column's type; the tables and functions using an enum
    /// that loses a value): what reads them is created again.
    fn reshaped(&self, old: &'a Object, new: &'a Object) -> Vec<(&'a Object, Reach)> {
        match new.kind {
            "table" => match (
                self.table(self.from, &old.name),
                self.table(self.to, &new.name),
            ) {
                (Some(x), Some(y)) => {
                    let reshaped = x.columns.iter().any(|c| {
                        y.columns.iter().find(|d| d.name == c.name).is_none_or(|d| {
                            d.data_type != c.data_type
                                || d.collation != c.collation
                                || d.generated != c.generated
                        })
                    });
                    if reshaped {
                        vec![(new, Reach::Names)]
                    } else {
                        Vec::new()
                    }
                }
                // MySQL alters a table under the views and triggers that
                // read it (they fail when next used, as they would have).
                _ if self.dialect == Dialect::Mysql => Vec::new(),
                // SQLite: reshaped when a column goes or changes.
                _ => {
                    let parts = |s: &'a Schema, name: &str| {
                        s.table_statement(name).map_or(&[][..], |t| &t.parts[..])
                    };
                    let (x, y) = (parts(self.from, &old.name), parts(self.to, &new.name));
                    let reshaped = x.iter().any(|p| {
                        matches!(p.kind, PartKind::Column | PartKind::Generated) && !y.contains(p)
                    });
                    if reshaped {
                        vec![(new, Reach::Names)]
                    } else {
                        Vec::new()
                    }
                }
            },
            "enum" if alter::enum_values_removed(self.from, self.to, &new.name) => {
                let name = bare(&new.name);
                let mut out: Vec<(&'a Object, Reach)> = self
                    .a
                    .iter()
                    .filter(|t| {
                        t.kind == "table"
                            && self
                                .table(self.from, &t.name)
                                .is_some_and(|t| alter::uses_type(t, &new.name))
                    })
                    .map(|t| (t, Reach::Readers))
                    .collect();
                // A function taking or returning the old type is made
                // again on the new one.
                out.extend(
                    self.a
                        .iter()
                        .filter(|f| f.kind == "function" && words(&f.sql).contains(&name))
                        .map(|f| (f, Reach::All)),
                );
                out
            }
            _ => Vec::new(),
        }
    }

    /// Marks as rebuilt whatever goes with a rebuilt or removed object, or
    /// reads one (or a reshaped table), until nothing more is added.
    fn spread(&mut self, shaken: Vec<(&'a Object, Reach)>) {
        // Who reads a name, and what belongs to an object: looked up, not
        // searched, for each object that changes.
        let mut readers_of: HashMap<String, Vec<&'a Object>> = HashMap::new();
        let mut belonging_to: HashMap<&'a str, Vec<&'a Object>> = HashMap::new();
        for o in self.a.iter().filter(|o| self.in_b.contains_key(&key(o))) {
            if READERS.contains(&o.kind) {
                for word in words(&o.sql) {
                    readers_of.entry(word).or_default().push(o);
                }
            }
            if let Some(owner) = &o.on {
                belonging_to.entry(owner.as_str()).or_default().push(o);
            }
        }
        for (o, reach) in &shaken {
            if *reach == Reach::All && self.in_b.contains_key(&key(o)) {
                self.rebuilt.insert(key(o));
                self.altered.remove(&key(o));
            }
        }
        let mut work = shaken;
        work.extend(
            self.a
                .iter()
                .filter(|o| {
                    self.rebuilt.contains(&key(o))
                        || (!self.in_b.contains_key(&key(o)) && o.kind != "setting")
                })
                .map(|o| (o, Reach::All)),
        );
        // SQLite rebuilds a changed table (unless a column was only added):
        // its indexes and triggers go with the old one.
        if self.dialect == Dialect::Sqlite {
            work.extend(
                self.altered
                    .iter()
                    .filter(|k| k.0 == "table" && alter::sqlite_rebuilds(self.from, self.to, k.1))
                    .filter_map(|k| self.in_a.get(k).map(|o| (*o, Reach::All))),
            );
        }
        while let Some((o, reach)) = work.pop() {
            let mut next: Vec<&'a Object> = Vec::new();
            // What reads it by name. An index or a constraint follows a
            // reshaped table on its own; only what is dropped takes them
            // along.
            for reader in readers_of.get(&bare(&o.name)).into_iter().flatten() {
                if reach != Reach::Names || !matches!(reader.kind, "index" | "constraint") {
                    next.push(reader);
                }
            }
            // What belongs to it: readers unless only its shape changed;
            // the rest (a table's partitions, comments, grants, row level
            // security, sequence ownership) when it is dropped.
            for x in belonging_to.get(o.name.as_str()).into_iter().flatten() {
                let reader = READERS.contains(&x.kind);
                if (reader && reach != Reach::Names) || (!reader && reach == Reach::All) {
                    next.push(x);
                }
            }
            for x in next {
                if self.rebuilt.insert(key(x)) {
                    self.altered.remove(&key(x));
                    work.push((x, Reach::All));
                }
            }
        }
    }

    fn table(&self, schema: &'a Schema, name: &str) -> Option<&'a Table> {
        schema.tables.iter().find(|t| t.name.sql == name)
    }

    /// Drops first (what depends on others before them), then creates and
    /// alterations in creation order, then the drops of the types,
    /// functions and schemas the tables no longer use.
    fn statements(&self) -> Migration {
        let mut out = Migration::default();
        let gone = |o: &Object| !self.in_b.contains_key(&key(o)) && o.kind != "setting";
        // A function whose signature changed goes early, before what calls
        // it is created again (the old and new one could both match a
        // call); other types and functions once nothing uses them.
        let renewed: HashSet<String> = self
            .b
            .iter()
            .filter(|o| o.kind == "function")
            .map(|o| bare(&o.name))
            .collect();
        let late = |o: &Object| {
            LATE.contains(&o.kind) && !(o.kind == "function" && renewed.contains(&bare(&o.name)))
        };
        for o in self.a.iter().rev() {
            if self.rebuilt.contains(&key(o)) || (gone(o) && !late(o)) {
                out.steps.push(self.drop(o, gone(o)));
            }
        }
        let replaces_functions = self.b.iter().any(|o| {
            o.kind == "function" && self.in_a.get(&key(o)).is_none_or(|old| old.sql != o.sql)
        });
        for o in self.b {
            let k = key(o);
            match self.in_a.get(&k) {
                _ if o.kind == "setting" => {
                    if replaces_functions && self.dialect == Dialect::Postgres {
                        out.steps.push(Step::new(o.sql.clone()));
                    }
                }
                None => out.steps.push(Step::new(o.sql.clone())),
                Some(_) if self.rebuilt.contains(&k) => out.steps.push(Step::new(o.sql.clone())),
                Some(old) if self.altered.contains(&k) => alter::alter(self, old, o, &mut out),
                Some(_) => {}
            }
        }
        for o in self.a.iter().rev() {
            if gone(o) && late(o) {
                out.steps.push(self.drop(o, true));
            }
        }
        self.renames(&mut out);
        if self.dialect == Dialect::Mysql && !out.steps.is_empty() {
            out.notes.push(
                "MySQL commits each of these statements on its own: a failure half-way leaves the ones before it done"
                    .into(),
            );
            if out.steps.iter().any(|s| words(&s.sql).contains("begin")) {
                out.notes.push(
                    "some statements hold a BEGIN ... END body with `;` inside: strata and drivers take each statement whole; with the mysql or mariadb client, set a DELIMITER around them".into(),
                );
            }
        }
        out
    }

    fn drop(&self, o: &Object, gone: bool) -> Step {
        let step = Step::new(o.drop.clone());
        match (o.kind, gone) {
            ("table", true) => step.destroys(format!("drops table {} and its rows", o.name)),
            ("table", false) => step.destroys(format!(
                "drops table {} to create it again (its partitioning changed): its rows are lost",
                o.name
            )),
            ("schema", _) => step.destroys(format!("drops schema {}", o.name)),
            _ => step,
        }
    }

    /// A table dropped and another created with the same columns: maybe
    /// a rename, which strata does not guess.
    fn renames(&self, out: &mut Migration) {
        let columns = |o: &Object| -> Option<String> {
            let start = o.sql.find('(')?;
            Some(o.sql[start..].to_string())
        };
        for old in self.a.iter().filter(|o| o.kind == "table") {
            if self.in_b.contains_key(&key(old)) {
                continue;
            }
            for new in self.b.iter().filter(|o| o.kind == "table") {
                if !self.in_a.contains_key(&key(new)) && columns(old) == columns(new) {
                    out.notes.push(format!(
                        "table {} is dropped and {} created with the same columns: if that is a rename, replace both with a rename, which keeps the rows (strata does not guess renames)",
                        old.name, new.name
                    ));
                }
            }
        }
    }
}

/// The bare name of an object named as SQL: the last part of a qualified
/// name, unquoted, without a function's arguments.
fn bare(name: &str) -> String {
    let mut start = 0;
    let mut quote = None;
    let mut end = name.len();
    for (i, c) in name.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '`') => quote = Some(c),
            (None, '.') => start = i + 1,
            (None, '(') => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let part = &name[start..end];
    match part.chars().next() {
        Some(q @ ('"' | '`')) => part
            .trim_matches(q)
            .replace(&format!("{q}{q}"), &q.to_string()),
        _ => part.to_string(),
    }
}

/// The identifiers a statement names: unquoted ones folded to lower
/// case, quoted ones as written; string literals are skipped.
fn words(sql: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut chars = sql.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '`' | '\'' => {
                let mut text = String::new();
                while let Some((_, d)) = chars.next() {
                    if d == c {
                        if chars.peek().is_some_and(|&(_, e)| e == c) {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    text.push(d);
                }
                if c != '\'' {
                    out.insert(text);
                }
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if !(d.is_alphanumeric() || d == '_' || d == '$') {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                out.insert(sql[i..end].to_lowercase());
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names() {
        assert_eq!(bare("public.t"), "t");
        assert_eq!(bare("sales.\"Or.der\""), "Or.der");
        assert_eq!(bare("public.f(integer, text)"), "f");
        assert_eq!(bare("`my``t`"), "my`t");
    }

    #[test]
    fn words_skip_literals() {
        let w = words("SELECT a.\"Id\", 'users' FROM Users u");
        assert!(w.contains("Id") && w.contains("users") && w.contains("a"));
        assert_eq!(words("'users'").len(), 0);
    }
}
