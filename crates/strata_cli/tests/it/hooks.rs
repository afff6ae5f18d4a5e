//! Hooks around runs (SQL files and argument-list commands, with context
//! in the environment) and webhooks, tested against a local HTTP server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use strata_test_support::{Run, TempProject, TestDb, run_in, transactional_test};

use crate::BIN;

const LOG_SH: &str = "#!/bin/sh\necho \"$1 $STRATA_HOOK $STRATA_COMMAND $STRATA_MIGRATION $STRATA_ACTION $STRATA_ENV applied=$STRATA_APPLIED\" >> hooks.log\n";

fn project(db: &TestDb, extra: &str) -> TempProject {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        &format!(
            "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"{}\"\n\n{extra}",
            db.url()
        ),
    );
    p.write("hooks/log.sh", LOG_SH);
    p.write(
        "hooks/start.sql",
        "CREATE TABLE IF NOT EXISTS hook_runs (what varchar(40));\nINSERT INTO hook_runs VALUES ('started');\n",
    );
    p.write(
        "hooks/each.sql",
        "INSERT INTO hook_runs VALUES ('after one');\n",
    );
    p.write(
        "migrations/1_a.sql",
        "-- strata:up\nCREATE TABLE a (id integer);\n-- strata:down\nDROP TABLE a;\n",
    );
    p.write(
        "migrations/2_b.sql",
        "-- strata:up\nCREATE TABLE b (id integer);\n-- strata:down\nDROP TABLE b;\n",
    );
    p
}

fn strata(p: &TempProject, args: &[&str]) -> Run {
    run_in(Path::new(BIN), &p.dir, args, &[])
}

