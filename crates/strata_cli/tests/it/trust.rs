//! Regressions for issue 10 ("trust"): paths that lost data, made `status`
//! lie, or differed from each tool's own semantics. Each test names the bug
//! it pins.

use std::path::Path;
use strata_test_support::{Run, TempProject, TestDb, engine_test, run_in};

use crate::BIN;

fn strata(p: &TempProject, args: &[&str]) -> Run {
    run_in(Path::new(BIN), &p.dir, args, &[])
}

/// The plan hash a refusal asks to approve.
fn approve_hash(run: &Run) -> String {
    run.stderr
        .split("--approve ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_hexdigit()).next())
        .filter(|h| h.len() == 16)
        .unwrap_or_else(|| panic!("no plan hash in: {}", run.stderr))
        .to_string()
}

/// The migrations `status --format json` calls applied, as `source/version`.
fn applied(status: &Run) -> Vec<String> {
    let doc: serde_json::Value =
        serde_json::from_str(&status.stdout).unwrap_or_else(|_| panic!("{}", status.stdout));
    doc["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] == "applied")
        .map(|m| {
            format!(
                "{}/{}",
                m["source"].as_str().unwrap(),
                m["version"].as_str().unwrap()
            )
        })
        .collect()
}

fn sqlite_project(env: &str) -> TempProject {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        &format!("[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"sqlite://strata.db\"\n{env}"),
    );
    p
}

/// Bug: `strata repair` of a migration whose file is gone answered "needs
/// no repair: its checksum matches".
#[test]
fn repair_of_a_missing_file_says_so_and_can_forget_it() {
    let p = sqlite_project("");
    p.write("migrations/1_a.sql", "CREATE TABLE a (x int);\n");
    p.write("migrations/2_b.sql", "CREATE TABLE b (x int);\n");
    assert_eq!(strata(&p, &["up"]).code, 0);
    p.remove("migrations/2_b.sql");
    let refused = strata(&p, &["repair", "2"]);
    insta::assert_snapshot!(refused.shown(None));
    let forgot = strata(&p, &["repair", "2", "--forget"]);
    assert_eq!(forgot.code, 0, "{}", forgot.all());
    let status = strata(&p, &["status", "--check"]);
    assert_eq!(status.code, 0, "{}", status.all());
    let history = strata(&p, &["history"]);
    assert!(
        history.stdout.contains("forgotten: its file was deleted"),
        "{}",
        history.stdout
    );
    // --forget names a migration.
    assert_eq!(strata(&p, &["repair", "--forget"]).code, 2);
}

/// Bug: `repair` on an environment with require_approval told the user to
/// pass --approve, which it did not accept. Every command a policy may
/// refuse takes the approval it asks for: the suggested line is run as is.
#[test]
fn every_refusal_asking_for_approval_is_accepted_by_its_command() {
    let p = sqlite_project("require_approval = true\n");
    p.write(
        "migrations/1_a.sql",
        "-- strata:up\nCREATE TABLE a (x int);\n-- strata:down\nDROP TABLE a;\n",
    );
    p.write(
        "migrations/2_b.sql",
        "-- strata:up\nCREATE TABLE b (x int);\n-- strata:down\nDROP TABLE b;\n",
    );
    let approved = |args: &[&str]| {
        let refused = strata(&p, args);
        assert_eq!(refused.code, 2, "{args:?}: {}", refused.all());
        let hash = approve_hash(&refused);
        let mut again = args.to_vec();
        again.extend(["--approve", &hash]);
        let done = strata(&p, &again);
        assert_eq!(done.code, 0, "{again:?}: {}", done.all());
    };
    approved(&["up", "--to", "1"]);
    approved(&["up"]);
    p.write(
        "migrations/2_b.sql",
        "-- strata:up\nCREATE TABLE b (x bigint);\n-- strata:down\nDROP TABLE b;\n",
    );
    approved(&["repair"]);
    approved(&["redo"]);
    approved(&["down", "--all"]);
    approved(&["baseline", "2"]);
    approved(&["fresh"]);
}

/// Bug: `baseline 1` of one source marked every other source's migrations
/// ordered before it as applied, silently.
#[test]
fn baseline_is_scoped_to_its_source() {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"app\"\n\n[[source]]\nname = \"data\"\npath = \"data\"\nrequires = [\"app\"]\n",
    );
    p.write("app/1_a.sql", "CREATE TABLE a (x int);\n");
    p.write("app/2_b.sql", "CREATE TABLE b (x int);\n");
    p.write("data/1_c.sql", "CREATE TABLE c (x int);\n");
    p.write("data/2_d.sql", "CREATE TABLE d (x int);\n");
    let url = ["--database-url", "sqlite://s.db"];
    let with = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(url);
        strata(&p, &all)
    };
    assert_eq!(with(&["baseline", "data/1"]).code, 0);
    assert_eq!(applied(&with(&["status", "--format", "json"])), ["data/1"]);

    // Wider needs --all-sources, lists what it would record, and approval.
    let refused = with(&["baseline", "data/2", "--all-sources"]);
    insta::assert_snapshot!(refused.shown(None));
    let hash = approve_hash(&refused);
    let done = with(&["baseline", "data/2", "--all-sources", "--approve", &hash]);
    assert_eq!(done.code, 0, "{}", done.all());
    assert_eq!(with(&["status", "--check"]).code, 0);
}

