//! `strata schema dump`: the schema as canonical SQL. Applied to an empty
//! database it builds a database whose dump is byte-identical; the same
//! objects created in another order dump the same; strata's own tables
//! are left out.

use std::path::Path;
use strata_test_support::{TempProject, TestDb};

use crate::BIN;

/// Objects of every kind strata models on PostgreSQL, created in one
/// order; [`PG_OTHER_ORDER`] creates the same ones in another.
const PG_SCHEMA: &str = r#"
CREATE SCHEMA sales;
CREATE TYPE status AS ENUM ('new', 'shipped', 'it''s done');
CREATE TABLE customers (id serial PRIMARY KEY, email text COLLATE "C" NOT NULL UNIQUE,
    created_at timestamptz DEFAULT now(), CHECK (email LIKE '%@%'));
CREATE TABLE sales."Order" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id int REFERENCES customers (id) ON DELETE CASCADE, state status DEFAULT 'new',
    total numeric(12, 2), tax numeric GENERATED ALWAYS AS (total * 0.2) STORED);
CREATE INDEX order_state ON sales."Order" (state) WHERE state <> 'new';
CREATE UNLOGGED TABLE scratch (k text);
CREATE TABLE events (at date NOT NULL, what text) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX events_at ON events (at);
CREATE VIEW open_orders AS SELECT id, customer_id FROM sales."Order" WHERE state = 'new';
CREATE VIEW a_open_count AS SELECT count(*) FROM open_orders;
CREATE VIEW own_customers WITH (security_invoker = true, check_option = cascaded) AS SELECT id, email FROM customers WHERE email <> '';
CREATE MATERIALIZED VIEW customer_totals AS SELECT customer_id, sum(total) FROM sales."Order" GROUP BY 1;
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE customers IS 'people who buy';
COMMENT ON COLUMN customers.email IS 'unique';
CREATE SEQUENCE invoice_no START 1000 INCREMENT 10;
CREATE DOMAIN email_address AS text COLLATE "C" DEFAULT 'x@y' NOT NULL CHECK (VALUE LIKE '%@%');
CREATE TYPE money_pair AS (amount numeric(12, 2), currency char(3));
CREATE FUNCTION add_one(i integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT i + 1 $$;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    AS $$ BEGIN NEW.created_at := now(); RETURN NEW; END $$;
CREATE PROCEDURE reset_scratch() LANGUAGE sql AS $$ DELETE FROM scratch $$;
CREATE TRIGGER customers_touch BEFORE INSERT ON customers FOR EACH ROW EXECUTE FUNCTION touch();
CREATE POLICY own_rows ON customers FOR SELECT TO PUBLIC USING (email = current_user);
CREATE POLICY no_spam ON customers AS RESTRICTIVE FOR INSERT TO PUBLIC WITH CHECK (email NOT LIKE '%spam%');
GRANT SELECT, INSERT ON customers TO PUBLIC;
GRANT UPDATE (email) ON customers TO PUBLIC;
GRANT USAGE ON SCHEMA sales TO PUBLIC;
GRANT USAGE ON SEQUENCE invoice_no TO PUBLIC;
CREATE PUBLICATION orders_pub FOR TABLE sales."Order", customers WHERE (email <> '')
    WITH (publish = 'insert, update');
CREATE FUNCTION on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN NULL; END $$;
CREATE EVENT TRIGGER note_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION on_ddl();
"#;

const PG_OTHER_ORDER: &str = r#"
CREATE SEQUENCE invoice_no START 1000 INCREMENT 10;
CREATE TABLE events (at date NOT NULL, what text) PARTITION BY RANGE (at);
CREATE INDEX events_at ON events (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TYPE status AS ENUM ('new', 'shipped', 'it''s done');
CREATE SCHEMA sales;
CREATE TABLE sales."Order" (id bigint GENERATED ALWAYS AS IDENTITY, customer_id int,
    state status DEFAULT 'new', total numeric(12, 2), tax numeric GENERATED ALWAYS AS (total * 0.2) STORED);
CREATE TABLE customers (id serial, email text COLLATE "C" NOT NULL, created_at timestamptz DEFAULT now());
ALTER TABLE customers ADD CONSTRAINT customers_pkey PRIMARY KEY (id);
ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email);
ALTER TABLE customers ADD CONSTRAINT customers_email_check CHECK (email LIKE '%@%');
ALTER TABLE sales."Order" ADD CONSTRAINT "Order_pkey" PRIMARY KEY (id);
ALTER TABLE sales."Order" ADD CONSTRAINT "Order_customer_id_fkey" FOREIGN KEY (customer_id)
    REFERENCES customers (id) ON DELETE CASCADE;
CREATE INDEX order_state ON sales."Order" (state) WHERE state <> 'new';
COMMENT ON COLUMN customers.email IS 'unique';
CREATE MATERIALIZED VIEW customer_totals AS SELECT customer_id, sum(total) FROM sales."Order" GROUP BY 1;
CREATE VIEW open_orders AS SELECT id, customer_id FROM sales."Order" WHERE state = 'new';
CREATE VIEW a_open_count AS SELECT count(*) FROM open_orders;
CREATE VIEW own_customers WITH (security_invoker = true, check_option = cascaded) AS SELECT id, email FROM customers WHERE email <> '';
CREATE UNLOGGED TABLE scratch (k text);
COMMENT ON TABLE customers IS 'people who buy';
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
CREATE FUNCTION on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN NULL; END $$;
CREATE EVENT TRIGGER note_ddl ON ddl_command_end WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE')
    EXECUTE FUNCTION on_ddl();
GRANT USAGE ON SEQUENCE invoice_no TO PUBLIC;
GRANT UPDATE (email) ON customers TO PUBLIC;
GRANT INSERT ON customers TO PUBLIC;
GRANT SELECT ON customers TO PUBLIC;
CREATE POLICY no_spam ON customers AS RESTRICTIVE FOR INSERT TO PUBLIC WITH CHECK (email NOT LIKE '%spam%');
CREATE POLICY own_rows ON customers FOR SELECT TO PUBLIC USING (email = current_user);
CREATE PROCEDURE reset_scratch() LANGUAGE sql AS $$ DELETE FROM scratch $$;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    AS $$ BEGIN NEW.created_at := now(); RETURN NEW; END $$;
CREATE TRIGGER customers_touch BEFORE INSERT ON customers FOR EACH ROW EXECUTE FUNCTION touch();
CREATE FUNCTION add_one(i integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT i + 1 $$;
CREATE TYPE money_pair AS (amount numeric(12, 2), currency char(3));
CREATE DOMAIN email_address AS text COLLATE "C" DEFAULT 'x@y' NOT NULL CHECK (VALUE LIKE '%@%');
CREATE PUBLICATION orders_pub FOR TABLE customers WHERE (email <> ''), sales."Order"
    WITH (publish = 'insert, update');
GRANT USAGE ON SCHEMA sales TO PUBLIC;
"#;

const SQLITE_SCHEMA: &str = "
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);
CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER REFERENCES customers (id) ON DELETE CASCADE, total REAL);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
CREATE TRIGGER orders_positive BEFORE INSERT ON orders WHEN NEW.total < 0
BEGIN SELECT RAISE(ABORT, 'negative total'); END;
";

