//! Crash recovery without a hand edit: a statement that was sent but whose
//! completion was not recorded is in doubt; strata resolves it from the
//! catalog where it can and otherwise asks the operator through `strata
//! repair --statement N --done|--not-done` (issue 10, items 9-11).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use strata_test_support::{Run, TempProject, TestDb, spawn_in, wait_for};

use crate::BIN;

fn strata(p: &TempProject, db: &TestDb, args: &[&str]) -> Run {
    db.run(Path::new(BIN), &p.dir, args)
}

/// Another session holding a transaction open (psql or mysql reading its
/// standard input), so a statement of strata's waits until it commits.
struct Blocker(std::process::Child);

impl Blocker {
    fn open(db: &TestDb, sql: &str) -> Blocker {
        let mut command = match db.engine() {
            "postgres" => {
                let mut c = Command::new("psql");
                c.arg(db.url()).args(["-q", "-t", "-A"]);
                c
            }
            _ => {
                let name = db
                    .url()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .split('?')
                    .next()
                    .unwrap()
                    .to_string();
                let mut c = Command::new("mariadb");
                c.args([
                    "--protocol=tcp",
                    "-h",
                    "127.0.0.1",
                    "-P",
                    "3306",
                    "-u",
                    "root",
                    "-N",
                    "--unbuffered",
                    &name,
                ]);
                c
            }
        };
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the database's command-line client runs");
        writeln!(child.stdin.as_mut().unwrap(), "{sql}\nSELECT 'ready';").unwrap();
        // Once it printed `ready`, the statements before it hold their locks.
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0
            && !line.contains("ready")
        {
            line.clear();
        }
        assert!(line.contains("ready"), "the blocking session did not start");
        Blocker(child)
    }

    fn commit(mut self) {
        writeln!(self.0.stdin.as_mut().unwrap(), "COMMIT;").unwrap();
        drop(self.0.stdin.take());
        self.0.wait().unwrap();
    }
}

