//! `non-transactional-in-transaction`: a statement PostgreSQL refuses inside
//! a transaction block, in a migration strata runs in one.

use super::StrataRule;
use crate::{Context, Hit, Level, Section};
use strata_model::TxMode;
use strata_sql::Dialect;

pub(crate) const RULE: StrataRule = StrataRule {
    name: "non-transactional-in-transaction",
    default_level: Level::Error,
    summary: "CREATE INDEX CONCURRENTLY, VACUUM, ALTER SYSTEM, ... in a migration run in a transaction.",
    doc: r#"
Catches statements PostgreSQL refuses inside a transaction block (CREATE or
DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, VACUUM, CREATE/DROP DATABASE
or TABLESPACE, ALTER SYSTEM) in a migration strata runs in a transaction.
The migration would fail with "cannot run inside a transaction block" on
every environment; `strata plan` refuses it too.

Locks: none taken, because the statement never runs; the point of the
CONCURRENTLY forms is to avoid the SHARE lock that blocks writes for the
whole index build.

The safe way: put the statement in a migration of its own marked
`-- strata:no-transaction`. strata then runs it statement by statement,
records each completed statement, and on a retry drops the INVALID index a
failed concurrent build left behind.
"#,
    check,
};

fn check(cx: &Context<'_>, out: &mut Vec<Hit>) {
    if cx.dialect != Dialect::Postgres || cx.migration.tx_mode != TxMode::Transaction {
        return;
    }
    for st in &cx.up {
        if strata_sql::cannot_run_in_transaction(st, cx.up_sql()) {
            out.push(Hit {
                section: Section::Up,
                range: Context::span(st),
                message:
                    "this statement cannot run inside a transaction, and this migration runs in one"
                        .into(),
                help: Some(
                    "move it to a migration of its own marked `-- strata:no-transaction`".into(),
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

    const UP: &str =
        "CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY t_a ON t (a);\nVACUUM t;\n";

    #[test]
    fn flags_concurrent_index_in_a_transaction() {
        insta::assert_snapshot!(lint(
            &["non-transactional-in-transaction"],
            UP,
            None,
            TxMode::Transaction,
            Dialect::Postgres
        ));
    }

    #[test]
    fn quiet_when_the_migration_runs_outside_a_transaction() {
        assert_eq!(
            lint(
                &["non-transactional-in-transaction"],
                UP,
                None,
                TxMode::NoTransaction,
                Dialect::Postgres
            ),
            ""
        );
    }
}
