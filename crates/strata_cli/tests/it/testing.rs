//! `strata test`: each migration's up, down and up again on a scratch
//! database, the schema compared at each step, on the three engines.

use std::path::Path;
use strata_test_support::{TempProject, TestDb, mask_volatile};

use crate::BIN;

/// A project whose migrations go wrong in each way `test` looks for: one
/// right, one whose down fails, one without a down, one whose down
/// forgets an index (last: its up cannot run again, so nothing after it
/// could be tested).
fn flawed_project(db: &TestDb) -> TempProject {
    let p = TempProject::new();
    p.write(
        "migrations/1_users.sql",
        "-- strata:up\nCREATE TABLE users (id int PRIMARY KEY, email varchar(100));\n-- strata:down\nDROP TABLE users;\n",
    );
    p.write(
        "migrations/2_tags.sql",
        "-- strata:up\nCREATE TABLE tags (id int PRIMARY KEY);\n-- strata:down\nDROP TABLE no_such_table;\n",
    );
    p.write(
        "migrations/3_admin.sql",
        "-- strata:up\nINSERT INTO users (id, email) VALUES (1, 'admin@example.com');\n",
    );
    let drop_index = match db.engine() {
        "mysql" => "DROP INDEX users_email ON users;",
        _ => "DROP INDEX users_email;",
    };
    p.write(
        "migrations/4_lookup.sql",
        &format!(
            "-- strata:up\nCREATE INDEX users_email ON users (email);\nCREATE INDEX users_email_id ON users (email, id);\n-- strata:down\n{drop_index}\n"
        ),
    );
    p
}

/// A down that fails, a missing down and a down that forgets an index are
/// each caught (exit 1), on the three engines; the human output, the JSON
/// and the JUnit file (parsed) say the same.
#[test]
fn test_catches_what_each_down_gets_wrong() {
    for db in [TestDb::sqlite(), TestDb::postgres(), TestDb::mysql()]
        .into_iter()
        .flatten()
    {
        let p = flawed_project(&db);
        let bin = Path::new(BIN);
        let run = db.run(bin, &p.dir, &["test", "--junit", "results.xml"]);
        assert_eq!(run.code, 1, "{}: {}", db.engine(), run.all());
        insta::assert_snapshot!(
            format!("test_flawed_{}", db.engine()),
            mask_volatile(&run.all())
        );
        // Nothing was applied to the database itself.
        assert!(!db.has_table("users"), "{}", db.engine());

        let json = db.run(bin, &p.dir, &["test", "--format", "json"]);
        assert_eq!(json.code, 1, "{}", json.all());
        let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
        let results: Vec<&str> = value["tested"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["result"].as_str().unwrap())
            .collect();
        assert_eq!(
            results,
            [
                "reversible",
                "down_fails",
                "irreversible",
                "down_leaves_difference"
            ],
            "{value}"
        );
        assert_eq!(value["failed"], 3, "{value}");
        // An index of its own, or (MySQL) a key of its table.
        let forgotten = &value["tested"][3]["differences"][0];
        assert!(forgotten.to_string().contains("users_email_id"), "{value}");

        let xml = std::fs::read_to_string(p.path("results.xml")).unwrap();
        let doc = roxmltree::Document::parse(&xml).expect("well-formed JUnit XML");
        let suite = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .expect("a testsuite");
        assert_eq!(suite.attribute("tests"), Some("4"), "{xml}");
        assert_eq!(suite.attribute("failures"), Some("3"), "{xml}");
        let cases: Vec<(String, Option<String>)> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .map(|c| {
                (
                    c.attribute("name").unwrap().to_string(),
                    c.children()
                        .find(|f| f.has_tag_name("failure"))
                        .and_then(|f| f.attribute("message"))
                        .map(str::to_string),
                )
            })
            .collect();
        assert_eq!(
            cases,
            [
                ("1 users".to_string(), None),
                ("2 tags".to_string(), Some("down fails".to_string())),
                ("3 admin".to_string(), Some("irreversible".to_string())),
                (
                    "4 lookup".to_string(),
                    Some("down leaves a difference".to_string())
                ),
            ],
            "{xml}"
        );
        let forgotten = suite
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .nth(2)
            .and_then(|f| f.text())
            .unwrap_or_default();
        assert!(forgotten.contains("users_email_id"), "{xml}");
    }
}

