//! Every format read from a fixture folder in `tests/data/<format>`, with
//! the traps its tool has: ordering, up/down extraction, transaction mode,
//! checksums, and what is reported.

use std::path::PathBuf;
use strata_discover::{Found, SourceSpec, discover_all};
use strata_model::{Migration, TxMode};

fn spec(format: &str, dir: &str) -> SourceSpec {
    SourceSpec {
        name: format.to_string(),
        path: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(dir),
        format: format.to_string(),
        confine: None,
        ..Default::default()
    }
}

fn read(format: &str, dir: &str) -> Found {
    discover_all(&[spec(format, dir)]).unwrap_or_else(|e| panic!("{format}: {e}"))
}

fn versions(found: &Found) -> Vec<String> {
    found
        .migrations
        .iter()
        .map(|m| m.id.version.to_string())
        .collect()
}

fn by_name<'a>(found: &'a Found, name: &str) -> &'a Migration {
    found
        .migrations
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no migration {name}"))
}

#[test]
fn supabase_whole_files_in_order_and_skips_what_the_cli_skips() {
    let found = read("supabase", "supabase");
    assert_eq!(versions(&found), vec!["20240101000000", "20240102000000"]);
    let init = by_name(&found, "init");
    assert!(init.down.is_none() && init.tx_mode == TxMode::Transaction);
    // The dollar-quoted body keeps its semicolons in one statement.
    let statements = strata_sql::split(&init.up.sql, strata_sql::Dialect::Postgres);
    assert_eq!(statements.len(), 2, "{statements:#?}");
    // CRLF and a BOM do not change what is run or its checksum.
    let crlf = by_name(&found, "crlf");
    assert!(!crlf.up.sql.contains('\r') && !crlf.up.sql.starts_with('\u{feff}'));
    assert_eq!(
        crlf.checksum,
        strata_model::Checksum::of_body(
            "-- written on Windows\ncreate table notes (id int);\ninsert into notes values (1);\n"
        )
    );
    assert_eq!(found.warnings.len(), 1);
    assert!(
        found.warnings[0].to_string().contains("README.sql"),
        "{:?}",
        found.warnings
    );
}

#[test]
fn sqlx_orders_numerically_and_honours_no_transaction() {
    let found = read("sqlx", "sqlx");
    assert_eq!(versions(&found), vec!["1", "2", "9", "10"]);
    assert_eq!(by_name(&found, "index").tx_mode, TxMode::NoTransaction);
    assert_eq!(by_name(&found, "users").tx_mode, TxMode::Transaction);
    let reversible = read("sqlx", "sqlx_reversible");
    assert_eq!(
        reversible.migrations[0].down.as_ref().unwrap().sql.as_str(),
        "drop table a;\n"
    );
}

#[test]
fn dbmate_sections_options_and_indented_markers() {
    let found = read("dbmate", "dbmate");
    assert_eq!(
        versions(&found),
        vec!["20240101000000", "20240102000000", "20240103000000"]
    );
    let things = by_name(&found, "create_things");
    // A marker inside a string is not a marker.
    assert!(things.up.sql.contains("default '-- migrate:down'"));
    assert_eq!(things.up.line, 2);
    assert_eq!(
        things.down.as_ref().unwrap().sql.as_str(),
        "drop table things;\n"
    );
    assert_eq!(by_name(&found, "concurrent").tx_mode, TxMode::NoTransaction);
    let indented = by_name(&found, "indented");
    assert_eq!(
        indented.up.sql.as_str(),
        "insert into things values (1, 'x');\n"
    );
    assert_eq!(found.warnings.len(), 2, "{:?}", found.warnings);
    assert!(
        found.warnings[0]
            .to_string()
            .contains("20240103000000_indented.sql:1")
    );
}

#[test]
fn goose_annotations_and_go_migrations() {
    let found = read("goose", "goose");
    assert_eq!(versions(&found), vec!["00001", "00002", "00003"]);
    let users = by_name(&found, "create_users");
    assert!(
        users
            .down
            .as_ref()
            .unwrap()
            .sql
            .contains("drop table gusers")
    );
    assert_eq!(
        strata_sql::split(&users.up.sql, strata_sql::Dialect::Postgres).len(),
        2
    );
    let go = by_name(&found, "backfill");
    assert!(go.unsupported.as_ref().unwrap().contains("Go migration"));
    assert_eq!(by_name(&found, "index").tx_mode, TxMode::NoTransaction);
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);
}