/// Starts `strata up`, waits until `waiting` shows strata's statement is
/// blocked, kills strata with SIGKILL, lets the blocked statement finish on
/// the server, and returns.
fn kill_while_blocked(p: &TempProject, db: &TestDb, blocker: Blocker, waiting: &str) {
    let url = db.url();
    let mut child = spawn_in(Path::new(BIN), &p.dir, &["up", "--database-url", &url]);
    wait_for("strata's statement to wait", || {
        if let Ok(Some(_)) = child.try_wait() {
            let out = child.stdout.take().map(std::io::read_to_string);
            let err = child.stderr.take().map(std::io::read_to_string);
            panic!("strata ended before it was killed: {out:?} {err:?}");
        }
        db.query(waiting) != ["0"]
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // The server goes on with the statement of the killed client.
    blocker.commit();
}

/// Leaves the history as a run of `1_a.sql` (first statement `CREATE TABLE
/// a`, last `CREATE TABLE b`) killed during statement 2 does: `running`,
/// one statement recorded, table b never made.
fn interrupted_after_the_first_statement(db: &TestDb) {
    let hash = {
        let mut t = strata_model::ProgressTracker::default();
        t.completed("-- strata:no-transaction\nCREATE TABLE a (x integer);");
        t.current().hash
    };
    db.execute("DROP TABLE b");
    db.execute(&format!(
        "UPDATE strata_history SET status = 'running', statements_done = 1, statements_hash = '{hash}', finished_at = NULL"
    ));
}

/// Bug: a run killed while the server went on to complete its `CREATE
/// INDEX CONCURRENTLY` resumed by running it again ("already exists") and
/// claimed "its first statement failed, so nothing of it ran"; only a hand
/// edit helped. Now the catalog shows the index valid, so it counts as done.
#[test]
fn an_in_doubt_index_build_is_resolved_from_the_catalog() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write(
        "migrations/1_t.sql",
        "CREATE TABLE t (a integer);\nINSERT INTO t SELECT generate_series(1, 1000);\n",
    );
    p.write(
        "migrations/2_index.sql",
        "-- strata:no-transaction\nCREATE INDEX CONCURRENTLY t_a ON t (a);\nCREATE TABLE after_index (id integer);\n",
    );
    assert_eq!(strata(&p, &db, &["up", "--to", "1"]).code, 0);
    let blocker = Blocker::open(&db, "BEGIN; LOCK TABLE t IN SHARE MODE;");
    kill_while_blocked(
        &p,
        &db,
        blocker,
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock' AND datname = current_database()",
    );
    let status = strata(&p, &db, &["status"]);
    assert!(
        status.stdout.contains("statement 1 may have been sent"),
        "{}",
        status.all()
    );
    let up = strata(&p, &db, &["up", "--lock-timeout", "30s"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(
        up.stderr.contains("statement 1 (migrations/2_index.sql:2) was in doubt after the interrupted run; the catalog shows it completed (index t_a is there), so it counts as done"),
        "{}",
        up.all()
    );
    assert!(db.has_table("after_index"));
    assert_eq!(
        db.query("SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE c.relname = 't_a' AND x.indisvalid"),
        ["1"]
    );
    assert_eq!(strata(&p, &db, &["status", "--check"]).code, 0);
}

/// MySQL commits DDL by itself: an `ALTER TABLE` the server completed
/// after strata was killed is found in the catalog; a data change runs in
/// one transaction with its progress write, so it is never in doubt.
#[test]
fn mysql_ddl_in_doubt_is_resolved_and_dml_is_never_in_doubt() {
    let Some(db) = TestDb::mysql() else { return };
    let p = TempProject::new();
    p.write("migrations/1_t.sql", "CREATE TABLE t (a integer);\n");
    p.write(
        "migrations/2_alter.sql",
        "INSERT INTO t VALUES (1);\nALTER TABLE t ADD COLUMN b integer;\nINSERT INTO t VALUES (2, 2);\n",
    );
    assert_eq!(strata(&p, &db, &["up", "--to", "1"]).code, 0);
    let blocker = Blocker::open(&db, "START TRANSACTION; SELECT count(*) FROM t;");
    kill_while_blocked(
        &p,
        &db,
        blocker,
        "SELECT count(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'ALTER TABLE t ADD COLUMN b%' AND STATE LIKE '%metadata lock%'",
    );
    let up = strata(&p, &db, &["up", "--lock-timeout", "30s"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(
        up.stderr
            .contains("the catalog shows it completed (column t.b is there), so it counts as done"),
        "{}",
        up.all()
    );
    assert_eq!(db.query("SELECT count(*) FROM t"), ["2"]);
}

/// Where the catalog cannot tell (here a SQLite PRAGMA, which runs outside
/// any transaction), the operator says what they found; `up` then goes on
/// without a hand edit. Simulated: the history as a killed run leaves it.
#[test]
fn the_operator_resolves_what_the_catalog_cannot_tell() {
    let Some(db) = TestDb::sqlite() else { return };
    let p = TempProject::new();
    p.write(
        "migrations/1_a.sql",
        "-- strata:no-transaction\nCREATE TABLE a (x integer);\nPRAGMA user_version = 7;\nCREATE TABLE b (x integer);\n",
    );
    assert_eq!(strata(&p, &db, &["up"]).code, 0);
    interrupted_after_the_first_statement(&db);
    let up = strata(&p, &db, &["up"]);
    insta::assert_snapshot!("in_doubt_refused", up.shown(Some(&db)));
    // A wrong statement number is refused with the right one.
    let wrong = strata(&p, &db, &["repair", "1", "--statement", "3", "--done"]);
    assert_eq!(wrong.code, 2, "{}", wrong.all());
    assert!(
        wrong.stderr.contains("pass --statement 2"),
        "{}",
        wrong.stderr
    );
    let repair = strata(&p, &db, &["repair", "1", "--statement", "2", "--done"]);
    assert_eq!(repair.code, 0, "{}", repair.all());
    let up = strata(&p, &db, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(up.all().contains("going on at statement 3"), "{}", up.all());
    assert!(db.has_table("b"));
    assert_eq!(strata(&p, &db, &["status", "--check"]).code, 0);
    let log = db.query("SELECT action FROM strata_history_log ORDER BY seq");
    assert_eq!(log, ["start", "apply", "repair", "start", "apply"]);
}

/// Bug: when MySQL's connection was lost during a statement, the error
/// named the statement before it. Now it names the one that was running,
/// says it is in doubt, and the next `up` finds out from the catalog.
#[test]
fn a_lost_mysql_connection_names_the_running_statement() {
    let Some(db) = TestDb::mysql() else { return };
    let p = TempProject::new();
    p.write("migrations/1_t.sql", "CREATE TABLE t (a integer);\n");
    p.write(
        "migrations/2_alter.sql",
        "INSERT INTO t VALUES (1);\nALTER TABLE t ADD COLUMN b integer;\nINSERT INTO t VALUES (2, 2);\n",
    );
    assert_eq!(strata(&p, &db, &["up", "--to", "1"]).code, 0);
    let blocker = Blocker::open(&db, "START TRANSACTION; SELECT count(*) FROM t;");
    let url = db.url();
    let child = spawn_in(Path::new(BIN), &p.dir, &["up", "--database-url", &url]);
    let waiting = "SELECT count(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'ALTER TABLE t ADD COLUMN b%'";
    wait_for("the ALTER to wait", || db.query(waiting) != ["0"]);
    db.execute("SELECT 1");
    let id = db.query("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'ALTER TABLE t ADD COLUMN b%'");
    db.execute(&format!("KILL CONNECTION {}", id[0]));
    let out = Run::from_output(child.wait_with_output().unwrap());
    blocker.commit();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("stopped while statement 2 (migrations/2_alter.sql:2) was running"),
        "{}",
        out.stderr
    );
    let up = strata(&p, &db, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(
        up.stderr.contains(
            "the catalog shows it did not complete (column t.b is not there), so it runs again"
        ),
        "{}",
        up.all()
    );
    assert_eq!(db.query("SELECT count(*) FROM t"), ["2"]);
}

/// A killed run's backend keeps running its statement and holding the
/// migration lock: the next run says which backend (pid, what it runs,
/// since when) while it waits, and `--terminate-stale` ends it (with --yes
/// or a typed confirmation) so the run can go on.
#[test]
fn a_stale_backend_is_named_and_can_be_ended() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    let slow = "-- strata:no-transaction\nCREATE TABLE a (x integer);\nSELECT pg_sleep(30);\nCREATE TABLE b (x integer);\n";
    p.write("migrations/1_slow.sql", slow);
    let url = db.url();
    let mut child = spawn_in(Path::new(BIN), &p.dir, &["up", "--database-url", &url]);
    wait_for("the sleep", || {
        db.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%SELECT pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid() AND datname = current_database()") == ["1"]
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let waited = strata(&p, &db, &["up", "--lock-timeout", "1s"]);
    assert_eq!(waited.code, 2, "{}", waited.all());
    assert!(
        waited.stderr.contains("running since")
            && waited
                .stderr
                .contains("SELECT pg_sleep(30)\ntry again later"),
        "{}",
        waited.stderr
    );
    // Without a terminal and without --yes, ending it is refused.
    let refused = strata(
        &p,
        &db,
        &["up", "--terminate-stale", "--lock-timeout", "1s"],
    );
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused.stderr.contains("ending it was not confirmed"),
        "{}",
        refused.stderr
    );
    // The statement that never completed may change.
    p.write(
        "migrations/1_slow.sql",
        &slow.replace("pg_sleep(30)", "pg_sleep(0)"),
    );
    let up = strata(
        &p,
        &db,
        &["up", "--terminate-stale", "--yes", "--lock-timeout", "10s"],
    );
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(
        up.stderr
            .contains("ended the session holding the migration lock"),
        "{}",
        up.stderr
    );
    assert!(db.has_table("b"));
}

/// A maintenance statement left in doubt (VACUUM, ANALYZE, REINDEX, ...)
/// runs again: a second run changes nothing.
#[test]
fn an_in_doubt_maintenance_statement_runs_again() {
    let Some(db) = TestDb::sqlite() else { return };
    let p = TempProject::new();
    p.write(
        "migrations/1_a.sql",
        "-- strata:no-transaction\nCREATE TABLE a (x integer);\nVACUUM;\nCREATE TABLE b (x integer);\n",
    );
    assert_eq!(strata(&p, &db, &["up"]).code, 0);
    interrupted_after_the_first_statement(&db);
    let up = strata(&p, &db, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(up.stderr.contains("statement 2 (migrations/1_a.sql:3) was in doubt after the interrupted run; it can run again harmlessly, so it does"), "{}", up.all());
    assert!(db.has_table("b"));
}
