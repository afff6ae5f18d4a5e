//! What every command prints, human and `--format json`, pinned with insta
//! snapshots on one small SQLite project walked through a whole life (list,
//! plan, up, history, down, redo, backups, a failed run and its repair,
//! baseline, fresh, adopt), and docs/json.md checked against every field,
//! event and error kind those documents hold.

use crate::BIN;
use std::collections::BTreeSet;
use std::path::Path;
use strata_test_support::{Run, TempProject, mask_volatile, run_in};

/// A project of three migrations (one reversible with a verify section, one
/// destructive), on a SQLite file.
fn fixture() -> TempProject {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        "[project]\ndefault_env = \"dev\"\n\n[env.dev]\nurl = \"sqlite://app.db\"\n\n[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[[source]]\nname = \"ops\"\npath = \"ops\"\nformat = \"script\"\nkind = \"task\"\n",
    );
    p.write(
        "ops/count_users.sh",
        "#!/bin/sh\n# Say how many users there are.\n# strata: readonly\necho \"users: 0 $*\"\n",
    );
    p.write(
        "migrations/1_users.sql",
        "-- strata:up\ncreate table users (id integer primary key, email text not null);\n-- strata:down\ndrop table users;\n-- strata:verify\nselect count(*) from sqlite_master where name = 'users';\n",
    );
    p.write(
        "migrations/2_posts.sql",
        "-- strata:up\ncreate table posts (id integer primary key, user_id integer references users(id), body text);\n-- strata:down\ndrop table posts;\n",
    );
    p.write(
        "migrations/3_tidy.sql",
        "-- strata:up\nalter table posts drop column body;\n-- strata:down\nalter table posts add column body text;\n",
    );
    p
}

/// Runs strata in `p` with `args` (plus `--format json` when `json`).
fn strata(p: &TempProject, args: &[&str], json: bool) -> Run {
    let mut all = args.to_vec();
    if json {
        all.extend(["--format", "json"]);
    }
    run_in(Path::new(BIN), &p.dir, &all, &[("NO_COLOR", "1")])
}

/// What a run showed, with what changes from run to run masked: the
/// project's directory, times, durations, backup ids and sizes, who ran it.
fn shown(p: &TempProject, run: &Run, extra: &[(String, &str)]) -> String {
    let mut text = run.shown(None);
    for dir in [p.dir.canonicalize().unwrap(), p.dir.clone()] {
        text = text.replace(&dir.display().to_string(), "[project]");
    }
    for (from, to) in extra {
        text = text.replace(from.as_str(), to);
    }
    let text = text.replace(&identity(), "[who]");
    // Digests before stamps: a digest may hold fourteen digits in a row.
    mask_stamps(&mask_json_numbers(&mask_times(&mask_volatile(&text))))
}

/// `user@host` as strata records it.
fn identity() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "root".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    format!("{user}@{host}")
}

/// RFC 3339 times (`2026-11-26T07:30:00.123Z`) as `[time]`.
fn mask_times(text: &str) -> String {
    mask_runs(text, |s| {
        let b = s.as_bytes();
        let shape = b.len() >= 20
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
            && b[..4].iter().all(u8::is_ascii_digit);
        if !shape {
            return None;
        }
        let end = s[19..].find('Z').map(|z| 19 + z + 1)?;
        (end <= 30).then_some((end, "[time]"))
    })
}

/// 14-digit stamps (`20261126073000`, in backup ids and new versions).
fn mask_stamps(text: &str) -> String {
    mask_runs(text, |s| {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (n == 14).then_some((n, "[stamp]"))
    })
}

/// Replaces, at each position where `at` finds something, its length with
/// its replacement.
fn mask_runs(text: &str, at: impl Fn(&str) -> Option<(usize, &'static str)>) -> String {
    let mut out = String::new();
    let mut i = 0;
    let mut after_digit = false;
    while i < text.len() {
        let rest = &text[i..];
        if !after_digit && let Some((len, with)) = at(rest) {
            out.push_str(with);
            i += len;
            after_digit = false;
            continue;
        }
        let c = rest.chars().next().expect("not empty");
        after_digit = c.is_ascii_digit();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Durations, waits, file sizes and backup digests in JSON.
fn mask_json_numbers(text: &str) -> String {
    const NUMBERS: [(&str, &str); 3] = [
        ("\"duration_ms\":", "\"duration_ms\":[n]"),
        ("\"waited_ms\":", "\"waited_ms\":[n]"),
        ("\"size\":", "\"size\":[n]"),
    ];
    mask_runs(text, |s| {
        if let Some(id) = s.strip_prefix("\"run_id\":\"") {
            let n = id
                .bytes()
                .take_while(|b| b.is_ascii_digit() || *b == b'-')
                .count();
            return (n > 0).then_some((10 + n, "\"run_id\":\"[run]"));
        }
        if let Some(digest) = s.strip_prefix("\"sha256\":\"") {
            let n = digest.bytes().take_while(u8::is_ascii_hexdigit).count();
            return (n == 64).then_some((10 + n, "\"sha256\":\"[sha256]"));
        }
        NUMBERS.iter().find_map(|(key, masked)| {
            let n = s
                .strip_prefix(key)?
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            (n > 0).then_some((key.len() + n, *masked))
        })
    })
}

/// Every key, `event` and error `kind` in the JSON lines of `stdout`.
fn json_names(stdout: &str, names: &mut BTreeSet<String>) {
    fn walk(v: &serde_json::Value, names: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    names.insert(k.clone());
                    if matches!(k.as_str(), "event" | "kind")
                        && let Some(s) = v.as_str()
                    {
                        names.insert(s.to_string());
                    }
                    walk(v, names);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, names)),
            _ => {}
        }
    }
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let doc: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        walk(&doc, names);
    }
}