/// Bug: `baseline` with keep_foreign_history wrote strata's history but not
/// the tool's, so the tool went on to run those migrations again.
#[test]
fn baseline_writes_the_foreign_history_too() {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\nformat = \"sqlx\"\nkeep_foreign_history = true\n",
    );
    p.write("migrations/1_a.sql", "CREATE TABLE a (x int);\n");
    p.write("migrations/2_b.sql", "CREATE TABLE b (x int);\n");
    p.write("migrations/3_c.sql", "CREATE TABLE c (x int);\n");
    let run = strata(&p, &["baseline", "2", "--database-url", "sqlite://s.db"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let conn = rusqlite::Connection::open(p.path("s.db")).unwrap();
    let versions: Vec<i64> = conn
        .prepare("SELECT version FROM _sqlx_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(versions, [1, 2]);
}

// Bug: golang-migrate pairs `N_a.up.sql` with `N_b.down.sql` by version
// alone; strata paired by the whole stem and called the down an orphan.
// And: a down that holds only comments is an empty down (sqlx, golang-
// migrate and diesel revert it by running nothing); strata called it
// irreversible. `down --to 0` reverts everything, as `sqlx migrate revert
// --target-version 0` does.
engine_test!(empty_downs_and_down_to_zero_round_trip, |db: &TestDb| {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\nformat = \"sqlx\"\n",
    );
    p.write(
        "migrations/1_items.up.sql",
        "CREATE TABLE items (id integer PRIMARY KEY);\n",
    );
    p.write("migrations/1_items.down.sql", "DROP TABLE items;\n");
    p.write(
        "migrations/2_seed.up.sql",
        "INSERT INTO items (id) VALUES (1);\n",
    );
    p.write(
        "migrations/2_seed.down.sql",
        "-- nothing to undo: dropping items removes the row\n",
    );
    p.write(
        "migrations/3_more.up.sql",
        "CREATE TABLE more_items (id integer);\n",
    );
    p.write("migrations/3_more.down.sql", "DROP TABLE more_items;\n");
    let run = |args: &[&str]| db.run(Path::new(BIN), &p.dir, args);
    for _ in 0..2 {
        let up = run(&["up"]);
        assert_eq!(up.code, 0, "{}", up.all());
        assert!(db.has_table("items") && db.has_table("more_items"));
        let down = run(&["down", "--to", "0"]);
        assert_eq!(down.code, 0, "{}", down.all());
        assert!(!db.has_table("items") && !db.has_table("more_items"));
    }
    assert!(applied(&run(&["status", "--format", "json"])).is_empty());

    let g = TempProject::new();
    g.write(
        "strata.toml",
        "[[source]]\nname = \"gm\"\npath = \"migrations\"\nformat = \"golang-migrate\"\n",
    );
    g.write(
        "migrations/1_create_t.up.sql",
        "CREATE TABLE t (id integer);\n",
    );
    g.write("migrations/1_drop_t.down.sql", "DROP TABLE t;\n");
    let run = |args: &[&str]| db.run(Path::new(BIN), &g.dir, args);
    assert_eq!(run(&["up"]).code, 0);
    assert!(db.has_table("t"));
    let down = run(&["down", "--all"]);
    assert_eq!(down.code, 0, "{}", down.all());
    assert!(!db.has_table("t"));
});

// Bug: a migration that changed search_path (`SET search_path = ''`, as
// every pg_dump output does) made the history write fail with "relation
// strata_history does not exist"; on MySQL `USE other_db` sent the history
// elsewhere. strata's tables are named with their schema, and what a
// migration SETs stays with it.
engine_test!(a_migration_may_change_the_session, |db: &TestDb| {
    let p = TempProject::new();
    let name = db
        .url()
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let other = format!("{name}_other");
    let (first, second) = match db.engine() {
        "postgres" => (
            "SET search_path = '';\nCREATE TABLE public.a (x integer);\n".to_string(),
            "-- strata:no-transaction\nSET search_path = '';\nCREATE TABLE public.b (x integer);\n"
                .to_string(),
        ),
        "mysql" => (
            format!("CREATE DATABASE `{other}`;\nUSE `{other}`;\nCREATE TABLE a (x integer);\n"),
            format!("USE `{other}`;\nCREATE TABLE b (x integer);\n"),
        ),
        _ => (
            "PRAGMA foreign_keys = OFF;\nCREATE TABLE a (x integer);\n".to_string(),
            "-- strata:no-transaction\nCREATE TABLE b (x integer);\n".to_string(),
        ),
    };
    p.write("migrations/1_a.sql", &first);
    p.write("migrations/2_b.sql", &second);
    p.write("migrations/3_c.sql", "CREATE TABLE c (x integer);\n");
    let up = db.run(Path::new(BIN), &p.dir, &["up"]);
    let status = db.run(Path::new(BIN), &p.dir, &["status", "--check"]);
    if db.engine() == "mysql" {
        db.execute(&format!("DROP DATABASE IF EXISTS `{other}`"));
    }
    assert_eq!(up.code, 0, "{}", up.all());
    assert_eq!(status.code, 0, "{}", status.all());
    // The third migration ran where every migration starts.
    assert!(db.has_table("c"));
    assert_eq!(
        db.query("SELECT count(*) FROM strata_history WHERE status = 'applied'"),
        ["3"]
    );
});

/// Bug: libpq URL forms that name a Unix socket failed with "error
/// performing TLS handshake: invalid dns name" (sslmode=prefer tried TLS
/// over the socket); libpq never uses TLS there.
#[test]
fn libpq_unix_socket_urls_work() {
    let socket = Path::new("/var/run/postgresql/.s.PGSQL.5432");
    if !socket.exists() || TestDb::postgres().is_none() {
        return;
    }
    let p = sqlite_project("");
    for url in [
        "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/postgres",
        "postgres://postgres@/postgres?host=/var/run/postgresql",
        "postgres:///postgres?host=/var/run/postgresql&user=postgres&sslmode=require",
        "postgresql:///postgres?user=postgres",
    ] {
        let run = strata(&p, &["doctor", "--database-url", url, "--format", "json"]);
        let doc: serde_json::Value =
            serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("{}", run.all()));
        assert!(run.stdout.contains("PostgreSQL 1"), "{url}: {doc:#}");
    }
}

