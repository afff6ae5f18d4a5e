//! `down-mismatch`: a down that does not undo its up, where this can be seen
//! from the statements alone.

use super::StrataRule;
use crate::{Context, Hit, Level, Section};
use strata_sql::{Change, ObjectKind, ObjectName, Statement};

pub(crate) const RULE: StrataRule = StrataRule {
    name: "down-mismatch",
    default_level: Level::Error,
    summary: "The down drops objects the up does not create, or leaves what the up creates.",
    doc: r#"
Catches downs that visibly do not undo their up: the up creates table `a`
and the down drops table `b`; the up adds column `c` and the down drops
another; the up creates an index, view, type, function, ... and a down made
only of statements strata can read never drops it. Such a down fails when
someone needs it (dropping what is not there), or worse, drops something
else that was there.

Locks: the down's DROP takes an ACCESS EXCLUSIVE lock on whatever it names,
including a table that is in use and unrelated to this migration.

The safe way: write the down as the up's inverse, last statement first
(`strata new --down auto` derives it when the up is mechanically
reversible). Renamed something on purpose in between? Say so with
`-- strata:allow down-mismatch` before the statement.
"#,
    check,
};

/// What an up brings into existence.
struct Created<'a> {
    kind: ObjectKind,
    name: ObjectName,
    /// The table an index, trigger, policy or column belongs to.
    table: Option<ObjectName>,
    column: bool,
    statement: &'a Statement<'a>,
}

fn check(cx: &Context<'_>, out: &mut Vec<Hit>) {
    if cx.down.is_empty() {
        return;
    }
    let mut created = Vec::new();
    for st in &cx.up {
        for change in strata_sql::changes(st, cx.up_sql(), cx.dialect) {
            match change {
                Change::Create {
                    kind,
                    name: Some(name),
                    on,
                    ..
                } => created.push(Created {
                    kind,
                    name,
                    table: on,
                    column: false,
                    statement: st,
                }),
                Change::AddColumn { table, column, .. } => created.push(Created {
                    kind: ObjectKind::Table,
                    name: column,
                    table: Some(table),
                    column: true,
                    statement: st,
                }),
                _ => {}
            }
        }
    }
    let mut dropped: Vec<(ObjectKind, ObjectName, Option<ObjectName>, &Statement<'_>)> = Vec::new();
    let mut understood = true;
    for st in &cx.down {
        for change in strata_sql::changes(st, cx.down_sql(), cx.dialect) {
            match change {
                Change::Drop { kind, names, .. } => {
                    dropped.extend(names.into_iter().map(|n| (kind, n, None, st)));
                }
                Change::DropColumn { table, column, .. } => {
                    dropped.push((ObjectKind::Table, column, Some(table), st));
                }
                Change::Other { .. } => understood = false,
                _ => {}
            }
        }
    }
    // (a) The down drops something of a kind the up creates, but not what
    // the up created.
    for (kind, name, table, st) in &dropped {
        let column = table.is_some();
        let same_kind: Vec<&Created<'_>> = created
            .iter()
            .filter(|c| c.kind == *kind && c.column == column)
            .collect();
        if same_kind.is_empty() || same_kind.iter().any(|c| c.name.same(name)) {
            continue;
        }
        let what = if column {
            "column".to_string()
        } else {
            kind.noun()
        };
        let made: Vec<String> = same_kind
            .iter()
            .map(|c| format!("`{}`", c.name.written))
            .collect();
        out.push(Hit {
            section: Section::Down,
            range: Context::span(st),
            message: format!(
                "the down drops {what} `{}`, but the up creates {what} {}",
                name.written,
                made.join(", ")
            ),
            help: Some("make the down undo exactly what the up does, last statement first".into()),
        });
    }
    // (b) The up creates something a down made only of understood
    // statements never drops (directly, or with its table or schema).
    if !understood || dropped.iter().any(|d| d.0 == ObjectKind::Schema) {
        return;
    }
    let drops = |kind: ObjectKind, name: &ObjectName, column: bool| {
        dropped
            .iter()
            .any(|(k, n, t, _)| *k == kind && n.same(name) && t.is_some() == column)
    };
    for c in &created {
        // An index or column of a table created here goes with the table,
        // which is reported (or dropped) itself.
        let with_table = c.table.as_ref().is_some_and(|t| {
            drops(ObjectKind::Table, t, false)
                || created
                    .iter()
                    .any(|o| o.kind == ObjectKind::Table && !o.column && o.name.same(t))
        });
        if drops(c.kind, &c.name, c.column) || with_table {
            continue;
        }
        let what = if c.column {
            "column".to_string()
        } else {
            c.kind.noun()
        };
        out.push(Hit {
            section: Section::Up,
            range: Context::span(c.statement),
            message: format!("the up creates {what} `{}`, but the down never drops it", c.name.written),
            help: Some("add its DROP to the down, or mark the exception with `-- strata:allow down-mismatch`".into()),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::lint;
    use strata_model::TxMode;
    use strata_sql::Dialect;

    #[test]
    fn down_drops_the_wrong_table() {
        insta::assert_snapshot!(lint(
            &["down-mismatch"],
            "CREATE TABLE a (id int);\nCREATE INDEX a_id ON a (id);\n",
            Some("DROP TABLE b;\n"),
            TxMode::Transaction,
            Dialect::Postgres
        ));
    }

    #[test]
    fn down_forgets_a_column() {
        insta::assert_snapshot!(lint(
            &["down-mismatch"],
            "ALTER TABLE users ADD COLUMN email text;\nALTER TABLE users ADD COLUMN phone text;\n",
            Some("ALTER TABLE users DROP COLUMN email;\n"),
            TxMode::Transaction,
            Dialect::Mysql
        ));
    }

    #[test]
    fn matching_downs_pass() {
        for (up, down) in [
            (
                "CREATE TABLE a (id int);\nCREATE INDEX a_id ON a (id);\n",
                "DROP TABLE a;\n",
            ),
            ("CREATE TABLE \"A\" (id int);", "DROP TABLE \"A\";"),
            (
                "CREATE TABLE public.a (id int);",
                "DROP TABLE IF EXISTS a CASCADE;",
            ),
            (
                "CREATE TABLE a (id int);",
                "DO $$ BEGIN EXECUTE 'DROP TABLE a'; END $$;",
            ),
            ("UPDATE t SET a = 1 WHERE b;", "UPDATE t SET a = 0 WHERE b;"),
        ] {
            assert_eq!(
                lint(
                    &["down-mismatch"],
                    up,
                    Some(down),
                    TxMode::Transaction,
                    Dialect::Postgres
                ),
                "",
                "{up} / {down}"
            );
        }
    }
}
