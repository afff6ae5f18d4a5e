//! `missing-down`: a migration that cannot be reverted.

use super::StrataRule;
use crate::{Context, Hit, Level, Section};
use strata_model::MigrationKind;

pub(crate) const RULE: StrataRule = StrataRule {
    name: "missing-down",
    default_level: Level::Warning,
    summary: "A versioned migration without a down section (or with an empty one).",
    doc: r#"
Catches versioned migrations with no down (or a down holding only comments):
`strata down` cannot revert them, so a bad release has to be fixed forward
under pressure.

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