#[test]
fn golang_migrate_unpadded_versions_and_one_command_files() {
    let found = read("golang-migrate", "golang_migrate");
    assert_eq!(versions(&found), vec!["1", "2", "9", "10", "11"]);
    assert!(
        found
            .migrations
            .iter()
            .all(|m| m.tx_mode == TxMode::OneCommand && m.down.is_some())
    );
}

#[test]
fn diesel_directories_and_metadata() {
    let found = read("diesel", "diesel");
    assert_eq!(
        versions(&found),
        vec!["00000000000000", "2024-01-01-120000", "2024-01-02-090000"]
    );
    assert_eq!(
        by_name(&found, "index_posts").tx_mode,
        TxMode::NoTransaction
    );
    assert_eq!(by_name(&found, "create_posts").tx_mode, TxMode::Transaction);
    assert!(by_name(&found, "create_posts").down.is_some());
}

#[test]
fn prisma_directories_short_and_long_versions() {
    let found = read("prisma", "prisma");
    assert_eq!(
        versions(&found),
        vec!["0", "20240101120000", "20240102120000"]
    );
    assert!(
        found
            .migrations
            .iter()
            .all(|m| m.tx_mode == TxMode::OneCommand && m.down.is_none())
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/prisma");
    assert_eq!(
        strata_discover::prisma_provider(&dir).as_deref(),
        Some("postgresql")
    );
}

#[test]
fn drizzle_journal_decides_membership() {
    let found = read("drizzle", "drizzle");
    assert_eq!(versions(&found), vec!["0000", "0001"]);
    let first = &found.migrations[0];
    assert_eq!(
        strata_sql::split(&first.up.sql, strata_sql::Dialect::Postgres).len(),
        2
    );
    assert_eq!(found.warnings.len(), 1);
    assert!(
        found.warnings[0]
            .to_string()
            .contains("0002_stray.sql: not in meta/_journal.json")
    );
}

#[test]
fn malformed_files_name_the_file_and_line() {
    let dir = std::env::temp_dir().join(format!("strata-formats-{}", std::process::id()));
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("dbmate/1_a.sql", "select 1;\n-- migrate:up\nselect 2;\n");
    write("dbmate/2_b.sql", "-- migrate:down\nselect 2;\n");
    write(
        "goose/1_a.sql",
        "-- +goose Up\n-- +goose StatementBegin\nselect 1;\n",
    );
    write(
        "drizzle/meta/_journal.json",
        "{\"entries\": [{\"idx\": 0, \"tag\": \"0000_gone\"}]}",
    );
    write("diesel/2024-01-01-000000_x/up.sql", "select 1;\n");
    write(
        "diesel/2024-01-01-000000_x/metadata.toml",
        "run_in_transaction = \"no\"\n",
    );
    write("sqlx/1_a.sql", "select 1;\n");
    write("sqlx/2_b.up.sql", "select 1;\n");
    let err = |format: &str| {
        let s = SourceSpec {
            name: format.into(),
            path: dir.join(format),
            format: format.into(),
            confine: None,
            ..Default::default()
        };
        discover_all(&[s]).unwrap_err().to_string()
    };
    let dbmate = err("dbmate");
    assert!(
        dbmate.contains("1_a.sql:1: SQL before `-- migrate:up`"),
        "{dbmate}"
    );
    assert!(
        dbmate.contains("2_b.sql: no `-- migrate:up` section"),
        "{dbmate}"
    );
    assert!(err("goose").contains("1_a.sql:2: `-- +goose StatementBegin` is never closed"));
    assert!(err("drizzle").contains("_journal.json:1: the journal lists `0000_gone`"));
    assert!(err("diesel").contains("metadata.toml:1: not valid metadata"));
    assert!(err("sqlx").contains("simple and reversible migrations are mixed"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flyway_versions_undo_repeatables_and_baselines() {
    let found = read("flyway", "flyway");
    assert_eq!(
        versions(&found),
        vec!["1", "1_1", "1_9", "B1_9", "1_10", "2", "R__account_names"]
    );
    assert_eq!(
        by_name(&found, "add_created")
            .down
            .as_ref()
            .unwrap()
            .sql
            .as_str(),
        "alter table accounts drop column created_at;\n"
    );
    assert_eq!(
        by_name(&found, "index_accounts").tx_mode,
        TxMode::NoTransaction
    );
    assert_eq!(
        by_name(&found, "create_accounts").tx_mode,
        TxMode::Transaction
    );
    assert_eq!(
        by_name(&found, "account_names").kind,
        strata_model::MigrationKind::Repeatable
    );
    assert_eq!(
        by_name(&found, "baseline").kind,
        strata_model::MigrationKind::Baseline
    );
    assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
}

/// Copies `from` into `to`, writing every text file with CRLF line endings
/// and a byte-order mark.
fn copy_as_windows(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_as_windows(&entry.path(), &target);
        } else if entry.path().extension().is_some_and(|e| e == "sql") {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let text = text
                .trim_start_matches('\u{feff}')
                .replace("\r\n", "\n")
                .replace('\n', "\r\n");
            std::fs::write(&target, format!("\u{feff}{text}")).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn every_format_ignores_line_endings_and_a_bom_in_checksums_and_bodies() {
    let formats = [
        ("supabase", "supabase"),
        ("sqlx", "sqlx"),
        ("sqlx", "sqlx_reversible"),
        ("dbmate", "dbmate"),
        ("goose", "goose"),
        ("golang-migrate", "golang_migrate"),
        ("diesel", "diesel"),
        ("prisma", "prisma"),
        ("drizzle", "drizzle"),
        ("flyway", "flyway"),
    ];
    for (format, dir) in formats {
        let original = read(format, dir);
        let copy = std::env::temp_dir().join(format!("strata-crlf-{}-{dir}", std::process::id()));
        copy_as_windows(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(dir),
            &copy,
        );
        let windows = discover_all(&[SourceSpec {
            name: format.into(),
            path: copy.clone(),
            format: format.into(),
            confine: None,
            ..Default::default()
        }])
        .unwrap_or_else(|e| panic!("{format}: {e}"));
        let _ = std::fs::remove_dir_all(&copy);
        let sums = |f: &Found| {
            f.migrations
                .iter()
                .map(|m| (m.id.to_string(), m.checksum.hex.clone(), m.tx_mode))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            sums(&original),
            sums(&windows),
            "{format}: same ids, checksums and modes"
        );
        for (a, b) in original.migrations.iter().zip(&windows.migrations) {
            assert_eq!(a.up.sql, b.up.sql, "{format} {}", a.id);
            assert_eq!(
                a.down.as_ref().map(|d| &d.sql),
                b.down.as_ref().map(|d| &d.sql),
                "{format} {}",
                a.id
            );
        }
    }
}

#[test]
fn python_modules_are_ordered_by_their_folders_order_and_helpers_are_not_migrations() {
    let found = read("python", "python");
    assert_eq!(versions(&found), vec!["create_stores_table", "add_regions"]);
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    let stores = by_name(&found, "create_stores_table");
    assert_eq!(
        stores.description.as_deref(),
        Some("Create the stores table.")
    );
    assert!(stores.down.is_some() && stores.verify.is_some());
    let regions = by_name(&found, "add_regions");
    assert_eq!(
        regions.description.as_deref(),
        Some("Add a region to every store.")
    );
    assert!(regions.down.is_none() && regions.verify.is_none());
    assert_eq!(regions.requires[0].to_string(), "supabase/20240101000000");
    assert!(strata_discover::dry_runnable(&regions.up.sql));
    assert!(!strata_discover::dry_runnable(&stores.up.sql));
}

#[test]
fn an_order_and_its_folder_must_agree() {
    let dir = std::env::temp_dir().join(format!("strata_order_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let module = "def run_migration():\n    pass\n";
    std::fs::write(dir.join("a.py"), module).unwrap();
    std::fs::write(dir.join("b.py"), module).unwrap();
    let spec = |order: Option<Vec<&str>>| SourceSpec {
        name: "backend".into(),
        path: dir.clone(),
        format: "python".into(),
        order: order.map(|o| o.into_iter().map(String::from).collect()),
        ..Default::default()
    };
    let err = |order| discover_all(&[spec(order)]).unwrap_err().to_string();
    let none = err(None);
    assert!(
        none.contains("a.py has no version in its name, and the source has no order"),
        "{none}"
    );
    let partial = err(Some(vec!["b"]));
    assert!(
        partial.contains("a.py has no version in its name and is not in the `order` of source backend in strata.toml"),
        "{partial}"
    );
    let stale = err(Some(vec!["b", "a", "gone"]));
    assert!(
        stale.contains("names `gone`, which is not a migration of this folder"),
        "{stale}"
    );
    let twice = err(Some(vec!["a", "b", "a"]));
    assert!(twice.contains("`a` is listed twice"), "{twice}");
    let found = discover_all(&[spec(Some(vec!["b", "a"]))]).unwrap();
    assert_eq!(versions(&found), vec!["b", "a"]);
    // Excluded files are not read at all.
    std::fs::write(dir.join("c.py"), module).unwrap();
    let excluded = SourceSpec {
        exclude: vec!["c.*".into()],
        ..spec(Some(vec!["b", "a"]))
    };
    assert_eq!(
        versions(&discover_all(&[excluded]).unwrap()),
        vec!["b", "a"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_new_migration_is_written_in_each_formats_own_layout_and_read_back() {
    let root = std::env::temp_dir().join(format!("strata_scaffold_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let at = strata_model::Timestamp::from_unix_millis(1_700_000_000_000);
    let expected = [
        ("strata", "20231114221320_add_hours.sql"),
        ("supabase", "20231114221320_add_hours.sql"),
        ("prisma", "20231114221320_add_hours/migration.sql"),
        ("dbmate", "20231114221320_add_hours.sql"),
        ("goose", "20231114221320_add_hours.sql"),
        ("golang-migrate", "20231114221320_add_hours.up.sql"),
        ("sqlx", "20231114221320_add_hours.sql"),
        ("flyway", "V1__add_hours.sql"),
        ("diesel", "2023-11-14-221320_add_hours/up.sql"),
        ("python", "20231114221320_add_hours.py"),
        ("script", "20231114221320_add_hours.sh"),
    ];
    for (format, first) in expected {
        let dir = root.join(format);
        std::fs::create_dir_all(&dir).unwrap();
        let spec = SourceSpec {
            name: format.into(),
            path: dir.clone(),
            format: format.into(),
            ..Default::default()
        };
        let new = strata_discover::NewMigration {
            source: &spec,
            slug: "add_hours",
            at,
            sql: None,
            version: None,
        };
        let scaffold = strata_discover::format(format)
            .unwrap()
            .scaffold(&new)
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(scaffold.files[0].0, PathBuf::from(first), "{format}");
        for (rel, text) in &scaffold.files {
            std::fs::create_dir_all(dir.join(rel).parent().unwrap()).unwrap();
            std::fs::write(dir.join(rel), text).unwrap();
        }
        let found = discover_all(&[spec]).unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(found.migrations.len(), 1, "{format}: {:?}", found.warnings);
        assert_eq!(found.migrations[0].name, "add_hours", "{format}");
    }
    // A folder with an order gets a named module, added at its end.
    let dir = root.join("ordered");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ORDER"), "first\n").unwrap();
    std::fs::write(dir.join("first.py"), "def run_migration():\n    pass\n").unwrap();
    let spec = SourceSpec {
        name: "backend".into(),
        path: dir.clone(),
        format: "python".into(),
        ..Default::default()
    };
    let new = strata_discover::NewMigration {
        source: &spec,
        slug: "add_hours",
        at,
        sql: None,
        version: None,
    };
    let scaffold = strata_discover::format("python")
        .unwrap()
        .scaffold(&new)
        .unwrap();
    for (rel, text) in &scaffold.files {
        std::fs::write(dir.join(rel), text).unwrap();
    }
    let found = discover_all(&[spec]).unwrap();
    assert_eq!(versions(&found), vec!["first", "add_hours"]);
    assert_eq!(
        found.migrations[1].description.as_deref(),
        Some("Add hours.")
    );
    // A sequentially numbered folder keeps counting.
    let dir = root.join("sequential");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("0007_x.up.sql"), "select 1;\n").unwrap();
    std::fs::write(dir.join("0007_x.down.sql"), "select 1;\n").unwrap();
    let spec = SourceSpec {
        name: "gm".into(),
        path: dir.clone(),
        format: "golang-migrate".into(),
        ..Default::default()
    };
    let new = strata_discover::NewMigration {
        source: &spec,
        slug: "add_hours",
        at,
        sql: None,
        version: None,
    };
    let scaffold = strata_discover::format("golang-migrate")
        .unwrap()
        .scaffold(&new)
        .unwrap();
    assert_eq!(scaffold.files[0].0, PathBuf::from("0008_add_hours.up.sql"));
    assert!(
        strata_discover::format("drizzle")
            .unwrap()
            .scaffold(&new)
            .is_err()
    );
    let _ = std::fs::remove_dir_all(&root);
}
