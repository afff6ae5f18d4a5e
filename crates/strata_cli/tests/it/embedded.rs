//! The library's embedded migrator against the command: a database
//! migrated half by one and half by the other ends as if one had done it
//! all, with one consistent history, on each engine.

use std::path::Path;
use strata_test_support::{TempProject, TestDb, run_in};

use crate::BIN;

/// The fixture project (its own source name and history table).
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/embedded");
const TABLE: &str = "shop_migrations";
const SECOND: &str = "20240102090000";

fn migrator() -> strata::Migrator {
    strata::Migrator::new(strata::embed!("tests/fixtures/embedded/db"))
}

/// A copy of the fixture for the command to run in.
fn project() -> TempProject {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        &std::fs::read_to_string(Path::new(FIXTURE).join("strata.toml")).unwrap(),
    );
    for entry in std::fs::read_dir(Path::new(FIXTURE).join("db")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        p.write(
            &format!("db/{name}"),
            &std::fs::read_to_string(&path).unwrap(),
        );
    }
    p
}

fn cli(p: &TempProject, db: &TestDb, args: &[&str]) -> strata_test_support::Run {
    let url = db.url();
    let mut all = args.to_vec();
    all.extend(["--database-url", url.as_str()]);
    run_in(Path::new(BIN), &p.dir, &all, &[])
}

/// Runs `migrator` on a connection of the test's own (checking strata
/// gives it back as it was), or through the URL.
fn embedded(db: &TestDb, migrator: strata::Migrator, lend: bool) -> strata::Report {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        if !lend {
            return migrator.run(db.url().as_str()).await.unwrap();
        }
        match db {
            TestDb::Sqlite { path, .. } => {
                let mut conn = rusqlite::Connection::open(path).unwrap();
                conn.busy_timeout(std::time::Duration::from_millis(1234))
                    .unwrap();
                let report = migrator.run(&mut conn).await.unwrap();
                let busy: i64 = conn
                    .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
                    .unwrap();
                assert_eq!(busy, 1234, "the program's busy timeout is given back");
                report
            }
            TestDb::Postgres { url, .. } => {
                let mut client = pg_client(url).await;
                let report = migrator.run(&mut client).await.unwrap();
                // Still the program's, usable, outside any transaction and
                // no longer holding strata's lock.
                assert_unlocked(&client).await;
                client.batch_execute("BEGIN; COMMIT").await.unwrap();
                report
            }
            TestDb::Mysql { url, .. } => {
                use mysql_async::prelude::Queryable;
                let mut conn = mysql_async::Conn::from_url(url.as_str()).await.unwrap();
                conn.query_drop("SET time_zone = '+05:00'").await.unwrap();
                let report = migrator.run(&mut conn).await.unwrap();
                let zone: Option<String> = conn
                    .query_first("SELECT @@session.time_zone")
                    .await
                    .unwrap();
                assert_eq!(
                    zone.as_deref(),
                    Some("+05:00"),
                    "the session's time zone is given back"
                );
                conn.disconnect().await.unwrap();
                report
            }
        }
    })
}

/// A connection of the test's own, as a program has one.
async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// The program's PostgreSQL session holds no advisory lock: strata's is
/// released.
async fn assert_unlocked(client: &tokio_postgres::Client) {
    let row = client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 0, "the advisory lock is released");
}

/// One column of the history, in version order.
fn column(db: &TestDb, column: &str) -> Vec<String> {
    db.query(&format!("SELECT {column} FROM {TABLE} ORDER BY version"))
}

