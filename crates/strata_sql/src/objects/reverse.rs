//! The way back: the statement that undoes a change, and a down derived
//! from a whole up when every statement of it has one.

use super::*;

/// The statement undoing `change` on `dialect`, or why there is none.
///
/// A change whose effect depends on what was there before it ran has no
/// inverse: `CREATE TABLE IF NOT EXISTS t` may have found `t` made (and
/// filled) by an earlier migration, and `CREATE OR REPLACE` may have
/// replaced an older definition, so dropping the object would destroy what
/// this migration did not create.
pub fn inverse(change: &Change, dialect: Dialect) -> Result<String, String> {
    Ok(match change {
        Change::Create {
            kind,
            name: Some(name),
            guard: Some(guard),
            ..
        } => {
            let noun = kind.noun();
            return Err(match guard {
                Guard::IfNotExists => format!(
                    "`CREATE {} IF NOT EXISTS {}` may have found the {noun} already there: \
                     dropping it could destroy what an earlier migration made; write the down by hand",
                    kind.sql(),
                    name.written
                ),
                Guard::OrReplace => format!(
                    "`CREATE OR REPLACE {} {}` may have replaced an earlier definition: \
                     dropping the {noun} could destroy what an earlier migration made; write the down by hand",
                    kind.sql(),
                    name.written
                ),
            });
        }
        Change::AddColumn {
            table,
            column,
            guard: Some(_),
        } => {
            return Err(format!(
                "`ADD COLUMN IF NOT EXISTS {}` may have found the column already in {}: \
                 dropping it could destroy data an earlier migration added; write the down by hand",
                column.written, table.written
            ));
        }
        Change::Create {
            kind,
            name: Some(name),
            on,
            args,
            ..
        } => match (kind, on, args) {
            (ObjectKind::Index, Some(table), _) if dialect == Dialect::Mysql => {
                format!("DROP INDEX {} ON {};", name.written, table.written)
            }
            (ObjectKind::Trigger | ObjectKind::Policy, Some(table), _)
                if dialect == Dialect::Postgres =>
            {
                format!("DROP {} {} ON {};", kind.sql(), name.written, table.written)
            }
            (ObjectKind::Function | ObjectKind::Procedure, _, Some(args))
                if dialect == Dialect::Postgres =>
            {
                format!("DROP {} {}{};", kind.sql(), name.written, args)
            }
            _ => format!("DROP {} {};", kind.sql(), name.written),
        },
        Change::Create { kind, .. } => {
            return Err(format!(
                "creates an unnamed {}: name it so it can be dropped",
                kind.noun()
            ));
        }
        Change::AddColumn { table, column, .. } => {
            format!(
                "ALTER TABLE {} DROP COLUMN {};",
                table.written, column.written
            )
        }
        Change::AddConstraint {
            table,
            name: Some(name),
        } => format!(
            "ALTER TABLE {} DROP CONSTRAINT {};",
            table.written, name.written
        ),
        Change::AddConstraint { name: None, .. } => {
            return Err("adds an unnamed constraint: name it (ADD CONSTRAINT name ...) so it can be dropped".into());
        }
        Change::EnableRowLevelSecurity { table } => {
            format!("ALTER TABLE {} DISABLE ROW LEVEL SECURITY;", table.written)
        }
        Change::Rename { kind, from, to } => {
            let renamed = ObjectName {
                written: qualified_like(from, to),
                key: to.key.clone(),
            };
            format!(
                "ALTER {} {} RENAME TO {};",
                kind.sql(),
                renamed.written,
                last_part(&from.written)
            )
        }
        Change::RenameColumn { table, from, to } => format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {};",
            table.written, to.written, from.written
        ),
        Change::Drop { kind, .. } => {
            return Err(format!(
                "drops a {}: what it held cannot be derived",
                kind.noun()
            ));
        }
        Change::DropColumn { .. } => {
            return Err("drops a column: its data cannot be derived".into());
        }
        Change::Other { what } => {
            return Err(format!("`{what}` cannot be reversed mechanically"));
        }
    })
}

