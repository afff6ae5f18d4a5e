//! Every other tool's layout, read in place and applied by `strata up`: on
//! PostgreSQL all of them, on SQLite the ones whose SQL SQLite speaks.

use std::path::Path;
use strata_test_support::{Run, TempProject, TestDb, run_in};

use crate::BIN;

/// Copies a fixture folder of strata_discover into the project.
pub(crate) fn copy_fixture(from: &str, p: &TempProject, to: &str) {
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
pub(crate) const ALL: &[(&str, &str, i64)] = &[
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
    let db = TestDb::sqlite().expect("sqlite");
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
    // On SQLite, the sources written for PostgreSQL are skipped, each
    // named in a warning.
    let lite = run_in(
        Path::new(BIN),
        &p.dir,
        &["status", "--database-url", "sqlite::memory:"],
        &[],
    );
    assert_eq!(lite.code, 0, "{}", lite.all());
    assert!(
        lite.stderr
            .contains("skipped: source `prisma` is written for postgres"),
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

/// (tool, fixture, files its tool already applied, the tool's table as it
/// documents it with those rows, tables `strata up` must create next)
type AdoptCase = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static [&'static str],
);

const ADOPT: &[AdoptCase] = &[
    (
        "supabase",
        "supabase",
        &["20240101000000_init.sql"],
        "CREATE SCHEMA supabase_migrations; CREATE TABLE supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY, statements text[], name text);
         INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES ('20240101000000', 'init');",
        &["notes"],
    ),
    (
        "prisma",
        "prisma",
        &["0_init/migration.sql"],
        "CREATE TABLE _prisma_migrations (id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ, started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0);
         INSERT INTO _prisma_migrations VALUES ('a', 'x', now(), '0_init', NULL, NULL, now(), 1);
         INSERT INTO _prisma_migrations VALUES ('b', 'y', NULL, '20240101120000_add_index', 'failed', now(), now(), 0);",
        &[],
    ),
    (
        "drizzle",
        "drizzle",
        &["0000_flat_thing.sql"],
        "CREATE SCHEMA drizzle; CREATE TABLE drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint);
         INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('abc', 1700000000000);",
        &[],
    ),
    (
        "sqlx",
        "sqlx",
        &["1_users.sql"],
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);
         INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (1, 'users', true, '\\x00', 1);",
        &[],
    ),
    (
        "golang-migrate",
        "golang_migrate",
        &["1_step1.up.sql", "2_step2.up.sql"],
        "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
         INSERT INTO schema_migrations VALUES (2, false);",
        &["g9", "g10"],
    ),
    (
        "dbmate",
        "dbmate",
        &["20240101000000_create_things.sql"],
        "CREATE TABLE schema_migrations (version character varying(128) NOT NULL PRIMARY KEY);
         INSERT INTO schema_migrations VALUES ('20240101000000');",
        &[],
    ),
    (
        "goose",
        "goose",
        &["00001_create_users.sql"],
        "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id));
         INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (2, true), (3, true), (3, false);",
        &[],
    ),
    (
        "diesel",
        "diesel",
        &["00000000000000_diesel_initial_setup/up.sql", "2024-01-01-120000_create_posts/up.sql"],
        "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
         INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000'), ('20240101120000');",
        &[],
    ),
];

#[test]
fn adopt_takes_over_every_tools_history_without_running_anything_twice() {
    for (tool, fixture, done, table, created_next) in ADOPT {
        let Some(db) = TestDb::postgres() else { return };
        let p = TempProject::new();
        copy_fixture(fixture, &p, "db");
        let format = tool;
        p.write(
            "strata.toml",
            &format!("[[source]]\nname = \"{fixture}\"\npath = \"db\"\nformat = \"{format}\"\n"),
        );
        // The tool ran these files and wrote its history.
        for file in *done {
            let sql = std::fs::read_to_string(p.path(&format!("db/{file}"))).unwrap();
            let sql = sql
                .replace("-- +goose StatementBegin", "")
                .replace("-- +goose StatementEnd", "");
            let up = sql
                .split("\n-- +goose Down")
                .next()
                .unwrap()
                .split("\n-- migrate:down")
                .next()
                .unwrap();
            db.execute(up);
        }
        db.execute(table);

        let dry = strata(
            &p,
            &db,
            &["adopt", "--from", tool, "--dry-run", "--format", "json"],
        );
        assert_eq!(dry.code, 0, "{tool}: {}", dry.all());
        let report: serde_json::Value = serde_json::from_str(&dry.stdout).unwrap();
        assert!(
            !db.has_table("strata_history"),
            "{tool}: --dry-run writes nothing"
        );

        let run = strata(&p, &db, &["adopt", "--from", tool, "--format", "json"]);
        assert_eq!(run.code, 0, "{tool}: {}", run.all());
        let done_report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(report["adopted"], done_report["adopted"], "{tool}");
        let adopted = done_report["adopted"].as_array().unwrap().len();
        let expected = if *tool == "goose" { 2 } else { done.len() };
        assert_eq!(adopted, expected, "{tool}: {done_report}");
        if *tool == "prisma" {
            assert_eq!(
                done_report["dirty"].as_array().unwrap().len(),
                1,
                "{done_report}"
            );
        }
        if *tool == "goose" {
            // Version 3 was applied and then rolled back: pending again.
            assert_eq!(
                done_report["pending"],
                serde_json::json!(["goose/00003"]),
                "{done_report}"
            );
        }

        // Nothing adopted runs again: only the newer files apply.
        let up = strata(&p, &db, &["up"]);
        assert_eq!(up.code, 0, "{tool}: {}", up.all());
        for t in *created_next {
            assert!(db.has_table(t), "{tool}: {t}");
        }
        let kinds = db.query("SELECT count(*) FROM strata_history WHERE kind = 'adopted'");
        assert_eq!(kinds, vec![expected.to_string()], "{tool}");
        let again = strata(&p, &db, &["adopt", "--from", tool, "--format", "json"]);
        let again: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
        assert_eq!(
            again["adopted"].as_array().unwrap().len(),
            0,
            "{tool}: adopting twice records nothing new"
        );
    }
}

#[test]
fn adopt_reports_a_dirty_golang_migrate_version_and_files_it_never_saw() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    copy_fixture("golang_migrate", &p, "db");
    p.write(
        "strata.toml",
        "[[source]]\nname = \"gm\"\npath = \"db\"\nformat = \"golang-migrate\"\n",
    );
    db.execute("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (9, true);");
    let run = strata(
        &p,
        &db,
        &["adopt", "--from", "golang-migrate", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let r: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(r["adopted"], serde_json::json!(["gm/1", "gm/2"]));
    assert!(
        r["dirty"][0].as_str().unwrap().starts_with("9 (dirty"),
        "{r}"
    );
    assert_eq!(r["pending"], serde_json::json!(["gm/9", "gm/10", "gm/11"]));
    let none = strata(&p, &db, &["adopt", "--from", "flyway"]);
    assert_eq!(none.code, 2);
    let missing = strata(&p, &db, &["adopt", "--from", "dbmate"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no source has format = \"dbmate\""),
        "{}",
        missing.stderr
    );
}

fn finished(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|l| l.contains("\"migration_finished\""))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {}",
                v["action"].as_str().unwrap(),
                v["version"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn flyway_baselines_repeatables_and_adoption() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    copy_fixture("flyway", &p, "sql");
    p.write(
        "strata.toml",
        "[[source]]\nname = \"fw\"\npath = \"sql\"\nformat = \"flyway\"\n",
    );

    // An empty database: the baseline stands in for V1..V1_9.
    let up = strata(&p, &db, &["up", "--format", "json"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert_eq!(
        finished(&up),
        vec![
            "apply B1_9",
            "baseline 1",
            "baseline 1_1",
            "baseline 1_9",
            "apply 1_10",
            "apply 2",
            "apply R__account_names"
        ]
    );
    assert_eq!(
        db.query("SELECT count(*) FROM pg_indexes WHERE indexname = 'accounts_email'"),
        vec!["1"]
    );

    // A changed repeatable runs again; it is not drift.
    p.write(
        "sql/R__account_names.sql",
        "create or replace view account_names as select id, name, email from accounts;\n",
    );
    let status = strata(&p, &db, &["status", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let r = doc["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["version"] == "R__account_names")
        .unwrap();
    assert_eq!(r["state"], "pending", "{doc}");
    let again = strata(&p, &db, &["up", "--format", "json"]);
    assert_eq!(finished(&again), vec!["apply R__account_names"]);

    // A database that already has V1: the baseline is not for it.
    let Some(other) = TestDb::postgres() else {
        return;
    };
    assert_eq!(strata(&p, &other, &["up", "--to", "1"]).code, 0);
    let rest = strata(&p, &other, &["up", "--format", "json"]);
    assert_eq!(
        finished(&rest),
        vec![
            "apply 1_1",
            "apply 1_9",
            "apply 1_10",
            "apply 2",
            "apply R__account_names"
        ]
    );
    let listed = strata(&p, &other, &["status", "--format", "json"]);
    assert!(!listed.stdout.contains("B1_9"), "{}", listed.stdout);

    // Flyway applied V1 and V1_1 itself: adopt them, then go on.
    let Some(third) = TestDb::postgres() else {
        return;
    };
    third.execute(
        "create table accounts (id int primary key); alter table accounts add column email text;
         CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INT NOT NULL, success BOOLEAN NOT NULL);
         INSERT INTO flyway_schema_history VALUES (1, '1', 'create accounts', 'SQL', 'V1__create_accounts.sql', 1, 'me', now(), 1, true), (2, '1.1', 'add email', 'SQL', 'V1_1__add_email.sql', 2, 'me', now(), 1, true);",
    );
    let adopt = strata(
        &p,
        &third,
        &["adopt", "--from", "flyway", "--format", "json"],
    );
    assert_eq!(adopt.code, 0, "{}", adopt.all());
    let report: serde_json::Value = serde_json::from_str(&adopt.stdout).unwrap();
    assert_eq!(
        report["adopted"],
        serde_json::json!(["fw/1", "fw/1_1"]),
        "{report}"
    );
    let up = strata(&p, &third, &["up", "--format", "json"]);
    assert_eq!(
        finished(&up),
        vec![
            "apply 1_9",
            "apply 1_10",
            "apply 2",
            "apply R__account_names"
        ],
        "{}",
        up.all()
    );
}

#[test]
fn keep_foreign_history_writes_the_tools_own_rows() {
    // (tool, query on its table, after `up`, after `down --steps 1`)
    let checks: &[(&str, &str, &str, &str)] = &[
        (
            "supabase",
            "SELECT count(*) FROM supabase_migrations.schema_migrations",
            "2",
            "1",
        ),
        (
            "prisma",
            "SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
            "3",
            "3",
        ),
        (
            "drizzle",
            "SELECT count(*) FROM drizzle.__drizzle_migrations",
            "2",
            "2",
        ),
        (
            "sqlx",
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM _sqlx_migrations",
            "1,2,9,10",
            "1,2,9",
        ),
        (
            "golang-migrate",
            "SELECT version || ' ' || dirty FROM schema_migrations",
            "11 false",
            "10 false",
        ),
        ("dbmate", "SELECT count(*) FROM schema_migrations", "3", "2"),
        (
            "goose",
            "SELECT count(*) FROM goose_db_version WHERE version_id = 3",
            "3",
            "0",
        ),
        (
            "diesel",
            "SELECT max(version) FROM __diesel_schema_migrations",
            "20240102090000",
            "20240101120000",
        ),
    ];
    for (tool, query, after_up, after_down) in checks {
        let (_, fixture, done, table, _) = ADOPT.iter().find(|c| c.0 == *tool).unwrap();
        let Some(db) = TestDb::postgres() else { return };
        let p = TempProject::new();
        copy_fixture(fixture, &p, "db");
        p.write(
            "strata.toml",
            &format!("[[source]]\nname = \"{fixture}\"\npath = \"db\"\nformat = \"{tool}\"\n"),
        );
        for file in *done {
            let sql = std::fs::read_to_string(p.path(&format!("db/{file}"))).unwrap();
            let sql = sql
                .replace("-- +goose StatementBegin", "")
                .replace("-- +goose StatementEnd", "");
            db.execute(
                sql.split("\n-- +goose Down")
                    .next()
                    .unwrap()
                    .split("\n-- migrate:down")
                    .next()
                    .unwrap(),
            );
        }
        db.execute(table);
        let adopt = strata(
            &p,
            &db,
            &["adopt", "--from", tool, "--keep-foreign-history"],
        );
        assert_eq!(adopt.code, 0, "{tool}: {}", adopt.all());
        let config = std::fs::read_to_string(p.path("strata.toml")).unwrap();
        assert!(
            config.contains("keep_foreign_history = true"),
            "{tool}: {config}"
        );
        let up = strata(&p, &db, &["up"]);
        assert_eq!(up.code, 0, "{tool}: {}", up.all());
        assert_eq!(
            db.query(query),
            vec![after_up.to_string()],
            "{tool} after up"
        );
        if ["prisma", "drizzle", "supabase", "sqlx"].contains(tool) {
            continue; // these fixtures have no down files
        }
        let down = strata(&p, &db, &["down", "--steps", "1"]);
        assert_eq!(down.code, 0, "{tool}: {}", down.all());
        assert_eq!(
            db.query(query),
            vec![after_down.to_string()],
            "{tool} after down"
        );
    }
}

/// The real dbmate, installed by scripts/install-test-tools.sh.
fn dbmate() -> Option<std::path::PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/test-tools/node_modules/.bin/dbmate");
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("STRATA_REQUIRE_SERVERS").as_deref() != Ok("1"),
        "dbmate is required: run scripts/install-test-tools.sh"
    );
    strata_test_support::skipped("dbmate is not installed (scripts/install-test-tools.sh)");
    None
}

#[test]
fn adopt_a_history_written_by_the_real_dbmate() {
    let Some(db) = TestDb::postgres() else { return };
    let Some(dbmate) = dbmate() else { return };
    let p = TempProject::new();
    copy_fixture("dbmate", &p, "all");
    std::fs::create_dir_all(p.path("db")).unwrap();
    std::fs::copy(
        p.path("all/20240101000000_create_things.sql"),
        p.path("db/20240101000000_create_things.sql"),
    )
    .unwrap();
    let url = format!("{}?sslmode=disable", db.url());
    let out = std::process::Command::new(&dbmate)
        .args([
            "--url",
            &url,
            "--migrations-dir",
            "db",
            "--no-dump-schema",
            "up",
        ])
        .current_dir(&p.dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dbmate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.has_table("things"));
    for f in [
        "20240102000000_concurrent.sql",
        "20240103000000_indented.sql",
    ] {
        std::fs::copy(p.path(&format!("all/{f}")), p.path(&format!("db/{f}"))).unwrap();
    }
    p.write(
        "strata.toml",
        "[[source]]\nname = \"dbmate\"\npath = \"db\"\nformat = \"dbmate\"\n",
    );
    let adopt = strata(
        &p,
        &db,
        &[
            "adopt",
            "--from",
            "dbmate",
            "--format",
            "json",
            "--keep-foreign-history",
        ],
    );
    assert_eq!(adopt.code, 0, "{}", adopt.all());
    let report: serde_json::Value =
        serde_json::from_str(adopt.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        report["adopted"],
        serde_json::json!(["dbmate/20240101000000"])
    );
    let up = strata(&p, &db, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    // dbmate itself agrees that everything is applied now.
    let status = std::process::Command::new(&dbmate)
        .args(["--url", &url, "--migrations-dir", "db", "status"])
        .current_dir(&p.dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("Pending: 0"), "{text}");
}
