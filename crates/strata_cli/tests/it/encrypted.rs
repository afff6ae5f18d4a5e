//! Encrypted backups (`[backup] encrypt`): on every engine the file holds
//! no row in the clear, and verify and restore work with the key and fail
//! clearly without it.

use std::path::Path;
use strata_test_support::{Run, TempProject, TestDb, engine_test, run_in};

use crate::BIN;

/// A value no backup may show in the clear.
const MARKER: &str = "plain-row-7f3a9c";

/// A new age key pair: (public key, identity file text).
fn key() -> (String, String) {
    let identity = age::x25519::Identity::generate();
    let secret = {
        use age::secrecy::ExposeSecret;
        identity.to_string().expose_secret().to_string()
    };
    (
        identity.to_public().to_string(),
        format!("# test key\n{secret}\n"),
    )
}

fn project(db: &TestDb, recipient: &str) -> TempProject {
    let p = TempProject::new();
    p.write(
        "strata.toml",
        &format!(
            "[[source]]\nname = \"app\"\npath = \"migrations\"\n\n[backup]\nencrypt = {{ recipients = [\"{recipient}\"] }}\n\n[env.dev]\nurl = \"{}\"\n",
            db.url()
        ),
    );
    p.write(
        "migrations/1_items.sql",
        &format!("-- strata:up\nCREATE TABLE items (id integer PRIMARY KEY, label varchar(40));\nINSERT INTO items VALUES (1, '{MARKER}');\n-- strata:down\nDROP TABLE items;\n"),
    );
    p
}

fn strata(p: &TempProject, args: &[&str], env: &[(&str, &str)]) -> Run {
    run_in(Path::new(BIN), &p.dir, args, env)
}

fn code(p: &TempProject, args: &[&str], expected: i32) -> Run {
    let run = strata(p, args, &[]);
    assert_eq!(run.code, expected, "strata {args:?}:\n{}", run.all());
    run
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

engine_test!(
    encrypted_backups_hold_no_plaintext_and_need_the_key,
    |db: &TestDb| {
        let (public, identity) = key();
        let p = project(db, &public);
        p.write("keys/me.txt", &identity);
        p.write("keys/other.txt", &key().1);
        code(&p, &["up"], 0);
        let made: serde_json::Value =
            serde_json::from_str(&code(&p, &["backup", "--format", "json"], 0).stdout).unwrap();
        let id = made["id"].as_str().unwrap().to_string();
        let file = made["file"].as_str().unwrap();
        assert!(file.ends_with(".age"), "{made}");
        assert_eq!(made["encryption"]["method"], "age");
        assert_eq!(made["encryption"]["recipients"][0], public.as_str());

        // Nothing in the backup directory shows the row: only the encrypted
        // file and its manifest are there.
        let dir = p.path("backups");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut expected = vec![format!("{id}.json"), file.to_string()];
        expected.sort();
        assert_eq!(names, expected);
        let bytes = std::fs::read(dir.join(file)).unwrap();
        assert!(
            bytes.starts_with(b"age-encryption.org/v1"),
            "not an age file"
        );
        assert!(
            !contains(&bytes, MARKER),
            "the backup holds the row in the clear"
        );
        assert!(
            !contains(&bytes, "CREATE TABLE"),
            "the backup holds SQL in the clear"
        );

        // Without the key: verify says what to pass, restore refuses and
        // changes nothing.
        let verify = code(&p, &["backup", "verify", &id], 1);
        assert!(
            verify.stdout.contains("pass --identity FILE"),
            "{}",
            verify.all()
        );
        db.execute("UPDATE items SET label = 'changed' WHERE id = 1");
        let refused = code(&p, &["restore", &id], 2);
        assert!(
            refused.stderr.contains("pass --identity FILE"),
            "{}",
            refused.all()
        );
        assert_eq!(db.query("SELECT label FROM items"), ["changed"]);
        // With another key: said so.
        let wrong = code(
            &p,
            &["backup", "verify", &id, "--identity", "keys/other.txt"],
            1,
        );
        assert!(
            wrong
                .stdout
                .contains("holds no key this backup was encrypted for"),
            "{}",
            wrong.all()
        );
        let missing = code(
            &p,
            &["backup", "verify", &id, "--identity", "keys/none.txt"],
            1,
        );
        assert!(
            missing
                .stdout
                .contains("cannot read the identity file keys/none.txt"),
            "{}",
            missing.all()
        );

        // With the key (flag or environment): verified, restored.
        code(
            &p,
            &["backup", "verify", &id, "--identity", "keys/me.txt"],
            0,
        );
        let by_env = strata(
            &p,
            &["backup", "verify", &id],
            &[("STRATA_BACKUP_IDENTITY", "keys/me.txt")],
        );
        assert_eq!(by_env.code, 0, "{}", by_env.all());
        code(&p, &["restore", &id, "--identity", "keys/me.txt"], 0);
        assert_eq!(db.query("SELECT label FROM items"), [MARKER]);
        code(&p, &["status", "--check"], 0);

        // A damaged file does not verify, even with the key.
        let mut damaged = bytes.clone();
        let at = damaged.len() - 10;
        damaged[at] ^= 0xff;
        std::fs::write(dir.join(file), &damaged).unwrap();
        let check = code(
            &p,
            &["backup", "verify", &id, "--identity", "keys/me.txt"],
            1,
        );
        assert!(
            check.stdout.contains("SHA-256 does not match"),
            "{}",
            check.all()
        );
    }
);

#[test]
fn a_recipient_that_is_not_an_age_key_is_a_config_error() {
    let Some(db) = TestDb::sqlite() else { return };
    let p = project(&db, "ssh-ed25519 AAAA not-age");
    let run = code(&p, &["status"], 2);
    assert!(
        run.stderr.contains("is not an age X25519 recipient"),
        "{}",
        run.all()
    );
    assert!(run.stderr.contains("strata.toml"), "{}", run.all());
}