impl Change {
    /// Whether running the statement again after it completed is harmless
    /// (`IF NOT EXISTS`, `OR REPLACE`, `IF EXISTS`).
    pub fn rerunnable(&self) -> bool {
        match self {
            Change::Create { guard, .. } | Change::AddColumn { guard, .. } => guard.is_some(),
            Change::Drop { if_exists, .. } | Change::DropColumn { if_exists, .. } => *if_exists,
            _ => false,
        }
    }
}

impl ObjectName {
    /// The schema part, unquoted (folded to lower case unless quoted), when
    /// the name is qualified.
    pub fn schema_key(&self) -> Option<String> {
        let (schema, _) = split_last_dot(&self.written)?;
        let schema = schema.rsplit_once('.').map_or(schema, |(_, s)| s);
        Some(match schema.chars().next() {
            Some(q @ ('"' | '`' | '[')) => {
                let inner = &schema[1..schema.len().saturating_sub(1)];
                match q {
                    '"' => inner.replace("\"\"", "\""),
                    '`' => inner.replace("``", "`"),
                    _ => inner.to_string(),
                }
            }
            _ => schema.to_ascii_lowercase(),
        })
    }
}

/// `written` split at its last `.` outside quotes.
fn split_last_dot(written: &str) -> Option<(&str, &str)> {
    let mut quote: Option<char> = None;
    let mut at = None;
    for (i, c) in written.char_indices() {
        match (quote, c) {
            (None, '"' | '`' | '[') => quote = Some(if c == '[' { ']' } else { c }),
            (Some(q), c) if c == q => quote = None,
            (None, '.') => at = Some(i),
            _ => {}
        }
    }
    at.map(|i| (&written[..i], &written[i + 1..]))
}

/// A statement of an up that has no mechanical inverse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Irreversible {
    /// 0-based line of the script the statement starts on.
    pub line: usize,
    pub why: String,
}

/// The down undoing `script` (an up): the inverse of each statement, last
/// first, one per line; or every statement that has no inverse.
pub fn reverse(script: &str, dialect: Dialect) -> Result<String, Vec<Irreversible>> {
    let mut undo = Vec::new();
    let mut refused = Vec::new();
    let mut created: Vec<ObjectName> = Vec::new();
    let lines = crate::LineIndex::new(script);
    for st in crate::split(script, dialect) {
        for change in changes(&st, script, dialect) {
            if let Change::Create {
                kind: ObjectKind::Table,
                name: Some(name),
                guard: None,
                ..
            } = &change
            {
                created.push(name.clone());
            }
            // Row level security may have been on before; turning it off
            // would expose rows, unless the table itself is new.
            if let Change::EnableRowLevelSecurity { table } = &change
                && !created.iter().any(|c| c.same(table))
            {
                refused.push(Irreversible {
                    line: lines.line(st.token_offset),
                    why: format!(
                        "enables row level security on {}, which may have been on before: \
                         disabling it could expose rows; write the down by hand",
                        table.written
                    ),
                });
                continue;
            }
            match inverse(&change, dialect) {
                Ok(sql) => undo.push(sql),
                Err(why) => refused.push(Irreversible {
                    line: lines.line(st.token_offset),
                    why,
                }),
            }
        }
    }
    if !refused.is_empty() {
        return Err(refused);
    }
    if undo.is_empty() {
        return Err(vec![Irreversible {
            line: 0,
            why: "there is no statement to reverse".into(),
        }]);
    }
    undo.reverse();
    Ok(undo.join("\n") + "\n")
}

/// `to` carrying `from`'s schema prefix (RENAME TO takes a bare name and
/// keeps the schema).
fn qualified_like(from: &ObjectName, to: &ObjectName) -> String {
    match from.written.rsplit_once('.') {
        Some((schema, _)) if !to.written.contains('.') => format!("{schema}.{}", to.written),
        _ => to.written.clone(),
    }
}

fn last_part(written: &str) -> &str {
    written.rsplit_once('.').map_or(written, |(_, n)| n)
}