fn dump(db: &TestDb, dir: &Path) -> String {
    let run = db.run(Path::new(BIN), dir, &["schema", "dump"]);
    assert_eq!(run.code, 0, "{}", run.all());
    run.stdout
}

/// The dump of a database built by `sql` rebuilds, on an empty database,
/// a database that dumps to the same bytes.
fn round_trip(sql: &str, fresh: fn() -> Option<TestDb>) -> Option<String> {
    let (a, b) = (fresh()?, fresh()?);
    let dir = TempProject::new();
    a.execute(sql);
    let first = dump(&a, &dir.dir);
    b.execute(&first);
    assert_eq!(
        first,
        dump(&b, &dir.dir),
        "the dump applied again dumps differently"
    );
    Some(first)
}

#[test]
fn postgres_dump_round_trips_whatever_the_creation_order() {
    let Some(first) = round_trip(PG_SCHEMA, TestDb::postgres) else {
        return;
    };
    insta::assert_snapshot!(first);
    let Some(other) = TestDb::postgres() else {
        return;
    };
    other.execute(PG_OTHER_ORDER);
    assert_eq!(first, dump(&other, &TempProject::new().dir));
}

#[test]
fn postgres18_dump_round_trips() {
    // Virtual generated columns are new in 18.
    let sql = format!(
        "{PG_SCHEMA}\nCREATE TABLE items (label text, shout text GENERATED ALWAYS AS (upper(label)) VIRTUAL);"
    );
    if let Some(first) = round_trip(&sql, TestDb::postgres18) {
        assert!(
            first.contains("GENERATED ALWAYS AS (upper(label)) VIRTUAL"),
            "{first}"
        );
    }
}

