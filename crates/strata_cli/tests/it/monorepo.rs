//! A whole repository orchestrated: `examples/monorepo` (Python migrations,
//! Supabase, Prisma, deployment scripts and maintenance tasks) found by
//! `strata init`, listed, applied, run, reverted and verified one by one on
//! PostgreSQL; and environments with several databases.

use std::path::{Path, PathBuf};
use std::process::Command;
use strata_test_support::{Run, TempProject, TestDb, run_in};

use crate::BIN;

fn strata(p: &TempProject, args: &[&str]) -> Run {
    run_in(Path::new(BIN), &p.dir, args, &[])
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/monorepo")
}

/// Copies `from` into `to` (file modes kept: the scripts are executable).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// The names an ORDER file lists.
fn order(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split('#').next().unwrap().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The example as a repository whose history added the ordered migrations
/// one commit at a time, without its ORDER files (for init to write).
fn repository() -> (TempProject, Vec<(&'static str, Vec<String>)>) {
    let p = TempProject::new();
    copy_tree(&example(), &p.dir);
    git(&p.dir, &["init", "-q"]);
    let ordered = ["backend/database/migrations", "scripts/deployment"];
    let mut shipped = Vec::new();
    for dir in ordered {
        let names = order(&p.dir.join(dir).join("ORDER"));
        std::fs::remove_file(p.dir.join(dir).join("ORDER")).unwrap();
        shipped.push((dir, names));
    }
    // Each ordered migration in a commit of its own, in its order: git's
    // history gives it (names alone would not: add_* sorts before create_*).
    for (dir, names) in &shipped {
        for name in names {
            let file = std::fs::read_dir(p.dir.join(dir))
                .unwrap()
                .flatten()
                .find(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(&format!("{name}."))
                })
                .unwrap();
            git(
                &p.dir,
                &[
                    "add",
                    &format!("{dir}/{}", file.file_name().to_string_lossy()),
                ],
            );
            git(&p.dir, &["commit", "-q", "-m", name]);
        }
    }
    git(&p.dir, &["add", "."]);
    git(&p.dir, &["commit", "-q", "-m", "the rest"]);
    (p, shipped)
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.all()))
}

