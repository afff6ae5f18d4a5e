//! Script migrations (a shell script and a Python module) and verify.

use std::path::Path;
use std::time::{Duration, Instant};
use strata_test_support::{Run, TempProject, TestDb, engine_test, run_in};

use crate::BIN;

fn strata(p: &TempProject, args: &[&str]) -> Run {
    run_in(Path::new(BIN), &p.dir, args, &[])
}

const SEED_PY: &str = r#"import os, sqlite3

def _db():
    return sqlite3.connect(os.environ["DATABASE_URL"].removeprefix("sqlite://"))

def run_migration():
    with _db() as c:
        c.execute("insert into items values (1, 'seeded')")

def rollback_migration():
    with _db() as c:
        c.execute("delete from items where label = 'seeded'")

def verify_migration():
    with _db() as c:
        return c.execute("select count(*) from items where label = 'seeded'").fetchone()[0] > 0
"#;

const TOUCH_SH: &str = "#!/bin/sh\n# strata: handles up down verify\necho \"$1 $STRATA_MIGRATION $STRATA_ENV\" >> touched.log\necho \"ran $1\"\n";

fn project() -> TempProject {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"db/app\"\n\n[[source]]\nname = \"jobs\"\npath = \"db/jobs\"\nformat = \"script\"\nrequires = [\"app\"]\ntimeout = \"2s\"\n\n[env.dev]\nurl = \"sqlite://s.db\"\n",
    );
    p.write(
        "db/app/1_items.sql",
        "-- strata:up\ncreate table items (id integer, label text);\n-- strata:down\ndrop table items;\n-- strata:verify\nselect count(*) from sqlite_master where name = 'items';\n",
    );
    p.write("db/jobs/2_seed.py", SEED_PY);
    p.write("db/jobs/3_touch.sh", TOUCH_SH);
    p
}

