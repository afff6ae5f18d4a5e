//! End-to-end behaviour of the `strata` binary, on SQLite and on a real
//! PostgreSQL (one fresh database per test).

use strata_test_support::{
    Run, TempProject, TestDb, engine_test, run_in, transactional_test, wait_for,
};

use crate::BIN;

/// A project directory bound to one test database.
struct Env<'a> {
    project: TempProject,
    db: &'a TestDb,
}

impl<'a> Env<'a> {
    fn new(db: &'a TestDb) -> Self {
        Env {
            project: TempProject::new(),
            db,
        }
    }

    fn write(&self, rel: &str, text: &str) {
        self.project.write(rel, text);
    }

    /// Runs strata against the test database.
    fn strata(&self, args: &[&str]) -> Run {
        self.db
            .run(std::path::Path::new(BIN), &self.project.dir, args)
    }

    fn ok(&self, args: &[&str]) -> Run {
        let run = self.strata(args);
        assert_eq!(run.code, 0, "strata {args:?} failed:\n{}", run.all());
        run
    }

    fn fails(&self, args: &[&str], code: i32) -> Run {
        let run = self.strata(args);
        assert_eq!(
            run.code,
            code,
            "strata {args:?} should exit {code}:\n{}",
            run.all()
        );
        run
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let run = self.ok(&all);
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout))
    }

    fn states(&self) -> Vec<(String, String)> {
        self.json(&["status"])["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["version"].as_str().unwrap().to_string(),
                    m["state"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// The timeline as `action version`, without the `start` entries that
    /// runs outside a transaction add (mysql.rs checks those).
    fn history_actions(&self) -> Vec<String> {
        self.json(&["history"])["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] != "start")
            .map(|e| {
                format!(
                    "{} {}",
                    e["action"].as_str().unwrap(),
                    e["version"].as_str().unwrap()
                )
            })
            .collect()
    }
}

/// The `source/version` of each step `strata plan` would run.
fn planned_order(p: &TempProject) -> Vec<String> {
    let plan = strata_at(p, &["plan", "--format", "json"]);
    let doc: serde_json::Value =
        serde_json::from_str(&plan.stdout).unwrap_or_else(|_| panic!("{}", plan.all()));
    doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}/{}",
                s["source"].as_str().unwrap(),
                s["version"].as_str().unwrap()
            )
        })
        .collect()
}

/// Runs strata in a project directory (no database URL added).
fn strata_at(p: &TempProject, args: &[&str]) -> Run {
    run_in(std::path::Path::new(BIN), &p.dir, args, &[])
}

fn states(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(v, s)| (v.to_string(), s.to_string()))
        .collect()
}

fn table(name: &str, version: &str) -> String {
    format!("-- strata:up\ncreate table {name} (id integer primary key);\n-- strata:down\ndrop table {name};\n-- strata:verify\nselect id from {name};\n")
        .replace("{version}", version)
}

engine_test!(up_status_down_round_trip, |db: &TestDb| {
    let env = Env::new(db);
    env.write("migrations/1_users.sql", &table("users", "1"));
    env.write("migrations/2_posts.sql", &table("posts", "2"));
    env.write("migrations/10_tags.sql", &table("tags", "10"));
    assert_eq!(
        env.states(),
        states(&[("1", "pending"), ("2", "pending"), ("10", "pending")])
    );
    let check = env.fails(&["status", "--check"], 1);
    assert!(check.stdout.contains("pending"));

    let up = env.ok(&["up"]);
    assert!(up.stdout.contains("Applied 3 migrations"), "{}", up.stdout);
    assert!(db.has_table("users") && db.has_table("posts") && db.has_table("tags"));
    assert_eq!(
        env.states(),
        states(&[("1", "applied"), ("2", "applied"), ("10", "applied")])
    );
    env.ok(&["status", "--check"]);
    let again = env.ok(&["up"]);
    assert!(
        again.stdout.contains("Nothing to apply"),
        "{}",
        again.stdout
    );

    // The history row holds what the contract promises.
    let row = db.query(match db.engine() {
        "mysql" => "SELECT CONCAT_WS(' ', status, batch, checksum_algorithm, down_sql IS NOT NULL) FROM strata_history WHERE version = '10'",
        _ => "SELECT status || ' ' || batch || ' ' || checksum_algorithm || ' ' || (down_sql IS NOT NULL) FROM strata_history WHERE version = '10'",
    });
    let expected = if db.engine() == "postgres" {
        "applied 1 sha256-v1 true"
    } else {
        "applied 1 sha256-v1 1"
    };
    assert_eq!(row, vec![expected.to_string()]);

    env.ok(&["down", "--steps", "1"]);
    assert!(!db.has_table("tags"));
    env.ok(&["up"]);
    // The default down reverts the last batch: only `tags` again.
    env.ok(&["down"]);
    assert!(!db.has_table("tags") && db.has_table("posts"));
    assert_eq!(
        env.states(),
        states(&[("1", "applied"), ("2", "applied"), ("10", "reverted")])
    );
    env.ok(&["down", "--to", "1"]);
    assert!(!db.has_table("posts") && db.has_table("users"));
    assert_eq!(
        env.history_actions(),
        vec![
            "apply 1",
            "apply 2",
            "apply 10",
            "revert 10",
            "apply 10",
            "revert 10",
            "revert 2"
        ]
    );
});

transactional_test!(
    failing_migration_keeps_earlier_ones_and_names_the_line,
    |db: &TestDb| {
        let env = Env::new(db);
        env.write("migrations/1_users.sql", &table("users", "1"));
        env.write(
        "migrations/2_broken.sql",
        "-- strata:up\ncreate table half (id integer);\n\ninsert into half values (1);\ninsert into nowhere values (1);\n-- strata:down\ndrop table half;\n",
    );
        env.write("migrations/3_after.sql", &table("after_table", "3"));
        let run = env.fails(&["up"], 2);
        let text = run.all();
        assert!(text.contains("migrations/2_broken.sql:5"), "{text}");
        assert!(text.contains("nowhere"), "{text}");
        assert!(db.has_table("users"), "the earlier migration stays applied");
        assert!(
            !db.has_table("half"),
            "the failed migration was rolled back"
        );
        assert!(
            !db.has_table("after_table"),
            "nothing after the failure ran"
        );
        assert_eq!(
            env.states(),
            states(&[("1", "applied"), ("2", "failed"), ("3", "pending")])
        );
        let error = db.query("SELECT error FROM strata_history WHERE version = '2'");
        assert!(error[0].contains("2_broken.sql:5"), "{error:?}");

        env.write(
        "migrations/2_broken.sql",
        "-- strata:up\ncreate table half (id integer);\ninsert into half values (1);\n-- strata:down\ndrop table half;\n",
    );
        env.ok(&["up"]);
        assert_eq!(
            env.states(),
            states(&[("1", "applied"), ("2", "applied"), ("3", "applied")])
        );
        assert_eq!(
            env.history_actions(),
            vec!["apply 1", "fail 2", "apply 2", "apply 3"]
        );
    }
);

