//! `strata lint`: findings with file and line, exit codes, formats, rule
//! configuration per environment, inline allows, pending-only with an
//! environment.

use std::path::Path;
use strata_test_support::{Run, TempProject, run_in};

use crate::BIN;

fn strata(p: &TempProject, args: &[&str]) -> Run {
    run_in(Path::new(BIN), &p.dir, args, &[])
}

fn code(p: &TempProject, args: &[&str], expected: i32) -> Run {
    let run = strata(p, args);
    assert_eq!(run.code, expected, "strata {args:?}:\n{}", run.all());
    run
}

const CONFIG: &str = "[[source]]\nname = \"app\"\npath = \"migrations\"\nengine = \"postgres\"\n\n[env.dev]\nurl = \"sqlite://dev.db\"\n";

const RISKY: &str = "-- strata:up\nCREATE TABLE users (id bigint PRIMARY KEY);\n-- strata:allow destructive -- legacy is empty since 2024\nDROP TABLE legacy;\nALTER TABLE orders DROP COLUMN note;\nCREATE INDEX CONCURRENTLY orders_at ON orders (at);\nALTER TABLE users ADD COLUMN email text NOT NULL;\n-- strata:down\nDROP TABLE accounts;\n";

const SAFE: &str = "-- strata:up\nCREATE TABLE IF NOT EXISTS tags (id bigint PRIMARY KEY, label text NOT NULL);\n\n-- strata:down\nDROP TABLE tags;\n";

fn project() -> TempProject {
    let p = TempProject::new();
    p.write("strata.toml", CONFIG);
    p.write("migrations/1_risky.sql", RISKY);
    p.write("migrations/2_safe.sql", SAFE);
    p
}

