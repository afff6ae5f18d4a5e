//! `strata squash`: a long history becomes one baseline, proven object by
//! object (and row by row for the data carried); databases that ran the
//! old history go on as if nothing happened, a fresh one from the baseline
//! is identical, one that ran part of it is refused; `--undo` brings the
//! files back.

use std::path::Path;
use strata_test_support::{TempProject, TestDb, run_in};

use crate::BIN;

/// Fourteen migrations with trial and error: functions, a trigger, RLS
/// and a policy, grants, a view, CASCADE foreign keys, an enum, reference
/// data written and then changed; a fifteenth after them.
const HISTORY: &[(&str, &str)] = &[
    (
        "01_users",
        "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz DEFAULT now());",
    ),
    (
        "02_roles",
        "CREATE TABLE roles (id int PRIMARY KEY, name text NOT NULL);\nINSERT INTO roles VALUES (1, 'admin'), (2, 'member');",
    ),
    (
        "03_user_roles",
        "CREATE TABLE user_roles (user_id int REFERENCES users (id) ON DELETE CASCADE, role_id int REFERENCES roles (id), PRIMARY KEY (user_id, role_id));",
    ),
    (
        "04_posts",
        "CREATE TABLE posts (id bigserial PRIMARY KEY, author_id int NOT NULL REFERENCES users (id) ON DELETE CASCADE, title text, body text);",
    ),
    ("05_tmp", "CREATE TABLE tmp_import (x int);"),
    ("06_drop_tmp", "DROP TABLE tmp_import;"),
    (
        "07_touch",
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;",
    ),
    (
        "08_updated",
        "ALTER TABLE posts ADD COLUMN updated_at timestamptz;\nCREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch();",
    ),
    (
        "09_rls",
        "ALTER TABLE posts ENABLE ROW LEVEL SECURITY;\nCREATE POLICY own_posts ON posts USING (author_id = current_setting('app.user_id', true)::int);",
    ),
    (
        "10_view",
        "CREATE VIEW recent_posts AS SELECT id, title FROM posts WHERE updated_at > now() - interval '7 days';",
    ),
    (
        "11_grants",
        "GRANT SELECT ON recent_posts TO PUBLIC;\nGRANT SELECT, INSERT ON posts TO PUBLIC;",
    ),
    (
        "12_statuses",
        "CREATE TYPE post_status AS ENUM ('draft', 'published');\nALTER TABLE posts ADD COLUMN status post_status DEFAULT 'draft';",
    ),
    (
        "13_more_roles",
        "INSERT INTO roles VALUES (3, 'editor');\nUPDATE roles SET name = 'administrator' WHERE id = 1;",
    ),
    (
        "14_index",
        "CREATE INDEX posts_author ON posts (author_id);",
    ),
    ("15_after", "ALTER TABLE users ADD COLUMN name text;"),
];

