//! Locks, interrupted runs, timeouts and TLS: what happens around a
//! migration rather than in it.

#![allow(clippy::print_stderr)]

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};
use strata_test_support::{Run, TempProject, TestDb, run_in, spawn_in, wait_for};

use crate::BIN;

fn strata(p: &TempProject, db: &TestDb, args: &[&str]) -> Run {
    db.run(Path::new(BIN), &p.dir, args)
}

fn spawn(p: &TempProject, db: &TestDb, args: &[&str]) -> Child {
    let url = db.url();
    let mut all = args.to_vec();
    all.extend(["--database-url", url.as_str()]);
    spawn_in(Path::new(BIN), &p.dir, &all)
}

/// Whether a session holds strata's migration lock (a session advisory
/// lock on one bigint key; the tests' gates use two int keys).
fn holds_lock(db: &TestDb) -> bool {
    db.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        == vec!["1"]
}

fn states(p: &TempProject, db: &TestDb) -> serde_json::Value {
    let run = strata(p, db, &["status", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn killed_non_transactional_run_leaves_an_honest_row() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write("migrations/1_a.sql", "create table a (id int);\n");
    p.write(
        "migrations/2_slow.sql",
        "-- strata:no-transaction\ncreate table b (id int);\nselect pg_sleep(60);\n",
    );
    let mut child = spawn(&p, &db, &["up"]);
    wait_for("the running row", || {
        db.has_table("strata_history")
            && db.query("SELECT count(*) FROM strata_history WHERE status = 'running'") == vec!["1"]
    });
    wait_for("the sleep", || {
        db.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'select pg_sleep(60)%' AND datname = current_database()")
            == vec!["1"]
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // The server runs the killed client's statement to its end (and holds
    // its lock meanwhile); end that session as a DBA would.
    db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'select pg_sleep(60)%' AND datname = current_database()");

    let status = states(&p, &db);
    let slow = &status["migrations"][1];
    assert_eq!(slow["state"], "failed", "{status}");
    assert!(
        slow["detail"].as_str().unwrap().contains("interrupted"),
        "{status}"
    );
    // The killed session's advisory lock went with its connection.
    let repair = strata(&p, &db, &["repair", "2", "--lock-timeout", "5s"]);
    assert_eq!(repair.code, 0, "{}", repair.all());
    assert_eq!(states(&p, &db)["migrations"][1]["state"], "pending");
    p.write(
        "migrations/2_slow.sql",
        "-- strata:no-transaction\ncreate table if not exists b (id int);\n",
    );
    let up = strata(&p, &db, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    let actions =
        db.query("SELECT action FROM strata_history_log WHERE version = '2' ORDER BY seq");
    assert_eq!(actions, vec!["start", "repair", "start", "apply"]);
}

#[test]
fn a_waiting_run_names_the_holder_and_gives_up() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write("migrations/1_slow.sql", &db.gate_sql());
    let gate = db.gate();
    let first = spawn(&p, &db, &["up"]);
    wait_for("the first run to hold the lock", || holds_lock(&db));
    let started = Instant::now();
    let second = strata(&p, &db, &["up", "--lock-timeout", "1s"]);
    assert_eq!(second.code, 2, "{}", second.all());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "gave up after the timeout"
    );
    let text = second.all();
    assert!(
        text.contains("waiting for the migration lock, held by pid"),
        "{text}"
    );
    assert!(text.contains("application strata"), "{text}");
    assert!(text.contains("gave up after 1s"), "{text}");
    gate.open();
    let first = Run::from_output(first.wait_with_output().unwrap());
    assert_eq!(first.code, 0, "{}", first.all());
    let json = strata(&p, &db, &["up", "--format", "json"]);
    assert!(json.stdout.contains("\"steps\":0"), "{}", json.stdout);
}

#[test]
fn lease_lock_mode_serialises_concurrent_runs() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    for v in 1..=4 {
        p.write(
            &format!("migrations/{v}_t.sql"),
            &format!("create table t{v} (id int);\n"),
        );
    }
    let children: Vec<Child> = (0..10)
        .map(|_| spawn(&p, &db, &["up", "--lock-mode", "lease", "--format", "json"]))
        .collect();
    let mut applied = 0;
    for child in children {
        let run = Run::from_output(child.wait_with_output().unwrap());
        assert_eq!(run.code, 0, "{}", run.all());
        applied += run.stdout.matches("\"migration_finished\"").count();
    }
    assert_eq!(applied, 4);
    assert_eq!(
        db.query("SELECT count(*) FROM strata_history_lock"),
        vec!["0"],
        "the lease was given back"
    );
}

#[test]
fn sqlite_lease_of_a_dead_process_is_taken_over_and_a_live_one_waited_for() {
    let db = TestDb::sqlite().expect("sqlite");
    let p = TempProject::new();
    p.write("migrations/1_a.sql", "create table a (id int);\n");
    let host = strata_driver_host();
    db.execute(&format!(
        "CREATE TABLE strata_history_lock (name TEXT PRIMARY KEY, holder TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TEXT NOT NULL, expires_at INTEGER NOT NULL);
         INSERT INTO strata_history_lock VALUES ('migrate', 'someone', {}, '{host}', '2024-01-01T00:00:00Z', 99999999999999);",
        std::process::id()
    ));
    let waited = strata(&p, &db, &["up", "--lock-timeout", "1s"]);
    assert_eq!(waited.code, 2, "{}", waited.all());
    assert!(
        waited
            .all()
            .contains("held by application strata (lease), client someone on"),
        "{}",
        waited.all()
    );
    // A holder whose process is gone from this host does not block.
    db.execute("UPDATE strata_history_lock SET pid = 999999999");
    let up = strata(&p, &db, &["up", "--lock-timeout", "1s"]);
    assert_eq!(up.code, 0, "{}", up.all());
}

/// This host and PID namespace, as strata records a lease holder's.
fn strata_driver_host() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    match std::fs::read_link("/proc/self/ns/pid") {
        Ok(ns) => format!("{host} {}", ns.display()),
        Err(_) => host,
    }
}

#[test]
fn statement_timeout_applies_per_migration() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write("strata.toml", &format!(
        "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.ci]\nurl = \"{}\"\nstatement_timeout = \"200ms\"\nlock_timeout = \"1s\"\n",
        db.url()
    ));
    p.write(
        "migrations/1_slow.sql",
        "create table a (id int);\nselect pg_sleep(3);\n",
    );
    let run = run_in(Path::new(BIN), &p.dir, &["up"], &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.all().contains("statement timeout") && run.all().contains("1_slow.sql:2"),
        "{}",
        run.all()
    );
    assert!(!db.has_table("a"));
}