engine_test!(json_events_for_work_commands, |db: &TestDb| {
    let env = Env::new(db);
    env.write("migrations/1_users.sql", &table("users", "1"));
    let run = env.ok(&["up", "--format", "json"]);
    let events: Vec<serde_json::Value> = run
        .json_lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "started",
            "migration_started",
            "migration_finished",
            "finished"
        ]
    );
    assert_eq!(events[2]["version"], "1");
    assert!(events[2]["duration_ms"].is_u64());
    assert_eq!(events[3]["applied"], 1);
    let plan = env.json(&["plan"]);
    assert_eq!(plan["steps"].as_array().unwrap().len(), 0);
    let list = env.json(&["list"]);
    assert_eq!(list["migrations"][0]["has_down"], true);
    assert_eq!(list["migrations"][0]["transactional"], true);
});

engine_test!(drift_is_reported_refused_and_repaired, |db: &TestDb| {
    let env = Env::new(db);
    env.write("migrations/1_users.sql", &table("users", "1"));
    env.write("migrations/2_posts.sql", &table("posts", "2"));
    env.ok(&["up", "--to", "1"]);
    // Converting line endings and editing the down section is not drift.
    env.write(
        "migrations/1_users.sql",
        &format!(
            "\u{feff}{}",
            table("users", "1")
                .replace('\n', "\r\n")
                .replace("drop table users", "drop table if exists users")
        ),
    );
    assert_eq!(env.states()[0].1, "applied");
    env.write(
        "migrations/1_users.sql",
        &table("users", "1").replace("primary key", "primary key, email text"),
    );
    assert_eq!(env.states()[0].1, "drifted");
    let run = env.fails(&["up"], 2);
    let text = run.all();
    assert!(
        text.contains("1_users.sql") && text.contains("strata repair app/1"),
        "{text}"
    );
    let status = env.json(&["status"]);
    let m = &status["migrations"][0];
    assert!(
        text.contains(&m["checksum"].as_str().unwrap()[..12]),
        "{text}"
    );
    assert!(
        text.contains(&m["recorded_checksum"].as_str().unwrap()[..12]),
        "{text}"
    );
    env.ok(&["repair", "1"]);
    assert_eq!(env.states(), states(&[("1", "applied"), ("2", "pending")]));
    env.ok(&["up"]);
    assert_eq!(
        env.history_actions(),
        vec!["apply 1", "repair 1", "apply 2"]
    );
});

engine_test!(
    missing_files_block_up_and_down_uses_stored_sql,
    |db: &TestDb| {
        let env = Env::new(db);
        env.write("migrations/1_users.sql", &table("users", "1"));
        env.ok(&["up"]);
        env.project.remove("migrations/1_users.sql");
        env.write("migrations/2_posts.sql", &table("posts", "2"));
        assert_eq!(env.states(), states(&[("2", "pending"), ("1", "missing")]));
        let run = env.fails(&["up"], 2);
        assert!(
            run.all()
                .contains("app/1 (users) is recorded as applied but its file is gone"),
            "{}",
            run.all()
        );
        env.ok(&["up", "--ignore-missing"]);
        env.ok(&["down", "--steps", "2"]);
        assert!(
            !db.has_table("users"),
            "reverted with the down SQL kept in history"
        );
    }
);

engine_test!(
    out_of_order_is_refused_then_allowed_and_recorded,
    |db: &TestDb| {
        let env = Env::new(db);
        env.write("migrations/1_a.sql", &table("a", "1"));
        env.write("migrations/3_c.sql", &table("c", "3"));
        env.ok(&["up"]);
        env.write("migrations/2_b.sql", &table("b", "2"));
        let run = env.fails(&["up"], 2);
        let text = run.all();
        assert!(
            text.contains("app/2")
                && text.contains("version 3")
                && text.contains("--allow-out-of-order"),
            "{text}"
        );
        assert!(!db.has_table("b"));
        env.ok(&["up", "--allow-out-of-order"]);
        assert!(db.has_table("b"));
        let flag = db.query("SELECT out_of_order FROM strata_history WHERE version = '2'");
        assert!(flag == vec!["1"] || flag == vec!["t"], "{flag:?}");
    }
);

engine_test!(irreversible_down_reverts_nothing, |db: &TestDb| {
    let env = Env::new(db);
    env.write("migrations/1_a.sql", &table("a", "1"));
    // An INSERT has no mechanical inverse, so no down can be derived either.
    env.write(
        "migrations/2_b.sql",
        "create table b (id integer);\ninsert into b values (1);\n",
    );
    env.ok(&["up"]);
    let run = env.fails(&["down", "--steps", "2"], 2);
    assert!(
        run.all().contains("app/2 (b) has no down section"),
        "{}",
        run.all()
    );
    assert!(db.has_table("a") && db.has_table("b"));
});

engine_test!(approve_runs_only_the_reviewed_plan, |db: &TestDb| {
    let env = Env::new(db);
    env.write("migrations/1_a.sql", &table("a", "1"));
    let hash = env.json(&["plan"])["plan_hash"]
        .as_str()
        .unwrap()
        .to_string();
    env.write("migrations/2_b.sql", &table("b", "2"));
    let run = env.fails(&["up", "--approve", &hash], 2);
    let new_hash = env.json(&["plan"])["plan_hash"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        run.all().contains(&hash) && run.all().contains(&new_hash),
        "{}",
        run.all()
    );
    assert!(!db.has_table("a"));
    env.ok(&["up", "--approve", &new_hash]);
    assert!(db.has_table("a") && db.has_table("b"));
});