fn log(p: &TempProject) -> Vec<String> {
    std::fs::read_to_string(p.path("hooks.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

const HOOKS: &str = "[hooks]\nbefore_migrate = \"hooks/start.sql\"\nbefore_each = [\"sh\", \"hooks/log.sh\", \"with spaces; $(not expanded)\"]\nafter_each = \"hooks/each.sql\"\nafter_migrate = [\"sh\", \"hooks/log.sh\", \"done\"]\non_error = [\"sh\", \"-c\", \"echo \\\"on_error: $STRATA_ERROR\\\" >> hooks.log\"]\n";

transactional_test!(hooks_run_around_a_run_with_their_context, |db: &TestDb| {
    let p = project(db, HOOKS);
    let run = strata(&p, &["up"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        log(&p),
        [
            "with spaces; $(not expanded) before_each up app/1 apply dev applied=0",
            "with spaces; $(not expanded) before_each up app/2 apply dev applied=1",
            "done after_migrate up   dev applied=2",
        ]
    );
    assert_eq!(
        db.query("SELECT what FROM hook_runs"),
        ["started", "after one", "after one"]
    );
    // Nothing to do: no hooks run.
    assert_eq!(strata(&p, &["up"]).code, 0);
    assert_eq!(log(&p).len(), 3);
    // A dry run runs none either.
    p.write(
        "migrations/3_c.sql",
        "-- strata:up\nCREATE TABLE c (id integer);\n-- strata:down\nDROP TABLE c;\n",
    );
    assert_eq!(strata(&p, &["up", "--dry-run"]).code, 0);
    assert_eq!(log(&p).len(), 3);
});

transactional_test!(
    a_failing_hook_stops_the_run_and_on_error_runs,
    |db: &TestDb| {
        let p = project(
            db,
            "[hooks]\nbefore_each = [\"sh\", \"-c\", \"test \\\"$STRATA_MIGRATION\\\" != app/2 || { echo 'not on a Friday' >&2; exit 3; }\"]\non_error = [\"sh\", \"-c\", \"echo \\\"on_error: $STRATA_ERROR\\\" >> hooks.log\"]\n",
        );
        let run = strata(&p, &["up"]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(
            run.stderr.contains("the before_each hook (sh -c")
                && run.stderr.contains("not on a Friday")
                && run.stderr.contains("app/2 was not run"),
            "{}",
            run.stderr
        );
        assert!(db.has_table("a") && !db.has_table("b"));
        let log = log(&p);
        assert_eq!(log.len(), 1, "{log:?}");
        assert!(
            log[0].starts_with("on_error: the before_each hook"),
            "{log:?}"
        );

        // A SQL hook that fails names its file and line.
        p.write("hooks/bad.sql", "SELECT 1;\nSELECT * FROM no_such_table;\n");
        p.write(
        "strata.toml",
        &format!("[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[env.dev]\nurl = \"{}\"\n\n[hooks]\nafter_migrate = \"hooks/bad.sql\"\n", db.url()),
    );
        let run = strata(&p, &["up"]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(run.stderr.contains("hooks/bad.sql:2:"), "{}", run.stderr);
        assert!(run.stderr.contains("stays applied"), "{}", run.stderr);
        assert!(db.has_table("b"));
    }
);

#[test]
fn hook_config_errors() {
    let Some(db) = TestDb::sqlite() else { return };
    for (hooks, expected) in [
        (
            "before_migrate = \"scripts/check.sh\"",
            "hook `before_migrate` is a string that is not a .sql file",
        ),
        ("after_each = []", "hook `after_each` is an empty command"),
        ("before_all = \"x.sql\"", "before_all"),
    ] {
        let p = project(&db, &format!("[hooks]\n{hooks}\n"));
        let run = strata(&p, &["up"]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
        assert!(!db.has_table("a"));
    }
}

/// A local HTTP server that records request bodies and answers with the
/// statuses given, then 200.
struct Hook {
    port: u16,
    bodies: Arc<Mutex<Vec<(String, String)>>>,
}

fn webhook_server(statuses: Vec<u16>) -> Hook {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            seen.lock().unwrap().push((
                request_line.trim().to_string(),
                String::from_utf8(body).unwrap(),
            ));
            let status = statuses.next().unwrap_or(200);
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        }
    });
    Hook { port, bodies }
}

fn events(hook: &Hook) -> Vec<serde_json::Value> {
    hook.bodies
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect()
}

#[test]
fn webhooks_hear_start_success_and_failure() {
    let Some(db) = TestDb::sqlite() else { return };
    // The first delivery fails with a 500 and is retried.
    let hook = webhook_server(vec![500]);
    let p = project(
        &db,
        &format!(
            "[[webhook]]\nurl = \"http://127.0.0.1:{}/services/T0/B0/s3cret\"\ntimeout = \"2s\"\n",
            hook.port
        ),
    );
    let run = strata(&p, &["up"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let got = events(&hook);
    assert_eq!(got.len(), 3, "start (500 then retried), success: {got:?}");
    assert_eq!(
        hook.bodies.lock().unwrap()[0].0,
        "POST /services/T0/B0/s3cret HTTP/1.1"
    );
    assert_eq!(got[1]["strata"]["event"], "start");
    assert_eq!(got[1]["strata"]["steps"], 2);
    assert_eq!(got[2]["strata"]["event"], "success");
    assert_eq!(got[2]["strata"]["applied"], 2);
    assert_eq!(got[2]["strata"]["environment"], "dev");
    assert!(
        got[2]["text"]
            .as_str()
            .unwrap()
            .contains("succeeded on dev"),
        "{got:?}"
    );

    p.write(
        "migrations/3_bad.sql",
        "-- strata:up\nCREATE TABLE c (id integer);\nSELECT * FROM missing_table;\n",
    );
    let run = strata(&p, &["up"]);
    assert_eq!(run.code, 2);
    let got = events(&hook);
    let last = got.last().unwrap();
    assert_eq!(last["strata"]["event"], "failure");
    assert!(
        last["strata"]["error"]
            .as_str()
            .unwrap()
            .contains("3_bad.sql:3"),
        "{last}"
    );
}

#[test]
fn an_unreachable_webhook_does_not_fail_the_run() {
    let Some(db) = TestDb::sqlite() else { return };
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = project(
        &db,
        &format!(
            "[[webhook]]\nurl = \"http://127.0.0.1:{port}/services/T0/B0/s3cret\"\nretries = 1\non = [\"success\"]\n"
        ),
    );
    let run = strata(&p, &["up"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr
            .contains("could not notify the webhook at http://127.0.0.1"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("after 2 attempt(s)"), "{}", run.stderr);
    assert!(!run.all().contains("s3cret"), "{}", run.all());
    assert!(db.has_table("b"));
}

/// A local SMTP server that takes every message and records the envelope
/// and the data of each.
fn smtp_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let seen = mails.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let _ = write!(stream, "220 test ESMTP\r\n");
            let mut mail = String::new();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                let command = line.to_ascii_uppercase();
                let answer = if command.starts_with("DATA") {
                    let _ = write!(stream, "354 go ahead\r\n");
                    loop {
                        let mut data = String::new();
                        if reader.read_line(&mut data).unwrap_or(0) == 0 || data == ".\r\n" {
                            break;
                        }
                        mail.push_str(&data);
                    }
                    seen.lock().unwrap().push(std::mem::take(&mut mail));
                    "250 queued"
                } else if command.starts_with("QUIT") {
                    let _ = write!(stream, "221 bye\r\n");
                    break;
                } else {
                    if command.starts_with("MAIL") || command.starts_with("RCPT") {
                        mail.push_str(&line);
                    }
                    "250 ok"
                };
                let _ = write!(stream, "{answer}\r\n");
                line.clear();
            }
        }
    });
    (port, mails)
}

#[test]
fn email_tells_of_a_failure_through_smtp() {
    let Some(db) = TestDb::sqlite() else { return };
    let (port, mails) = smtp_server();
    let p = project(
        &db,
        &format!(
            "[[notify]]\nurl = \"smtp://127.0.0.1:{port}\"\nfrom = \"strata <strata@example.com>\"\nto = [\"dba@example.com\", \"oncall@example.com\"]\non = [\"failure\"]\n"
        ),
    );
    p.write(
        "migrations/3_bad.sql",
        "-- strata:up\nCREATE TABLE c (id integer);\nSELECT * FROM missing_table;\n",
    );
    let run = strata(&p, &["up"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(!run.stderr.contains("could not email"), "{}", run.stderr);
    let mails = mails.lock().unwrap();
    assert_eq!(mails.len(), 1, "one failure, one message: {mails:?}");
    let mail = &mails[0];
    assert!(mail.contains("MAIL FROM:<strata@example.com>"), "{mail}");
    assert!(mail.contains("RCPT TO:<dba@example.com>"), "{mail}");
    assert!(mail.contains("RCPT TO:<oncall@example.com>"), "{mail}");
    assert!(mail.contains("Subject: strata up FAILED on dev"), "{mail}");
    assert!(mail.contains("3_bad.sql:3"), "{mail}");
    assert!(mail.contains("applied: 2"), "{mail}");
}

#[test]
fn a_bad_email_entry_is_a_config_error() {
    let Some(db) = TestDb::sqlite() else { return };
    for (entry, says) in [
        (
            "url = \"smtps://u:pw@mail.example.com\"\nto = [\"dba@example.com\"]\n",
            "has `to` but no `from`",
        ),
        (
            "url = \"smtps://u:pw@mail.example.com\"\nfrom = \"strata@example.com\"\n",
            "is an email but has no `to`",
        ),
        (
            "url = \"https://hooks.example.com/x\"\nfrom = \"strata@example.com\"\nto = [\"dba@example.com\"]\n",
            "its URL is not an SMTP server",
        ),
        (
            "url = \"smtp://127.0.0.1:25\"\nfrom = \"strata@example.com\"\nto = [\"not an address\"]\n",
            "`not an address` is not an email address",
        ),
    ] {
        let p = project(&db, &format!("[[notify]]\n{entry}"));
        let run = strata(&p, &["status"]);
        assert_eq!(run.code, 2, "{entry}: {}", run.all());
        assert!(run.stderr.contains(says), "{entry}: {}", run.stderr);
        assert!(!run.all().contains("pw@"), "{}", run.all());
    }
}

/// Bug: a run refused before anything ran (drift, a missing file, no
/// connection, no approval) told no one. Each sends the failure
/// notification with its reason.
#[test]
fn refused_runs_are_notified_with_their_reason() {
    let Some(db) = TestDb::sqlite() else { return };
    let hook = webhook_server(Vec::new());
    let p = project(
        &db,
        &format!(
            "[[webhook]]\nurl = \"http://127.0.0.1:{}/hook\"\non = [\"failure\"]\n",
            hook.port
        ),
    );
    assert_eq!(strata(&p, &["up"]).code, 0);
    let reasons = |run: Run| {
        assert_eq!(run.code, 2, "{}", run.all());
        let last = events(&hook).last().cloned().expect("a notification");
        assert_eq!(last["strata"]["event"], "failure", "{last}");
        last["strata"]["error"].as_str().unwrap().to_string()
    };
    // Drift.
    p.write(
        "migrations/2_b.sql",
        "-- strata:up\nCREATE TABLE b (id bigint);\n-- strata:down\nDROP TABLE b;\n",
    );
    let drift = reasons(strata(&p, &["up"]));
    assert!(drift.contains("strata repair"), "{drift}");
    // A missing file.
    p.remove("migrations/2_b.sql");
    let missing = reasons(strata(&p, &["up"]));
    assert!(missing.contains("file"), "{missing}");
    // No connection.
    let down = reasons(strata(
        &p,
        &["up", "--database-url", "postgres://nobody@127.0.0.1:1/none"],
    ));
    assert!(down.contains("127.0.0.1:1"), "{down}");
    // No approval.
    p.write(
        "strata.toml",
        &std::fs::read_to_string(p.path("strata.toml"))
            .unwrap()
            .replace("[env.dev]\n", "[env.dev]\nrequire_approval = true\n"),
    );
    p.write(
        "migrations/2_b.sql",
        "-- strata:up\nCREATE TABLE b (id integer);\n-- strata:down\nDROP TABLE b;\n",
    );
    p.write("migrations/3_c.sql", "CREATE TABLE c (id integer);\n");
    let approval = reasons(strata(&p, &["up"]));
    assert!(approval.contains("requires approval"), "{approval}");
    assert_eq!(events(&hook).len(), 4);
}