#[test]
fn the_monorepo_example_runs_end_to_end() {
    let Some(db) = TestDb::postgres() else { return };
    let (p, shipped) = repository();
    let url = db.url();

    // init: five sources, by category, with the right kinds, no warnings,
    // and each unversioned folder's order as git first saw its files.
    let init = strata(&p, &["init", "--database-url", &url]);
    assert_eq!(init.code, 0, "{}", init.all());
    assert!(!init.stderr.contains("warning"), "{}", init.all());
    let config: toml::Value =
        toml::from_str(&std::fs::read_to_string(p.path("strata.toml")).unwrap()).unwrap();
    let mut sources: Vec<(String, String, String)> = config["source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let field = |k: &str| s.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            (field("name"), field("format"), field("kind"))
        })
        .collect();
    sources.sort();
    let expected = [
        ("backend", "python", ""),
        ("deployment", "script", ""),
        ("maintenance", "script", "task"),
        ("prisma", "prisma", ""),
        ("supabase", "supabase", ""),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(sources, expected);
    for (dir, names) in &shipped {
        assert_eq!(&order(&p.dir.join(dir).join("ORDER")), names, "{dir}");
    }

    // list: grouped with counts and descriptions.
    let list = strata(&p, &["list"]);
    assert_eq!(list.code, 0, "{}", list.all());
    insta::assert_snapshot!("monorepo_list", list.stdout);
    let tasks = strata(&p, &["tasks", "--format", "json"]);
    let doc = json(&tasks);
    let tasks = doc["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 13);
    assert_eq!(tasks.iter().filter(|t| t["readonly"] == true).count(), 6);

    // Production: approval for all of it (readonly tasks excepted).
    let mut toml_text = std::fs::read_to_string(p.path("strata.toml")).unwrap();
    toml_text.push_str(&format!(
        "\n[env.production]\nurl = \"{url}\"\nprotected = true\nrequire_approval = true\n"
    ));
    std::fs::write(p.path("strata.toml"), toml_text).unwrap();
    let up = strata(&p, &["up", "--env", "production"]);
    assert_eq!(up.code, 2, "{}", up.all());
    assert!(up.stderr.contains("requires approval"), "{}", up.all());
    let fix = strata(&p, &["run", "fix_store_names", "--env", "production"]);
    assert_eq!(fix.code, 2, "{}", fix.all());
    assert!(fix.stderr.contains("is protected"), "{}", fix.all());
    let fix = strata(
        &p,
        &["run", "fix_store_names", "--env", "production", "--yes"],
    );
    assert!(fix.stderr.contains("--approve"), "{}", fix.all());

    // One Supabase migration tried in a dry run: nothing kept.
    let dry = strata(
        &p,
        &["up", "--dry-run", "--only", "supabase/20240101000000"],
    );
    assert_eq!(dry.code, 0, "{}", dry.all());
    assert!(
        dry.stdout.contains("supabase/20240101000000"),
        "{}",
        dry.all()
    );
    assert!(!db.has_table("profiles"));
    let status = json(&strata(&p, &["status", "--format", "json"]));
    assert_eq!(status["counts"]["applied"], 0, "{status}");

    // up: everything, in a valid order (the module that needs the Supabase
    // table after it).
    let up = strata(&p, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    let applied = db.query(
        "SELECT source || '/' || version FROM strata_history WHERE status = 'applied' ORDER BY started_at",
    );
    assert_eq!(applied.len(), 23, "{applied:?}");
    let at = |id: &str| applied.iter().position(|a| a == id).unwrap();
    assert!(at("supabase/20240101000000") < at("backend/create_store_owners"));
    assert!(at("backend/create_stores_table") < at("deployment/setup_search"));
    assert!(at("deployment/setup_extensions") < at("deployment/setup_search"));

    // A read-only check, twice: both runs in history, nothing pending.
    for _ in 0..2 {
        let check = strata(&p, &["run", "check_duplicates"]);
        assert_eq!(check.code, 0, "{}", check.all());
        assert!(
            check.stdout.contains("0 duplicate store name(s)"),
            "{}",
            check.all()
        );
    }
    let history = json(&strata(&p, &["history", "--format", "json"]));
    let runs = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "task" && e["version"] == "check_duplicates")
        .count();
    assert_eq!(runs, 2, "{history}");
    let check = strata(&p, &["status", "--check"]);
    assert_eq!(check.code, 0, "{}", check.all());
    // A check that finds something exits 1, recorded too.
    db.execute("INSERT INTO stores (name, city) VALUES ('Corner', 'Berlin'), ('Corner', 'Berlin')");
    let found = strata(&p, &["run", "maintenance/check_duplicates"]);
    assert_eq!(found.code, 1, "{}", found.all());
    let listed = json(&strata(&p, &["tasks", "--format", "json"]));
    let dup = listed["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "check_duplicates")
        .unwrap()
        .clone();
    assert_eq!(
        (dup["runs"].as_u64(), &dup["last_run"]["exit_status"]),
        (Some(3), &serde_json::json!(1))
    );
    // A task that changes data, with arguments.
    let archive = strata(&p, &["run", "archive_old_orders", "--", "30"]);
    assert_eq!(archive.code, 0, "{}", archive.all());
    assert!(
        archive.stdout.contains("older than 30 days"),
        "{}",
        archive.all()
    );

    // One migration at a time: refused while later ones depend on it.
    let down = strata(&p, &["down", "backend/create_price_history"]);
    assert_eq!(down.code, 2, "{}", down.all());
    assert!(
        down.stderr.contains(
            "depend on it (backend/seed_categories, backend/create_store_hours, backend/add_inventory_indexes)"
        ),
        "{}",
        down.all()
    );
    let cascade = strata(&p, &["down", "backend/create_price_history", "--cascade"]);
    assert_eq!(cascade.code, 0, "{}", cascade.all());
    assert!(!db.has_table("price_history") && !db.has_table("store_hours"));
    let status = json(&strata(&p, &["status", "--format", "json"]));
    assert_eq!(
        status["counts"]["pending"], 0,
        "reverted, not pending: {status}"
    );
    assert_eq!(status["counts"]["reverted"], 4, "{status}");
    let again = strata(&p, &["up", "--only", "create_price_history"]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(db.has_table("price_history"));
    let rest = strata(&p, &["up"]);
    assert_eq!(rest.code, 0, "{}", rest.all());

    // verify_migration of one migration, by name.
    let verify = strata(&p, &["verify", "backend/add_store_regions"]);
    assert_eq!(verify.code, 0, "{}", verify.all());
    db.execute("ALTER TABLE stores DROP COLUMN region");
    let verify = strata(&p, &["verify", "backend/add_store_regions"]);
    assert_eq!(verify.code, 1, "{}", verify.all());
}

/// An environment with several databases: each source goes to its own,
/// each database keeps its own history, `up` runs them in the order their
/// requires give, and a command naming one migration goes to its database.
#[test]
fn several_databases_each_keep_their_own_history() {
    let (Some(main), Some(auth), Some(events)) =
        (TestDb::postgres(), TestDb::postgres(), TestDb::mysql())
    else {
        return;
    };
    let p = TempProject::new();
    p.write(
        "strata.toml",
        &format!(
            "[[source]]\nname = \"app\"\npath = \"db/app\"\nrequires = [\"auth\"]\n\n\
             [[source]]\nname = \"auth\"\npath = \"db/auth\"\ndatabase = \"auth\"\n\n\
             [[source]]\nname = \"events\"\npath = \"db/events\"\ndatabase = \"events\"\nengine = \"mysql\"\n\n\
             [env.prod]\nurl = \"{}\"\n\n[env.prod.databases]\nauth = \"{}\"\nevents = \"{}\"\n",
            main.url(),
            auth.url(),
            events.url()
        ),
    );
    let table = |name: &str| {
        format!("-- strata:up\nCREATE TABLE {name} (id int);\n-- strata:down\nDROP TABLE {name};\n")
    };
    p.write("db/app/1_orders.sql", &table("orders"));
    p.write("db/app/2_invoices.sql", &table("invoices"));
    p.write("db/auth/1_users.sql", &table("users"));
    p.write("db/events/1_events.sql", &table("events"));

    let up = strata(&p, &["up", "--env", "prod"]);
    assert_eq!(up.code, 0, "{}", up.all());
    // auth first: app requires it.
    let auth_at = up.stdout.find("database auth").unwrap();
    let main_at = up.stdout.find("database main").unwrap();
    assert!(auth_at < main_at, "{}", up.stdout);
    let rows = |db: &TestDb| {
        db.query("SELECT concat(source, '/', version) FROM strata_history ORDER BY 1")
    };
    assert_eq!(rows(&main), vec!["app/1", "app/2"]);
    assert_eq!(rows(&auth), vec!["auth/1"]);
    assert_eq!(rows(&events), vec!["events/1"]);
    assert!(main.has_table("orders") && !main.has_table("users"));
    assert!(auth.has_table("users") && events.has_table("events"));

    // status: one document per database, each naming it.
    let status = strata(&p, &["status", "--env", "prod", "--format", "json"]);
    assert_eq!(status.code, 0, "{}", status.all());
    let docs: Vec<serde_json::Value> = status
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 3, "{}", status.stdout);
    for doc in &docs {
        assert_eq!(doc["counts"]["pending"], 0, "{doc}");
    }

    // A revert without a migration named needs a database.
    let down = strata(&p, &["down", "--env", "prod"]);
    assert_eq!(down.code, 2, "{}", down.all());
    assert!(
        down.stderr
            .contains("several databases (main, auth, events)"),
        "{}",
        down.all()
    );
    // Named, it goes to the migration's database.
    let down = strata(&p, &["down", "app/2", "--env", "prod"]);
    assert_eq!(down.code, 0, "{}", down.all());
    assert!(!main.has_table("invoices"));
    let down = strata(&p, &["down", "--env", "prod", "--database", "events"]);
    assert_eq!(down.code, 0, "{}", down.all());
    assert!(!events.has_table("events") && auth.has_table("users"));
    // One --approve cannot stand for several plans, one URL for several
    // databases.
    let approve = strata(
        &p,
        &["up", "--env", "prod", "--approve", "0123456789abcdef"],
    );
    assert_eq!(approve.code, 2, "{}", approve.all());
    assert!(
        approve.stderr.contains("approve them one at a time"),
        "{}",
        approve.all()
    );
    let url = strata(
        &p,
        &["status", "--env", "prod", "--database-url", &main.url()],
    );
    assert_eq!(url.code, 2, "{}", url.all());
    assert!(
        url.stderr.contains("name it with --database NAME"),
        "{}",
        url.all()
    );
    let bad = strata(&p, &["status", "--env", "prod", "--database", "billing"]);
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(
        bad.stderr.contains("has no database `billing`"),
        "{}",
        bad.all()
    );
}

/// A task's output is kept up to where it was stopped, and the run says
/// why it stopped.
#[test]
fn a_stopped_task_keeps_what_it_printed() {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[[source]]\nname = \"ops\"\npath = \"ops\"\nkind = \"task\"\ntimeout = \"1s\"\n\n[env.dev]\nurl = \"sqlite://t.db\"\n",
    );
    p.write("ops/slow.sh", "#!/bin/sh\necho one\nsleep 30\necho two\n");
    let run = strata(&p, &["run", "slow", "--format", "json"]);
    assert_eq!(run.code, 2, "{}", run.all());
    let doc = json(&run);
    assert_eq!(doc["printed"], "one\n", "{doc}");
    let output = doc["output"].as_str().unwrap();
    assert!(
        output.starts_with("stopped after 1s") && output.ends_with("output: one"),
        "{output}"
    );
    assert_eq!(doc["exit_status"], serde_json::Value::Null);
    let tasks = json(&strata(&p, &["tasks", "--format", "json"]));
    assert_eq!(tasks["tasks"][0]["last_run"]["ok"], false, "{tasks}");
    // Its output is shown as it comes (human output).
    let human = strata(&p, &["run", "slow"]);
    assert!(human.stdout.starts_with("one\n"), "{}", human.all());
}