/// A server that accepts connections and never answers.
fn silent_server() -> (u16, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(2) {
            held.push(stream);
        }
        std::thread::sleep(std::time::Duration::from_secs(8));
    });
    (port, handle)
}

/// Bug: a server that accepts TCP and never answers hung strata forever
/// (the connect timeout bounded only the TCP connect).
#[test]
fn connect_timeout_bounds_the_whole_connection() {
    let p = sqlite_project("");
    for scheme in ["postgres", "mysql"] {
        let (port, _server) = silent_server();
        let started = std::time::Instant::now();
        let url = format!("{scheme}://u@127.0.0.1:{port}/db?connect_timeout=2");
        let run = strata(&p, &["status", "--database-url", &url]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(7),
            "{scheme}"
        );
        assert!(
            run.stderr.contains(
                "no complete answer within 2s (connect_timeout, TLS and authentication included)"
            ),
            "{}",
            run.stderr
        );
    }
}

/// Bug: a password that is not percent-encoded was printed in part.
#[test]
fn a_raw_password_is_never_printed() {
    let p = sqlite_project("");
    p.write(
        "strata.toml",
        "[project]\naudit_log = \"audit.jsonl\"\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n",
    );
    p.write("migrations/1_a.sql", "CREATE TABLE a (x int);\n");
    let url = "postgres://u:p@ss/w:rd?#%@127.0.0.1:1/db";
    for format in ["human", "json"] {
        let run = strata(&p, &["up", "--database-url", url, "--format", format]);
        assert_eq!(run.code, 2, "{}", run.all());
        let all = run.all() + &std::fs::read_to_string(p.path("audit.jsonl")).unwrap_or_default();
        assert!(!all.contains("ss/w") && !all.contains("rd?#"), "{all}");
        assert!(all.contains("u:***@127.0.0.1:1/db"), "{all}");
    }
}