/// The backup the project has (its id and size), for the commands that
/// name one and for masking.
fn backup(p: &TempProject) -> (String, String) {
    let run = strata(p, &["backups"], true);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let b = &doc["backups"][0];
    (b["id"].as_str().unwrap().to_string(), b["size"].to_string())
}

/// One project's whole life, as `json` or human output; each step's
/// output is a snapshot. The JSON names seen are collected in `names`.
fn life(json: bool, names: &mut BTreeSet<String>) {
    let form = if json { "json" } else { "human" };
    let p = fixture();
    let mut step = |name: &str, args: &[&str], extra: &[(String, &str)]| {
        let run = strata(&p, args, json);
        if json {
            json_names(&run.stdout, names);
        }
        insta::assert_snapshot!(format!("{name}_{form}"), shown(&p, &run, extra));
        run
    };
    step("list", &["list"], &[]);
    step("status_pending", &["status"], &[]);
    step("plan", &["plan"], &[]);
    step("validate", &["validate"], &[]);
    step("lint", &["lint"], &[]);
    step("lint_explain", &["lint", "--explain", "destructive"], &[]);
    step("up", &["up"], &[]);
    step("status_applied", &["status"], &[]);
    step("history", &["history"], &[]);
    step("verify", &["verify"], &[]);
    step("doctor", &["doctor"], &[]);
    step("tasks", &["tasks"], &[]);
    step("run", &["run", "count_users"], &[]);
    step("down", &["down", "--steps", "1"], &[]);
    step("redo", &["redo"], &[]);
    step("backup", &["backup"], &[]);
    let (id, size) = backup(&p);
    let masks = [(id.clone(), "[backup]"), (size, "[size]")];
    step("backups", &["backups"], &masks);
    step("backup_verify", &["backup", "verify", &id], &masks);
    step("restore", &["restore", &id], &masks);
    step("baseline", &["baseline", "3"], &[]);
    p.write(
        "migrations/4_broken.sql",
        "create table broken (id integer;\n",
    );
    step("up_failed", &["up"], &[]);
    step("repair", &["repair", "4"], &[]);
    p.remove("migrations/4_broken.sql");
    step("fresh", &["fresh"], &[]);
    step("new", &["new", "add_index"], &[]);
    step("usage_error", &["down", "--steps", "lots"], &[]);
}

#[test]
fn every_command_prints_what_its_snapshot_shows() {
    let mut names = BTreeSet::new();
    life(false, &mut names);
    life(true, &mut names);
    other_commands(false, &mut names);
    other_commands(true, &mut names);
    documented(&names);
}

/// `init` and `adopt`, on a project of dbmate's.
fn other_commands(json: bool, names: &mut BTreeSet<String>) {
    let form = if json { "json" } else { "human" };
    let mut step = |name: &str, p: &TempProject, args: &[&str]| {
        let run = strata(p, args, json);
        if json {
            json_names(&run.stdout, names);
        }
        insta::assert_snapshot!(format!("{name}_{form}"), shown(p, &run, &[]));
    };
    let p = TempProject::new();
    p.write(
        "db/migrations/20240101_init.sql",
        "-- migrate:up\ncreate table t (id int);\n-- migrate:down\ndrop table t;\n",
    );
    p.write(
        "db/migrations/20240102_more.sql",
        "-- migrate:up\ncreate table u (id int);\n-- migrate:down\ndrop table u;\n",
    );
    step("init", &p, &["init"]);
    // dbmate applied the first migration: its history table says so.
    let db = rusqlite::Connection::open(p.path("strata.db")).unwrap();
    db.execute_batch(
        "create table t (id int); create table schema_migrations (version varchar(128) primary key); insert into schema_migrations values ('20240101');",
    )
    .unwrap();
    step(
        "adopt_dry_run",
        &p,
        &["adopt", "--from", "dbmate", "--dry-run"],
    );
    step("adopt", &p, &["adopt", "--from", "dbmate"]);
}

/// Every name the JSON documents hold (fields, events, error kinds) is in
/// docs/json.md, and so is every error kind the engine has.
fn documented(names: &BTreeSet<String>) {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/json.md"))
            .unwrap();
    let mentioned =
        |name: &str| doc.contains(&format!("`{name}`")) || doc.contains(&format!("\"{name}\""));
    let kinds = strata_engine::ErrorKind::ALL.map(|k| k.as_str().to_string());
    let missing: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .chain(kinds.iter().map(String::as_str))
        .chain(["usage", "error"])
        .filter(|n| !mentioned(n))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/json.md does not mention these JSON names (document them):\n{}",
        missing.join("\n")
    );
}
