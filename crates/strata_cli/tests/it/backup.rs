//! Backups on every engine: create, list, verify, restore; the automatic
//! backup before `up`; retention; refusals.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use strata_test_support::{Run, TempProject, TestDb, engine_test, run_in};

use crate::BIN;

fn project(db: &TestDb, env_extra: &str) -> TempProject {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        &format!(
            "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"{}\"\n{env_extra}",
            db.url()
        ),
    );
    p.write(
        "migrations/1_items.sql",
        "-- strata:up\nCREATE TABLE items (id integer PRIMARY KEY, label varchar(20));\nINSERT INTO items VALUES (1, 'kept');\n-- strata:down\nDROP TABLE items;\n",
    );
    p
}

fn strata(p: &TempProject, args: &[&str]) -> Run {
    run_in(Path::new(BIN), &p.dir, args, &[])
}

fn ok(p: &TempProject, args: &[&str]) -> Run {
    let run = strata(p, args);
    assert_eq!(run.code, 0, "strata {args:?}:\n{}", run.all());
    run
}

fn backups(p: &TempProject) -> Vec<serde_json::Value> {
    let run = ok(p, &["backups", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    doc["backups"].as_array().unwrap().clone()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

engine_test!(backup_verify_and_restore, |db: &TestDb| {
    let p = project(db, "");
    ok(&p, &["up"]);
    let made: serde_json::Value =
        serde_json::from_str(&ok(&p, &["backup", "--format", "json"]).stdout).unwrap();
    let id = made["id"].as_str().unwrap().to_string();
    let file = p.path("backups").join(made["file"].as_str().unwrap());
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&p.path("backups").join(format!("{id}.json"))), 0o600);
    assert_eq!(made["environment"], "dev");
    assert_eq!(made["engine"], db.engine());
    assert_eq!(made["size"], std::fs::metadata(&file).unwrap().len());
    assert_eq!(backups(&p).len(), 1);
    ok(&p, &["backup", "verify", &id]);

    db.execute("DROP TABLE items");
    assert!(!db.has_table("items"));
    ok(&p, &["restore", &id]);
    assert_eq!(db.query("SELECT label FROM items"), ["kept"]);
    assert_eq!(
        ok(&p, &["status", "--check"]).code,
        0,
        "history came back with the data"
    );

    // A changed file no longer verifies, and is not restored.
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&file, bytes).unwrap();
    let run = strata(&p, &["backup", "verify", &id]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("SHA-256 does not match"),
        "{}",
        run.stdout
    );
    let run = strata(&p, &["restore", &id]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("does not verify, nothing was restored"),
        "{}",
        run.stderr
    );

    let run = strata(&p, &["restore", "no-such-backup"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("there is no backup `no-such-backup`"),
        "{}",
        run.stderr
    );
});

engine_test!(
    up_backs_up_first_when_the_environment_says_so,
    |db: &TestDb| {
        let p = project(db, "backup = \"before\"\n");
        let plan: serde_json::Value =
            serde_json::from_str(&ok(&p, &["plan", "--format", "json"]).stdout).unwrap();
        let run = ok(&p, &["up"]);
        assert!(run.stdout.contains("backed up first"), "{}", run.stdout);
        let all = backups(&p);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0]["reason"], "before up");
        assert_eq!(all[0]["plan_hash"], plan["plan_hash"]);
        // Nothing to do: no backup.
        ok(&p, &["up"]);
        assert_eq!(backups(&p).len(), 1);
        // A dry run takes none either.
        p.write(
            "migrations/2_more.sql",
            "-- strata:up\nCREATE TABLE more (id integer);\n-- strata:down\nDROP TABLE more;\n",
        );
        ok(&p, &["up", "--dry-run"]);
        assert_eq!(backups(&p).len(), 1);
    }
);