fn interchangeable(make: fn() -> Option<TestDb>) {
    let (Some(a), Some(b), Some(c)) = (make(), make(), make()) else {
        return;
    };
    let p = project();
    // A: the program first (up to the second), then the command.
    let first = embedded(&a, migrator().target(SECOND), true);
    assert_eq!(first.applied, 2);
    let up = cli(&p, &a, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    // B: the command first, then the program.
    let up = cli(&p, &b, &["up", "--to", SECOND]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert_eq!(embedded(&b, migrator(), true).applied, 1);
    // C: the program alone, through a URL.
    assert_eq!(embedded(&c, migrator(), false).applied, 3);
    assert_eq!(embedded(&c, migrator(), false).applied, 0);

    for column_name in [
        "source",
        "version",
        "name",
        "checksum",
        "checksum_algorithm",
        "status",
        "down_sql",
    ] {
        let expected = column(&c, column_name);
        assert_eq!(column(&a, column_name), expected, "{column_name}");
        assert_eq!(column(&b, column_name), expected, "{column_name}");
    }
    assert_eq!(column(&c, "source"), ["shop"; 3]);
    assert_eq!(column(&a, "batch"), ["1", "1", "2"]);
    assert_eq!(column(&b, "batch"), ["1", "1", "2"]);
    let dump = |db: &TestDb| {
        let run = cli(&p, db, &["schema", "dump"]);
        assert_eq!(run.code, 0, "{}", run.all());
        run.stdout
    };
    let schema = dump(&c);
    assert!(schema.contains("orders_product"), "{schema}");
    for db in [&a, &b, &c] {
        assert_eq!(dump(db), schema);
        let status = cli(&p, db, &["status", "--check"]);
        assert_eq!(status.code, 0, "{}", status.all());
        let validate = cli(&p, db, &["validate"]);
        assert_eq!(validate.code, 0, "{}", validate.all());
    }
}

#[test]
fn sqlite() {
    interchangeable(TestDb::sqlite);
}

#[test]
fn postgres() {
    interchangeable(TestDb::postgres);
}

#[test]
fn mysql() {
    interchangeable(TestDb::mysql);
}

/// A failing migration on the program's connection: the error names it,
/// the history records it, and the connection is the program's again,
/// outside any transaction and without strata's lock.
#[test]
fn a_failure_on_a_lent_connection_leaves_it_usable() {
    let Some(db) = TestDb::postgres() else { return };
    let TestDb::Postgres { url, .. } = &db else {
        unreachable!()
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut client = pg_client(url).await;
        let migrator = strata::Migrator::new(strata::embed!("tests/fixtures/embedded_broken"));
        let error = migrator.run(&mut client).await.unwrap_err();
        assert_eq!(error.kind(), strata::ErrorKind::MigrationFailed, "{error}");
        assert!(error.to_string().contains("missing_table"), "{error}");
        assert_unlocked(&client).await;
        // Not inside an aborted transaction: a plain query works.
        client.simple_query("SELECT 1").await.unwrap();
    });
    assert_eq!(
        db.query("SELECT version || ' ' || status FROM strata_history ORDER BY version"),
        ["1 applied", "2 failed"]
    );
    assert!(
        !db.has_table("never"),
        "the failed migration's transaction rolled back"
    );
}

/// An applied migration whose file changed is refused by the program as
/// by the command, and an older pending one needs allow_out_of_order.
#[test]
fn drift_and_out_of_order_are_refused_as_the_command_refuses_them() {
    let Some(db) = TestDb::sqlite() else { return };
    let p = project();
    // The command applied an edited first migration.
    let edited = std::fs::read_to_string(p.path("db/20240101090000_create_products.sql"))
        .unwrap()
        .replace("VARCHAR(100)", "VARCHAR(200)");
    p.write("db/20240101090000_create_products.sql", &edited);
    let up = cli(&p, &db, &["up", "--to", "20240101090000"]);
    assert_eq!(up.code, 0, "{}", up.all());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let TestDb::Sqlite { path, .. } = &db else {
        unreachable!()
    };
    let mut conn = rusqlite::Connection::open(path).unwrap();
    let error = rt.block_on(migrator().run(&mut conn)).unwrap_err();
    assert!(error.to_string().contains("repair"), "{error}");
    assert_eq!(column(&db, "version"), ["20240101090000"]);

    // Out of order: the command applied the third alone.
    let db = TestDb::sqlite().unwrap();
    let p = project();
    let up = cli(&p, &db, &["up", "--only", "20240101090000"]);
    assert_eq!(up.code, 0, "{}", up.all());
    let up = cli(
        &p,
        &db,
        &["up", "--only", "20240103090000", "--allow-out-of-order"],
    );
    assert_eq!(up.code, 0, "{}", up.all());
    let TestDb::Sqlite { path, .. } = &db else {
        unreachable!()
    };
    let mut conn = rusqlite::Connection::open(path).unwrap();
    let refused = rt.block_on(migrator().run(&mut conn)).unwrap_err();
    assert!(
        refused.to_string().contains("allow-out-of-order"),
        "{refused}"
    );
    let report = rt
        .block_on(migrator().allow_out_of_order(true).run(&mut conn))
        .unwrap();
    assert_eq!(report.applied, 1);
}

/// A whole project embedded from the folder that holds its sources: their
/// `requires` order holds.
#[test]
fn a_folder_of_several_sources_runs_in_their_order() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    let report = rt
        .block_on(
            strata::Migrator::new(strata::embed!("tests/fixtures/embedded_multi/db"))
                .run(&mut conn),
        )
        .unwrap();
    assert_eq!(report.applied, 2);
    let n: i64 = conn
        .query_row("SELECT n FROM daily", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

/// The program's connection is taken as it is: not inside a transaction
/// (refused, untouched), and on PostgreSQL its own settings survive the
/// migrations' resets.
#[test]
fn a_lent_connection_keeps_its_settings_and_its_transaction_is_refused() {
    let Some(db) = TestDb::postgres() else { return };
    let TestDb::Postgres { url, .. } = &db else {
        unreachable!()
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut client = pg_client(url).await;
        client
            .batch_execute(
                "CREATE SCHEMA app; SET search_path = app, public; SET statement_timeout = '123s'",
            )
            .await
            .unwrap();
        client
            .batch_execute("BEGIN; CREATE TABLE mine (x int)")
            .await
            .unwrap();
        let refused = migrator().run(&mut client).await.unwrap_err();
        assert!(
            refused.to_string().contains("inside a transaction"),
            "{refused}"
        );
        // Untouched: the program's transaction goes on.
        client
            .batch_execute("INSERT INTO mine VALUES (1); COMMIT")
            .await
            .unwrap();

        let report = migrator().run(&mut client).await.unwrap();
        assert_eq!(report.applied, 3);
        let show = |row: tokio_postgres::Row| row.get::<_, String>(0);
        assert_eq!(
            show(client.query_one("SHOW search_path", &[]).await.unwrap()),
            "app, public"
        );
        assert_eq!(
            show(
                client
                    .query_one("SHOW statement_timeout", &[])
                    .await
                    .unwrap()
            ),
            "123s"
        );
        // Migration 2 found migration 1's table through the program's path.
        let row = client
            .query_one("SELECT count(*) FROM app.orders", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, i64>(0), 0);
    });
    let TestDb::Sqlite { .. } = TestDb::sqlite().unwrap() else {
        unreachable!()
    };
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch("BEGIN").unwrap();
    let refused = rt.block_on(migrator().run(&mut conn)).unwrap_err();
    assert!(
        refused.to_string().contains("inside a transaction"),
        "{refused}"
    );
}

/// What an embedded run cannot keep or find is refused before anything
/// runs, naming it.
#[test]
fn hooks_are_refused_in_an_embedded_run() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    let migrator = strata::Migrator::new(strata::embed!("tests/fixtures/embedded_hooks/db"));
    let refused = rt.block_on(migrator.run(&mut conn)).unwrap_err();
    assert!(
        refused.to_string().contains("cannot use hooks"),
        "{refused}"
    );
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0, "nothing ran");
}