// Bug: the README's verify example (`SELECT ... LIMIT 0`) failed on a
// correct database ("returned no rows"). The rule: statements that run
// pass; a last query returning no rows or false/0 fails, unless it ends
// in LIMIT 0.
engine_test!(verify_follows_one_documented_rule, |db: &TestDb| {
    let p = TempProject::new();
    p.write(
        "migrations/1_a.sql",
        "-- strata:up\nCREATE TABLE a (id integer, label varchar(10));\n-- strata:down\nDROP TABLE a;\n-- strata:verify\nSELECT id, label FROM a LIMIT 0;\n",
    );
    p.write(
        "migrations/2_b.sql",
        "-- strata:up\nINSERT INTO a VALUES (1, 'one');\n-- strata:down\nDELETE FROM a;\n-- strata:verify\nSELECT 1 FROM a WHERE id = 1;\n",
    );
    let run = |args: &[&str]| db.run(Path::new(BIN), &p.dir, args);
    assert_eq!(run(&["up"]).code, 0);
    let ok = run(&["verify"]);
    assert_eq!(ok.code, 0, "{}", ok.all());
    db.execute("DELETE FROM a");
    let missing = run(&["verify", "--format", "json"]);
    assert_eq!(missing.code, 1, "{}", missing.all());
    let doc: serde_json::Value = serde_json::from_str(&missing.stdout).unwrap();
    let failed: Vec<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ok"] == false)
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["the verify query returned no rows"], "{doc}");
});

/// Bug: `CREATE TABLEE x;` and an unterminated `$$` passed `strata
/// validate` as "Valid: the files parse"; `lint` reported one error per
/// token after the mistake.
#[test]
fn sql_that_does_not_parse_is_an_error_with_its_line() {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\nengine = \"postgres\"\n",
    );
    p.write("migrations/1_a.sql", "-- strata:up\nCREATE TABLE a (id int);\nCREATE TABLEE x (id int);\n-- strata:down\nDROP TABLE a;\n");
    p.write(
        "migrations/2_b.sql",
        "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1;\n",
    );
    p.write(
        "migrations/3_c.sql",
        "CREATE TABLE c (id int);\nCOPY c FROM STDIN;\n1\n2\n\\.\n",
    );
    let validate = strata(&p, &["validate"]);
    insta::assert_snapshot!("validate", validate.shown(None));
    let lint = strata(&p, &["lint", "--format", "json"]);
    assert_eq!(lint.code, 1, "{}", lint.all());
    let doc: serde_json::Value = serde_json::from_str(&lint.stdout).unwrap();
    let syntax: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "syntax-error")
        .map(|f| format!("{}:{}", f["path"].as_str().unwrap(), f["line"]))
        .collect();
    assert_eq!(
        syntax,
        ["migrations/1_a.sql:3", "migrations/2_b.sql:1"],
        "{doc:#}"
    );
}

