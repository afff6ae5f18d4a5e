//! `destructive`: statements that throw data away.

use super::StrataRule;
use crate::{Context, Hit, Level, Section};

pub(crate) const RULE: StrataRule = StrataRule {
    name: "destructive",
    default_level: Level::Error,
    summary: "DROP TABLE/SCHEMA/DATABASE, a dropped column, TRUNCATE, DELETE or UPDATE without WHERE.",
    doc: r#"
Catches statements that destroy data: DROP TABLE, DROP SCHEMA, DROP DATABASE,
ALTER TABLE ... DROP COLUMN, TRUNCATE, and DELETE or UPDATE without a WHERE
clause (every row).

Locks: DROP TABLE, DROP COLUMN and TRUNCATE take an ACCESS EXCLUSIVE lock on
the table (MySQL: a metadata lock), blocking every read and write until the
transaction ends; an unbounded DELETE/UPDATE locks every row it touches and
holds them until commit. None of it can be undone once committed, and a
down cannot bring the data back.

The safe way: stop the application from using the column or table first
(deploy code that no longer reads it), keep a backup (`backup = "before"`
on the environment), and drop in a later release. Bound data changes with
WHERE, in batches for big tables. When the statement is intended, say so on
the line before it: `-- strata:allow destructive -- <why>`. Environments
with `allow_destructive = false` refuse such plans unless
`--allow-destructive` and approval are given.
"#,
    check,
};

fn check(cx: &Context<'_>, out: &mut Vec<Hit>) {
    for st in &cx.up {
        if let Some(why) = strata_sql::destructive(st, cx.up_sql()) {
            out.push(Hit {
                section: Section::Up,
                range: Context::span(st),
                message: format!("destructive statement: {why}"),
                help: Some(
                    "make sure nothing reads it any more and a backup exists; mark an intended one with `-- strata:allow destructive`"
                        .into(),
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::lint;
    use strata_model::TxMode;
    use strata_sql::Dialect;

    #[test]
    fn flags_each_kind_of_destruction() {
        let up = "DROP TABLE users;\n\
                  ALTER TABLE orders DROP COLUMN note, DROP CONSTRAINT c;\n\
                  ALTER TABLE orders DROP CONSTRAINT c2;\n\
                  TRUNCATE events;\n\
                  DELETE FROM sessions;\n\
                  DELETE FROM sessions WHERE expired;\n\
                  UPDATE users SET admin = false;\n\
                  DROP SCHEMA old CASCADE;\n";
        insta::assert_snapshot!(lint(
            &["destructive"],
            up,
            None,
            TxMode::Transaction,
            Dialect::Postgres
        ));
    }

    #[test]
    fn quiet_on_safe_statements_and_strings() {
        let up =
            "CREATE TABLE t (a text DEFAULT 'DROP TABLE x');\nINSERT INTO t VALUES ('TRUNCATE');\n";
        assert_eq!(
            lint(
                &["destructive"],
                up,
                None,
                TxMode::Transaction,
                Dialect::Mysql
            ),
            ""
        );
    }
}
