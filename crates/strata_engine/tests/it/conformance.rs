//! What every driver must do, asked of each in-process on a database of its
//! own (SQLite, and the PostgreSQL and MariaDB servers): the history table
//! round-trips every column, a failed transactional migration leaves no
//! trace, failed statements say what kind of failure they were, the
//! migration lock excludes a second connection, and reading another tool's
//! missing table is not an error.

use strata_driver::{
    Driver, DriverError, HistoryWrite, LockAttempt, LockMode, SqlErrorKind, TableName, TxSettings,
};
use strata_engine::DatabaseTarget;
use strata_model::{
    Checksum, HistoryRow, HistoryStatus, LogAction, LogEntry, MigrationId, MigrationKind, Progress,
    Timestamp, Version,
};
use strata_test_support::{TestDb, engine_test, transactional_test};

fn block_on<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

async fn connect(db: &TestDb) -> Box<dyn Driver> {
    let target = DatabaseTarget::parse(&db.url(), std::path::Path::new("/")).unwrap();
    target
        .connect(TableName::parse("strata_history").unwrap())
        .await
        .unwrap()
}

fn id(version: &str) -> MigrationId {
    MigrationId::new("app", Version::parse(version).unwrap())
}

/// A row with every column set, times with milliseconds.
fn row(version: &str, status: HistoryStatus) -> HistoryRow {
    HistoryRow {
        id: id(version),
        name: "créer «users»".into(),
        kind: MigrationKind::Versioned,
        checksum: Checksum {
            hex: "ab".repeat(32),
            algorithm: "sha256".into(),
        },
        status,
        batch: 7,
        started_at: Timestamp::from_unix_millis(1_700_000_000_123),
        finished_at: Some(Timestamp::from_unix_millis(1_700_000_001_456)),
        duration_ms: Some(1333),
        applied_by: "deploy@ci".into(),
        strata_version: "0.1.0".into(),
        environment: Some("prod".into()),
        error: Some("it's \"quoted\"\nand on two lines".into()),
        down_sql: Some("DROP TABLE users;".into()),
        out_of_order: true,
        progress: Some(Progress {
            statements: 3,
            hash: "cd".repeat(32),
        }),
    }
}

fn log(version: &str, action: LogAction, status: HistoryStatus) -> LogEntry {
    LogEntry {
        seq: 0,
        id: id(version),
        name: "users".into(),
        action,
        status,
        checksum: None,
        batch: 7,
        at: Timestamp::from_unix_millis(1_700_000_002_789),
        duration_ms: None,
        applied_by: "deploy@ci".into(),
        strata_version: "0.1.0".into(),
        environment: None,
        detail: Some("a note".into()),
    }
}

fn write(upsert: Option<HistoryRow>, delete: Option<MigrationId>, log: LogEntry) -> HistoryWrite {
    HistoryWrite {
        upsert,
        delete,
        log,
        foreign: Vec::new(),
    }
}

engine_test!(history_round_trips_every_column, |db: &TestDb| block_on(
    async {
        let mut d = connect(db).await;
        assert!(d.read_history().await.unwrap().is_empty(), "no table yet");
        assert!(d.read_log().await.unwrap().is_empty());
        d.ensure_history().await.unwrap();
        d.ensure_history().await.unwrap();

        let applied = row("1", HistoryStatus::Applied);
        d.write_history(&write(
            Some(applied.clone()),
            None,
            log("1", LogAction::Apply, HistoryStatus::Applied),
        ))
        .await
        .unwrap();
        assert_eq!(d.read_history().await.unwrap(), vec![applied.clone()]);

        // An upsert replaces every column; NULLs stay NULL.
        let mut bare = row("1", HistoryStatus::Failed);
        bare.finished_at = None;
        bare.duration_ms = None;
        bare.environment = None;
        bare.error = None;
        bare.down_sql = None;
        bare.out_of_order = false;
        bare.progress = None;
        d.write_history(&write(
            Some(bare.clone()),
            None,
            log("1", LogAction::Fail, HistoryStatus::Failed),
        ))
        .await
        .unwrap();
        assert_eq!(d.read_history().await.unwrap(), vec![bare]);

        d.write_history(&write(
            None,
            Some(id("1")),
            log("1", LogAction::Repair, HistoryStatus::Failed),
        ))
        .await
        .unwrap();
        assert!(d.read_history().await.unwrap().is_empty());

        let entries = d.read_log().await.unwrap();
        let actions: Vec<LogAction> = entries.iter().map(|e| e.action).collect();
        assert_eq!(
            actions,
            [LogAction::Apply, LogAction::Fail, LogAction::Repair]
        );
        assert!(entries.windows(2).all(|w| w[0].seq < w[1].seq));
        let mut first = entries[0].clone();
        first.seq = 0;
        assert_eq!(first, log("1", LogAction::Apply, HistoryStatus::Applied));
    }
));