engine_test!(baseline_records_without_running, |db: &TestDb| {
    let env = Env::new(db);
    env.write("migrations/1_a.sql", &table("a", "1"));
    env.write("migrations/2_b.sql", &table("b", "2"));
    env.write("migrations/3_c.sql", &table("c", "3"));
    env.ok(&["baseline", "2"]);
    assert!(!db.has_table("a") && !db.has_table("b"));
    env.ok(&["up"]);
    assert!(db.has_table("c") && !db.has_table("a"));
    assert_eq!(
        env.history_actions(),
        vec!["baseline 1", "baseline 2", "apply 3"]
    );
});

engine_test!(redo_reapplies_the_edited_last_migration, |db: &TestDb| {
    let env = Env::new(db);
    env.write("migrations/1_a.sql", &table("a", "1"));
    env.ok(&["up"]);
    env.write(
        "migrations/1_a.sql",
        &table("a", "1").replace("primary key", "primary key, extra text"),
    );
    env.ok(&["redo"]);
    assert_eq!(env.states(), states(&[("1", "applied")]));
    assert_eq!(
        db.query("SELECT count(*) FROM a WHERE extra IS NULL"),
        vec!["0"]
    );
    assert_eq!(
        env.history_actions(),
        vec!["apply 1", "revert 1", "apply 1"]
    );
});

