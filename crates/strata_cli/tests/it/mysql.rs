//! MySQL and MariaDB: DDL commits as it runs, so migrations go statement by
//! statement with each completed statement recorded, a failure names the
//! statement, and the next `up` resumes after the last one that completed.

use std::path::Path;
use std::process::Child;
use strata_test_support::{Run, TempProject, TestDb, run_in, spawn_in, wait_for};

use crate::BIN;

fn strata(p: &TempProject, db: &TestDb, args: &[&str]) -> Run {
    db.run(Path::new(BIN), &p.dir, args)
}

fn ok(p: &TempProject, db: &TestDb, args: &[&str]) -> Run {
    let run = strata(p, db, args);
    assert_eq!(run.code, 0, "strata {args:?}:\n{}", run.all());
    run
}

fn json(p: &TempProject, db: &TestDb, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = ok(p, db, &all);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn state(p: &TempProject, db: &TestDb, version: &str) -> serde_json::Value {
    json(p, db, &["status"])["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["version"] == version)
        .cloned()
        .unwrap_or_else(|| panic!("no migration {version}"))
}

const THREE_TABLES: &str = "-- strata:up\nCREATE TABLE a (id INT);\nCREATE TABLE b (id INT);\nINSERT INTO missing VALUES (1);\nCREATE TABLE c (id INT);\n-- strata:down\nDROP TABLE c;\nDROP TABLE b;\nDROP TABLE a;\n";

#[test]
fn a_failure_names_the_statement_and_up_resumes_after_the_fix() {
    let Some(db) = TestDb::mysql() else { return };
    let p = TempProject::new();
    p.write(
        "migrations/1_users.sql",
        "-- strata:up\nCREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(200) NOT NULL);\n-- strata:down\nDROP TABLE users;\n",
    );
    p.write("migrations/2_three.sql", THREE_TABLES);

    let plan = strata(&p, &db, &["plan"]);
    assert!(
        plan.stderr.contains("2 (three) has 3 DDL statements"),
        "{}",
        plan.all()
    );
    let failed = strata(&p, &db, &["up"]);
    assert_eq!(failed.code, 2, "{}", failed.all());
    let text = failed.all();
    assert!(text.contains("migrations/2_three.sql:4"), "{text}");
    assert!(text.contains("statements 1-2 completed"), "{text}");
    assert!(db.has_table("a") && db.has_table("b") && !db.has_table("c"));

    let row = state(&p, &db, "2");
    assert_eq!(row["state"], "failed");
    let detail = row["detail"].as_str().unwrap();
    assert!(
        detail.contains("`strata up` resumes at statement 3"),
        "{detail}"
    );
    assert_eq!(
        db.query("SELECT statements_done FROM strata_history WHERE version = '2'"),
        vec!["2"]
    );

    // Editing a statement that already ran is caught.
    p.write(
        "migrations/2_three.sql",
        &THREE_TABLES.replace("CREATE TABLE b (id INT)", "CREATE TABLE b (id BIGINT)"),
    );
    let edited = strata(&p, &db, &["up"]);
    assert_eq!(edited.code, 2, "{}", edited.all());
    assert!(
        edited.all().contains("no longer the ones that ran"),
        "{}",
        edited.all()
    );

    // Fixing the failing statement resumes after the two that ran.
    p.write(
        "migrations/2_three.sql",
        &THREE_TABLES.replace("INSERT INTO missing", "INSERT INTO a"),
    );
    let resumed = ok(&p, &db, &["up"]);
    assert!(
        resumed
            .all()
            .contains("resuming app/2 three: statements 1-2 of 4"),
        "{}",
        resumed.all()
    );
    assert!(db.has_table("c"));
    assert_eq!(db.query("SELECT count(*) FROM a"), vec!["1"]);
    assert_eq!(state(&p, &db, "2")["state"], "applied");
    assert_eq!(
        db.query("SELECT action FROM strata_history_log WHERE version = '2' ORDER BY seq"),
        vec!["start", "fail", "start", "apply"]
    );
    let detail =
        db.query("SELECT detail FROM strata_history_log WHERE version = '2' AND action = 'apply'");
    assert!(
        detail[0].contains("resumed after statement 2 of 4"),
        "{detail:?}"
    );
}

#[test]
fn restart_runs_a_failed_migration_from_the_top() {
    let Some(db) = TestDb::mysql() else { return };
    let p = TempProject::new();
    p.write(
        "migrations/1_x.sql",
        "-- strata:up\nCREATE TABLE IF NOT EXISTS x (id INT);\nINSERT INTO x VALUES (1);\nINSERT INTO nope VALUES (1);\n",
    );
    assert_eq!(strata(&p, &db, &["up"]).code, 2);
    p.write(
        "migrations/1_x.sql",
        "-- strata:up\nCREATE TABLE IF NOT EXISTS x (id INT);\nINSERT INTO x VALUES (1);\nINSERT INTO x VALUES (2);\n",
    );
    ok(&p, &db, &["up", "--restart"]);
    assert_eq!(
        db.query("SELECT id FROM x ORDER BY id"),
        vec!["1", "1", "2"],
        "--restart ran the first statements again"
    );
}

#[test]
fn procedures_triggers_and_executable_comments_apply_down_and_redo() {
    let Some(db) = TestDb::mysql() else { return };
    let p = TempProject::new();
    p.write(
        "migrations/1_counts.sql",
        "-- strata:up\n/*!40101 SET @saved_cs = @@character_set_client */;\nCREATE TABLE items (id INT, n INT, `end` INT);\nDELIMITER $$\nCREATE TRIGGER items_n BEFORE INSERT ON items FOR EACH ROW\nBEGIN\n  IF NEW.n IS NULL THEN SET NEW.n = 1; END IF;\nEND$$\nCREATE PROCEDURE add_item(IN i INT)\nBEGIN\n  INSERT INTO items (id) VALUES (i);\n  INSERT INTO items (id) VALUES (i + 100);\nEND$$\nDELIMITER ;\nCALL add_item(1);\n-- strata:down\nDROP PROCEDURE add_item;\nDROP TABLE items;\n",
    );
    p.write(
        "migrations/2_more.sql",
        "-- strata:up\nALTER TABLE items ADD COLUMN note VARCHAR(20) DEFAULT 'it''s; fine';\n-- strata:down\nALTER TABLE items DROP COLUMN note;\n",
    );
    let up = ok(&p, &db, &["up"]);
    assert!(up.stdout.contains("Applied 2 migrations"), "{}", up.stdout);
    assert_eq!(db.query("SELECT sum(n) FROM items"), vec!["2"]);
    assert_eq!(
        db.query("SELECT DISTINCT note FROM items"),
        vec!["it's; fine"]
    );

    ok(&p, &db, &["redo"]);
    assert_eq!(state(&p, &db, "2")["state"], "applied");
    ok(&p, &db, &["down", "--steps", "2"]);
    assert!(!db.has_table("items"));
    assert_eq!(
        db.query(
            "SELECT count(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()"
        ),
        vec!["0"]
    );
    let check = strata(&p, &db, &["status", "--check"]);
    assert_eq!(check.code, 1, "pending migrations: {}", check.all());
    ok(&p, &db, &["up"]);
    assert_eq!(strata(&p, &db, &["status", "--check"]).code, 0);
}

#[test]
fn dry_run_shows_the_sql_and_executes_nothing() {
    let Some(db) = TestDb::mysql() else { return };
    let p = TempProject::new();
    p.write(
        "migrations/1_a.sql",
        "-- strata:up\nCREATE TABLE a (id INT);\n",
    );
    let run = ok(&p, &db, &["up", "--dry-run"]);
    assert!(
        run.stdout.contains("CREATE TABLE a (id INT);"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("nothing was executed"),
        "{}",
        run.stdout
    );
    assert!(!db.has_table("a") && !db.has_table("strata_history"));
}

#[test]
fn ten_concurrent_runs_apply_each_migration_once() {
    let Some(db) = TestDb::mysql() else { return };
    let p = TempProject::new();
    for v in 1..=5 {
        p.write(
            &format!("migrations/{v}_t.sql"),
            &format!("-- strata:up\nCREATE TABLE t{v} (id INT);\nINSERT INTO t{v} VALUES ({v});\n"),
        );
    }
    let url = db.url();
    let children: Vec<Child> = (0..10)
        .map(|_| {
            spawn_in(
                Path::new(BIN),
                &p.dir,
                &[
                    "up",
                    "--format",
                    "json",
                    "--lock-timeout",
                    "60s",
                    "--database-url",
                    &url,
                ],
            )
        })
        .collect();
    let mut applied = 0;
    for child in children {
        let run = Run::from_output(child.wait_with_output().unwrap());
        assert_eq!(run.code, 0, "{}", run.all());
        applied += run.stdout.matches("\"migration_finished\"").count();
    }
    assert_eq!(applied, 5);
    for v in 1..=5 {
        assert_eq!(db.query(&format!("SELECT count(*) FROM t{v}")), vec!["1"]);
    }
    assert_eq!(
        db.query("SELECT count(*) FROM strata_history_log WHERE action = 'apply'"),
        vec!["5"]
    );
}

#[test]
fn a_held_lock_names_its_holder_and_a_killed_run_resumes() {
    let Some(db) = TestDb::mysql() else { return };
    let p = TempProject::new();
    // Statements 3 and 4 wait until the test opens its gate.
    p.write(
        "migrations/1_slow.sql",
        &format!(
            "-- strata:up\nCREATE TABLE s1 (id INT);\nCREATE TABLE s2 (id INT);\n{}CREATE TABLE s3 (id INT);\n",
            db.gate_sql()
        ),
    );
    let gate = db.gate();
    let url = db.url();
    let mut child = spawn_in(Path::new(BIN), &p.dir, &["up", "--database-url", &url]);
    wait_for("two statements to complete", || {
        db.has_table("strata_history")
            && db.query("SELECT count(*) FROM strata_history WHERE statements_done = 2")
                == vec!["1"]
    });
    let waiting = strata(&p, &db, &["up", "--lock-timeout", "1s"]);
    assert_eq!(waiting.code, 2, "{}", waiting.all());
    assert!(
        waiting.all().contains("held by pid"),
        "the holder's connection is named: {}",
        waiting.all()
    );
    child.kill().unwrap();
    child.wait().unwrap();
    gate.open();

    // The killed run's connection ends once its wait does, and its lock
    // with it; the next run waits for that, then resumes at statement 3.
    let row = state(&p, &db, "1");
    assert_eq!(row["state"], "failed");
    assert!(
        row["detail"].as_str().unwrap().contains("interrupted"),
        "{row}"
    );
    let resumed = ok(&p, &db, &["up", "--lock-timeout", "30s"]);
    assert!(
        resumed.all().contains("statements 1-2 of 5 completed"),
        "{}",
        resumed.all()
    );
    assert!(db.has_table("s3"));
    assert_eq!(state(&p, &db, "1")["state"], "applied");
}

/// A source written for another engine is skipped, with a line saying so
/// (a repository may ship its migrations once per engine); named with
/// --source, it is refused.
#[test]
fn a_source_written_for_another_engine_is_skipped_or_refused_when_named() {
    let Some(db) = TestDb::mysql() else { return };
    let p = TempProject::new();
    p.write(
        "prisma/migrations/migration_lock.toml",
        "provider = \"postgresql\"\n",
    );
    p.write(
        "prisma/migrations/20240101000000_init/migration.sql",
        "CREATE TABLE \"User\" (id SERIAL PRIMARY KEY);\n",
    );
    let init = run_in(Path::new(BIN), &p.dir, &["init"], &[]);
    assert_eq!(init.code, 0, "{}", init.all());
    let run = strata(&p, &db, &["up"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains(
            "skipped: source `prisma` is written for postgres, and the database is mysql"
        ),
        "{}",
        run.all()
    );
    assert!(!db.has_table("User"));
    let named = strata(&p, &db, &["up", "--source", "prisma"]);
    assert_eq!(named.code, 2, "{}", named.all());
    assert!(
        named.all().contains("written for postgres"),
        "{}",
        named.all()
    );

    // And the reverse: a MySQL Flyway folder against PostgreSQL.
    let Some(pg) = TestDb::postgres() else { return };
    let q = TempProject::new();
    q.write(
        "db/migration/mysql/V1__init.sql",
        "CREATE TABLE a (id INT);\n",
    );
    let init = run_in(Path::new(BIN), &q.dir, &["init"], &[]);
    assert_eq!(init.code, 0, "{}", init.all());
    let config = std::fs::read_to_string(q.path("strata.toml")).unwrap();
    assert!(config.contains("engine = \"mysql\""), "{config}");
    let run = strata(&q, &pg, &["up", "--source", "flyway"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.all().contains("written for mysql"), "{}", run.all());
}

#[test]
fn bad_urls_and_passwords_stay_hidden() {
    let p = TempProject::new();
    p.write(
        "migrations/1_a.sql",
        "-- strata:up\nCREATE TABLE a (id INT);\n",
    );
    let run = run_in(
        Path::new(BIN),
        &p.dir,
        &["up", "--database-url", "mysql://root:hunter2@127.0.0.1:1/x"],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.all().contains("cannot connect"), "{}", run.all());
    assert!(!run.all().contains("hunter2"), "{}", run.all());
    let bad = run_in(
        Path::new(BIN),
        &p.dir,
        &[
            "up",
            "--database-url",
            "mariadb://root:hunter2@127.0.0.1/x?sslmode=maybe",
        ],
        &[],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.all().contains("sslmode `maybe`") && !bad.all().contains("hunter2"),
        "{}",
        bad.all()
    );
}
