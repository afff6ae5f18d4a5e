//! `idempotency` (off by default): CREATE without IF NOT EXISTS.

use super::StrataRule;
use crate::{Context, Hit, Level, Section};
use strata_sql::{Change, ObjectKind};

pub(crate) const RULE: StrataRule = StrataRule {
    name: "idempotency",
    default_level: Level::Off,
    summary: "CREATE TABLE/INDEX/SCHEMA/... without IF NOT EXISTS (off by default).",
    doc: r#"
Catches CREATE statements without IF NOT EXISTS (tables, indexes, sequences,
schemas, extensions, views as CREATE OR REPLACE), for teams whose migrations
must survive being run twice: a half-applied migration outside a
transaction, a hand-made hotfix that got there first.

Locks: none beyond the statement's own; a second run fails instead of
changing anything.

The safe way: write `CREATE TABLE IF NOT EXISTS`, `CREATE INDEX IF NOT
EXISTS`, `CREATE OR REPLACE VIEW`. Off by default, since strata's history
already makes each migration run once; turn it on with
`[lint] rules = { idempotency = "warning" }`.
"#,
    check,
};

fn check(cx: &Context<'_>, out: &mut Vec<Hit>) {
    let sql = cx.up_sql();
    for st in &cx.up {
        let text = &sql[st.token_offset..st.offset + st.sql.len()];
        let upper = text.to_ascii_uppercase();
        let guarded = upper.contains("IF NOT EXISTS") || upper.contains("OR REPLACE");
        for change in strata_sql::changes(st, sql, cx.dialect) {
            let Change::Create { kind, .. } = change else {
                continue;
            };
            let can_guard = !matches!(
                kind,
                ObjectKind::Trigger | ObjectKind::Policy | ObjectKind::Type
            ) || (kind == ObjectKind::Trigger
                && cx.dialect != strata_sql::Dialect::Postgres);
            if !guarded && can_guard {
                let fix = match kind {
                    ObjectKind::View | ObjectKind::Function | ObjectKind::Procedure => {
                        "CREATE OR REPLACE"
                    }
                    _ => "IF NOT EXISTS",
                };
                out.push(Hit {
                    section: Section::Up,
                    range: Context::span(st),
                    message: format!("CREATE {} fails when it already exists", kind.sql()),
                    help: Some(format!("write {fix} so a second run changes nothing")),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::lint;
    use strata_model::TxMode;
    use strata_sql::Dialect;

    #[test]
    fn flags_unguarded_creates() {
        let up = "CREATE TABLE a (x int);\nCREATE TABLE IF NOT EXISTS b (x int);\nCREATE INDEX a_x ON a (x);\nCREATE OR REPLACE VIEW v AS SELECT 1;\nCREATE VIEW w AS SELECT 1;\n";
        insta::assert_snapshot!(lint(
            &["idempotency"],
            up,
            None,
            TxMode::Transaction,
            Dialect::Postgres
        ));
    }
}
