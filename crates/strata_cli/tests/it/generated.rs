//! Downs derived from ups: `strata new --down auto`, and `strata down` on a
//! migration without a down, which shows the derived down and runs it only
//! once approved.

use std::path::Path;
use strata_test_support::{Run, TempProject, TestDb, engine_test, run_in};

use crate::BIN;

const UP: &str = "CREATE TABLE items (id integer PRIMARY KEY, label varchar(50));\nCREATE INDEX items_label ON items (label);\nALTER TABLE items ADD COLUMN price integer;\n";

engine_test!(new_down_auto_writes_a_working_down, |db: &TestDb| {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\n",
    );
    p.write("up.sql", UP);
    let run = db.run(
        Path::new(BIN),
        &p.dir,
        &["new", "add_items", "--up", "up.sql", "--down", "auto"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let file = std::fs::read_dir(p.path("migrations"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&file).unwrap();
    let expected_drop_index = if db.engine() == "mysql" {
        "DROP INDEX items_label ON items;"
    } else {
        "DROP INDEX items_label;"
    };
    assert!(
        text.contains(&format!(
            "-- strata:down\nALTER TABLE items DROP COLUMN price;\n{expected_drop_index}\nDROP TABLE items;\n"
        )),
        "{text}"
    );
    let up = db.run(Path::new(BIN), &p.dir, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(db.has_table("items"));
    let down = db.run(Path::new(BIN), &p.dir, &["down"]);
    assert_eq!(down.code, 0, "{}", down.all());
    assert!(!db.has_table("items"));
});

engine_test!(
    down_without_a_down_needs_approval_of_the_derived_one,
    |db: &TestDb| {
        let p = TempProject::new();
        p.write("migrations/1_items.sql", &format!("-- strata:up\n{UP}"));
        let strata = |args: &[&str]| -> Run { db.run(Path::new(BIN), &p.dir, args) };
        assert_eq!(strata(&["up"]).code, 0);

        // Not at a terminal, not approved: refused, the derived SQL shown,
        // nothing reverted.
        let refused = strata(&["down"]);
        assert_eq!(refused.code, 2, "{}", refused.all());
        assert!(
            refused
                .stderr
                .contains("strata derived this one from its up"),
            "{}",
            refused.stderr
        );
        assert!(
            refused.stderr.contains("    DROP TABLE items;"),
            "{}",
            refused.stderr
        );
        assert!(db.has_table("items"));
        let hash = refused
            .stderr
            .split("--approve ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("the message names the plan hash")
            .to_string();

        // A wrong hash is refused too.
        assert_eq!(strata(&["down", "--approve", "0123456789abcdef"]).code, 2);
        assert!(db.has_table("items"));

        let done = strata(&["down", "--approve", &hash]);
        assert_eq!(done.code, 0, "{}", done.all());
        assert!(!db.has_table("items"));
    }
);

#[test]
fn irreversible_ups_are_named_and_nothing_is_written() {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\nengine = \"postgres\"\n",
    );
    p.write(
        "up.sql",
        "CREATE TABLE t (a int);\nUPDATE t SET a = 1;\nALTER TABLE t ALTER COLUMN a TYPE bigint;\n",
    );
    let run = run_in(
        Path::new(BIN),
        &p.dir,
        &["new", "x", "--up", "up.sql", "--down", "auto"],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("up.sql:2: `UPDATE t SET` cannot be reversed mechanically"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("up.sql:3:"), "{}", run.stderr);
    assert!(
        !p.path("migrations").exists()
            || std::fs::read_dir(p.path("migrations"))
                .unwrap()
                .next()
                .is_none()
    );
    // --down needs --up.
    let run = run_in(Path::new(BIN), &p.dir, &["new", "x", "--down", "auto"], &[]);
    assert_eq!(run.code, 2, "{}", run.all());
}

// Regression (issue: derived downs dropped what the migration did not
// create): `CREATE TABLE IF NOT EXISTS items` found the table of an earlier
// migration, and `strata down` derived `DROP TABLE items`, losing its rows.
engine_test!(
    down_refuses_to_derive_a_drop_for_what_may_have_been_there,
    |db: &TestDb| {
        let p = TempProject::new();
        p.write(
            "migrations/1_items.sql",
            "-- strata:up\nCREATE TABLE items (id integer PRIMARY KEY);\nINSERT INTO items VALUES (1);\n-- strata:down\nDROP TABLE items;\n",
        );
        p.write(
            "migrations/2_ensure.sql",
            "-- strata:up\nCREATE TABLE IF NOT EXISTS items (id integer PRIMARY KEY);\nCREATE INDEX items_id ON items (id);\n",
        );
        let strata = |args: &[&str]| -> Run { db.run(Path::new(BIN), &p.dir, args) };
        assert_eq!(strata(&["up"]).code, 0);
        let refused = strata(&["down", "--steps", "1", "--yes"]);
        insta::assert_snapshot!(refused.shown(Some(db)));
        assert_eq!(db.query("SELECT count(*) FROM items"), ["1"]);

        // `new --down auto` does not write one either.
        p.write("up.sql", "CREATE OR REPLACE VIEW v AS SELECT 1 AS one;\n");
        let new = strata(&["new", "v", "--up", "up.sql", "--down", "auto"]);
        assert_eq!(new.code, 2, "{}", new.all());
        assert!(
            new.stderr.contains(
                "up.sql:1: `CREATE OR REPLACE VIEW v` may have replaced an earlier definition"
            ),
            "{}",
            new.stderr
        );
    }
);