#[test]
fn sqlite_dump_round_trips() {
    if let Some(first) = round_trip(SQLITE_SCHEMA, TestDb::sqlite) {
        insta::assert_snapshot!(first);
    }
}

/// What strata applied shows; strata's own tables do not, nor does a
/// configured tool's history table.
#[test]
fn strata_and_tool_history_tables_are_not_the_schema() {
    for db in [TestDb::sqlite(), TestDb::postgres(), TestDb::mysql()]
        .into_iter()
        .flatten()
    {
        let p = TempProject::new();
        p.write(
            "strata.toml",
            "[project]\nschema_ignore = [\"scratchpad\"]\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[[source]]\nname = \"old\"\npath = \"old\"\nformat = \"sqlx\"\n",
        );
        p.write(
            "migrations/1_items.sql",
            "CREATE TABLE items (id int);\nCREATE TABLE scratchpad (k int);\nCREATE INDEX scratchpad_k ON scratchpad (k);\n",
        );
        p.write("old/1_legacy.sql", "CREATE TABLE legacy (id int);\n");
        let created = |table: &str| match db.engine() {
            "mysql" => format!("CREATE TABLE `{table}`"),
            _ => format!("CREATE TABLE {table}"),
        };
        db.execute("CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY)");
        let up = db.run(Path::new(BIN), &p.dir, &["up", "-q"]);
        assert_eq!(up.code, 0, "{}", up.all());
        let text = dump(&db, &p.dir);
        assert!(text.contains(&created("items")), "{text}");
        assert!(text.contains(&created("legacy")), "{text}");
        for table in ["strata_history", "_sqlx_migrations", "scratchpad"] {
            assert!(
                !text.contains(table),
                "{} shows {table}:\n{text}",
                db.engine()
            );
        }
        let json = db.run(
            Path::new(BIN),
            &p.dir,
            &["schema", "dump", "--format", "json"],
        );
        let value: serde_json::Value =
            serde_json::from_str(&json.stdout).expect("one JSON document");
        assert!(
            value.get("tables").is_some() && value.get("statements").is_some(),
            "{value}"
        );
    }
}

/// Tables (columns with their defaults, generated columns, checks where
/// they were written), keys, foreign keys, routines, views, triggers and
/// events, from information_schema.
const MYSQL_SCHEMA: &str = "
CREATE TABLE customers (id int AUTO_INCREMENT PRIMARY KEY, email varchar(100) COLLATE utf8mb4_bin NOT NULL UNIQUE,
    note text DEFAULT 'it''s', created_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
    n int CHECK (n > 0), CONSTRAINT email_at CHECK (email LIKE '%@%')) ENGINE=InnoDB COMMENT='people';
CREATE TABLE orders (id bigint NOT NULL, customer_id int, total decimal(12,2) DEFAULT 0.00,
    tax decimal(12,2) AS (total * 0.2) VIRTUAL, PRIMARY KEY (id), KEY by_customer (customer_id, total DESC),
    CONSTRAINT fk_c FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE);
CREATE VIEW big AS SELECT id FROM orders WHERE total > 100;
CREATE FUNCTION add_one(i int) RETURNS int DETERMINISTIC RETURN i + 1;
CREATE PROCEDURE bump(IN who int, OUT total_out decimal(12,2)) MODIFIES SQL DATA
BEGIN UPDATE orders SET total = total + 1 WHERE customer_id = who; SELECT sum(total) INTO total_out FROM orders; END;
CREATE TRIGGER orders_positive BEFORE INSERT ON orders FOR EACH ROW
BEGIN IF NEW.total < 0 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'negative'; END IF; END;
CREATE TRIGGER orders_log AFTER INSERT ON orders FOR EACH ROW SET @n = coalesce(@n, 0) + 1;
CREATE EVENT purge_zero ON SCHEDULE EVERY 1 DAY ON COMPLETION PRESERVE DISABLE COMMENT 'nightly'
    DO DELETE FROM orders WHERE total = 0;