const GOOSE_USERS: &str = "-- +goose Up\nCREATE TABLE users (id integer PRIMARY KEY, name varchar(20));\n-- +goose Down\nDROP TABLE users;\n";
const GOOSE_POSTS: &str = "-- +goose Up\nCREATE TABLE posts (id integer PRIMARY KEY);\n-- +goose Down\nDROP TABLE posts;\n";

/// Bug: a repository shipping the same migrations per engine
/// (migrations/postgres, migrations/mysql, migrations/sqlite) was refused
/// ("source ... is written for mysql"), and init named one source by tool
/// and the others by path. Now: init names them goose-<engine>, `up` runs
/// the database's own and says which it skipped; `down --to 0` then leaves
/// an empty schema and `up` gives the same schema again.
#[test]
fn per_engine_migrations_init_up_down_to_zero_up() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    std::fs::remove_dir(p.path("migrations")).unwrap();
    for engine in ["postgres", "mysql", "sqlite"] {
        p.write(&format!("migrations/{engine}/00001_users.sql"), GOOSE_USERS);
        p.write(&format!("migrations/{engine}/00002_posts.sql"), GOOSE_POSTS);
    }
    let url = db.url();
    let env = [("DATABASE_URL", url.as_str())];
    let run = |args: &[&str]| run_in(Path::new(BIN), &p.dir, args, &env);
    let init = run(&["init", "--format", "json"]);
    assert_eq!(init.code, 0, "{}", init.all());
    let doc: serde_json::Value = serde_json::from_str(&init.stdout).unwrap();
    let names: Vec<&str> = doc["added_sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["goose-mysql", "goose-postgres", "goose-sqlite"]);
    assert_eq!(doc["database"], "${DATABASE_URL}");
    assert!(
        !std::fs::read_to_string(p.path("strata.toml"))
            .unwrap()
            .contains(&url)
    );

    let up = run(&["up"]);
    insta::assert_snapshot!("per_engine_up", up.shown(Some(&db)));
    let tables = || {
        db.query(
            "SELECT string_agg(table_name || '.' || column_name || ' ' || data_type, ', ' ORDER BY table_name, ordinal_position) FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE 'strata%'",
        )
    };
    let schema = tables();
    assert_eq!(
        schema,
        ["posts.id integer, users.id integer, users.name character varying"]
    );
    let down = run(&["down", "--to", "0"]);
    assert_eq!(down.code, 0, "{}", down.all());
    assert_eq!(tables(), ["NULL"]);
    assert_eq!(run(&["up"]).code, 0);
    assert_eq!(tables(), schema);
    // Named explicitly, a source of another engine is refused.
    let named = run(&["up", "--source", "goose-mysql"]);
    assert_eq!(named.code, 2, "{}", named.all());
}

/// Bug: a Prisma or Supabase project got `sqlite://strata.db` from init
/// and its first `strata status` failed. init writes the database the
/// project uses, never a secret.
#[test]
fn init_chooses_the_database_the_project_uses() {
    let p = TempProject::new();
    std::fs::remove_dir(p.path("migrations")).unwrap();
    p.write(
        "prisma/schema.prisma",
        "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n",
    );
    p.write(
        "prisma/migrations/20240101000000_init/migration.sql",
        "CREATE TABLE a (id int);\n",
    );
    p.write(
        "prisma/migrations/migration_lock.toml",
        "provider = \"postgresql\"\n",
    );
    let init = strata(&p, &["init"]);
    assert_eq!(init.code, 0, "{}", init.all());
    assert!(
        std::fs::read_to_string(p.path("strata.toml"))
            .unwrap()
            .contains("url = \"${DATABASE_URL}\"")
    );
    assert!(
        init.stdout
            .contains("The migrations are written for postgres: set DATABASE_URL"),
        "{}",
        init.stdout
    );

    // --database-url: written, but never its password.
    let q = TempProject::new();
    let given = strata(
        &q,
        &[
            "init",
            "--database-url",
            "postgres://app:s3cret@db.internal:5432/app",
        ],
    );
    assert_eq!(given.code, 0, "{}", given.all());
    let text = std::fs::read_to_string(q.path("strata.toml")).unwrap();
    assert!(
        text.contains("url = \"postgres://app:${STRATA_DB_PASSWORD}@db.internal:5432/app\""),
        "{text}"
    );
    assert!(!text.contains("s3cret") && !given.all().contains("s3cret"));

    // Nothing says otherwise: SQLite.
    let r = TempProject::new();
    assert_eq!(strata(&r, &["init"]).code, 0);
    assert!(
        std::fs::read_to_string(r.path("strata.toml"))
            .unwrap()
            .contains("url = \"sqlite://strata.db\"")
    );
}