/// Seed data makes a migration that is right on an empty table fail: a
/// unique index over duplicates. The seed file named after migration 1
/// loads right after it; a plain seed file loads before the first
/// migration tested (`--from`).
#[test]
fn seeded_data_makes_a_migration_fail() {
    for db in [TestDb::sqlite(), TestDb::postgres(), TestDb::mysql()]
        .into_iter()
        .flatten()
    {
        let p = TempProject::new();
        p.write(
            "strata.toml",
            "[[source]]\nname = \"app\"\npath = \"migrations\"\nformat = \"strata\"\n\n[test]\nseed = \"test/seed\"\n",
        );
        p.write(
            "migrations/1_users.sql",
            "-- strata:up\nCREATE TABLE users (id int PRIMARY KEY, email varchar(100));\n-- strata:down\nDROP TABLE users;\n",
        );
        let on_users = if db.engine() == "mysql" {
            " ON users"
        } else {
            ""
        };
        p.write(
            "migrations/2_unique.sql",
            &format!("-- strata:up\nCREATE UNIQUE INDEX users_email ON users (email);\n-- strata:down\nDROP INDEX users_email{on_users};\n"),
        );
        p.write(
            "test/seed/1_users.sql",
            "INSERT INTO users (id, email) VALUES (1, 'a@example.com');\nINSERT INTO users (id, email) VALUES (2, 'a@example.com');\n",
        );
        let bin = Path::new(BIN);
        let run = db.run(bin, &p.dir, &["test", "--format", "json"]);
        assert_eq!(run.code, 1, "{}: {}", db.engine(), run.all());
        let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
        assert_eq!(value["seeded"][0], "test/seed/1_users.sql", "{value}");
        assert_eq!(value["tested"][0]["result"], "reversible", "{value}");
        assert_eq!(value["tested"][1]["result"], "up_fails", "{value}");
        assert_eq!(
            value["tested"][1]["location"], "migrations/2_unique.sql:2",
            "{value}"
        );

        // Without the duplicate, the same set passes.
        p.write(
            "test/seed/1_users.sql",
            "INSERT INTO users (id, email) VALUES (1, 'a@example.com');\n",
        );
        let pass = db.run(bin, &p.dir, &["test"]);
        assert_eq!(pass.code, 0, "{}: {}", db.engine(), pass.all());
        assert!(
            pass.stdout.contains("2 migrations passed"),
            "{}",
            pass.all()
        );
    }
}

/// A plain seed file loads before the first migration tested: with
/// `--from 2` after migration 1; a seed statement that does not apply is
/// an error naming its file and line (exit 2).
#[test]
fn a_seed_file_loads_before_the_first_migration_tested() {
    let Some(db) = TestDb::sqlite() else { return };
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\nformat = \"strata\"\n\n[test]\nseed = \"seed.sql\"\n",
    );
    p.write(
        "migrations/1_users.sql",
        "-- strata:up\nCREATE TABLE users (id int PRIMARY KEY, email text);\n-- strata:down\nDROP TABLE users;\n",
    );
    p.write(
        "migrations/2_unique.sql",
        "-- strata:up\nCREATE UNIQUE INDEX users_email ON users (email);\n-- strata:down\nDROP INDEX users_email;\n",
    );
    p.write(
        "seed.sql",
        "-- two people, one address\nINSERT INTO users VALUES (1, 'a@example.com');\nINSERT INTO users VALUES (2, 'a@example.com');\n",
    );
    let bin = Path::new(BIN);
    let from = db.run(bin, &p.dir, &["test", "--from", "2"]);
    assert_eq!(from.code, 1, "{}", from.all());
    insta::assert_snapshot!("test_seed_from", mask_volatile(&from.all()));

    let early = db.run(bin, &p.dir, &["test"]);
    assert_eq!(early.code, 2, "{}", early.all());
    insta::assert_snapshot!("test_seed_too_early", mask_volatile(&early.all()));
}

/// `--only-pending`: what the database applied is replayed untested, and
/// only what a branch adds is tested; `--allow-irreversible` lets a
/// migration without a down pass.
#[test]
fn only_pending_tests_what_a_branch_adds() {
    for db in [TestDb::sqlite(), TestDb::postgres(), TestDb::mysql()]
        .into_iter()
        .flatten()
    {
        let p = TempProject::new();
        p.write(
            "migrations/1_users.sql",
            "-- strata:up\nCREATE TABLE users (id int PRIMARY KEY);\nINSERT INTO users VALUES (1);\n",
        );
        let bin = Path::new(BIN);
        let up = db.run(bin, &p.dir, &["up", "-q"]);
        assert_eq!(up.code, 0, "{}", up.all());
        p.write(
            "migrations/2_names.sql",
            "-- strata:up\nALTER TABLE users ADD COLUMN name varchar(50);\n-- strata:down\nALTER TABLE users DROP COLUMN name;\n",
        );
        let run = db.run(bin, &p.dir, &["test", "--only-pending"]);
        assert_eq!(run.code, 0, "{}: {}", db.engine(), run.all());
        insta::assert_snapshot!(
            format!("test_only_pending_{}", db.engine()),
            mask_volatile(&run.all())
        );
        // The whole set: migration 1 has no down (none can be derived
        // from an INSERT).
        let all = db.run(bin, &p.dir, &["test"]);
        assert_eq!(all.code, 1, "{}", all.all());
        let allowed = db.run(bin, &p.dir, &["test", "--allow-irreversible"]);
        assert_eq!(allowed.code, 0, "{}", allowed.all());
        // The database itself is as it was: migration 2 is not applied.
        assert_eq!(db.query("SELECT count(*) FROM users"), ["1"]);
        let status = db.run(bin, &p.dir, &["status", "--check"]);
        assert_eq!(status.code, 1, "{}", status.all());
    }
}