CREATE VIEW bigger AS SELECT id FROM big WHERE add_one(id) > 2;
";

#[test]
fn mysql_dump_round_trips() {
    if let Some(first) = round_trip(MYSQL_SCHEMA, TestDb::mysql) {
        insta::assert_snapshot!(first);
    }
}

/// Two databases' schemas compared: what only one has, and what changed
/// in a table column by column; exit 1 when they differ, 0 when not.
#[test]
fn diff_tells_what_differs_object_by_object() {
    for fresh in [TestDb::sqlite, TestDb::postgres, TestDb::mysql] {
        let (Some(a), Some(b)) = (fresh(), fresh()) else {
            continue;
        };
        let dir = TempProject::new();
        let base = "CREATE TABLE customers (id int PRIMARY KEY, email text);\n\
                    CREATE TABLE orders (id int PRIMARY KEY, total int);\n\
                    CREATE INDEX orders_total ON orders (total);\n";
        a.execute(base);
        b.execute(base);
        let (a_url, b_url) = (a.url(), b.url());
        let same = strata_test_support::run_in(
            Path::new(BIN),
            &dir.dir,
            &["schema", "diff", &a_url, &b_url],
            &[],
        );
        assert_eq!(same.code, 0, "{}", same.all());
        b.execute(
            "ALTER TABLE customers ADD COLUMN nickname text;\n\
             DROP INDEX orders_total ON orders;\n\
             CREATE VIEW big_orders AS SELECT id FROM orders WHERE total > 100;"
                .replace(
                    " ON orders;",
                    if a.engine() == "mysql" {
                        " ON orders;"
                    } else {
                        ";"
                    },
                )
                .as_str(),
        );
        let run = strata_test_support::run_in(
            Path::new(BIN),
            &dir.dir,
            &["schema", "diff", &a_url, &b_url],
            &[],
        );
        assert_eq!(run.code, 1, "{}", run.all());
        let shown = run.stdout.replace(&a_url, "[a]").replace(&b_url, "[b]");
        insta::assert_snapshot!(format!("diff_{}", a.engine()), shown);
        let json = strata_test_support::run_in(
            Path::new(BIN),
            &dir.dir,
            &["schema", "diff", &a_url, &b_url, "--format", "json"],
            &[],
        );
        let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
        assert_eq!(
            value["differences"].as_array().map(Vec::len),
            Some(3),
            "{value}"
        );
    }
}

/// A directory of SQL files is a desired state: applied in name order to a
/// scratch database and compared.
#[test]
fn a_sql_directory_is_a_desired_state() {
    for db in [TestDb::sqlite(), TestDb::postgres(), TestDb::mysql()]
        .into_iter()
        .flatten()
    {
        let p = TempProject::new();
        p.write(
            "desired/1_items.sql",
            "CREATE TABLE items (id int PRIMARY KEY, name varchar(50));\n",
        );
        p.write(
            "desired/2_view.sql",
            "CREATE VIEW item_names AS SELECT name FROM items;\n",
        );
        db.execute("CREATE TABLE items (id int PRIMARY KEY, name varchar(50));");
        let url = db.url();
        let run = strata_test_support::run_in(
            Path::new(BIN),
            &p.dir,
            &["schema", "diff", &url, "desired"],
            &[],
        );
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(run.stdout.contains("+ view"), "{}", run.all());
        db.execute("CREATE VIEW item_names AS SELECT name FROM items;");
        let same = strata_test_support::run_in(
            Path::new(BIN),
            &p.dir,
            &["schema", "diff", &url, "desired"],
            &[],
        );
        assert_eq!(same.code, 0, "{}: {}", db.engine(), same.all());
        // A statement that does not apply is named by file and line.
        p.write(
            "desired/3_bad.sql",
            "CREATE TABLE more (id int);\n\nCREATE VIEW broken AS SELECT nothing FROM nowhere;\n",
        );
        let bad = strata_test_support::run_in(
            Path::new(BIN),
            &p.dir,
            &["schema", "diff", &url, "desired"],
            &[],
        );
        assert_eq!(bad.code, 2, "{}", bad.all());
        assert!(
            bad.stderr.contains("desired/3_bad.sql:3: does not apply"),
            "{}: {}",
            db.engine(),
            bad.all()
        );
    }
}

