//! `missing-down`: a migration that cannot be reverted.

use super::StrataRule;
use crate::{Context, Hit, Level, Section};
use strata_model::MigrationKind;

pub(crate) const RULE: StrataRule = StrataRule {
    name: "missing-down",
    default_level: Level::Warning,
    summary: "A versioned migration without a down section (or with an empty one).",
    doc: r#"
Catches versioned migrations with no down: `strata down` cannot revert them,
so a bad release has to be fixed forward under pressure. A down that is there
but holds only comments is an empty down (reverting runs nothing, as in sqlx,
golang-migrate and diesel); it is flagged too, since the up's changes stay.

Locks: none; this is about the way back.

The safe way: write the down next to the up (`-- strata:down`), or let strata
derive one when every statement of the up is mechanically reversible
(`strata new --down auto`, or `strata down`, which shows a derived down and
asks for approval). If the change is deliberately one-way, say so with
`-- strata:allow missing-down` before the first statement, or turn the rule
off for sources whose tool has no downs.
"#,
    check,
};

fn check(cx: &Context<'_>, out: &mut Vec<Hit>) {
    if cx.migration.kind != MigrationKind::Versioned || !cx.down.is_empty() {
        return;
    }
    let Some(first) = cx.up.first() else { return };
    // A down that is there but holds only comments is an empty down:
    // reverting runs nothing (as sqlx, golang-migrate and diesel do).
    if cx.migration.down.is_some() {
        out.push(Hit {
            section: Section::Up,
            range: Context::span(first),
            message: "the down is empty: `strata down` will run nothing and record this migration as reverted".into(),
            help: Some("write the statements that undo the up, or mark a one-way change with `-- strata:allow missing-down`".into()),
        });
        return;
    }
    let generated = strata_sql::reverse(cx.up_sql(), cx.dialect).is_ok();
    out.push(Hit {
        section: Section::Up,
        range: Context::span(first),
        message: "this migration has no down: `strata down` cannot revert it".into(),
        help: Some(if generated {
            "write a `-- strata:down` section; every statement here is reversible, so `strata down` can derive one (after approval)".into()
        } else {
            "write a `-- strata:down` section, or mark a one-way change with `-- strata:allow missing-down`".into()
        }),
    });
}

#[cfg(test)]
mod tests {
    use crate::testing::lint;
    use strata_model::TxMode;
    use strata_sql::Dialect;

    #[test]
    fn flags_missing_and_blank_downs() {
        let up = "CREATE TABLE t (a int);\n";
        insta::assert_snapshot!(lint(
            &["missing-down"],
            up,
            None,
            TxMode::Transaction,
            Dialect::Sqlite
        ));
        insta::assert_snapshot!(
            "blank_down_irreversible_up",
            lint(
                &["missing-down"],
                "UPDATE t SET a = 1 WHERE a IS NULL;\n",
                Some("-- nothing\n"),
                TxMode::Transaction,
                Dialect::Sqlite
            )
        );
        assert_eq!(
            lint(
                &["missing-down"],
                up,
                Some("DROP TABLE t;\n"),
                TxMode::Transaction,
                Dialect::Sqlite
            ),
            ""
        );
    }
}
