//! What operators read of a run: the JSON-lines log (`--log-file`, rotated
//! by size) and the Prometheus metrics file (`--metrics-file`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use strata_test_support::{Run, TempProject, TestDb, run_in, unique_name};

use crate::BIN;

fn strata(p: &TempProject, args: &[&str]) -> Run {
    run_in(Path::new(BIN), &p.dir, args, &[])
}

/// Every line of a log file, parsed; each must be one JSON object with a
/// time and a level.
fn log_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert!(
                v["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
                "{line}"
            );
            assert!(
                ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"]
                    .contains(&v["level"].as_str().unwrap_or("")),
                "{line}"
            );
            v
        })
        .collect()
}

#[test]
fn log_file_holds_every_event_and_statement_with_secrets_hidden() {
    let Some(db) = TestDb::postgres() else { return };
    let role = unique_name("strata_log_role");
    let p = TempProject::new();
    p.write(
        "migrations/1_users.sql",
        "CREATE TABLE users (id int PRIMARY KEY);\n",
    );
    p.write(
        "migrations/2_role.sql",
        &format!("CREATE ROLE {role} LOGIN PASSWORD 'hunter2';\n"),
    );
    p.write(
        "migrations/3_broken.sql",
        "INSERT INTO missing_table VALUES (1);\n",
    );
    // Trust authentication takes any password: this one must never be logged.
    let url = db.url().replacen("postgres@", "postgres:topsecret@", 1);
    assert!(url.contains("topsecret"), "{url}");
    let up = strata(
        &p,
        &[
            "up",
            "-v",
            "--log-file",
            "logs/run.log",
            "--database-url",
            &url,
        ],
    );
    db.execute(&format!("DROP ROLE IF EXISTS {role}"));
    assert_eq!(up.code, 2, "{}", up.all());

    let path = p.path("logs/run.log");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("topsecret"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let lines = log_lines(&path);
    let events: Vec<(&str, &str)> = lines
        .iter()
        .filter(|v| v["event"] != "statement")
        .filter_map(|v| Some((v["event"].as_str()?, v["migration"].as_str().unwrap_or(""))))
        .collect();
    assert_eq!(
        events,
        [
            ("started", ""),
            ("migration_started", "app/1 users"),
            ("migration_finished", "app/1 users"),
            ("migration_started", "app/2 role"),
            ("migration_finished", "app/2 role"),
            ("migration_started", "app/3 broken"),
            ("migration_failed", "app/3 broken"),
            ("finished", ""),
            ("failed", ""),
        ]
    );
    let failed = lines
        .iter()
        .find(|v| v["event"] == "migration_failed")
        .unwrap();
    assert_eq!(failed["level"], "ERROR");
    assert_eq!(failed["location"], "migrations/3_broken.sql:1");
    assert!(failed["duration_ms"].is_u64(), "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("missing_table"),
        "{failed}"
    );
    let finished = lines
        .iter()
        .find(|v| v["event"] == "migration_finished")
        .unwrap();
    assert!(finished["duration_ms"].is_u64(), "{finished}");
    // -v: each statement, on its file line, the password hidden.
    let statements: Vec<(&str, u64, &str)> = lines
        .iter()
        .filter(|v| v["message"] == "statement")
        .map(|v| {
            (
                v["migration"].as_str().unwrap(),
                v["line"].as_u64().unwrap(),
                v["statement"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statements,
        [
            ("app/1 users", 1, "CREATE TABLE users (id int PRIMARY KEY);"),
            (
                "app/2 role",
                1,
                &*format!("CREATE ROLE {role} LOGIN PASSWORD '***';")
            ),
            ("app/3 broken", 1, "INSERT INTO missing_table VALUES (1);"),
        ]
    );
    assert!(lines.iter().all(|v| {
        v["database"]
            .as_str()
            .is_none_or(|d| !d.contains("topsecret"))
    }));

    // Without -v: the events, no statements.
    let status = strata(
        &p,
        &["up", "--log-file", "quiet.log", "--database-url", &url],
    );
    assert_eq!(status.code, 2, "{}", status.all());
    let quiet = log_lines(&p.path("quiet.log"));
    assert!(quiet.iter().any(|v| v["event"] == "migration_failed"));
    assert!(quiet.iter().all(|v| v["message"] != "statement"));
}

#[test]
fn log_file_rotates_at_its_size_keeping_log_keep_files() {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[project]\nlog_file = \"logs/run.log\"\nlog_max_size = \"2KB\"\nlog_keep = 2\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"sqlite://app.db\"\n",
    );
    for n in 1..=4 {
        p.write(
            &format!("migrations/{n}_t{n}.sql"),
            &format!(
                "-- strata:up\nCREATE TABLE t{n} (x int);\n-- strata:down\nDROP TABLE t{n};\n"
            ),
        );
    }
    for _ in 0..4 {
        assert_eq!(strata(&p, &["up", "-v"]).code, 0);
        assert_eq!(strata(&p, &["down", "--all", "-v"]).code, 0);
    }
    let logs: BTreeSet<String> = std::fs::read_dir(p.path("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        logs,
        BTreeSet::from(["run.log".into(), "run.log.1".into(), "run.log.2".into()])
    );
    for name in &logs {
        let path = p.path(&format!("logs/{name}"));
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= 2048, "{name} is {size} bytes");
        assert!(!log_lines(&path).is_empty(), "{name}");
    }
    // The flag wins over log_file.
    assert_eq!(strata(&p, &["up", "--log-file", "other.log"]).code, 0);
    assert!(
        log_lines(&p.path("other.log"))
            .iter()
            .any(|v| v["event"] == "finished")
    );
    // A log that cannot be opened stops a command that changes the
    // database, before it runs; a reading command never opens it.
    p.write(
        "strata.toml",
        "[project]\nlog_file = \"migrations/1_t1.sql/run.log\"\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"sqlite://app.db\"\n",
    );
    assert_eq!(strata(&p, &["status"]).code, 0);
    let refused = strata(&p, &["down", "--all"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused.stderr.contains("cannot open the log file"),
        "{}",
        refused.stderr
    );
    // Nothing was reverted: all four are still applied.
    assert_eq!(strata(&p, &["status", "--check"]).code, 0);
    // A bad size is a configuration error, before anything runs.
    p.write(
        "strata.toml",
        "[project]\nlog_max_size = \"ten\"\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n",
    );
    let bad = strata(&p, &["status"]);
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(bad.stderr.contains("log_max_size"), "{}", bad.stderr);
}

/// The samples of a Prometheus text file, checked against the format:
/// `# HELP` and `# TYPE` once per family before its samples, names and
/// labels well formed, values numbers, no sample twice.
fn parse_metrics(text: &str) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    let mut typed = BTreeSet::new();
    let mut helped = BTreeSet::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(helped.insert(name.to_string()), "HELP twice: {line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["gauge", "counter"].contains(&kind), "{line}");
            assert!(typed.insert(name.to_string()), "TYPE twice: {line}");
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "stray line: {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (
                name,
                rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}")),
            ),
            None => (series, ""),
        };
        assert!(name_ok(name), "{line}");
        assert!(
            typed.contains(name) && helped.contains(name),
            "sample before its TYPE: {line}"
        );
        let mut map = BTreeMap::new();
        let mut rest = labels;
        while !rest.is_empty() {
            let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
            assert!(name_ok(key), "{line}");
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c)) => value.push(c),
                        None => panic!("{line}"),
                    },
                    Some((i, '"')) => break i,
                    Some((_, c)) => value.push(c),
                    None => panic!("unterminated: {line}"),
                }
            };
            map.insert(key.to_string(), value);
            rest = after[end + 1..]
                .strip_prefix(',')
                .unwrap_or(&after[end + 1..]);
        }
        assert!(
            samples.insert((name.to_string(), map), value).is_none(),
            "twice: {line}"
        );
    }
    samples
}

