//! Every other tool's layout, read in place and applied by `strata up`: on
//! PostgreSQL all of them, on SQLite the ones whose SQL SQLite speaks.

use std::path::Path;
use strata_test_support::{Run, TempProject, TestDb, run_in};

const BIN: &str = env!("CARGO_BIN_EXE_strata");

/// Copies a fixture folder of strata_discover into the project.
fn copy_fixture(from: &str, p: &TempProject, to: &str) {
    fn copy(src: &Path, dst: &Path) {
        std::fs::create_dir_all(dst).unwrap();
        for entry in std::fs::read_dir(src).unwrap() {
            let entry = entry.unwrap();
            let target = dst.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../strata_discover/tests/data")
        .join(from);
    copy(&src, &p.dir.join(to));
}

fn strata(p: &TempProject, db: &TestDb, args: &[&str]) -> Run {
    let url = db.url();
    let mut all = args.to_vec();
    all.extend(["--database-url", url.as_str()]);
    run_in(Path::new(BIN), &p.dir, &all, &[])
}

/// (fixture, format, priority)
const ALL: &[(&str, &str, i64)] = &[
    ("supabase", "supabase", 10),
    ("sqlx", "sqlx", 20),
    ("dbmate", "dbmate", 30),
    ("golang_migrate", "golang-migrate", 40),
    ("diesel", "diesel", 50),
    ("prisma", "prisma", 60),
    ("drizzle", "drizzle", 70),
    ("goose", "goose", 90),
];

#[test]
fn every_format_applies_on_postgres_in_its_own_order() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    let mut config = String::new();
    for (fixture, format, priority) in ALL {
        copy_fixture(fixture, &p, &format!("db/{fixture}"));
        config.push_str(&format!(
            "[[source]]\nname = \"{fixture}\"\npath = \"db/{fixture}\"\nformat = \"{format}\"\npriority = {priority}\n\n"
        ));
    }
    p.write("strata.toml", &config);

    // goose's Go migration stops the plan before anything runs.
    let blocked = strata(&p, &db, &["up"]);
    assert_eq!(blocked.code, 2, "{}", blocked.all());
    assert!(
        blocked.all().contains("goose/00002") && blocked.all().contains("Go migration"),
        "{}",
        blocked.all()
    );
    assert!(!db.has_table("profiles"));

    let up = strata(&p, &db, &["up", "--to", "goose/00001", "--format", "json"]);
    assert_eq!(up.code, 0, "{}", up.all());
    let order: Vec<String> = up
        .stdout
        .lines()
        .filter(|l| l.contains("\"migration_finished\""))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{}/{}",
                v["source"].as_str().unwrap(),
                v["version"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            "supabase/20240101000000",
            "supabase/20240102000000",
            "sqlx/1",
            "sqlx/2",
            "sqlx/9",
            "sqlx/10",
            "dbmate/20240101000000",
            "dbmate/20240102000000",
            "dbmate/20240103000000",
            "golang_migrate/1",
            "golang_migrate/2",
            "golang_migrate/9",
            "golang_migrate/10",
            "golang_migrate/11",
            "diesel/00000000000000",
            "diesel/2024-01-01-120000",
            "diesel/2024-01-02-090000",
            "prisma/0",
            "prisma/20240101120000",
            "prisma/20240102120000",
            "drizzle/0000",
            "drizzle/0001",
            "goose/00001",
        ]
    );
    for table in [
        "profiles", "notes", "users", "things", "g10", "posts", "User", "dthings", "ditems",
        "gusers",
    ] {
        assert!(db.has_table(table), "{table}");
    }
    // The CONCURRENTLY statements ran outside a transaction, as their tools run them.
    let indexes = db.query("SELECT indexname FROM pg_indexes WHERE indexname IN ('users_id', 'things_id', 'g1_id', 'posts_title', 'User_email_idx') ORDER BY 1");
    assert_eq!(
        indexes,
        vec![
            "User_email_idx",
            "g1_id",
            "posts_title",
            "things_id",
            "users_id"
        ]
    );

    // After goose runs the Go migration itself, recording it lets strata go on.
    let baseline = strata(&p, &db, &["baseline", "goose/00002"]);
    assert_eq!(baseline.code, 0, "{}", baseline.all());
    let rest = strata(&p, &db, &["up"]);
    assert_eq!(rest.code, 0, "{}", rest.all());
    assert_eq!(
        db.query("SELECT count(*) FROM pg_indexes WHERE indexname = 'gusers_id'"),
        vec!["1"]
    );

    // Downs run with the same semantics (goose's and dbmate's concurrently drops).
    let down = strata(&p, &db, &["down", "--steps", "1"]);
    assert_eq!(down.code, 0, "{}", down.all());
    assert_eq!(
        db.query("SELECT count(*) FROM pg_indexes WHERE indexname = 'gusers_id'"),
        vec!["0"]
    );
}

