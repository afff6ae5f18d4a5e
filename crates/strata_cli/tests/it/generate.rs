//! `strata generate NAME --from STATE`: a migration written from a desired
//! state. Its up makes what the migrations build equal the state, and its
//! down brings it back (`strata test` passes on it), on the three engines.

use std::path::Path;
use strata_test_support::{TempProject, TestDb, mask_volatile};

use crate::BIN;

/// The files a source's folder holds, with their text, by name.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

/// From a directory of SQL: the migration written makes the replayed
/// migrations equal the directory's schema, and `strata test` proves its
/// down; run again, there is nothing to do (no file, exit 0).
#[test]
fn generate_reaches_the_desired_state_and_its_down_comes_back() {
    for db in [TestDb::sqlite(), TestDb::postgres(), TestDb::mysql()]
        .into_iter()
        .flatten()
    {
        let p = TempProject::new();
        p.write(
            "migrations/1_users.sql",
            "-- strata:up\nCREATE TABLE users (id int PRIMARY KEY, email varchar(100), legacy varchar(20));\n-- strata:down\nDROP TABLE users;\n",
        );
        p.write(
            "schema/1_tables.sql",
            "CREATE TABLE users (id int PRIMARY KEY, email varchar(100) NOT NULL, name varchar(50));\nCREATE TABLE orders (id int PRIMARY KEY, user_id int, total decimal(10, 2), FOREIGN KEY (user_id) REFERENCES users (id));\n",
        );
        p.write(
            "schema/2_views.sql",
            "CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;\n",
        );
        let bin = Path::new(BIN);
        let run = db.run(
            bin,
            &p.dir,
            &["generate", "reach_schema", "--from", "schema"],
        );
        assert_eq!(run.code, 0, "{}: {}", db.engine(), run.all());
        let written = files(&p.path("migrations"));
        assert_eq!(written.len(), 2, "{written:?}");
        assert!(written[1].0.ends_with("_reach_schema.sql"), "{written:?}");
        // Marked (SQLite rebuilds the table without the column).
        let text = &written[1].1;
        let marked = text
            .lines()
            .any(|l| l.starts_with("-- DESTRUCTIVE:") && l.contains("legacy"));
        assert!(marked, "{text}");
        let same = db.run(bin, &p.dir, &["schema", "diff", "migrations", "schema"]);
        assert_eq!(same.code, 0, "{}: {}", db.engine(), same.all());
        let test = db.run(bin, &p.dir, &["test"]);
        assert_eq!(test.code, 0, "{}: {}", db.engine(), test.all());
        assert!(
            test.stdout.contains("reach_schema: reversible"),
            "{}",
            test.all()
        );

        let again = db.run(bin, &p.dir, &["generate", "more", "--from", "schema"]);
        assert_eq!(again.code, 0, "{}", again.all());
        insta::assert_snapshot!(format!("generate_nothing_{}", db.engine()), again.all());
        assert_eq!(files(&p.path("migrations")).len(), 2);
    }
}