/// On PostgreSQL a column dropped by the up comes back at the end: a note,
/// not a failure. A down that leaves the schema damaged (a view lost) does
/// not blame the migrations after it: they are tested on a new scratch
/// database.
#[test]
fn column_order_is_a_note_and_a_damaged_schema_is_not_tested_on() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write(
        "migrations/1_a.sql",
        "-- strata:up\nCREATE TABLE a (id int PRIMARY KEY, v text, w int);\nCREATE VIEW av AS SELECT id FROM a;\n-- strata:down\nDROP VIEW av;\nDROP TABLE a;\n",
    );
    p.write(
        "migrations/2_drop_v.sql",
        "-- strata:up\nALTER TABLE a DROP COLUMN v;\n-- strata:down\nALTER TABLE a ADD COLUMN v text;\n",
    );
    p.write(
        "migrations/3_x.sql",
        "-- strata:up\nALTER TABLE a ADD COLUMN x int;\n-- strata:down\nDROP TABLE a CASCADE;\nCREATE TABLE a (id int PRIMARY KEY, w int, v text);\n",
    );
    p.write(
        "migrations/4_view.sql",
        "-- strata:up\nCREATE VIEW av2 AS SELECT * FROM av;\n-- strata:down\nDROP VIEW av2;\n",
    );
    let run = db.run(Path::new(BIN), &p.dir, &["test", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let results: Vec<&str> = value["tested"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        [
            "reversible",
            "reversible",
            "down_leaves_difference",
            "reversible"
        ],
        "{value}"
    );
    assert!(
        value["tested"][1]["notes"][0]
            .as_str()
            .unwrap()
            .contains("columns come back in another order"),
        "{value}"
    );
    assert_eq!(run.code, 1, "{}", run.all());
}

/// In CI the project's database often does not exist yet: the scratch
/// database is made through the server's own (`postgres`, `mysql`).
#[test]
fn test_runs_before_the_project_database_exists() {
    for db in [TestDb::postgres(), TestDb::mysql()].into_iter().flatten() {
        let p = TempProject::new();
        p.write(
            "migrations/1_users.sql",
            "-- strata:up\nCREATE TABLE users (id int PRIMARY KEY);\n-- strata:down\nDROP TABLE users;\n",
        );
        let url = format!("{}_not_made", db.url());
        let run = strata_test_support::run_in(
            Path::new(BIN),
            &p.dir,
            &["test", "--database-url", &url],
            &[],
        );
        assert_eq!(run.code, 0, "{}: {}", db.engine(), run.all());
    }
}

/// A role is the server's, not the scratch database's: one a migration
/// creates is dropped after the test, so the test runs again (and a real
/// `strata up` can create it); one that existed before is left alone.
#[test]
fn roles_the_migrations_create_are_dropped_after_the_test() {
    let Some(db) = TestDb::postgres() else { return };
    let role = strata_test_support::unique_name("strata_role");
    let p = TempProject::new();
    p.write(
        "migrations/1_role.sql",
        &format!(
            "-- strata:up\nCREATE ROLE {role} NOLOGIN;\nCREATE TABLE t (id int);\nGRANT SELECT ON t TO {role};\n-- strata:down\nDROP TABLE t;\nDROP ROLE {role};\n"
        ),
    );
    let bin = Path::new(BIN);
    for _ in 0..2 {
        let run = db.run(bin, &p.dir, &["test"]);
        assert_eq!(run.code, 0, "{}", run.all());
        assert!(
            run.stdout.contains(&format!("role(s) {role}")),
            "{}",
            run.all()
        );
    }
    let left = db.query(&format!(
        "SELECT count(*) FROM pg_roles WHERE rolname = '{role}'"
    ));
    assert_eq!(left, ["0"]);
}