fn history_project() -> TempProject {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\nformat = \"strata\"\n",
    );
    for (name, sql) in HISTORY {
        p.write(
            &format!("migrations/{name}.sql"),
            &format!("-- strata:up\n{sql}\n"),
        );
    }
    p
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn squash_fourteen_migrations_with_proof_and_existing_databases_go_on() {
    let (Some(old), Some(part), Some(fresh), Some(scratch)) = (
        TestDb::postgres(),
        TestDb::postgres(),
        TestDb::postgres(),
        TestDb::postgres(),
    ) else {
        return;
    };
    let p = history_project();
    let bin = Path::new(BIN);
    let before = names(&p.path("migrations"));
    let up = old.run(bin, &p.dir, &["up", "-q", "--to", "14"]);
    assert_eq!(up.code, 0, "{}", up.all());
    let up = part.run(bin, &p.dir, &["up", "-q", "--to", "05"]);
    assert_eq!(up.code, 0, "{}", up.all());

    p.write(
        "strata.toml",
        &format!(
            "[[source]]\nname = \"app\"\npath = \"migrations\"\nformat = \"strata\"\n\n[env.production]\nurl = \"{}\"\n\n[env.staging]\nurl = \"{}\"\n",
            old.url(),
            part.url()
        ),
    );
    // Compared with an environment only where it stands at the version.
    let behind = scratch.run(
        bin,
        &p.dir,
        &["squash", "--to", "14", "--check-env", "staging"],
    );
    assert_eq!(behind.code, 2, "{}", behind.all());
    assert!(
        behind.stderr.contains("not applied: app/06"),
        "{}",
        behind.all()
    );
    assert_eq!(names(&p.path("migrations")), before);
    let run = scratch.run(
        bin,
        &p.dir,
        &["squash", "--to", "14", "--check-env", "production"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    insta::assert_snapshot!("squash_postgres", run.stdout.replace(&old.url(), "[db]"));
    assert_eq!(
        names(&p.path("migrations")),
        ["14_baseline.sql", "15_after.sql"]
    );
    let archived = names(&p.path("migrations_archive"));
    assert_eq!(archived.len(), 16, "{archived:?}");
    assert!(archived.contains(&"SQUASHED.md".to_string()));

    // A database that ran all fourteen: only the fifteenth is pending, and
    // it applies.
    let status = old.run(bin, &p.dir, &["status", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    let states: Vec<(String, String)> = value["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["version"].as_str().unwrap().to_string(),
                m["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("14".to_string(), "applied".to_string()),
            ("15".to_string(), "pending".to_string())
        ],
        "{value}"
    );
    let up = old.run(bin, &p.dir, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(up.stdout.contains("Applied 1 migration"), "{}", up.all());
    // An empty database runs the baseline: identical to the old history.
    let up = fresh.run(bin, &p.dir, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    let same = old.run(bin, &p.dir, &["schema", "diff", &old.url(), &fresh.url()]);
    assert_eq!(same.code, 0, "{}", same.all());
    assert_eq!(
        fresh.query("SELECT name FROM roles ORDER BY id"),
        ["administrator", "member", "editor"]
    );
    // Built from the baseline, it goes on as well.
    let status = fresh.run(bin, &p.dir, &["status", "--check"]);
    assert_eq!(status.code, 0, "{}", status.all());
    // One that ran five of them is refused, saying what to do.
    let refused = part.run(bin, &p.dir, &["up"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused
            .stderr
            .contains("5 of the 14 migrations of source app squashed into 14"),
        "{}",
        refused.all()
    );

    // Squashed again, the first baseline with it: the old database still
    // goes on.
    p.write(
        "migrations/16_more.sql",
        "-- strata:up\nALTER TABLE posts ADD COLUMN views int DEFAULT 0;\n",
    );
    let again = scratch.run(bin, &p.dir, &["squash", "--to", "15", "--name", "second"]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert_eq!(
        names(&p.path("migrations")),
        ["15_second.sql", "16_more.sql"]
    );
    let up = old.run(bin, &p.dir, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(up.stdout.contains("Applied 1 migration"), "{}", up.all());
    let status = old.run(bin, &p.dir, &["status", "--check"]);
    assert_eq!(status.code, 0, "{}", status.all());

    // Undone twice: the files as before, the archive gone, the old
    // database with nothing pending.
    for _ in 0..2 {
        let undo = scratch.run(bin, &p.dir, &["squash", "--undo"]);
        assert_eq!(undo.code, 0, "{}", undo.all());
    }
    let mut now = before.clone();
    now.push("16_more.sql".to_string());
    assert_eq!(names(&p.path("migrations")), now);
    // Only the record of what was undone stays.
    assert_eq!(names(&p.path("migrations_archive")), ["squash.toml"]);
    let status = old.run(bin, &p.dir, &["status"]);
    assert!(
        status
            .stdout
            .contains("16 applied, 0 pending, 0 need attention"),
        "{}",
        status.all()
    );
    // The database built from the first baseline is told what happened.
    let refused = fresh.run(bin, &p.dir, &["status"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused
            .stderr
            .contains("was built from the baseline 14 baseline of a squash that was undone"),
        "{}",
        refused.all()
    );
}

/// A data statement that depends on a state the history passed through
/// (a column dropped later) is refused, naming it, and nothing is
/// written; `--drop-data` leaves it out and says so.
#[test]
fn data_that_cannot_be_carried_is_refused_unless_dropped() {
    for db in [TestDb::sqlite(), TestDb::postgres(), TestDb::mysql()]
        .into_iter()
        .flatten()
    {
        let p = TempProject::new();
        p.write(
            "migrations/1_items.sql",
            "-- strata:up\nCREATE TABLE items (id int PRIMARY KEY, code varchar(10), legacy int);\nINSERT INTO items (id, code, legacy) VALUES (1, 'a', 7);\n",
        );
        p.write(
            "migrations/2_drop_legacy.sql",
            "-- strata:up\nALTER TABLE items DROP COLUMN legacy;\n",
        );
        let bin = Path::new(BIN);
        let run = db.run(bin, &p.dir, &["squash", "--to", "2"]);
        assert_eq!(run.code, 2, "{}: {}", db.engine(), run.all());
        assert!(
            run.stderr.contains("migrations/1_items.sql:3"),
            "{}",
            run.all()
        );
        assert_eq!(
            names(&p.path("migrations")),
            ["1_items.sql", "2_drop_legacy.sql"]
        );
        let dropped = db.run(
            bin,
            &p.dir,
            &["squash", "--to", "2", "--drop-data", "--format", "json"],
        );
        assert_eq!(dropped.code, 0, "{}: {}", db.engine(), dropped.all());
        let value: serde_json::Value = serde_json::from_str(&dropped.stdout).expect("JSON");
        assert_eq!(value["dropped"][0]["location"], "migrations/1_items.sql:3");
        assert_eq!(names(&p.path("migrations")), ["2_baseline.sql"]);
        // The baseline builds what the history built.
        let up = db.run(bin, &p.dir, &["up", "-q"]);
        assert_eq!(up.code, 0, "{}", up.all());
        assert!(db.has_table("items"));
    }
}

/// The Supabase layout with `keep_foreign_history`: after the squash, a
/// run leaves the Supabase CLI's own history with the baseline's row in
/// place of the squashed ones; after `--undo`, a run writes them back.
#[test]
fn supabase_history_follows_the_squash_and_its_undo() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"supabase\"\npath = \"supabase/migrations\"\nformat = \"supabase\"\nkeep_foreign_history = true\n",
    );
    p.write(
        "supabase/migrations/20240101000000_a.sql",
        "CREATE TABLE a (id int PRIMARY KEY);\n",
    );
    p.write(
        "supabase/migrations/20240102000000_b.sql",
        "CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a (id) ON DELETE CASCADE);\nINSERT INTO a VALUES (1);\n",
    );
    p.write(
        "supabase/migrations/20240103000000_c.sql",
        "ALTER TABLE b ADD COLUMN note text;\n",
    );
    p.write(
        "supabase/migrations/20240104000000_d.sql",
        "CREATE INDEX b_note ON b (note);\n",
    );
    let bin = Path::new(BIN);
    let supabase = || {
        db.query("SELECT version || ' ' || name FROM supabase_migrations.schema_migrations ORDER BY version")
    };
    let up = db.run(bin, &p.dir, &["up", "-q"]);
    assert_eq!(up.code, 0, "{}", up.all());
    let squash = db.run(
        bin,
        &p.dir,
        &["squash", "--to", "20240103000000", "--name", "squashed"],
    );
    assert_eq!(squash.code, 0, "{}", squash.all());
    let up = db.run(bin, &p.dir, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert_eq!(supabase(), ["20240103000000 squashed", "20240104000000 d"]);
    // The Supabase CLI's own schema is not the application's: a database
    // where the CLI made it already runs the baseline.
    let baseline =
        std::fs::read_to_string(p.path("supabase/migrations/20240103000000_squashed.sql")).unwrap();
    assert!(!baseline.contains("supabase_migrations"), "{baseline}");
    if let Some(fresh) = TestDb::postgres() {
        fresh.execute("CREATE SCHEMA supabase_migrations; CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);");
        let up = fresh.run(bin, &p.dir, &["up"]);
        assert_eq!(up.code, 0, "{}", up.all());
    }
    let undo = db.run(bin, &p.dir, &["squash", "--undo"]);
    assert_eq!(undo.code, 0, "{}", undo.all());
    let up = db.run(bin, &p.dir, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert_eq!(
        supabase(),
        [
            "20240101000000 a",
            "20240102000000 b",
            "20240103000000 c",
            "20240104000000 d"
        ]
    );
    let check = run_in(
        bin,
        &p.dir,
        &["status", "--check", "--database-url", &db.url()],
        &[],
    );
    assert_eq!(check.code, 0, "{}", check.all());
}

/// A squash stopped half way (its record written, some files moved, no
/// baseline yet) is undone by `strata squash --undo`: every file back.
#[test]
fn a_squash_stopped_half_way_is_undone() {
    let Some(db) = TestDb::sqlite() else { return };
    let p = TempProject::new();
    for (name, sql) in [
        ("1_a", "CREATE TABLE a (id int PRIMARY KEY);"),
        ("2_b", "CREATE TABLE b (id int PRIMARY KEY);"),
        ("3_c", "CREATE TABLE c (id int PRIMARY KEY);"),
    ] {
        p.write(
            &format!("migrations/{name}.sql"),
            &format!("-- strata:up\n{sql}\n"),
        );
    }
    let bin = Path::new(BIN);
    let before = names(&p.path("migrations"));
    let squash = db.run(bin, &p.dir, &["squash", "--to", "3"]);
    assert_eq!(squash.code, 0, "{}", squash.all());
    // As if stopped after moving the first file: the others not moved,
    // no baseline written.
    std::fs::remove_file(p.path("migrations/3_baseline.sql")).unwrap();
    for name in ["2_b.sql", "3_c.sql"] {
        std::fs::rename(
            p.path(&format!("migrations_archive/{name}")),
            p.path(&format!("migrations/{name}")),
        )
        .unwrap();
    }
    let undo = db.run(bin, &p.dir, &["squash", "--undo"]);
    assert_eq!(undo.code, 0, "{}", undo.all());
    assert_eq!(names(&p.path("migrations")), before);
    // Only the record of what was undone stays.
    assert_eq!(names(&p.path("migrations_archive")), ["squash.toml"]);
}

/// What the baseline could not hold is refused, never dropped in silence:
/// rows a DO block wrote (every table's rows are compared, leaving out
/// columns whose default differs from run to run), objects the schema
/// model does not read (an aggregate).
#[test]
fn what_the_baseline_would_lose_is_refused() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write(
        "migrations/1_settings.sql",
        "-- strata:up\nCREATE TABLE settings (k text PRIMARY KEY, v text, at timestamptz DEFAULT now());\nINSERT INTO settings (k, v) VALUES ('theme', 'dark');\n",
    );
    p.write(
        "migrations/2_more.sql",
        "-- strata:up\nDO $$ BEGIN INSERT INTO settings (k, v) VALUES ('mode', 'live'); END $$;\n",
    );
    let bin = Path::new(BIN);
    let run = db.run(bin, &p.dir, &["squash", "--to", "2"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains(
            "table settings: 2 row(s) after the history, 1 after the baseline (written by what strata does not carry: a DO block at migrations/2_more.sql:2)"
        ),
        "{}",
        run.all()
    );
    // Left out on request, and said so: the rows differ.
    let dropped = db.run(
        bin,
        &p.dir,
        &["squash", "--to", "2", "--drop-data", "--format", "json"],
    );
    assert_eq!(dropped.code, 0, "{}", dropped.all());
    let value: serde_json::Value = serde_json::from_str(&dropped.stdout).expect("JSON");
    assert_eq!(
        value["data_differs"][0],
        "table settings: 2 row(s) after the history, 1 after the baseline",
        "{value}"
    );
    let undo = db.run(bin, &p.dir, &["squash", "--undo"]);
    assert_eq!(undo.code, 0, "{}", undo.all());

    // Without the DO block, the row with a now() default is carried.
    p.write(
        "migrations/2_more.sql",
        "-- strata:up\nCREATE AGGREGATE total(numeric) (SFUNC = numeric_add, STYPE = numeric, INITCOND = '0');\n",
    );
    let run = db.run(bin, &p.dir, &["squash", "--to", "2"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("migrations/2_more.sql:2: an aggregate"),
        "{}",
        run.all()
    );
    p.write(
        "migrations/2_more.sql",
        "-- strata:up\nCREATE INDEX settings_v ON settings (v);\n",
    );
    let run = db.run(bin, &p.dir, &["squash", "--to", "2"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("rows of settings identical"),
        "{}",
        run.all()
    );
}

/// More that the schema model does not read is refused, by place: a
/// revoked routine privilege, table inheritance, a trigger on a view.
#[test]
fn unread_table_and_privilege_forms_are_refused() {
    let Some(db) = TestDb::postgres() else { return };
    let bin = Path::new(BIN);
    for (sql, what) in [
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\nREVOKE EXECUTE ON FUNCTION f() FROM PUBLIC;",
            "migrations/2_more.sql:3: a privilege revoked",
        ),
        (
            "CREATE TABLE child (extra int) INHERITS (items);",
            "migrations/2_more.sql:2: table inheritance",
        ),
        (
            "ALTER TABLE items SET (fillfactor = 70);",
            "migrations/2_more.sql:2: a table's storage parameters",
        ),
    ] {
        let p = TempProject::new();
        p.write(
            "migrations/1_items.sql",
            "-- strata:up\nCREATE TABLE items (id int PRIMARY KEY);\n",
        );
        p.write("migrations/2_more.sql", &format!("-- strata:up\n{sql}\n"));
        let run = db.run(bin, &p.dir, &["squash", "--to", "2"]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(run.stderr.contains(what), "{what}: {}", run.all());
    }
}

/// A dbmate baseline has no down section (an empty one would roll back by
/// running nothing), and `strata test` passes it: a baseline has no down
/// by nature.
#[test]
fn a_baseline_has_no_down_and_passes_the_test() {
    let Some(db) = TestDb::sqlite() else { return };
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"db\"\npath = \"db/migrations\"\nformat = \"dbmate\"\n",
    );
    p.write(
        "db/migrations/20240101000000_a.sql",
        "-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE a;\n",
    );
    p.write(
        "db/migrations/20240102000000_b.sql",
        "-- migrate:up\nCREATE TABLE b (id int PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE b;\n",
    );
    let bin = Path::new(BIN);
    let squash = db.run(bin, &p.dir, &["squash", "--to", "20240102000000"]);
    assert_eq!(squash.code, 0, "{}", squash.all());
    let baseline =
        std::fs::read_to_string(p.path("db/migrations/20240102000000_baseline.sql")).unwrap();
    assert!(baseline.starts_with("-- migrate:up"), "{baseline}");
    assert!(!baseline.contains("-- migrate:down"), "{baseline}");
    let test = db.run(bin, &p.dir, &["test"]);
    assert_eq!(test.code, 0, "{}", test.all());
}