/// Bug: `adopt --from sqlx` on a plain migrations/ of `<ts>_<name>.sql`
/// (strata's format and sqlx's at once) asked for --source though there
/// was only one source.
#[test]
fn adopt_uses_the_one_source_that_can_hold_the_history() {
    let p = sqlite_project("");
    p.write("migrations/1_a.sql", "CREATE TABLE a (x int);\n");
    p.write("migrations/2_b.sql", "CREATE TABLE b (x int);\n");
    let conn = rusqlite::Connection::open(p.path("strata.db")).unwrap();
    conn.execute_batch(
        "CREATE TABLE a (x int);
         CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);
         INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (1, 'a', 1, x'00', 1);",
    )
    .unwrap();
    let adopt = strata(&p, &["adopt", "--from", "sqlx"]);
    assert_eq!(adopt.code, 0, "{}", adopt.all());
    let up = strata(&p, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(
        up.stdout.contains("app/2") && !up.stdout.contains("app/1 "),
        "{}",
        up.stdout
    );
}

/// Smaller things users hit: `status` without a project says to run init;
/// a fresh `strata new` (empty up) leaves the rest working and only its own
/// `up` refuses; JSON counts have every state; "1 migration"; long names
/// keep `list` aligned; a revert is a batch of its own.
#[test]
fn smaller_things_users_hit() {
    let bare = TempProject::new();
    std::fs::remove_dir(bare.path("migrations")).unwrap();
    let status = strata(&bare, &["status"]);
    assert_eq!(status.code, 2, "{}", status.all());
    assert!(
        status.stderr.contains("run `strata init`"),
        "{}",
        status.stderr
    );

    let p = sqlite_project("");
    p.write(
        "migrations/1_a_migration_with_a_rather_long_descriptive_name.sql",
        "-- strata:up\nCREATE TABLE a (x int);\n-- strata:down\nDROP TABLE a;\n",
    );
    assert_eq!(strata(&p, &["up"]).code, 0);
    assert_eq!(strata(&p, &["new", "next"]).code, 0);
    let status = strata(&p, &["status", "--format", "json"]);
    assert_eq!(status.code, 0, "{}", status.all());
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        doc["counts"],
        serde_json::json!({"applied": 1, "pending": 1, "failed": 0, "reverted": 0, "drifted": 0, "missing": 0})
    );
    let up = strata(&p, &["up"]);
    assert_eq!(up.code, 2, "{}", up.all());
    assert!(
        up.stderr.contains("its up section is empty"),
        "{}",
        up.stderr
    );
    let list = strata(&p, &["list"]);
    let lines: Vec<&str> = list.stdout.lines().collect();
    let column = |l: &str| l.find("DOWN").or_else(|| l.find(" yes ").map(|i| i + 1));
    // The source's line, then its table.
    assert_eq!(column(lines[1]), column(lines[2]), "{}", list.stdout);

    let down = strata(&p, &["down", "--format", "json"]);
    assert_eq!(down.code, 0, "{}", down.all());
    let history = strata(&p, &["history", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    let batches: Vec<(String, i64)> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["batch"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        batches,
        [("apply".to_string(), 1), ("revert".to_string(), 2)]
    );
    let summary = strata(&p, &["status"]);
    assert!(
        summary.stdout.contains("2 migrations: 0 applied"),
        "{}",
        summary.stdout
    );
    std::fs::remove_dir_all(p.path("migrations")).unwrap();
    p.write("migrations/1_a.sql", "CREATE TABLE a (x int);\n");
    assert!(
        strata(&p, &["status"])
            .stdout
            .contains("1 migration: 0 applied")
    );
}

/// `strata plan` names the destructive steps an environment forbids,
/// before `up` refuses them.
#[test]
fn plan_shows_destructive_steps_the_environment_forbids() {
    let p = sqlite_project("allow_destructive = false\n");
    p.write(
        "migrations/1_a.sql",
        "CREATE TABLE a (x int);\nDROP TABLE a;\n",
    );
    let plan = strata(&p, &["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(
        plan.all()
            .contains("migrations/1_a.sql:2: app/1 drops a table")
            && plan
                .all()
                .contains("needs --allow-destructive and approval"),
        "{}",
        plan.all()
    );
}

/// Backups hold the database's data: inside a git work tree their
/// directory is added to .gitignore.
#[test]
fn backups_stay_out_of_git() {
    let p = sqlite_project("");
    let git = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(&p.dir)
        .status();
    if !git.is_ok_and(|s| s.success()) {
        strata_test_support::skipped("git is not installed");
        return;
    }
    p.write("migrations/1_a.sql", "CREATE TABLE a (x int);\n");
    assert_eq!(strata(&p, &["up"]).code, 0);
    let backup = strata(&p, &["backup"]);
    assert_eq!(backup.code, 0, "{}", backup.all());
    assert!(
        backup.stderr.contains("added /backups/ to .gitignore"),
        "{}",
        backup.all()
    );
    let ignore = std::fs::read_to_string(p.path(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "/backups/"), "{ignore}");
    assert_eq!(strata(&p, &["backup"]).code, 0);
    assert_eq!(
        std::fs::read_to_string(p.path(".gitignore")).unwrap(),
        ignore
    );
}

/// A migration file that is a symbolic link is read only when it stays
/// inside the project (or follow_symlinks = true), and an error never
/// shows lines of a file outside it.
#[test]
fn symlinks_outside_the_project_are_not_read() {
    let outside = TempProject::new();
    outside.write(
        "secret.sql",
        "CREATE TABLE x (id int);\nSELECT 'top secret' FROM nowhere;\n",
    );
    let p = sqlite_project("");
    p.write("migrations/1_a.sql", "CREATE TABLE a (x int);\n");
    p.write("shared/2_b.sql", "CREATE TABLE b (x int);\n");
    std::os::unix::fs::symlink(p.path("shared/2_b.sql"), p.path("migrations/2_b.sql")).unwrap();
    std::os::unix::fs::symlink(outside.path("secret.sql"), p.path("migrations/3_c.sql")).unwrap();
    let refused = strata(&p, &["up"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused.stderr.contains("migrations/3_c.sql: a symbolic link to something outside the project, which strata does not read"),
        "{}",
        refused.stderr
    );
    assert!(!refused.all().contains("top secret"));
    p.write(
        "strata.toml",
        "[project]\nfollow_symlinks = true\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"sqlite://strata.db\"\n",
    );
    let failed = strata(&p, &["up"]);
    assert_eq!(failed.code, 2, "{}", failed.all());
    assert!(
        failed.stderr.contains("no such table: nowhere"),
        "{}",
        failed.stderr
    );
    assert!(!failed.all().contains("top secret"), "{}", failed.all());
}

/// `.up.sql`/`.down.sql` pairs are both golang-migrate's and sqlx's
/// layout: without a go.mod or Cargo.toml saying which, init says which it
/// chose and how to change it.
#[test]
fn init_says_when_a_layout_fits_two_tools() {
    let p = TempProject::new();
    std::fs::remove_dir(p.path("migrations")).unwrap();
    p.write(
        "db/migrations/20240101000000_a.up.sql",
        "CREATE TABLE a (x int);\n",
    );
    p.write("db/migrations/20240101000000_a.down.sql", "DROP TABLE a;\n");
    let init = strata(&p, &["init", "--format", "json"]);
    assert_eq!(init.code, 0, "{}", init.all());
    let doc: serde_json::Value = serde_json::from_str(&init.stdout).unwrap();
    assert_eq!(doc["added_sources"][0]["format"], "golang-migrate");
    assert!(
        doc["notes"][0]["note"]
            .as_str()
            .unwrap()
            .contains("set format = \"sqlx\""),
        "{doc}"
    );
}