#[test]
fn findings_name_file_line_and_rule_and_exit_1() {
    let p = project();
    let run = code(&p, &["lint"], 1);
    let out = &run.stdout;
    for expected in [
        "error[destructive]: destructive statement: drops a column",
        "--> migrations/1_risky.sql:5:1",
        "error[non-transactional-in-transaction]",
        "--> migrations/1_risky.sql:6:1",
        "error[down-mismatch]: the down drops table `accounts`, but the up creates table `users`",
        "--> migrations/1_risky.sql:9:1",
        "error[adding-required-field]",
        "--> migrations/1_risky.sql:7:",
        "2 migration(s) linted: ",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    // The allowed DROP TABLE on line 4 is not reported.
    assert!(!out.contains("1_risky.sql:4:"), "{out}");

    // Only the safe file: nothing to report, exit 0.
    let run = code(&p, &["lint", "migrations/2_safe.sql"], 0);
    assert!(
        run.stdout.contains("1 migration(s) linted: no findings."),
        "{}",
        run.stdout
    );
}

/// Linting by path finds the files wherever links lead: a source
/// directory that is a link, and a file that is a link to another file of
/// the project (named by where it is: where it leads is in no source).
#[test]
fn paths_through_links_are_linted() {
    let p = TempProject::new();
    std::fs::remove_dir(p.path("migrations")).unwrap();
    p.write("strata.toml", CONFIG);
    p.write("db/real/1_risky.sql", RISKY);
    p.write("db/shared/2_safe.sql", SAFE);
    std::os::unix::fs::symlink(p.path("db/real"), p.path("migrations")).unwrap();
    std::os::unix::fs::symlink(p.path("db/shared/2_safe.sql"), p.path("db/real/2_safe.sql"))
        .unwrap();
    let linted = |args: &[&str]| {
        let run = strata(&p, args);
        run.stdout.lines().last().unwrap_or_default().to_string()
    };
    assert!(linted(&["lint", "migrations"]).starts_with("2 migration(s) linted: "));
    assert!(linted(&["lint", "db/real"]).starts_with("2 migration(s) linted: "));
    assert_eq!(
        linted(&["lint", "migrations/2_safe.sql"]),
        "1 migration(s) linted: no findings."
    );
    assert!(linted(&["lint", "migrations/1_risky.sql"]).starts_with("1 migration(s) linted: "));
    let outside = code(&p, &["lint", "db/shared/2_safe.sql"], 2);
    assert!(
        outside
            .stderr
            .contains("is not in any source of this project"),
        "{}",
        outside.stderr
    );
}

#[test]
fn json_and_github_formats() {
    let p = project();
    let run = code(&p, &["lint", "--format", "json"], 1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    let destructive = findings
        .iter()
        .find(|f| f["rule"] == "destructive")
        .expect("a destructive finding");
    assert_eq!(destructive["path"], "migrations/1_risky.sql");
    assert_eq!(destructive["line"], 5);
    assert_eq!(destructive["level"], "error");
    assert_eq!(destructive["migration"], "app/1");
    assert_eq!(doc["migrations"], 2);
    assert_eq!(doc["scope"], "all");

    let run = code(&p, &["lint", "--format", "github"], 1);
    assert!(
        run.stdout.lines().any(|l| l.starts_with(
            "::error file=migrations/1_risky.sql,line=5,col=1,endLine=5,title=strata lint%3A destructive::"
        )),
        "{}",
        run.stdout
    );
    // GitHub annotations are for lint, validate, plan and up.
    let run = code(&p, &["status", "--format", "github"], 2);
    assert!(
        run.stderr.contains("--format github is for `strata lint`"),
        "{}",
        run.stderr
    );
}

#[test]
fn rule_levels_come_from_config_and_the_environment() {
    let p = project();
    p.write(
        "strata.toml",
        &format!(
            "{CONFIG}\n[lint]\nrules = {{ destructive = \"warning\", down-mismatch = \"off\", adding-required-field = \"off\", non-transactional-in-transaction = \"warning\" }}\n\n[env.prod]\nurl = \"sqlite://prod.db\"\nlint = {{ rules = {{ destructive = \"error\" }} }}\n"
        ),
    );
    // Project levels: only warnings left, exit 0.
    let run = code(&p, &["lint", "migrations"], 0);
    assert!(
        run.stdout.contains("warning[destructive]"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("down-mismatch"), "{}", run.stdout);
    // prod makes destructive an error again.
    let run = code(&p, &["lint", "--env", "prod", "migrations"], 1);
    assert!(run.stdout.contains("error[destructive]"), "{}", run.stdout);

    // An unknown rule in config is a config error naming the file.
    p.write(
        "strata.toml",
        &format!("{CONFIG}\n[lint]\nrules = {{ ban-drop-tabel = \"off\" }}\n"),
    );
    let run = code(&p, &["lint"], 2);
    assert!(
        run.stderr.contains("strata.toml")
            && run
                .stderr
                .contains("there is no lint rule `ban-drop-tabel`"),
        "{}",
        run.stderr
    );
    // So is a bad level.
    p.write(
        "strata.toml",
        &format!("{CONFIG}\n[lint]\nrules = {{ destructive = \"loud\" }}\n"),
    );
    code(&p, &["lint"], 2);
}

#[test]
fn with_an_environment_only_pending_migrations_are_linted() {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"sqlite://dev.db\"\n",
    );
    p.write(
        "migrations/1_old.sql",
        "-- strata:up\nCREATE TABLE a (id int);\nDELETE FROM a;\n-- strata:down\nDROP TABLE a;\n",
    );
    code(&p, &["up", "--env", "dev"], 0);
    p.write(
        "migrations/2_new.sql",
        "-- strata:up\nCREATE TABLE b (id int);\n-- strata:down\nDROP TABLE b;\n",
    );
    let run = code(&p, &["lint", "--env", "dev"], 0);
    assert!(
        run.stdout
            .contains("1 pending migration(s) linted: no findings."),
        "{}",
        run.stdout
    );
    // Without an environment, everything: the applied DELETE is found.
    let run = code(&p, &["lint"], 1);
    assert!(run.stdout.contains("1_old.sql:3:1"), "{}", run.stdout);
}

#[test]
fn bad_inputs_are_errors() {
    let p = project();
    let run = code(&p, &["lint", "nowhere.sql"], 2);
    assert!(
        run.stderr
            .contains("nowhere.sql: no such file or directory"),
        "{}",
        run.stderr
    );
    p.write("elsewhere/x.sql", "SELECT 1;\n");
    let run = code(&p, &["lint", "elsewhere"], 2);
    assert!(
        run.stderr.contains("is not in any source"),
        "{}",
        run.stderr
    );
    // An allow comment naming no rule is a finding at error level.
    p.write(
        "migrations/3_typo.sql",
        "-- strata:up\n-- strata:allow destructiv\nTRUNCATE t;\n-- strata:down\nSELECT 1;\n",
    );
    let run = code(&p, &["lint", "migrations/3_typo.sql"], 1);
    assert!(
        run.stdout
            .contains("there is no lint rule `destructiv` (did you mean `destructive`?)"),
        "{}",
        run.stdout
    );
}

#[test]
fn explain_documents_rules() {
    let p = project();
    let run = code(&p, &["lint", "--explain", "destructive"], 0);
    assert!(run.stdout.contains("ACCESS EXCLUSIVE"), "{}", run.stdout);
    assert!(run.stdout.contains("The safe way"), "{}", run.stdout);
    let run = code(&p, &["lint", "--explain", "adding-required-field"], 0);
    assert!(run.stdout.contains("squawk"), "{}", run.stdout);
    let run = code(&p, &["lint", "--explain"], 0);
    assert!(run.stdout.lines().count() > 60, "{}", run.stdout);
    let run = code(&p, &["lint", "--explain", "nope"], 2);
    assert!(
        run.stderr.contains("there is no lint rule `nope`"),
        "{}",
        run.stderr
    );
}

/// `--format github` on `up`, `plan` and `validate`: each failure or
/// finding annotates the file and line it is on.
#[test]
fn github_annotations_name_the_failing_file_and_line() {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"sqlite://dev.db\"\n",
    );
    p.write("migrations/1_a.sql", "CREATE TABLE a (x int);\n");
    p.write(
        "migrations/2_b.sql",
        "CREATE TABLE b (x int);\n\nINSERT INTO nowhere VALUES (1);\n",
    );
    let up = code(&p, &["up", "--format", "github"], 2);
    // The plan is fine until the edit below: nothing to annotate.
    let plan = code(&p, &["plan", "--format", "github"], 0);
    assert!(!plan.stdout.contains("::error"), "{}", plan.stdout);
    // Edited after it was applied, and a file that does not parse.
    p.write("migrations/1_a.sql", "CREATE TABLE a (x bigint);\n");
    let drifted = code(&p, &["plan", "--format", "github"], 2);
    let validate = code(&p, &["validate", "--env", "dev", "--format", "github"], 1);
    p.write(
        "migrations/3_c.sql",
        "-- strata:up\nSELECT 1;\n-- strata:up\nSELECT 2;\n",
    );
    let malformed = code(&p, &["validate", "--format", "github"], 1);
    // A failure on no file (here the configuration) is annotated too.
    p.write("strata.toml", "[project]\nunknown_key = 1\n");
    let config = code(&p, &["up", "--format", "github"], 2);
    let annotations = |run: &Run| {
        run.stdout
            .lines()
            .filter(|l| l.starts_with("::"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!(
        [
            format!("$ strata up --format github\n{}", annotations(&up)),
            format!("$ strata plan --format github\n{}", annotations(&drifted)),
            format!(
                "$ strata validate --env dev --format github\n{}",
                annotations(&validate)
            ),
            format!(
                "$ strata validate --format github\n{}",
                annotations(&malformed)
            ),
            format!(
                "$ strata up --format github (a bad strata.toml)\n{}",
                annotations(&config).replace(&p.dir.display().to_string(), "<project>")
            ),
        ]
        .join("\n\n")
    );
}