/// On PostgreSQL an index added to a table that exists already is built
/// concurrently, in a migration of its own that runs outside a
/// transaction; the rest goes in the first. Both pass `strata test`.
#[test]
fn a_new_index_on_an_existing_table_is_built_concurrently_on_its_own() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write(
        "migrations/1_users.sql",
        "-- strata:up\nCREATE TABLE users (id int PRIMARY KEY, email text);\n-- strata:down\nDROP TABLE users;\n",
    );
    p.write(
        "schema.sql",
        "CREATE TABLE users (id int PRIMARY KEY, email text);\nCREATE UNIQUE INDEX users_email ON users (email);\nCREATE TABLE tags (id int PRIMARY KEY, label text);\nCREATE INDEX tags_label ON tags (label);\n",
    );
    let bin = Path::new(BIN);
    let run = db.run(
        bin,
        &p.dir,
        &["generate", "add_lookups", "--from", "schema.sql"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let written = files(&p.path("migrations"));
    assert_eq!(written.len(), 3, "{written:?}");
    let stamp = |name: &str| name.split('_').next().unwrap_or_default().to_string();
    let shown: String = written[1..]
        .iter()
        .map(|(name, text)| format!("== {}\n{text}", name.replacen(&stamp(name), "[version]", 1)))
        .collect();
    insta::assert_snapshot!("generate_concurrently_postgres", shown);
    let test = db.run(bin, &p.dir, &["test"]);
    assert_eq!(test.code, 0, "{}", test.all());
    let up = db.run(bin, &p.dir, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    let same = db.run(bin, &p.dir, &["schema", "diff", "schema.sql", &db.url()]);
    assert_eq!(same.code, 0, "{}", same.all());
}

/// From a development database changed by hand (`env:dev`): what was
/// changed there becomes a migration, in a dbmate source's own layout.
#[test]
fn generate_captures_what_was_changed_by_hand_on_a_dev_database() {
    for (db, dev) in [
        (TestDb::sqlite(), TestDb::sqlite()),
        (TestDb::postgres(), TestDb::postgres()),
        (TestDb::mysql(), TestDb::mysql()),
    ] {
        let (Some(db), Some(dev)) = (db, dev) else {
            continue;
        };
        let p = TempProject::new();
        p.write(
            "strata.toml",
            &format!(
                "[[source]]\nname = \"db\"\npath = \"db/migrations\"\nformat = \"dbmate\"\n\n[env.dev]\nurl = \"{}\"\n",
                dev.url()
            ),
        );
        p.write(
            "db/migrations/20240101000000_items.sql",
            "-- migrate:up\nCREATE TABLE items (id int PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE items;\n",
        );
        let bin = Path::new(BIN);
        let up = strata_test_support::run_in(bin, &p.dir, &["up", "--env", "dev", "-q"], &[]);
        assert_eq!(up.code, 0, "{}", up.all());
        dev.execute("ALTER TABLE items ADD COLUMN label varchar(40)");
        let run = db.run(
            bin,
            &p.dir,
            &["generate", "items_label", "--from", "env:dev"],
        );
        assert_eq!(run.code, 0, "{}: {}", db.engine(), run.all());
        let written = files(&p.path("db/migrations"));
        assert_eq!(written.len(), 2, "{written:?}");
        let text = &written[1].1;
        assert!(
            text.starts_with("-- migrate:up") && text.contains("\n-- migrate:down"),
            "{text}"
        );
        assert!(text.contains("label"), "{text}");
        let same = db.run(bin, &p.dir, &["schema", "diff", "migrations", "env:dev"]);
        assert_eq!(same.code, 0, "{}: {}", db.engine(), same.all());
        let test = db.run(bin, &p.dir, &["test"]);
        assert_eq!(test.code, 0, "{}: {}", db.engine(), test.all());
    }
}

/// A Supabase source has no downs: the migration is written without one,
/// and the user is told; `--from migrations` is refused.
#[test]
fn generate_into_supabase_says_the_down_is_not_kept() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"supabase\"\npath = \"supabase/migrations\"\nformat = \"supabase\"\n",
    );
    p.write(
        "supabase/migrations/20240101000000_items.sql",
        "CREATE TABLE items (id int PRIMARY KEY);\n",
    );
    p.write(
        "desired.sql",
        "CREATE TABLE items (id int PRIMARY KEY, label text);\n",
    );
    let bin = Path::new(BIN);
    let run = db.run(bin, &p.dir, &["generate", "label", "--from", "desired.sql"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("supabase migrations have no down"),
        "{}",
        run.all()
    );
    let refused = db.run(bin, &p.dir, &["generate", "x", "--from", "migrations"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    insta::assert_snapshot!("generate_from_migrations", mask_volatile(&refused.all()));
}

/// A database of another engine is no desired state for this project.
#[test]
fn generate_refuses_a_database_of_another_engine() {
    let (Some(db), Some(other)) = (TestDb::postgres(), TestDb::mysql()) else {
        return;
    };
    let p = TempProject::new();
    p.write(
        "migrations/1_a.sql",
        "-- strata:up\nCREATE TABLE a (id int PRIMARY KEY);\n",
    );
    let run = db.run(
        Path::new(BIN),
        &p.dir,
        &["generate", "x", "--from", &other.url()],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("of the same engine"), "{}", run.all());
    assert_eq!(files(&p.path("migrations")).len(), 1);
}