#[test]
fn history_table_can_live_in_its_own_schema() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write("strata.toml", &format!(
        "[project]\nhistory_table = \"ops.schema_history\"\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.ci]\nurl = \"{}\"\n",
        db.url()
    ));
    p.write("migrations/1_a.sql", "create table a (id int);\n");
    let run = run_in(Path::new(BIN), &p.dir, &["up"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        db.query("SELECT count(*) FROM ops.schema_history WHERE status = 'applied'"),
        vec!["1"]
    );
    assert_eq!(
        db.query("SELECT count(*) FROM ops.schema_history_log"),
        vec!["1"]
    );
}

#[test]
fn tls_modes_follow_libpq() {
    let Some(db) = TestDb::postgres() else { return };
    if db.query("SHOW ssl") != vec!["on"] {
        strata_test_support::skipped("the PostgreSQL server has ssl = off");
        return;
    }
    let p = TempProject::new();
    p.write("migrations/1_a.sql", "create table a (id int);\n");
    let url = db.url();
    let with = |query: &str| {
        let u = format!("{url}?{query}");
        run_in(
            Path::new(BIN),
            &p.dir,
            &["status", "--database-url", &u],
            &[],
        )
    };
    assert_eq!(
        with("sslmode=require").code,
        0,
        "{}",
        with("sslmode=require").all()
    );
    assert_eq!(with("sslmode=disable").code, 0);
    // The server's certificate is self-signed: verify-full against the
    // system's roots must refuse it, and say why.
    let refused = with("sslmode=verify-full");
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused.all().to_lowercase().contains("certificate"),
        "{}",
        refused.all()
    );
    let cert = db.query("SHOW ssl_cert_file").remove(0);
    if std::fs::read(&cert).is_ok() {
        let ca = with(&format!("sslmode=verify-ca&sslrootcert={cert}"));
        assert_eq!(
            ca.code,
            0,
            "verify-ca with the server's own certificate as root: {}",
            ca.all()
        );
    }
}

#[test]
fn lease_and_native_runs_exclude_each_other() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write("migrations/1_slow.sql", &db.gate_sql());
    let gate = db.gate();
    let lease = spawn(&p, &db, &["up", "--lock-mode", "lease"]);
    wait_for("the lease", || {
        db.has_table("strata_history_lock")
            && db.query("SELECT count(*) FROM strata_history_lock") == vec!["1"]
    });
    let native = strata(&p, &db, &["up", "--lock-timeout", "1s"]);
    assert_eq!(native.code, 2, "{}", native.all());
    assert!(native.all().contains("strata (lease)"), "{}", native.all());
    gate.open();
    let lease = Run::from_output(lease.wait_with_output().unwrap());
    assert_eq!(lease.code, 0, "{}", lease.all());

    p.write("migrations/2_slow.sql", &db.gate_sql());
    let gate = db.gate();
    let native = spawn(&p, &db, &["up"]);
    wait_for("the session lock", || holds_lock(&db));
    let leased = strata(
        &p,
        &db,
        &["up", "--lock-mode", "lease", "--lock-timeout", "1s"],
    );
    assert_eq!(leased.code, 2, "{}", leased.all());
    assert!(
        leased.all().contains("application strata"),
        "{}",
        leased.all()
    );
    gate.open();
    let native = Run::from_output(native.wait_with_output().unwrap());
    assert_eq!(native.code, 0, "{}", native.all());
}