engine_test!(progress_is_recorded_on_the_running_row, |db: &TestDb| {
    block_on(async {
        let mut d = connect(db).await;
        d.ensure_history().await.unwrap();
        let mut running = row("2", HistoryStatus::Running);
        running.progress = None;
        d.write_history(&write(
            Some(running),
            None,
            log("2", LogAction::Start, HistoryStatus::Running),
        ))
        .await
        .unwrap();
        let progress = Progress {
            statements: 2,
            hash: "ef".repeat(32),
        };
        d.record_progress(&id("2"), &progress).await.unwrap();
        let rows = d.read_history().await.unwrap();
        assert_eq!(rows[0].progress.as_ref(), Some(&progress));
    })
});

transactional_test!(
    a_failed_migration_keeps_neither_its_changes_nor_its_row,
    |db: &TestDb| {
        block_on(async {
            let mut d = connect(db).await;
            d.ensure_history().await.unwrap();
            let sql = "CREATE TABLE kept (id int);\nSELECT * FROM no_such_table;\n";
            let statements = strata_sql::split(sql, d.capabilities().dialect);
            let record = write(
                Some(row("3", HistoryStatus::Applied)),
                None,
                log("3", LogAction::Apply, HistoryStatus::Applied),
            );
            let err = d
                .apply_in_transaction(&statements, &TxSettings::default(), &record)
                .await
                .unwrap_err();
            let DriverError::Statement(e) = err else {
                panic!("a statement error: {err}")
            };
            assert_eq!((e.index, e.kind), (1, SqlErrorKind::MissingTable), "{e:?}");
            assert!(d.read_history().await.unwrap().is_empty());
        });
        assert!(!db.has_table("kept"));
    }
);

engine_test!(failed_statements_say_their_kind, |db: &TestDb| block_on(
    async {
        let mut d = connect(db).await;
        let statements =
            strata_sql::split("SELECT * FROM no_such_table;", d.capabilities().dialect);
        let err = d
            .execute_each(&statements, &TxSettings::default())
            .await
            .unwrap_err();
        let DriverError::Statement(e) = err else {
            panic!("a statement error: {err}")
        };
        assert_eq!(e.kind, SqlErrorKind::MissingTable, "{e:?}");
    }
));

engine_test!(the_lock_excludes_a_second_connection, |db: &TestDb| {
    block_on(async {
        let mut first = connect(db).await;
        let mut second = connect(db).await;
        assert_eq!(
            first.try_lock(LockMode::Native).await.unwrap(),
            LockAttempt::Acquired
        );
        first.check_lock().await.unwrap();
        assert!(matches!(
            second.try_lock(LockMode::Native).await.unwrap(),
            LockAttempt::Held(_)
        ));
        first.unlock().await.unwrap();
        assert_eq!(
            second.try_lock(LockMode::Native).await.unwrap(),
            LockAttempt::Acquired
        );
        second.unlock().await.unwrap();
    })
});

engine_test!(another_tools_missing_table_reads_as_none, |db: &TestDb| {
    block_on(async {
        let mut d = connect(db).await;
        assert_eq!(
            d.query_text("SELECT version FROM no_such_tool_history")
                .await
                .unwrap(),
            None
        );
    })
});

engine_test!(
    a_verify_query_says_whether_the_change_is_there,
    |db: &TestDb| block_on(async {
        let mut d = connect(db).await;
        let dialect = d.capabilities().dialect;
        let there = strata_sql::split("SELECT 1;", dialect);
        let missing = strata_sql::split("SELECT 0;", dialect);
        assert_eq!(d.verify(&there).await.unwrap(), None);
        assert!(d.verify(&missing).await.unwrap().is_some());
        // The last statement's result set is read, whatever its first word.
        let none = strata_sql::split(
            "CREATE TABLE v (id int);\nWITH x AS (SELECT id FROM v) SELECT id FROM x;",
            dialect,
        );
        assert_eq!(
            d.verify(&none).await.unwrap().as_deref(),
            Some("the verify query returned no rows")
        );
        // A last statement that is not a query gives no verdict.
        let write = strata_sql::split("CREATE TABLE w (id int);\nDELETE FROM w;", dialect);
        assert_eq!(d.verify(&write).await.unwrap(), None);
        // A failing statement is the verdict, and nothing stays (where DDL
        // is transactional).
        let failing =
            strata_sql::split("CREATE TABLE u (id int);\nSELECT * FROM nowhere;", dialect);
        assert!(d.verify(&failing).await.unwrap().is_some());
        let kept = d.query_text("SELECT * FROM u").await.unwrap().is_some();
        assert_eq!(kept, !d.capabilities().transactional_ddl);
    })
);