#[test]
fn scripts_run_up_verify_and_down() {
    let p = project();
    let list = strata(&p, &["list", "--format", "json"]);
    let doc: serde_json::Value =
        serde_json::from_str(&list.stdout).unwrap_or_else(|_| panic!("{}", list.all()));
    let seed = &doc["migrations"][1];
    assert_eq!(
        (
            seed["kind"].as_str(),
            seed["has_down"].as_bool(),
            seed["has_verify"].as_bool()
        ),
        (Some("script"), Some(true), Some(true))
    );

    let up = strata(&p, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    let touched = std::fs::read_to_string(p.path("touched.log")).unwrap();
    assert_eq!(touched, "up jobs/3 dev\n");
    let seeded: i64 = crate::sqlite_value(
        &p.path("s.db"),
        "select count(*) from items where label = 'seeded'",
    );
    assert_eq!(seeded, 1);
    let detail: String = crate::sqlite_value(
        &p.path("s.db"),
        "select detail from strata_history_log where version = '3' and action = 'apply'",
    );
    assert!(
        detail.contains("ran up"),
        "the output's tail is kept: {detail}"
    );

    let verify = strata(&p, &["verify", "--format", "json"]);
    assert_eq!(verify.code, 0, "{}", verify.all());
    let v: serde_json::Value = serde_json::from_str(&verify.stdout).unwrap();
    assert_eq!(v["results"].as_array().unwrap().len(), 3, "{v}");
    rusqlite::Connection::open(p.path("s.db"))
        .unwrap()
        .execute("delete from items", [])
        .unwrap();
    let missing = strata(&p, &["verify"]);
    assert_eq!(missing.code, 1, "{}", missing.all());
    assert!(missing.stdout.contains("jobs/2 seed"), "{}", missing.stdout);

    let down = strata(&p, &["down", "--steps", "2"]);
    assert_eq!(down.code, 0, "{}", down.all());
    assert_eq!(
        std::fs::read_to_string(p.path("touched.log")).unwrap(),
        "up jobs/3 dev\nverify jobs/3 dev\nverify jobs/3 dev\ndown jobs/3 dev\n"
    );
}

#[test]
fn a_failing_script_is_recorded_and_a_slow_one_is_stopped() {
    let p = project();
    p.write(
        "db/jobs/4_fail.sh",
        "#!/bin/sh\necho \"boom on $1\" >&2\nexit 3\n",
    );
    let run = strata(&p, &["up"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("exited with status 3") && run.stderr.contains("boom on up"),
        "{}",
        run.stderr
    );
    let status = strata(&p, &["status", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(doc["migrations"][3]["state"], "failed", "{doc}");

    p.write("db/jobs/4_fail.sh", "#!/bin/sh\nsleep 10\n");
    let started = Instant::now();
    let slow = strata(&p, &["up"]);
    assert_eq!(slow.code, 2, "{}", slow.all());
    assert!(slow.stderr.contains("stopped after 2s"), "{}", slow.stderr);
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[test]
fn a_script_does_not_leak_the_database_password() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write(
        "db/1_show.sh",
        "#!/bin/sh\necho \"connecting to $DATABASE_URL\"\n",
    );
    p.write(
        "strata.toml",
        "[[source]]\nname = \"jobs\"\npath = \"db\"\nformat = \"script\"\n",
    );
    // Trust authentication ignores the password; it is only there to be hidden.
    let url = db.url().replacen("postgres@", "postgres:Sup3rS3cret@", 1);
    let up = run_in(Path::new(BIN), &p.dir, &["up", "--database-url", &url], &[]);
    assert_eq!(up.code, 0, "{}", up.all());
    let detail = db.query("SELECT detail FROM strata_history_log WHERE action = 'apply'");
    assert!(detail[0].contains("postgres:***@"), "{detail:?}");
    assert!(!detail[0].contains("Sup3rS3cret") && !up.all().contains("Sup3rS3cret"));
}

engine_test!(verify_sections_report_missing_changes, |db: &TestDb| {
    let p = TempProject::new();
    p.write(
        "migrations/1_a.sql",
        "-- strata:up\ncreate table a (id integer);\ninsert into a values (1);\n-- strata:down\ndrop table a;\n-- strata:verify\nselect count(*) from a;\n",
    );
    let url = db.url();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--database-url", url.as_str()]);
        run_in(Path::new(BIN), &p.dir, &all, &[])
    };
    assert_eq!(run(&["up"]).code, 0);
    assert_eq!(run(&["verify"]).code, 0);
    db.execute("delete from a");
    let missing = run(&["verify", "1", "--format", "json"]);
    assert_eq!(missing.code, 1, "{}", missing.all());
    let doc: serde_json::Value = serde_json::from_str(&missing.stdout).unwrap();
    assert_eq!(
        doc["results"][0]["message"], "the verify query returned 0",
        "{doc}"
    );
    assert_eq!(doc["results"][0]["location"], "migrations/1_a.sql:7");
    db.execute("drop table a");
    let gone = run(&["verify"]);
    assert_eq!(gone.code, 1);
    assert!(!db.has_table("a"));
});

/// Bug: every executable was listed with down and verify; `strata verify`
/// ran a maintenance script's top-level code (it deleted rows) and `strata
/// down` re-ran a setup script and marked it reverted. A script is asked to
/// do only what it declares.
#[test]
fn a_script_is_asked_only_for_what_it_declares() {
    let p = project();
    p.write(
        "db/jobs/3_touch.sh",
        "#!/bin/sh\necho \"$1\" >> touched.log\n",
    );
    let list = strata(&p, &["list", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let touch = &doc["migrations"][2];
    assert_eq!(
        (touch["has_down"].as_bool(), touch["has_verify"].as_bool()),
        (Some(false), Some(false)),
        "{touch}"
    );
    assert_eq!(strata(&p, &["up"]).code, 0);
    assert_eq!(strata(&p, &["verify"]).code, 0);
    let refused = strata(&p, &["down", "--steps", "1"]);
    insta::assert_snapshot!(refused.shown(None));
    assert_eq!(
        std::fs::read_to_string(p.path("touched.log")).unwrap(),
        "up\n"
    );
    // A header naming something else is an error with its line.
    p.write("db/jobs/4_bad.sh", "#!/bin/sh\n# strata: handles up undo\n");
    let bad = strata(&p, &["list"]);
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(
        bad.stderr
            .contains("db/jobs/4_bad.sh:2: `strata: handles` names `undo`"),
        "{}",
        bad.stderr
    );
}

/// The pid a script's child wrote, once it is there.
fn child_pid(p: &TempProject) -> u32 {
    strata_test_support::wait_for("the script's child", || {
        std::fs::read_to_string(p.path("child.pid")).is_ok_and(|s| s.trim().parse::<u32>().is_ok())
    });
    std::fs::read_to_string(p.path("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn gone(pid: u32) {
    strata_test_support::wait_for("the script's child to end", || {
        !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    });
}

const SPAWNS_A_CHILD: &str = "#!/bin/sh\nsh -c 'echo $$ > child.pid; exec sleep 30' &\nwait\n";

/// A timeout ends the script's whole process group, the child it started
/// included, and history says what happened.
#[test]
fn a_timeout_ends_the_whole_process_group() {
    let p = project();
    p.write("db/jobs/4_slow.sh", SPAWNS_A_CHILD);
    let run = strata(&p, &["up"]);
    assert_eq!(run.code, 2, "{}", run.all());
    gone(child_pid(&p));
    let error: String = crate::sqlite_value(
        &p.path("s.db"),
        "select error from strata_history where version = '4'",
    );
    assert!(
        error.contains("stopped after 2s") && error.contains("its process group was ended"),
        "{error}"
    );
}

/// Ctrl-C while a script runs ends its process group (the terminal's
/// Ctrl-C does not reach a group of its own) and records the migration.
#[test]
fn ctrl_c_or_sigterm_ends_a_running_script() {
    for (signal, said) in [
        ("-INT", "stopped by Ctrl-C"),
        ("-TERM", "stopped by SIGTERM"),
    ] {
        let p = project();
        p.write("db/jobs/4_slow.sh", SPAWNS_A_CHILD);
        p.write(
            "strata.toml",
            &std::fs::read_to_string(p.path("strata.toml"))
                .unwrap()
                .replace("timeout = \"2s\"", "timeout = \"60s\""),
        );
        let child = strata_test_support::spawn_in(Path::new(BIN), &p.dir, &["up"]);
        let pid = child_pid(&p);
        let status = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let out = Run::from_output(child.wait_with_output().unwrap());
        assert_eq!(out.code, 2, "{}", out.all());
        assert!(out.stderr.contains(said), "{}", out.stderr);
        gone(pid);
        let status: String = crate::sqlite_value(
            &p.path("s.db"),
            "select status from strata_history where version = '4'",
        );
        assert_eq!(status, "failed");
    }
}

/// A stopped script's psql session is ended on the server too: killing
/// psql alone would leave its query running.
#[test]
fn a_stopped_scripts_server_query_is_ended() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"jobs\"\npath = \"db\"\nformat = \"script\"\ntimeout = \"2s\"\n",
    );
    p.write(
        "db/1_sleep.sh",
        "#!/bin/sh\npsql \"$DATABASE_URL\" -c 'SELECT pg_sleep(60)'\n",
    );
    let up = db.run(Path::new(BIN), &p.dir, &["up"]);
    assert_eq!(up.code, 2, "{}", up.all());
    assert!(
        up.stderr
            .contains("1 database session(s) it had open were ended"),
        "{}",
        up.stderr
    );
    let left = db.query(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' AND datname = current_database()",
    );
    assert_eq!(left, ["0"]);
}

/// A Python migration that hangs is stopped at its source's timeout with
/// the processes it started, and history says so.
#[test]
fn a_hanging_python_migration_is_stopped_with_its_children() {
    let p = project();
    p.write(
        "db/jobs/4_hangs.py",
        "\"\"\"Waits forever on a child.\"\"\"\nimport subprocess\nimport time\n\n\ndef run_migration():\n    subprocess.Popen([\"sh\", \"-c\", \"echo $$ > child.pid; exec sleep 60\"])\n    time.sleep(60)\n",
    );
    let started = Instant::now();
    let run = strata(&p, &["up"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    gone(child_pid(&p));
    let conn = rusqlite::Connection::open(p.path("s.db")).unwrap();
    let (status, error): (String, String) = conn
        .query_row(
            "select status, error from strata_history where version = '4'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "failed");
    assert!(
        error.contains("stopped after 2s") && error.contains("process group"),
        "{error}"
    );
}