engine_test!(fresh_is_guarded_on_protected_environments, |db: &TestDb| {
    let env = Env::new(db);
    env.write("strata.toml", &format!(
        "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.prod]\nurl = \"{}\"\nprotected = true\n",
        db.url()
    ));
    env.write("migrations/1_a.sql", &table("a", "1"));
    let run = |args: &[&str]| run_in(std::path::Path::new(BIN), &env.project.dir, args, &[]);
    assert_eq!(run(&["up", "--env", "prod"]).code, 0);
    db.execute("INSERT INTO a VALUES (7)");
    let refused = run(&["fresh", "--env", "prod"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(refused.all().contains("protected"), "{}", refused.all());
    // --yes alone is not enough without a terminal to confirm at.
    assert_eq!(run(&["fresh", "--env", "prod", "--yes"]).code, 2);
    let down = run(&["down", "--env", "prod"]);
    assert_eq!(down.code, 2, "{}", down.all());
    assert_eq!(db.query("SELECT count(*) FROM a"), vec!["1"]);
    let hash = down
        .all()
        .split("--approve ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let fresh_plan = run(&["fresh", "--env", "prod", "--yes"]).all();
    let fresh_hash = fresh_plan
        .split("--approve ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_ne!(hash, fresh_hash);
    let ok = run(&["fresh", "--env", "prod", "--yes", "--approve", &fresh_hash]);
    assert_eq!(ok.code, 0, "{}", ok.all());
    assert_eq!(
        db.query("SELECT count(*) FROM a"),
        vec!["0"],
        "the table was dropped and created again"
    );
});

engine_test!(concurrent_runs_apply_each_migration_once, |db: &TestDb| {
    let env = Env::new(db);
    for v in 1..=5 {
        env.write(
            &format!("migrations/{v}_t{v}.sql"),
            &table(&format!("t{v}"), &v.to_string()),
        );
    }
    let url = db.url();
    let children: Vec<_> = (0..20)
        .map(|_| {
            std::process::Command::new(BIN)
                .args(["up", "--database-url", &url, "--format", "json"])
                .current_dir(&env.project.dir)
                .env_remove("DATABASE_URL")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied = 0;
    for child in children {
        let run = Run::from_output(child.wait_with_output().unwrap());
        assert_eq!(run.code, 0, "{}", run.all());
        applied += run
            .stdout
            .lines()
            .filter(|l| l.contains("\"migration_finished\""))
            .count();
    }
    assert_eq!(
        applied, 5,
        "every migration applied exactly once across 20 processes"
    );
    assert_eq!(
        db.query("SELECT count(*) FROM strata_history_log WHERE action = 'apply'"),
        vec!["5"]
    );
});

engine_test!(malformed_history_rows_are_named, |db: &TestDb| {
    let env = Env::new(db);
    env.write("migrations/1_a.sql", &table("a", "1"));
    env.ok(&["up"]);
    db.execute("UPDATE strata_history SET version = 'v1'");
    let run = env.fails(&["status"], 2);
    assert!(
        run.all().contains("row app/v1") && run.all().contains("strata_history"),
        "{}",
        run.all()
    );
});

#[test]
fn without_config_or_url_says_how_to_start() {
    let p = TempProject::new();
    let run = run_in(std::path::Path::new(BIN), &p.dir, &["status"], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("strata init") && run.stderr.contains("--database-url"),
        "{}",
        run.stderr
    );
}

#[test]
fn init_new_up_on_sqlite_with_no_server() {
    let p = TempProject::new();
    let _ = std::fs::remove_dir(p.path("migrations"));
    let init = strata_at(&p, &["init"]);
    assert_eq!(init.code, 0, "{}", init.all());
    assert!(init.stdout.contains("created strata.toml"));
    let new = strata_at(&p, &["new", "Create Users"]);
    assert_eq!(new.code, 0, "{}", new.all());
    let file = std::fs::read_dir(p.path("migrations"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.ends_with("_create_users.sql")
            && name.len() == "20240101120000_create_users.sql".len(),
        "{name}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("-- strata:up")
            && text.contains("-- strata:down")
            && text.contains("-- strata:verify")
    );
    // An empty up section is refused, naming the file.
    let up = strata_at(&p, &["up"]);
    assert_eq!(up.code, 2);
    assert!(
        up.stderr.contains(&name) && up.stderr.contains("up section is empty"),
        "{}",
        up.stderr
    );
    std::fs::write(
        &file,
        text.replacen(
            "-- strata:up\n",
            "-- strata:up\ncreate table users (id integer);\n",
            1,
        ),
    )
    .unwrap();
    let up = strata_at(&p, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(p.path("strata.db").exists());
    let again = strata_at(&p, &["init"]);
    assert!(again.stdout.contains("nothing changed"), "{}", again.stdout);
}

#[test]
fn malformed_files_and_configs_name_file_and_line() {
    let p = TempProject::new();
    p.write("strata.toml", "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"sqlite://x.db\"\nlock_timeout = \"soon\"\n");
    let run = strata_at(&p, &["status"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("strata.toml")
            && run.stderr.contains("line 7")
            && run.stderr.contains("soon"),
        "{}",
        run.stderr
    );
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"sqlite://x.db\"\n",
    );
    p.write("migrations/1_a.sql", "select 1;\n-- strata:up\nselect 2;\n");
    let run = strata_at(&p, &["up", "--format", "json"]);
    assert_eq!(run.code, 2);
    let doc: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(doc["error"]["kind"], "invalid_migration");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1_a.sql:1"),
        "{doc}"
    );
    assert!(!p.path("x.db").exists(), "nothing was touched");
}

#[test]
fn env_urls_expand_variables_from_dotenv() {
    let p = TempProject::new();
    p.write("strata.toml", "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"sqlite://${STRATA_TEST_DB_FILE}\"\n");
    p.write(".env", "STRATA_TEST_DB_FILE=from_dotenv.db\n");
    p.write("migrations/1_a.sql", "create table a (id integer);\n");
    let run = strata_at(&p, &["up"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(p.path("from_dotenv.db").exists());
}

#[test]
fn passwords_never_reach_the_output() {
    let p = TempProject::new();
    let run = strata_at(
        &p,
        &[
            "status",
            "--database-url",
            "postgres://me:hunter2@127.0.0.1:1/db?connect_timeout=2",
        ],
    );
    assert_eq!(run.code, 2);
    assert!(!run.all().contains("hunter2"), "{}", run.all());
    assert!(run.all().contains("me:***@127.0.0.1"), "{}", run.all());
}

#[test]
fn several_sources_are_planned_together_and_filtered_by_source() {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"data\"\npath = \"db/data\"\npriority = 10\n\n[[source]]\nname = \"app\"\npath = \"db/app\"\n\n[env.dev]\nurl = \"sqlite://app.db\"\n",
    );
    p.write("db/app/1_users.sql", &table("users", "1"));
    p.write("db/app/3_posts.sql", &table("posts", "3"));
    p.write(
        "db/data/2_seed.sql",
        "-- strata:up\ninsert into users values (1);\n-- strata:down\ndelete from users;\n",
    );
    let order = planned_order(&p);
    assert_eq!(
        order,
        vec!["app/1", "app/3", "data/2"],
        "priority first, then version"
    );
    let only = strata_at(&p, &["up", "--source", "app"]);
    assert_eq!(only.code, 0, "{}", only.all());
    let status = strata_at(&p, &["status", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let states: Vec<&str> = doc["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["applied", "applied", "pending"]);
    assert_eq!(strata_at(&p, &["up"]).code, 0);
    let down = strata_at(&p, &["down", "--source", "data", "--format", "json"]);
    assert_eq!(down.code, 0, "{}", down.all());
    assert_eq!(
        down.stdout.matches("\"migration_finished\"").count(),
        1,
        "{}",
        down.stdout
    );
    let unknown = strata_at(&p, &["status", "--source", "nope"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("known sources: data, app"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn transaction_statements_in_a_transactional_migration_are_refused() {
    let p = TempProject::new();
    p.write(
        "migrations/1_a.sql",
        "begin;\ncreate table a (id integer);\ncommit;\n",
    );
    let run = strata_at(&p, &["up", "--database-url", "sqlite://x.db"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("1_a.sql:1") && run.stderr.contains("strata:no-transaction"),
        "{}",
        run.stderr
    );
    let tables: i64 = crate::sqlite_value(
        &p.path("x.db"),
        "select count(*) from sqlite_master where name in ('a', 'strata_history')",
    );
    assert_eq!(tables, 0, "nothing ran and no history was written");
}

/// Runs `strata ARGS` at a pseudo-terminal (util-linux `script`) with
/// `input` typed in; `None` when `script` is not installed.
fn at_terminal(dir: &std::path::Path, args: &str, input: &str) -> Option<Run> {
    use std::io::Write;
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let mut child = std::process::Command::new(script)
        .args(["-qec", &format!("{BIN} {args}"), "/dev/null"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(input.as_bytes()).ok()?;
    Some(Run::from_output(child.wait_with_output().ok()?))
}

#[test]
fn protected_down_is_confirmed_by_typing_the_environment_name() {
    let p = TempProject::new();
    p.write("strata.toml", "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.prod]\nurl = \"sqlite://p.db\"\nprotected = true\n");
    p.write("migrations/1_a.sql", &table("a", "1"));
    assert_eq!(strata_at(&p, &["up", "--env", "prod"]).code, 0);
    let Some(wrong) = at_terminal(&p.dir, "down --env prod --yes", "staging\n") else {
        return;
    };
    assert_eq!(wrong.code, 2, "{}", wrong.all());
    assert!(
        wrong.all().contains("revert   app/1"),
        "the plan is shown: {}",
        wrong.all()
    );
    let right = at_terminal(&p.dir, "down --env prod --yes", "prod\n").unwrap();
    assert_eq!(right.code, 0, "{}", right.all());
    assert!(
        right.all().contains("Reverted 1 migration"),
        "{}",
        right.all()
    );
}

#[test]
fn several_environments_and_none_chosen_is_an_error_not_a_fallback() {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.staging]\nurl = \"sqlite://s.db\"\n\n[env.production]\nurl = \"sqlite://p.db\"\nprotected = true\n",
    );
    let run = run_in(
        std::path::Path::new(BIN),
        &p.dir,
        &["fresh"],
        &[("DATABASE_URL", "sqlite://other.db")],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("production, staging") && run.stderr.contains("--env"),
        "{}",
        run.stderr
    );
    assert!(!p.path("other.db").exists());
}

#[test]
fn fresh_refuses_a_single_source() {
    let p = TempProject::new();
    p.write("migrations/1_a.sql", &table("a", "1"));
    let run = strata_at(
        &p,
        &[
            "fresh",
            "--source",
            "app",
            "--database-url",
            "sqlite://f.db",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("without --source"), "{}", run.stderr);
}

#[test]
fn list_and_new_need_no_database_and_dotenv_paths_start_at_the_project() {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.staging]\nurl = \"${STAGING_URL}\"\n\n[env.production]\nprotected = true\n",
    );
    p.write("migrations/1_a.sql", "create table a (id integer);\n");
    assert_eq!(strata_at(&p, &["list"]).code, 0);
    let no_url = strata_at(&p, &["status", "--env", "production"]);
    assert_eq!(no_url.code, 2);
    assert!(
        no_url.stderr.contains("[env.production] has no url"),
        "{}",
        no_url.stderr
    );

    let q = TempProject::new();
    q.write("migrations/1_a.sql", "create table a (id integer);\n");
    q.write(".env", "DATABASE_URL=sqlite://app.db\n");
    q.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\n",
    );
    std::fs::create_dir_all(q.path("sub")).unwrap();
    let up = run_in(std::path::Path::new(BIN), &q.path("sub"), &["up"], &[]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(q.path("app.db").exists() && !q.path("sub/app.db").exists());
}

engine_test!(
    a_failed_revert_without_a_transaction_stays_applied_and_is_reported,
    |db: &TestDb| {
        let env = Env::new(db);
        env.write(
        "migrations/1_s.sql",
        "-- strata:no-transaction\n-- strata:up\ncreate table s1 (id integer);\ncreate table s2 (id integer);\n-- strata:down\ndrop table s1;\ndrop table nope;\n",
    );
        env.ok(&["up"]);
        let down = env.fails(&["down"], 2);
        assert!(down.all().contains("1_s.sql:7"), "{}", down.all());
        assert!(!db.has_table("s1") && db.has_table("s2"), "half reverted");
        let status = env.json(&["status"]);
        assert_eq!(status["migrations"][0]["state"], "failed", "{status}");
        env.fails(&["status", "--check"], 1);
        env.write(
        "migrations/1_s.sql",
        "-- strata:no-transaction\n-- strata:up\ncreate table s1 (id integer);\ncreate table s2 (id integer);\n-- strata:down\ndrop table if exists s1;\ndrop table s2;\n",
    );
        env.ok(&["down"]);
        assert!(!db.has_table("s2"));
        assert_eq!(env.states(), states(&[("1", "reverted")]));
    }
);

#[test]
fn usage_errors_are_json_with_format_json() {
    let p = TempProject::new();
    let run = strata_at(&p, &["--format", "json", "down", "--steps", "abc"]);
    assert_eq!(run.code, 2);
    let doc: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(doc["error"]["kind"], "usage", "{doc}");
    assert_eq!(strata_at(&p, &["--help"]).code, 0);
}

#[test]
fn requirements_order_migrations_across_sources_and_cycles_are_refused() {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"db/app\"\n\n[[source]]\nname = \"data\"\npath = \"db/data\"\npriority = 10\n\n[env.dev]\nurl = \"sqlite://r.db\"\n",
    );
    p.write("db/app/1_users.sql", &table("users", "1"));
    p.write(
        "db/app/2_report.sql",
        "-- strata:requires data/1\ncreate view report as select count(*) as n from seeds;\n",
    );
    p.write("db/data/1_seeds.sql", "create table seeds (id integer);\n");
    let order = planned_order(&p);
    assert_eq!(order, vec!["app/1", "data/1", "app/2"]);
    assert_eq!(strata_at(&p, &["up"]).code, 0);

    p.write(
        "db/data/2_back.sql",
        "-- strata:requires app/3\nselect 1;\n",
    );
    p.write(
        "db/app/3_loop.sql",
        "-- strata:requires data/2\nselect 1;\n",
    );
    let cycle = strata_at(&p, &["plan"]);
    assert_eq!(cycle.code, 2);
    assert!(
        cycle.stderr.contains("app/3")
            && cycle.stderr.contains("data/2")
            && cycle.stderr.contains("cycle"),
        "{}",
        cycle.stderr
    );
    p.write(
        "db/app/3_loop.sql",
        "-- strata:requires data/9\nselect 1;\n",
    );
    let missing = strata_at(&p, &["plan"]);
    assert!(
        missing
            .stderr
            .contains("app/3 requires data/9, which does not exist"),
        "{}",
        missing.stderr
    );
}

#[test]
fn validate_finds_problems_without_running_anything() {
    let p = TempProject::new();
    p.write("migrations/1_a.sql", &table("a", "1"));
    p.write("migrations/2_b.sql", &table("b", "2"));
    assert_eq!(strata_at(&p, &["validate"]).code, 0);
    let url = format!("sqlite://{}", p.path("v.db").display());
    assert_eq!(strata_at(&p, &["up", "--database-url", &url]).code, 0);
    p.write(
        "migrations/2_b.sql",
        &table("b", "2").replace("primary key", "primary key, x int"),
    );
    p.write(
        "migrations/3_bad.sql",
        "select 1;\n-- strata:up\nselect 2;\n",
    );
    let offline = strata_at(&p, &["validate", "--format", "json"]);
    assert_eq!(offline.code, 1, "{}", offline.all());
    let doc: serde_json::Value = serde_json::from_str(&offline.stdout).unwrap();
    assert_eq!(doc["findings"][0]["kind"], "file", "{doc}");
    p.remove("migrations/3_bad.sql");
    assert_eq!(
        strata_at(&p, &["validate"]).code,
        0,
        "offline, an edit is not visible"
    );
    let online = strata_at(
        &p,
        &["validate", "--database-url", &url, "--format", "json"],
    );
    assert_eq!(online.code, 1, "{}", online.all());
    let doc: serde_json::Value = serde_json::from_str(&online.stdout).unwrap();
    assert_eq!(doc["findings"][0]["kind"], "drift", "{doc}");
}

/// `validate` with a database plans as `up` does: a plan `up` refuses (a
/// psql meta-command, a transaction statement inside the transaction strata
/// wraps a migration in) is a finding, not a pass.
#[test]
fn validate_with_a_database_refuses_what_up_refuses() {
    let p = TempProject::new();
    p.write("migrations/1_a.sql", &table("a", "1"));
    p.write(
        "migrations/2_b.sql",
        "\\i other.sql\nbegin;\ncreate table b (id int);\ncommit;\n",
    );
    let url = format!("sqlite://{}", p.path("v.db").display());
    let up = strata_at(&p, &["up", "--database-url", &url]);
    assert_eq!(up.code, 2, "{}", up.all());
    let online = strata_at(
        &p,
        &["validate", "--database-url", &url, "--format", "json"],
    );
    assert_eq!(online.code, 1, "{}", online.all());
    let doc: serde_json::Value = serde_json::from_str(&online.stdout).unwrap();
    let findings: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(findings.len(), 1, "{doc}");
    assert_eq!(findings[0].0, "plan");
    // The same refusal, word for word, as `up` gave.
    assert!(
        up.stderr.contains(&findings[0].1),
        "up said:\n{}\nvalidate said:\n{}",
        up.stderr,
        findings[0].1
    );
    // Nothing ran, nothing was recorded.
    let status = strata_at(&p, &["status", "--database-url", &url, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(doc["counts"]["pending"], 2, "{doc}");
}

/// What a dry run must leave exactly as it was: on PostgreSQL the whole
/// pg_dump (schema, data, sequence positions); on SQLite the schema and
/// every column of the history and its log.
fn snapshot(db: &TestDb) -> Vec<String> {
    if db.engine() == "postgres" {
        let out = std::process::Command::new("pg_dump")
            .arg(db.url())
            .output()
            .expect("pg_dump runs (bash scripts/install-test-tools.sh)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // `\restrict` lines carry a key pg_dump draws afresh each time.
        return String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
            .map(String::from)
            .collect();
    }
    let mut out = db.query(
        "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY name",
    );
    for table in ["strata_history", "strata_history_log"] {
        if db.has_table(table) {
            let row = db
                .query(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .iter()
                .map(|column| format!("quote({column})"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            out.extend(db.query(&format!("SELECT {row} FROM {table} ORDER BY 1")));
        }
    }
    out
}

/// A dry run cannot take back the values a PostgreSQL sequence handed out:
/// it says so, naming the sequence; strata's own log sequence is put back.
#[test]
fn a_dry_run_names_the_sequences_it_advanced() {
    let Some(db) = TestDb::postgres() else { return };
    let env = Env::new(&db);
    env.write(
        "migrations/1_a.sql",
        "create table a (id serial primary key, v int);\n",
    );
    env.ok(&["up"]);
    env.write("migrations/2_b.sql", "insert into a (v) values (1), (2);\n");
    let before = db.query("SELECT last_value FROM strata_history_log_seq_seq");
    let run = env.ok(&["up", "--dry-run", "--format", "json"]);
    let warnings: Vec<String> = run
        .json_lines()
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "warning")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("sequence public.a_id_seq"),
        "{warnings:?}"
    );
    assert_eq!(db.query("SELECT count(*) FROM a"), vec!["0"]);
    assert_eq!(
        db.query("SELECT last_value FROM strata_history_log_seq_seq"),
        before,
        "strata's own sequence is put back"
    );
}

transactional_test!(dry_run_tries_the_plan_and_keeps_nothing, |db: &TestDb| {
    let env = Env::new(db);
    env.write("migrations/1_a.sql", &table("a", "1"));
    env.ok(&["up"]);
    env.write("migrations/2_b.sql", "-- strata:up\ncreate table b (id integer);\ninsert into a values (5);\n-- strata:down\ndrop table b;\n");
    env.write(
        "migrations/3_idx.sql",
        "-- strata:no-transaction\ncreate index a_id on a (id);\n",
    );
    let before = snapshot(db);
    let run = env.ok(&["up", "--dry-run", "--format", "json"]);
    let events: Vec<serde_json::Value> = run
        .json_lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let finished: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "migration_finished")
        .collect();
    assert_eq!(finished.len(), 1, "{events:?}");
    assert_eq!(finished[0]["version"], "2");
    if db.engine() == "postgres" {
        let locks = finished[0]["locks"].as_array().unwrap();
        assert!(
            locks
                .iter()
                .any(|l| l.as_str().unwrap().starts_with("a RowExclusiveLock")),
            "{locks:?}"
        );
    }
    let skipped: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "migration_skipped")
        .collect();
    assert_eq!(skipped[0]["version"], "3");
    assert_eq!(events.last().unwrap()["dry_run"], true);
    assert_eq!(snapshot(db), before, "schema and history unchanged");

    env.write(
        "migrations/2_b.sql",
        "-- strata:up\ncreate table b (id integer);\ninsert into nowhere values (5);\n",
    );
    let failed = env.fails(&["up", "--dry-run"], 2);
    assert!(failed.all().contains("2_b.sql:3"), "{}", failed.all());
    assert_eq!(
        snapshot(db),
        before,
        "a failed dry run keeps nothing either"
    );

    // A dry-run revert, then the real thing still works.
    let down = env.ok(&["down", "--dry-run"]);
    assert!(
        down.stdout.contains("rolled everything back"),
        "{}",
        down.stdout
    );
    assert!(db.has_table("a"));
    assert_eq!(snapshot(db), before);
});

engine_test!(doctor_names_each_problem_with_its_fix, |db: &TestDb| {
    let env = Env::new(db);
    env.write("migrations/1_a.sql", &table("a", "1"));
    env.write("migrations/2_b.sql", &table("b", "2"));
    let checks = |run: &Run| -> Vec<(String, String)> {
        let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["check"].as_str().unwrap().to_string(),
                    c["level"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let fresh = env.ok(&["doctor", "--format", "json"]);
    let fresh = checks(&fresh);
    assert!(
        fresh.contains(&("connection".into(), "ok".into())),
        "{fresh:?}"
    );
    assert!(
        fresh.contains(&("privileges".into(), "ok".into())),
        "{fresh:?}"
    );
    assert!(fresh.contains(&("lock".into(), "ok".into())), "{fresh:?}");
    assert!(
        fresh.contains(&("pending".into(), "warning".into())),
        "{fresh:?}"
    );

    env.ok(&["up"]);
    env.write(
        "migrations/3_bad.sql",
        "-- strata:up\ncreate table c (id integer);\ninsert into nowhere values (1);\n",
    );
    env.fails(&["up"], 2);
    env.write("migrations/1_a.sql", &table("a_renamed", "1"));
    let sick = env.fails(&["doctor"], 1);
    let text = sick.stdout;
    assert!(text.contains("problem  drift"), "{text}");
    assert!(text.contains("problem  failed      app/3 (bad)"), "{text}");
    assert!(text.contains("strata repair"), "{text}");
    assert!(text.contains("2 problem(s) found"), "{text}");
});

#[test]
fn state_changing_commands_append_an_audit_line_without_secrets() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    // Trust authentication ignores the password; it must not be written.
    let url = db.url().replacen("postgres@", "postgres:s3cretpw@", 1);
    p.write(
        "strata.toml",
        "[project]\naudit_log = \"logs/audit.jsonl\"\n\n[env.production]\nurl = \"${PROD_URL}\"\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n",
    );
    p.write("migrations/1_a.sql", &table("a", "1"));
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--env", "production"]);
        run_in(
            std::path::Path::new(BIN),
            &p.dir,
            &all,
            &[("PROD_URL", url.as_str())],
        )
    };
    assert_eq!(run(&["up", "--dry-run"]).code, 0);
    assert!(
        !p.path("logs/audit.jsonl").exists(),
        "a dry run is not audited"
    );
    let up = run(&["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    p.write(
        "migrations/2_bad.sql",
        "-- strata:up\ninsert into nowhere values (1);\n",
    );
    assert_eq!(run(&["up"]).code, 2);

    let text = std::fs::read_to_string(p.path("logs/audit.jsonl")).unwrap();
    assert!(!text.contains("s3cretpw"), "{text}");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["command"], "up");
    assert_eq!(lines[0]["result"], "ok");
    assert_eq!(lines[0]["applied"], 1);
    assert_eq!(lines[0]["environment"], "production");
    assert_eq!(lines[0]["plan_hash"].as_str().unwrap().len(), 16);
    assert!(lines[0]["user"].as_str().unwrap().contains('@'));
    assert_eq!(lines[1]["result"], "error");
    assert_eq!(lines[1]["failed"], 1);
    assert!(lines[1]["error"].as_str().unwrap().contains("nowhere"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(p.path("logs/audit.jsonl"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // An audit log that cannot be written stops the command before it runs.
    std::fs::remove_file(p.path("migrations/2_bad.sql")).unwrap();
    p.write("migrations/3_c.sql", &table("c", "3"));
    std::fs::remove_file(p.path("logs/audit.jsonl")).unwrap();
    std::fs::create_dir(p.path("logs/audit.jsonl")).unwrap();
    let refused = run(&["up"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused.all().contains("cannot open the audit log"),
        "{}",
        refused.all()
    );
    assert!(!db.has_table("c"));
}

engine_test!(environment_policies_refuse_until_approved, |db: &TestDb| {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[env.prod]\nurl = \"${TEST_URL}\"\nrequire_approval = true\nallow_destructive = false\nverify_after = true\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n",
    );
    let url = db.url();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--env", "prod"]);
        run_in(
            std::path::Path::new(BIN),
            &p.dir,
            &all,
            &[("TEST_URL", url.as_str())],
        )
    };
    let hash_of = |p: &Run| -> String {
        let doc: serde_json::Value = serde_json::from_str(&p.stdout).unwrap();
        doc["plan_hash"].as_str().unwrap().to_string()
    };
    p.write(
        "migrations/1_a.sql",
        "-- strata:up\ncreate table a (id integer);\n",
    );

    let refused = run(&["up"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused.all().contains("requires approval"),
        "{}",
        refused.all()
    );
    assert!(!db.has_table("a"));
    let hash = hash_of(&run(&["plan", "--format", "json"]));
    let approved = run(&["up", "--approve", &hash]);
    assert_eq!(approved.code, 0, "{}", approved.all());
    assert!(db.has_table("a"));

    // A destructive statement needs --allow-destructive as well.
    p.write(
        "migrations/2_drop.sql",
        "-- strata:up\ncreate table b (id integer);\n\ndrop table a;\n",
    );
    let hash = hash_of(&run(&["plan", "--format", "json"]));
    let refused = run(&["up", "--approve", &hash]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused
            .all()
            .contains("migrations/2_drop.sql:4: app/2 drops a table"),
        "{}",
        refused.all()
    );
    assert!(db.has_table("a") && !db.has_table("b"));
    let wrong = run(&["up", "--allow-destructive", "--approve", "0000000000000000"]);
    assert_eq!(wrong.code, 2, "{}", wrong.all());
    assert!(db.has_table("a"));
    let allowed = run(&["up", "--allow-destructive", "--approve", &hash]);
    assert_eq!(allowed.code, 0, "{}", allowed.all());
    assert!(!db.has_table("a"));

    // verify_after: a change its verify section cannot find stops the run.
    p.write(
        "migrations/3_c.sql",
        "-- strata:up\ncreate table c (id integer);\n-- strata:verify\nselect count(*) from c where id = 42;\n",
    );
    let hash = hash_of(&run(&["plan", "--format", "json"]));
    let unverified = run(&["up", "--approve", &hash]);
    assert_eq!(unverified.code, 2, "{}", unverified.all());
    let text = unverified.all();
    assert!(
        text.contains("was applied, but its verify section at migrations/3_c.sql:4"),
        "{text}"
    );
    assert!(text.contains("strata down --steps 1"), "{text}");
    assert!(db.has_table("c"), "the migration stays applied");
});

#[test]
fn a_migration_that_times_out_on_a_lock_is_retried() {
    let Some(db) = TestDb::postgres() else { return };
    let p = TempProject::new();
    db.execute("create table busy (id int)");
    p.write(
        "strata.toml",
        "[env.ci]\nurl = \"${TEST_URL}\"\nlock_timeout = \"200ms\"\nlock_retries = 4\nlock_retry_wait = \"300ms\"\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n",
    );
    p.write(
        "migrations/1_a.sql",
        "alter table busy add column note text;\n",
    );
    // Another session holds the table for a few seconds.
    let holder = std::process::Command::new("psql")
        .args([
            db.url().as_str(),
            "-qc",
            "BEGIN; LOCK TABLE busy; SELECT pg_sleep(1); COMMIT;",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql");
    wait_for("the table to be locked", || {
        db.query("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'busy' AND l.mode = 'AccessExclusiveLock' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")
            == vec!["1"]
    });
    let url = db.url();
    let up = run_in(
        std::path::Path::new(BIN),
        &p.dir,
        &["up", "--env", "ci"],
        &[("TEST_URL", url.as_str())],
    );
    let _ = holder.wait_with_output();
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(
        up.all().contains(
            "app/1 gave up waiting for a lock and was rolled back; retry 1 of 4 in 300ms"
        ),
        "{}",
        up.all()
    );
    assert_eq!(
        db.query("SELECT count(*) FROM information_schema.columns WHERE table_name = 'busy' AND column_name = 'note'"),
        vec!["1"]
    );
}

/// PostgreSQL-only SQL: `COPY ... FROM STDIN` with its data in the file, as
/// pg_dump writes it, in a transactional and a no-transaction migration;
/// psql meta-commands refused at plan time with their line.
#[test]
fn copy_from_stdin_runs_and_psql_meta_commands_are_refused() {
    let Some(db) = TestDb::postgres() else { return };
    let env = Env::new(&db);
    env.write(
        "migrations/1_people.sql",
        "-- strata:up\nCREATE TABLE people (id int, name text);\nCOPY people (id, name) FROM stdin;\n1\tAda; Lovelace\n2\tO'Brien\n\\.\nINSERT INTO people VALUES (3, 'after');\n-- strata:down\nDROP TABLE people;\n",
    );
    env.write(
        "migrations/2_more.sql",
        "-- strata:up\n-- strata:no-transaction\nCOPY people FROM STDIN WITH (FORMAT csv);\n4,\"csv, quoted\"\n\\.\n",
    );
    env.ok(&["up"]);
    assert_eq!(
        db.query("SELECT name FROM people ORDER BY id"),
        ["Ada; Lovelace", "O'Brien", "after", "csv, quoted"]
    );

    env.write(
        "migrations/3_meta.sql",
        "-- strata:up\nCREATE TABLE c (id int);\n\\connect other_db\nCREATE TABLE d (id int);\n",
    );
    let run = env.fails(&["up"], 2);
    assert!(
        run.stderr
            .contains("3_meta.sql:3: `\\connect` is a psql meta-command"),
        "{}",
        run.stderr
    );
    assert!(!db.has_table("c"), "nothing of the plan ran");
}

/// While a migration's statement waits for a lock another session holds,
/// strata names that session (pg_blocking_pids); the migration goes on once
/// the lock is released.
#[test]
fn blocking_sessions_are_reported_while_a_statement_waits() {
    let Some(db) = TestDb::postgres() else { return };
    let env = Env::new(&db);
    env.write("migrations/1_items.sql", &table("items", "1"));
    env.ok(&["up"]);
    env.write(
        "migrations/2_more.sql",
        "-- strata:up\nALTER TABLE items ADD COLUMN note text;\n-- strata:down\nALTER TABLE items DROP COLUMN note;\n",
    );
    let mut blocker = std::process::Command::new("psql")
        .args([
            "-X",
            "-q",
            "-d",
            &db.url(),
            "-c",
            "BEGIN; LOCK TABLE items IN ACCESS SHARE MODE; SELECT pg_sleep(3); COMMIT;",
        ])
        .env("PGAPPNAME", "report-job")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql runs");
    wait_for("the blocking session", || {
        !db.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'report-job' AND wait_event = 'PgSleep' AND datname = current_database()").is_empty()
    });
    let run = env.ok(&["up"]);
    blocker.wait().unwrap();
    assert!(
        run.stderr.contains("app/2 is waiting for a lock held by:"),
        "{}",
        run.all()
    );
    assert!(
        run.stderr.contains("(report-job)") && run.stderr.contains("LOCK TABLE items"),
        "{}",
        run.stderr
    );
    assert_eq!(db.query("SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'note'"), ["1"]);
}

/// Completions for the shells people use, which bash loads; a manual page
/// for strata and one per command.
#[test]
fn completions_load_and_man_pages_cover_every_command() {
    let bin = std::path::Path::new(crate::BIN);
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source <('{}' completions bash) && complete -p strata",
            bin.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("-F _strata strata"),
        "{out:?}"
    );
    for (shell, mark) in [("zsh", "#compdef strata"), ("fish", "complete -c strata")] {
        let p = strata_test_support::TempProject::new();
        let run = strata_test_support::run_in(bin, &p.dir, &["completions", shell], &[]);
        assert_eq!(run.code, 0, "{}", run.all());
        assert!(run.stdout.contains(mark), "{shell}: {}", run.stdout);
    }
    let p = strata_test_support::TempProject::new();
    let page = strata_test_support::run_in(bin, &p.dir, &["man"], &[]);
    assert_eq!(page.code, 0, "{}", page.all());
    assert!(page.stdout.contains(".TH strata 1"), "{}", page.stdout);
    let dir = p.path("man");
    let run =
        strata_test_support::run_in(bin, &p.dir, &["man", "--dir", dir.to_str().unwrap()], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    // One page per command.
    let pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for command in [
        "strata.1",
        "strata-up.1",
        "strata-test.1",
        "strata-squash.1",
        "strata-schema-diff.1",
    ] {
        assert!(
            pages.contains(&command.to_string()),
            "{command} in {pages:?}"
        );
    }
}

/// Every setting can come from the environment (`STRATA_*`): it wins over
/// strata.toml, and a flag wins over it; a value that does not parse is an
/// error naming the variable.
#[test]
fn settings_come_from_the_environment_between_flags_and_the_file() {
    let p = strata_test_support::TempProject::new();
    let bin = std::path::Path::new(crate::BIN);
    p.write(
        "strata.toml",
        "[project]\nhistory_table = \"toml_history\"\ndefault_env = \"development\"\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.development]\nurl = \"sqlite://dev.db\"\n\n[env.other]\nurl = \"sqlite://other.db\"\nallow_destructive = true\n",
    );
    p.write("migrations/1_t.sql", "CREATE TABLE t (id int);\n");
    let env = [
        ("STRATA_ENV", "other"),
        ("STRATA_HISTORY_TABLE", "env_history"),
    ];
    let up = strata_test_support::run_in(bin, &p.dir, &["up", "-q"], &env);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(p.path("other.db").exists() && !p.path("dev.db").exists());
    let tables: String = crate::sqlite_value(
        &p.path("other.db"),
        "SELECT group_concat(name) FROM sqlite_master WHERE name LIKE '%history'",
    );
    assert_eq!(tables, "env_history");
    // The flag wins over the variable.
    let up = strata_test_support::run_in(bin, &p.dir, &["up", "-q", "--env", "development"], &env);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(p.path("dev.db").exists());
    // The variable wins over the file's allow_destructive = true.
    p.write("migrations/2_drop.sql", "DROP TABLE t;\n");
    let refused = strata_test_support::run_in(
        bin,
        &p.dir,
        &["up"],
        &[
            ("STRATA_ENV", "other"),
            ("STRATA_ALLOW_DESTRUCTIVE", "false"),
        ],
    );
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(refused.all().contains("destructive"), "{}", refused.all());
    // Empty counts as unset (a hook or script gets STRATA_ENV empty).
    let empty = strata_test_support::run_in(bin, &p.dir, &["status"], &[("STRATA_ENV", "")]);
    assert!(empty.code != 2, "{}", empty.all());
    let bad =
        strata_test_support::run_in(bin, &p.dir, &["status"], &[("STRATA_PROTECTED", "maybe")]);
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(
        bad.stderr
            .contains("STRATA_PROTECTED=maybe: write true or false"),
        "{}",
        bad.all()
    );
}