#[test]
fn retention_and_protected_restores() {
    let Some(db) = TestDb::sqlite() else { return };
    let p = project(
        &db,
        "protected = true\n\n[backup]\ndir = \"var/backups\"\nkeep = 2\n",
    );
    ok(&p, &["up"]);
    for _ in 0..3 {
        ok(&p, &["backup"]);
    }
    let all = backups(&p);
    assert_eq!(all.len(), 2, "keep = 2 leaves the newest two: {all:?}");
    assert_eq!(std::fs::read_dir(p.path("var/backups")).unwrap().count(), 4);
    assert_eq!(mode(&p.path("var/backups")), 0o700);
    let id = all[0]["id"].as_str().unwrap();

    // Protected: no terminal, no approval: refused.
    let run = strata(&p, &["restore", id]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("is protected"), "{}", run.stderr);
    // Approval of another backup is refused too.
    let run = strata(&p, &["restore", id, "--yes", "--approve", "other"]);
    assert_eq!(run.code, 2, "{}", run.all());
    ok(&p, &["restore", id, "--yes", "--approve", id]);

    // An in-memory database cannot be backed up.
    let run = strata(&p, &["backup", "--database-url", "sqlite::memory:"]);
    assert_eq!(run.code, 2, "{}", run.all());
}

// Bug: with backup = "before", only `up` was backed up; `down`, `redo`,
// `fresh` and `restore` (which lose data) were not, and the backup was
// taken before the before_migrate hooks, so a refused run left one.
engine_test!(
    every_command_that_can_lose_data_backs_up_first,
    |db: &TestDb| {
        let p = project(
            db,
            "backup = \"before\"\n\n[hooks]\nbefore_migrate = \"hooks/check.sql\"\n",
        );
        p.write("hooks/check.sql", "SELECT 1;\n");
        ok(&p, &["up"]);
        ok(&p, &["redo"]);
        ok(&p, &["down"]);
        ok(&p, &["fresh"]);
        let id = backups(&p)[0]["id"].as_str().unwrap().to_string();
        let restored: serde_json::Value =
            serde_json::from_str(&ok(&p, &["restore", &id, "--format", "json"]).stdout).unwrap();
        assert_eq!(
            restored["backed_up_first"]["reason"],
            format!("before restore of {id}")
        );
        let mut reasons: Vec<String> = backups(&p)
            .iter()
            .map(|b| b["reason"].as_str().unwrap().to_string())
            .collect();
        reasons.sort();
        assert_eq!(
            reasons,
            [
                "before down".to_string(),
                "before fresh".into(),
                "before redo".into(),
                format!("before restore of {id}"),
                "before up".into()
            ]
        );
        // A hook that refuses the run: no backup. (The restored state is
        // the one before `fresh`: nothing applied.)
        p.write("hooks/check.sql", "SELECT * FROM no_such_table;\n");
        assert_eq!(strata(&p, &["up"]).code, 2);
        assert_eq!(backups(&p).len(), 5);
    }
);

/// A backup leaves out the lease of the run that may be taking it (with
/// `backup = "before"` it is taken under the lock): restoring it must not
/// bring back a lease that blocks the next run.
#[test]
fn a_backup_carries_no_lease() {
    let db = TestDb::sqlite().expect("sqlite");
    let p = project(&db, "");
    ok(&p, &["up"]);
    // Another host's run holds the lock for an hour.
    db.execute(
        "INSERT INTO strata_history_lock VALUES ('migrate', 'ci@other pid 7 (1)', 7, 'other-host', '2026-01-01T00:00:00Z', 99999999999999)",
    );
    let made: serde_json::Value =
        serde_json::from_str(&ok(&p, &["backup", "--format", "json"]).stdout).unwrap();
    let id = made["id"].as_str().unwrap().to_string();
    let file = p.path("backups").join(made["file"].as_str().unwrap());
    let copy = rusqlite::Connection::open(&file).unwrap();
    let leases: i64 = copy
        .query_row("SELECT count(*) FROM strata_history_lock", [], |r| r.get(0))
        .unwrap();
    assert_eq!(leases, 0, "the backup holds no lease");
    ok(&p, &["backup", "verify", &id]);
    db.execute("DELETE FROM strata_history_lock");
    ok(&p, &["restore", &id]);
    assert_eq!(db.query("SELECT count(*) FROM strata_history_lock"), ["0"]);
}
