//! `strata check` (and `doctor --integrity`): rows whose foreign key
//! reference is missing, NOT VALID checks that rows break, INVALID
//! indexes, sequences behind their column; nothing on a clean database.

use std::path::Path;
use strata_test_support::{TempProject, TestDb, mask_volatile};

use crate::BIN;

/// Every kind of finding on PostgreSQL, shown (snapshot) and in JSON; the
/// same database repaired has none.
#[test]
fn check_finds_what_breaks_integrity_on_postgres() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    let bin = Path::new(BIN);
    db.execute(
        "CREATE TABLE customers (id serial PRIMARY KEY, email text);
         CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int, qty int);
         INSERT INTO customers (email) VALUES ('a'), ('b');
         INSERT INTO orders (customer_id, qty) VALUES (1, 1), (7, 2), (8, -1), (NULL, 3);
         ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
         ALTER TABLE orders ADD CONSTRAINT qty_positive CHECK (qty > 0) NOT VALID;
         INSERT INTO customers (id, email) VALUES (10, 'c');
         CREATE TABLE secrets (k text);
         ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
         CREATE TABLE codes (v int);
         INSERT INTO codes VALUES (1), (1);",
    );
    assert!(
        db.try_execute("CREATE UNIQUE INDEX CONCURRENTLY codes_v ON codes (v)")
            .is_err()
    );
    let run = db.run(bin, &p.dir, &["check"]);
    assert_eq!(run.code, 1, "{}", run.all());
    insta::assert_snapshot!(
        "check_postgres",
        mask_volatile(&run.all().replace(&db.url(), "[db]"))
    );
    let json = db.run(bin, &p.dir, &["check", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(value["violations"], 4, "{value}");
    assert_eq!(value["warnings"], 1, "{value}");
    let orphans = &value["checks"][0];
    assert_eq!(orphans["rows"], 2, "{value}");
    assert_eq!(
        orphans["sample"],
        serde_json::json!(["customer_id=7", "customer_id=8"]),
        "{value}"
    );
    let doctor = db.run(bin, &p.dir, &["doctor", "--integrity"]);
    assert_eq!(doctor.code, 1, "{}", doctor.all());
    assert!(
        doctor
            .stdout
            .contains("integrity   sequence customers_id_seq"),
        "{}",
        doctor.all()
    );

    // Repaired: nothing to report, and the checks still ran.
    db.execute(
        "DELETE FROM orders WHERE customer_id IN (7, 8) OR qty <= 0;
         SELECT setval('customers_id_seq', 10);
         DROP INDEX codes_v;
         CREATE POLICY readers ON secrets FOR SELECT USING (true);",
    );
    let clean = db.run(bin, &p.dir, &["check", "--format", "json"]);
    assert_eq!(clean.code, 0, "{}", clean.all());
    let value: serde_json::Value = serde_json::from_str(&clean.stdout).expect("JSON");
    assert_eq!(value["violations"], 0, "{value}");
    assert_eq!(value["warnings"], 0, "{value}");
    assert_eq!(value["checks"].as_array().unwrap().len(), 4, "{value}");
    let doctor = db.run(bin, &p.dir, &["doctor", "--integrity"]);
    assert!(
        doctor
            .stdout
            .contains("4 objects checked: the data holds together"),
        "{}",
        doctor.all()
    );
}

/// Rows written while foreign keys were not enforced (SQLite's default,
/// MySQL's `foreign_key_checks = 0`) are found on the other engines too;
/// a database without such rows is clean.
#[test]
fn check_finds_orphans_on_sqlite_and_mysql() {
    for db in [TestDb::sqlite(), TestDb::mysql()].into_iter().flatten() {
        let p = TempProject::new();
        let bin = Path::new(BIN);
        db.execute(
            "CREATE TABLE parents (id int PRIMARY KEY);
             CREATE TABLE children (id int PRIMARY KEY, parent_id int,
                 CONSTRAINT children_parent FOREIGN KEY (parent_id) REFERENCES parents (id));
             INSERT INTO parents VALUES (1);",
        );
        let clean = db.run(bin, &p.dir, &["check"]);
        assert_eq!(clean.code, 0, "{}: {}", db.engine(), clean.all());
        db.execute(match db.engine() {
            "mysql" => "SET foreign_key_checks = 0; INSERT INTO children VALUES (1, 1), (2, 5), (3, NULL), (4, 6); SET foreign_key_checks = 1;",
            _ => "PRAGMA foreign_keys = OFF; INSERT INTO children VALUES (1, 1), (2, 5), (3, NULL), (4, 6);",
        });
        let run = db.run(bin, &p.dir, &["check"]);
        assert_eq!(run.code, 1, "{}: {}", db.engine(), run.all());
        insta::assert_snapshot!(
            format!("check_{}", db.engine()),
            mask_volatile(&run.all().replace(&db.url(), "[db]"))
        );
    }
}

/// A check that outlasts `--timeout` says so (a warning, exit 0) and the
/// others still run.
#[test]
fn a_check_that_outlasts_the_timeout_says_so() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    db.execute(
        "CREATE FUNCTION slow(i int) RETURNS boolean LANGUAGE sql AS $$ SELECT pg_sleep(2) IS NOT NULL $$;
         CREATE TABLE t (id int PRIMARY KEY, v int);
         INSERT INTO t VALUES (1, 1);
         ALTER TABLE t ADD CONSTRAINT v_slow CHECK (slow(v)) NOT VALID;
         CREATE TABLE u (id serial PRIMARY KEY);",
    );
    let run = db.run(
        Path::new(BIN),
        &p.dir,
        &["check", "--timeout", "200ms", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let checks = value["checks"].as_array().unwrap();
    assert_eq!(checks[0]["severity"], "warning", "{value}");
    assert!(
        checks[0]["message"]
            .as_str()
            .unwrap()
            .contains("statement timeout"),
        "{value}"
    );
    assert_eq!(checks[1]["check"], "sequence", "{value}");
    assert_eq!(checks[1]["severity"], "ok", "{value}");
}

/// However short `--timeout` is, the catalog is read: the row checks that
/// run out of time are warnings (exit 0). A SQLite file that is not there
/// is an error, not an empty database; a foreign key to a table that does
/// not exist is a violation that says so.
#[test]
fn short_timeouts_missing_files_and_missing_parents() {
    if let Some(db) = TestDb::postgres() {
        db.execute(
            "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int, p_id int REFERENCES p (id));",
        );
        let p = TempProject::new();
        let run = db.run(Path::new(BIN), &p.dir, &["check", "--timeout", "1ms"]);
        assert_eq!(run.code, 0, "{}", run.all());
    }
    let p = TempProject::new();
    let missing = strata_test_support::run_in(
        Path::new(BIN),
        &p.dir,
        &["check", "--database-url", "sqlite://nope.db"],
        &[],
    );
    assert_eq!(missing.code, 2, "{}", missing.all());
    assert!(
        missing.stderr.contains("there is no SQLite database at"),
        "{}",
        missing.all()
    );
    assert!(!p.path("nope.db").exists());

    let Some(db) = TestDb::sqlite() else { return };
    db.execute(
        "PRAGMA foreign_keys = OFF; CREATE TABLE orphan (id integer PRIMARY KEY, gid integer REFERENCES gone (id)); INSERT INTO orphan VALUES (1, 1);",
    );
    let run = db.run(Path::new(BIN), &p.dir, &["check", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        value["checks"][0]["message"], "(gid) references gone (id): gone does not exist",
        "{value}"
    );
}