#[test]
fn sqlite_compatible_formats_apply_on_sqlite() {
    let db = TestDb::sqlite();
    let p = TempProject::new();
    copy_fixture("sqlx_reversible", &p, "db/sqlx");
    copy_fixture("drizzle", &p, "db/drizzle");
    p.write(
        "strata.toml",
        "[[source]]\nname = \"sqlx\"\npath = \"db/sqlx\"\nformat = \"sqlx\"\n\n[[source]]\nname = \"drizzle\"\npath = \"db/drizzle\"\nformat = \"drizzle\"\npriority = 1\n",
    );
    let up = strata(&p, &db, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(
        up.stderr
            .contains("0002_stray.sql: not in meta/_journal.json"),
        "{}",
        up.stderr
    );
    assert!(
        db.has_table("a") && db.has_table("b") && db.has_table("dthings") && db.has_table("ditems")
    );
    assert!(!db.has_table("things"), "the stray file is never run");
    let down = strata(&p, &db, &["down", "--source", "sqlx"]);
    assert_eq!(down.code, 0, "{}", down.all());
    assert!(!db.has_table("a") && !db.has_table("b"));
}

#[test]
fn init_finds_every_layout_and_up_applies_them() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    std::fs::remove_dir(p.path("migrations")).unwrap();
    let places = [
        ("supabase", "supabase/migrations", "supabase"),
        ("prisma", "prisma/migrations", "prisma"),
        ("drizzle", "web/drizzle", "drizzle"),
        ("sqlx", "api/migrations", "sqlx"),
        ("dbmate", "db/dbmate", "dbmate"),
        ("golang_migrate", "svc/migrations", "golang-migrate"),
        ("diesel", "rust/migrations", "diesel"),
        ("goose", "tools/goose", "goose"),
    ];
    for (fixture, place, _) in places {
        copy_fixture(fixture, &p, place);
    }
    p.write("api/Cargo.toml", "[dependencies]\nsqlx = \"0.8\"\n");
    p.write(
        "svc/go.mod",
        "module svc\nrequire github.com/golang-migrate/migrate/v4 v4.17.0\n",
    );
    p.write("node_modules/pkg/migrations/1_vendored.sql", "select 1;\n");
    p.write(".gitignore", "node_modules/\n");
    p.write("legacy/migrations/readme.sql", "select 1;\n");

    let init = run_in(Path::new(BIN), &p.dir, &["init", "--format", "json"], &[]);
    assert_eq!(init.code, 0, "{}", init.all());
    let doc: serde_json::Value = serde_json::from_str(&init.stdout).unwrap();
    let mut found: Vec<(String, String)> = doc["added_sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["format"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    let mut expected: Vec<(String, String)> = places
        .iter()
        .map(|(_, p, f)| (p.to_string(), f.to_string()))
        .collect();
    expected.sort();
    assert_eq!(
        found, expected,
        "node_modules is ignored; every layout is recognised"
    );
    assert_eq!(doc["unclassified"][0]["path"], "legacy/migrations", "{doc}");
    let prisma = doc["added_sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["format"] == "prisma")
        .unwrap();
    assert_eq!(prisma["engine"], "postgres");

    // The written config runs: every layout applies on PostgreSQL.
    let up = strata(&p, &db, &["up", "--to", "goose/00001"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(db.has_table("profiles") && db.has_table("gusers") && db.has_table("User"));
    // On SQLite, the sources written for PostgreSQL are refused by name.
    let lite = run_in(
        Path::new(BIN),
        &p.dir,
        &["status", "--database-url", "sqlite::memory:"],
        &[],
    );
    assert_eq!(lite.code, 2);
    assert!(
        lite.stderr.contains("is written for postgres"),
        "{}",
        lite.stderr
    );

    // Running init again adds only what is new.
    let again = run_in(Path::new(BIN), &p.dir, &["init"], &[]);
    assert!(again.stdout.contains("nothing changed"), "{}", again.all());
    copy_fixture("sqlx_reversible", &p, "more/migrations");
    let more = run_in(Path::new(BIN), &p.dir, &["init", "--format", "json"], &[]);
    let doc: serde_json::Value = serde_json::from_str(&more.stdout).unwrap();
    assert_eq!(doc["added_sources"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(doc["added_sources"][0]["path"], "more/migrations");
}