fn sample(
    samples: &BTreeMap<(String, BTreeMap<String, String>), f64>,
    name: &str,
    env: &str,
) -> Option<f64> {
    samples
        .iter()
        .find(|((n, labels), _)| {
            n == name && labels.get("environment").map(String::as_str) == Some(env)
        })
        .map(|(_, v)| *v)
}

#[test]
fn metrics_file_is_prometheus_text_per_environment() {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"sqlite://dev.db\"\n\n[env.staging]\nurl = \"sqlite://staging.db\"\n",
    );
    p.write("migrations/1_a.sql", "CREATE TABLE a (x int);\n");
    p.write("migrations/2_b.sql", "CREATE TABLE b (x int);\n");
    let metrics = p.path("metrics/strata.prom");
    std::fs::create_dir_all(metrics.parent().unwrap()).unwrap();
    let m = metrics.to_str().unwrap();
    assert_eq!(
        strata(&p, &["up", "--env", "dev", "--metrics-file", m]).code,
        0
    );
    // staging: the second migration fails.
    rusqlite::Connection::open(p.path("staging.db"))
        .unwrap()
        .execute_batch("CREATE TABLE b (x int);")
        .unwrap();
    let failed = strata(&p, &["up", "--env", "staging", "--metrics-file", m]);
    assert_eq!(failed.code, 2, "{}", failed.all());

    let text = std::fs::read_to_string(&metrics).unwrap();
    let samples = parse_metrics(&text);
    assert_eq!(sample(&samples, "strata_run_success", "dev"), Some(1.0));
    assert_eq!(
        sample(&samples, "strata_migrations_recorded", "dev"),
        Some(0.0)
    );
    assert_eq!(
        sample(&samples, "strata_migrations_applied", "dev"),
        Some(2.0)
    );
    assert_eq!(
        sample(&samples, "strata_pending_migrations", "dev"),
        Some(0.0)
    );
    assert!(sample(&samples, "strata_last_success_timestamp_seconds", "dev").unwrap() > 1.7e9);
    assert_eq!(sample(&samples, "strata_run_success", "staging"), Some(0.0));
    assert_eq!(
        sample(&samples, "strata_migrations_applied", "staging"),
        Some(1.0)
    );
    assert_eq!(
        sample(&samples, "strata_migrations_failed", "staging"),
        Some(1.0)
    );
    assert_eq!(
        sample(&samples, "strata_pending_migrations", "staging"),
        Some(1.0)
    );
    assert_eq!(
        sample(&samples, "strata_last_success_timestamp_seconds", "staging"),
        None
    );
    assert!(sample(&samples, "strata_lock_wait_seconds", "staging").is_some());
    assert!(sample(&samples, "strata_run_duration_seconds", "staging").unwrap() > 0.0);
    let durations: Vec<(String, String)> = samples
        .keys()
        .filter(|(n, l)| n == "strata_migration_duration_seconds" && l["environment"] == "staging")
        .map(|(_, l)| (l["version"].clone(), l["action"].clone()))
        .collect();
    assert_eq!(
        durations,
        [("1".into(), "apply".into()), ("2".into(), "apply".into())]
    );

    // Fixed and run again: staging's samples are replaced, dev's kept.
    rusqlite::Connection::open(p.path("staging.db"))
        .unwrap()
        .execute_batch("DROP TABLE b;")
        .unwrap();
    assert_eq!(
        strata(&p, &["up", "--env", "staging", "--metrics-file", m]).code,
        0
    );
    let samples = parse_metrics(&std::fs::read_to_string(&metrics).unwrap());
    assert_eq!(sample(&samples, "strata_run_success", "staging"), Some(1.0));
    assert_eq!(
        sample(&samples, "strata_migrations_applied", "staging"),
        Some(1.0)
    );
    assert!(sample(&samples, "strata_last_success_timestamp_seconds", "staging").is_some());
    assert_eq!(
        sample(&samples, "strata_migrations_applied", "dev"),
        Some(2.0)
    );
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(metrics.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["strata.prom"]);
}