#[test]
fn sqlite_waits_for_another_writer_within_the_lock_timeout() {
    let db = TestDb::sqlite().expect("sqlite");
    let p = TempProject::new();
    p.write("migrations/1_a.sql", "create table a (id int);\n");
    let TestDb::Sqlite { path, .. } = &db else {
        unreachable!()
    };
    let other = rusqlite::Connection::open(path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let run = strata(&p, &db, &["up", "--lock-timeout", "1s"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "honours --lock-timeout"
    );
    assert!(run.all().contains("write lock"), "{}", run.all());
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(strata(&p, &db, &["up"]).code, 0);
}

#[test]
fn a_killed_statement_by_statement_run_resumes_at_the_next_statement() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    let slow = "-- strata:no-transaction\ncreate table b (id int);\nselect pg_sleep(60);\ncreate table c (id int);\n";
    p.write("migrations/1_slow.sql", slow);
    let mut child = spawn(&p, &db, &["up"]);
    wait_for("the first statement to be recorded", || {
        db.has_table("strata_history")
            && db.query("SELECT statements_done FROM strata_history") == vec!["1"]
    });
    wait_for("the sleep", || {
        db.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'select pg_sleep(60)%' AND datname = current_database()")
            == vec!["1"]
    });
    child.kill().unwrap();
    child.wait().unwrap();
    db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'select pg_sleep(60)%' AND datname = current_database()");

    let status = states(&p, &db);
    let detail = status["migrations"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("statements 1-1 completed") && detail.contains("resumes at statement 2"),
        "{status}"
    );
    // The statement that never completed may change; the one that ran may not.
    p.write(
        "migrations/1_slow.sql",
        &slow.replace("pg_sleep(60)", "pg_sleep(0)"),
    );
    let up = strata(&p, &db, &["up", "--lock-timeout", "10s"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(
        up.all().contains(
            "statements 1-1 of 3 completed in an earlier run; going on at statement 2 (line 3)"
        ),
        "{}",
        up.all()
    );
    assert!(db.has_table("c"));
    assert_eq!(
        db.query(
            "SELECT status || ' ' || coalesce(statements_done::text, 'none') FROM strata_history"
        ),
        vec!["applied none"]
    );
}

#[test]
fn a_failed_concurrent_index_build_is_cleaned_up_before_the_retry() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write(
        "migrations/1_t.sql",
        "create table t (x int);\ninsert into t values (1), (1), (2);\n",
    );
    p.write(
        "migrations/2_idx.sql",
        "-- strata:no-transaction\ncreate unique index concurrently t_x on t (x);\n",
    );
    let failed = strata(&p, &db, &["up"]);
    assert_eq!(failed.code, 2, "{}", failed.all());
    assert_eq!(
        db.query(
            "SELECT count(*) FROM pg_index WHERE NOT indisvalid AND indexrelid = 't_x'::regclass"
        ),
        vec!["1"],
        "the failed build left an INVALID index"
    );
    let doctor = strata(&p, &db, &["doctor"]);
    assert_eq!(doctor.code, 1, "{}", doctor.all());
    assert!(
        doctor.stdout.contains(
            "problem  indexes     INVALID indexes (left by failed concurrent builds): public.t_x"
        ),
        "{}",
        doctor.stdout
    );
    db.execute("DELETE FROM t WHERE ctid = (SELECT max(ctid) FROM t WHERE x = 1)");
    let up = strata(&p, &db, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(
        up.all().contains("dropped the INVALID index public.t_x"),
        "{}",
        up.all()
    );
    assert_eq!(
        db.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x'::regclass"),
        vec!["t"]
    );
}

/// `restore` replaces the data a running migration works on: it waits for
/// the migration lock like `up` does, and gives up (restoring nothing)
/// when it cannot have it.
#[test]
fn restore_waits_for_the_migration_lock() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write("migrations/1_a.sql", "create table a (id int);\n");
    assert_eq!(strata(&p, &db, &["up"]).code, 0);
    let made = strata(&p, &db, &["backup", "--format", "json"]);
    assert_eq!(made.code, 0, "{}", made.all());
    let made: serde_json::Value = serde_json::from_str(&made.stdout).unwrap();
    let id = made["id"].as_str().unwrap().to_string();

    p.write(
        "migrations/2_slow.sql",
        &format!("create table b (id int);\n{}", db.gate_sql()),
    );
    let gate = db.gate();
    let first = spawn(&p, &db, &["up"]);
    wait_for("the run to hold the lock", || holds_lock(&db));
    let refused = strata(&p, &db, &["restore", &id, "--lock-timeout", "1s"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused
            .all()
            .contains("gave up after 1s waiting for the migration lock"),
        "{}",
        refused.all()
    );
    gate.open();
    let first = Run::from_output(first.wait_with_output().unwrap());
    assert_eq!(first.code, 0, "{}", first.all());
    assert!(db.has_table("b"), "the run was not disturbed");

    // Once the run is done, the restore goes through.
    let restored = strata(&p, &db, &["restore", &id]);
    assert_eq!(restored.code, 0, "{}", restored.all());
    assert_eq!(states(&p, &db)["migrations"][1]["state"], "pending");
}