#[test]
fn a_side_that_is_nothing_known_is_refused() {
    let run = strata_test_support::run_in(
        Path::new(BIN),
        &TempProject::new().dir,
        &["schema", "diff", "schema/missing.sql", "sqlite://x.db"],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    insta::assert_snapshot!(run.stderr);
    // A SQLite file that is not there is not made by reading it.
    let dir = TempProject::new();
    let sqlite = TestDb::sqlite().expect("SQLite");
    sqlite.execute("CREATE TABLE t (id int)");
    let run = strata_test_support::run_in(
        Path::new(BIN),
        &dir.dir,
        &["schema", "diff", &sqlite.url(), "sqlite://missing.db"],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("no SQLite database at"),
        "{}",
        run.all()
    );
    assert!(!dir.path("missing.db").exists());
    // Two engines' schemas are not compared.
    if let Some(pg) = TestDb::postgres() {
        let run = strata_test_support::run_in(
            Path::new(BIN),
            &dir.dir,
            &["schema", "diff", &pg.url(), &sqlite.url(), "--sql"],
            &[],
        );
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(
            run.stderr.contains("schemas of one engine"),
            "{}",
            run.all()
        );
    }
}

/// `drift`: the applied migrations replayed on a scratch database and
/// compared with the live one. Nothing on an untouched database; a column
/// added, an index dropped by hand are reported (exit 1), a pending
/// migration is not replayed, and an applied migration whose file was
/// edited is refused (exit 2); `schema diff migrations` says the same.
#[test]
fn drift_reports_what_was_changed_by_hand() {
    for db in [TestDb::sqlite(), TestDb::postgres(), TestDb::mysql()]
        .into_iter()
        .flatten()
    {
        let p = TempProject::new();
        p.write(
            "migrations/1_items.sql",
            "-- strata:up\nCREATE TABLE items (id int PRIMARY KEY, name varchar(50));\nCREATE INDEX items_name ON items (name);\n",
        );
        let bin = Path::new(BIN);
        let nothing = db.run(bin, &p.dir, &["drift"]);
        assert_eq!(nothing.code, 0, "{}", nothing.all());
        assert!(
            nothing.stdout.contains("its 0 applied"),
            "{}",
            nothing.all()
        );
        let up = db.run(bin, &p.dir, &["up", "-q"]);
        assert_eq!(up.code, 0, "{}", up.all());
        p.write(
            "migrations/2_more.sql",
            "CREATE TABLE more_items (id int);\n",
        );
        let clean = db.run(bin, &p.dir, &["drift"]);
        assert_eq!(clean.code, 0, "{}: {}", db.engine(), clean.all());
        assert!(clean.stdout.starts_with("No drift"), "{}", clean.all());
        db.execute(match db.engine() {
            "mysql" => "ALTER TABLE items ADD COLUMN note text; DROP INDEX items_name ON items;",
            _ => "ALTER TABLE items ADD COLUMN note text; DROP INDEX items_name;",
        });
        let drifted = db.run(bin, &p.dir, &["drift"]);
        assert_eq!(drifted.code, 1, "{}", drifted.all());
        let url = db.url();
        insta::assert_snapshot!(
            format!("drift_{}", db.engine()),
            drifted.stdout.replace(&url, "[db]")
        );
        let json = db.run(bin, &p.dir, &["drift", "--format", "json"]);
        let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
        assert_eq!(value["drift"], true, "{value}");
        let diff = db.run(bin, &p.dir, &["schema", "diff", "migrations", &url]);
        assert_eq!(diff.code, 1, "{}", diff.all());
        p.write(
            "migrations/1_items.sql",
            "-- strata:up\nCREATE TABLE items (id int PRIMARY KEY, name varchar(80));\n",
        );
        let edited = db.run(bin, &p.dir, &["drift"]);
        assert_eq!(edited.code, 2, "{}", edited.all());
        assert!(
            edited.stderr.contains("app/1 (drifted)"),
            "{}",
            edited.all()
        );
    }
}

/// The level and message of `doctor`'s schema check.
fn schema_check(db: &TestDb, dir: &Path) -> (String, String) {
    let run = db.run(Path::new(BIN), dir, &["doctor", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let check = value["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["check"] == "schema"))
        .unwrap_or_else(|| panic!("no schema check: {value}"))
        .clone();
    (
        check["level"].as_str().unwrap_or_default().to_string(),
        check["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// Each run that changes the database records the schema's fingerprint;
/// `doctor` tells a change made after it with one catalog read.
#[test]
fn doctor_tells_the_schema_changed_since_the_last_run() {
    for db in [TestDb::sqlite(), TestDb::postgres(), TestDb::mysql()]
        .into_iter()
        .flatten()
    {
        let p = TempProject::new();
        let bin = Path::new(BIN);
        let (level, message) = schema_check(&db, &p.dir);
        assert_eq!(level, "ok");
        assert!(message.starts_with("no schema fingerprint"), "{message}");
        p.write("migrations/1_items.sql", "CREATE TABLE items (id int);\n");
        let up = db.run(bin, &p.dir, &["up", "-q"]);
        assert_eq!(up.code, 0, "{}", up.all());
        let (level, message) = schema_check(&db, &p.dir);
        assert_eq!(
            (
                level.as_str(),
                message.contains("as the last migration run left it")
            ),
            ("ok", true),
            "{}: {message}",
            db.engine()
        );
        db.execute("ALTER TABLE items ADD COLUMN note text");
        let (level, message) = schema_check(&db, &p.dir);
        assert_eq!(level, "warning", "{}: {message}", db.engine());
        assert!(
            message.contains("changed since the last migration run"),
            "{message}"
        );
        // The next run that changes the database records it anew.
        p.write(
            "migrations/2_more.sql",
            "CREATE TABLE more_items (id int);\n",
        );
        let up = db.run(bin, &p.dir, &["up", "-q"]);
        assert_eq!(up.code, 0, "{}", up.all());
        assert_eq!(schema_check(&db, &p.dir).0, "ok");
        // A history that moved since (a run that did not finish) is told
        // apart from a change made by hand.
        db.execute("UPDATE strata_history_schema SET history_digest = 'x'");
        let (level, message) = schema_check(&db, &p.dir);
        assert_eq!(level, "warning");
        assert!(message.contains("the history changed"), "{message}");
    }
    // Turned off: no catalog read after a run, no check.
    let db = TestDb::sqlite().expect("SQLite");
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[project]\nschema_fingerprint = false\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n",
    );
    p.write("migrations/1_items.sql", "CREATE TABLE items (id int);\n");
    let up = db.run(Path::new(BIN), &p.dir, &["up", "-q"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert_eq!(
        db.query("SELECT count(*) FROM strata_history_schema"),
        vec!["0"]
    );
    let doctor = db.run(Path::new(BIN), &p.dir, &["doctor", "--format", "json"]);
    assert!(!doctor.stdout.contains("\"schema\""), "{}", doctor.stdout);
}

#[test]
fn drift_reports_a_policy_changed_by_hand() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let p = TempProject::new();
    p.write(
        "migrations/1_items.sql",
        "CREATE TABLE items (id int, owner text);\nALTER TABLE items ENABLE ROW LEVEL SECURITY;\n\
         CREATE POLICY own ON items USING (owner = current_user);\n",
    );
    let bin = Path::new(BIN);
    let up = db.run(bin, &p.dir, &["up", "-q"]);
    assert_eq!(up.code, 0, "{}", up.all());
    let clean = db.run(bin, &p.dir, &["drift"]);
    assert_eq!(clean.code, 0, "{}", clean.all());
    db.execute("ALTER POLICY own ON items USING (true)");
    let drifted = db.run(bin, &p.dir, &["drift"]);
    assert_eq!(drifted.code, 1, "{}", drifted.all());
    insta::assert_snapshot!(drifted.stdout.replace(&db.url(), "[db]"));
}

/// `--scratch-url` (or `[project] scratch_url`) says where scratch
/// databases are made: another server of the same engine.
#[test]
fn scratch_databases_go_where_scratch_url_says() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let p = TempProject::new();
    p.write(
        "migrations/1_items.sql",
        "CREATE TABLE items (id int PRIMARY KEY, name text);\n",
    );
    let bin = Path::new(BIN);
    let up = db.run(bin, &p.dir, &["up", "-q"]);
    assert_eq!(up.code, 0, "{}", up.all());
    // A server that does not answer: the error names it, so it was used.
    let nowhere = "postgres://postgres@127.0.0.1:1/postgres";
    let run = db.run(bin, &p.dir, &["drift", "--scratch-url", nowhere]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("127.0.0.1:1"), "{}", run.all());
    p.write("strata.toml", &format!("[project]\nscratch_url = \"{nowhere}\"\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n"));
    let run = db.run(bin, &p.dir, &["drift"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("127.0.0.1:1"), "{}", run.all());
    // Another engine's server is refused, saying why.
    let run = db.run(
        bin,
        &p.dir,
        &[
            "drift",
            "--scratch-url",
            "mysql://root@127.0.0.1:3306/mysql",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("same engine"), "{}", run.all());
    // The flag wins over the file: the database's own server works.
    let here = strata_test_support::postgres_admin_url();
    let run = db.run(bin, &p.dir, &["drift", "--scratch-url", &here]);
    assert_eq!(run.code, 0, "{}", run.all());
}

/// Ctrl-C in the middle of a replay drops the scratch database before
/// strata stops.
#[test]
fn ctrl_c_drops_the_scratch_database() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let p = TempProject::new();
    p.write("migrations/1_items.sql", "CREATE TABLE items (id int);\n");
    let bin = Path::new(BIN);
    let up = db.run(bin, &p.dir, &["up", "-q"]);
    assert_eq!(up.code, 0, "{}", up.all());
    // Applied here already; on the scratch database it takes a while.
    p.write(
        "migrations/1_items.sql",
        "CREATE TABLE items (id int);\nSELECT pg_sleep(30);\n",
    );
    let url = db.url();
    let child = strata_test_support::spawn_in(bin, &p.dir, &["schema", "diff", "migrations", &url]);
    let scratch = format!(
        "SELECT datname FROM pg_database WHERE datname LIKE 'strata\\_scratch\\_{}\\_%'",
        child.id()
    );
    strata_test_support::wait_for("the scratch database", || !db.query(&scratch).is_empty());
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = strata_test_support::Run::from_output(child.wait_with_output().unwrap());
    assert_eq!(out.code, 130, "{}", out.all());
    assert_eq!(
        db.query(&scratch),
        Vec::<String>::new(),
        "the scratch database is left"
    );
}

/// The schema every tool's fixture builds dumps to the same bytes twice,
/// and on PostgreSQL 15 and 18.
#[test]
fn format_fixtures_dump_alike_twice_and_on_postgres_15_and_18() {
    let build = |fresh: fn() -> Option<TestDb>| -> Option<String> {
        let db = fresh()?;
        let p = TempProject::new();
        let mut config = String::new();
        for (fixture, format, priority) in crate::formats::ALL {
            crate::formats::copy_fixture(fixture, &p, &format!("db/{fixture}"));
            config.push_str(&format!(
                "[[source]]\nname = \"{fixture}\"\npath = \"db/{fixture}\"\nformat = \"{format}\"\npriority = {priority}\n\n"
            ));
        }
        p.write("strata.toml", &config);
        // goose's next migration is written in Go: the SQL ones up to it.
        let up = db.run(Path::new(BIN), &p.dir, &["up", "--to", "goose/00001"]);
        assert_eq!(up.code, 0, "{}", up.all());
        Some(dump(&db, &p.dir))
    };
    let Some(first) = build(TestDb::postgres) else {
        return;
    };
    assert!(first.contains("CREATE TABLE"), "{first}");
    assert_eq!(first, build(TestDb::postgres).expect("PostgreSQL answered"));
    if let Some(on_18) = build(TestDb::postgres18) {
        assert_eq!(first, on_18, "PostgreSQL 18 dumps otherwise");
    }
}

/// A role that may not create databases is told what to grant or
/// configure, and nothing is left behind.
#[test]
fn a_role_that_may_not_create_databases_is_told_what_to_do() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let role = strata_test_support::unique_name("strata_nocreate");
    db.execute(&format!("CREATE ROLE {role} LOGIN NOCREATEDB"));
    let p = TempProject::new();
    p.write("migrations/1_items.sql", "CREATE TABLE items (id int);\n");
    let url = db.url().replacen("postgres@", &format!("{role}@"), 1);
    let run = strata_test_support::run_in(
        Path::new(BIN),
        &p.dir,
        &["drift", "--database-url", &url],
        &[],
    );
    db.execute(&format!("DROP ROLE {role}"));
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("let this role create databases") && run.stderr.contains("scratch_url"),
        "{}",
        run.all()
    );
}
