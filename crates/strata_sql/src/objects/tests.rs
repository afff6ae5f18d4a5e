use super::*;
use crate::split;

fn all(script: &str, dialect: Dialect) -> Vec<Change> {
    split(script, dialect)
        .iter()
        .flat_map(|s| changes(s, script, dialect))
        .collect()
}

fn n(written: &str, key: &str) -> ObjectName {
    ObjectName {
        written: written.into(),
        key: key.into(),
    }
}

#[test]
fn reads_creates_drops_and_alters() {
    let c = all(
        "CREATE TABLE IF NOT EXISTS public.\"Users\" (id int, name text);\n\
         CREATE UNIQUE INDEX CONCURRENTLY users_name ON ONLY users (name);\n\
         create index on users (id);\n\
         ALTER TABLE users ADD COLUMN email text, ADD CONSTRAINT u_email UNIQUE (email), DROP COLUMN old;\n\
         DROP TABLE IF EXISTS a, b CASCADE;\n\
         UPDATE users SET name = 'CREATE TABLE x';",
        Dialect::Postgres,
    );
    assert_eq!(
        c[0],
        Change::Create {
            kind: ObjectKind::Table,
            name: Some(n("public.\"Users\"", "Users")),
            on: None,
            args: None,
            guard: Some(Guard::IfNotExists),
        }
    );
    assert!(
        matches!(&c[1], Change::Create { kind: ObjectKind::Index, name: Some(x), on: Some(t), .. } if x.key == "users_name" && t.key == "users")
    );
    assert!(matches!(
        &c[2],
        Change::Create {
            kind: ObjectKind::Index,
            name: None,
            ..
        }
    ));
    assert_eq!(
        c[3],
        Change::AddColumn {
            table: n("users", "users"),
            column: n("email", "email"),
            guard: None,
        }
    );
    assert_eq!(
        c[4],
        Change::AddConstraint {
            table: n("users", "users"),
            name: Some(n("u_email", "u_email"))
        }
    );
    assert_eq!(
        c[5],
        Change::DropColumn {
            table: n("users", "users"),
            column: n("old", "old"),
            if_exists: false,
        }
    );
    assert_eq!(
        c[6],
        Change::Drop {
            kind: ObjectKind::Table,
            names: vec![n("a", "a"), n("b", "b")],
            if_exists: true,
        }
    );
    assert!(matches!(&c[7], Change::Other { what } if what == "UPDATE users SET"));
}

#[test]
fn inverses() {
    let script = "CREATE FUNCTION add(a integer, b integer DEFAULT 1) RETURNS integer AS $$ SELECT a + b $$ LANGUAGE sql;\n\
                  CREATE TRIGGER t BEFORE INSERT ON s.items FOR EACH ROW EXECUTE FUNCTION f();\n\
                  ALTER TABLE s.items RENAME TO things;\n\
                  ALTER TABLE things RENAME COLUMN a TO b;\n\
                  CREATE MATERIALIZED VIEW mv AS SELECT 1;";
    let got: Vec<String> = all(script, Dialect::Postgres)
        .iter()
        .map(|c| inverse(c, Dialect::Postgres).unwrap())
        .collect();
    assert_eq!(
        got,
        [
            "DROP FUNCTION add(a integer, b integer);",
            "DROP TRIGGER t ON s.items;",
            "ALTER TABLE s.things RENAME TO items;",
            "ALTER TABLE things RENAME COLUMN b TO a;",
            "DROP MATERIALIZED VIEW mv;",
        ]
    );
    let mysql = all("CREATE INDEX i ON `t` (a);", Dialect::Mysql);
    assert_eq!(
        inverse(&mysql[0], Dialect::Mysql).unwrap(),
        "DROP INDEX i ON `t`;"
    );
    let no = all(
        "DELETE FROM t; ALTER TABLE t ALTER COLUMN a TYPE bigint;",
        Dialect::Postgres,
    );
    assert!(
        inverse(&no[0], Dialect::Postgres)
            .unwrap_err()
            .contains("DELETE FROM t")
    );
    assert!(inverse(&no[1], Dialect::Postgres).is_err());
}

/// Regression: `strata down` derived `DROP TABLE t` from
/// `CREATE TABLE IF NOT EXISTS t`, destroying a table (and its rows)
/// that an earlier migration owned.
#[test]
fn statements_that_may_find_their_object_have_no_inverse() {
    for (up, says) in [
        (
            "CREATE TABLE IF NOT EXISTS t (a int);",
            "CREATE TABLE IF NOT EXISTS t",
        ),
        (
            "CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;",
            "CREATE OR REPLACE FUNCTION f",
        ),
        (
            "CREATE OR REPLACE VIEW v AS SELECT 1;",
            "CREATE OR REPLACE VIEW v",
        ),
        (
            "CREATE INDEX IF NOT EXISTS i ON t (a);",
            "CREATE INDEX IF NOT EXISTS i",
        ),
        (
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);",
            "CREATE INDEX IF NOT EXISTS i",
        ),
        (
            "CREATE EXTENSION IF NOT EXISTS pgcrypto;",
            "CREATE EXTENSION IF NOT EXISTS pgcrypto",
        ),
        (
            "CREATE SCHEMA IF NOT EXISTS s;",
            "CREATE SCHEMA IF NOT EXISTS s",
        ),
        (
            "ALTER TABLE t ADD COLUMN IF NOT EXISTS c int;",
            "ADD COLUMN IF NOT EXISTS c",
        ),
        (
            "ALTER TABLE t ENABLE ROW LEVEL SECURITY;",
            "enables row level security on t",
        ),
    ] {
        let refused = reverse(up, Dialect::Postgres).unwrap_err();
        assert_eq!(refused.len(), 1, "{up}");
        assert!(refused[0].why.contains(says), "{up}: {}", refused[0].why);
    }
    // Mixed with reversible statements, the whole up is refused.
    assert!(
        reverse(
            "CREATE TABLE a (x int);\nCREATE TABLE IF NOT EXISTS b (x int);",
            Dialect::Sqlite
        )
        .is_err()
    );
    // Row level security on a table the same up creates goes with it.
    assert_eq!(
        reverse(
            "CREATE TABLE t (a int);\nALTER TABLE t ENABLE ROW LEVEL SECURITY;",
            Dialect::Postgres
        )
        .unwrap(),
        "ALTER TABLE t DISABLE ROW LEVEL SECURITY;\nDROP TABLE t;\n"
    );
}
