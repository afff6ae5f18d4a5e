use super::*;

#[test]
fn copy_from_stdin_keeps_its_data_with_it() {
    let script = "CREATE TABLE t (a int, b text);\nCOPY t (a, b) FROM stdin;\n1\tx; y\n2\t'z\n\\.\nSELECT 1;\n";
    let st = split(script, Dialect::Postgres);
    assert_eq!(st.len(), 3, "{st:?}");
    assert_eq!(st[1].sql, "COPY t (a, b) FROM stdin;\n1\tx; y\n2\t'z\n\\.");
    assert_eq!(
        copy_data(&st[1]),
        Some(("COPY t (a, b) FROM stdin;", "1\tx; y\n2\t'z\n"))
    );
    assert_eq!(st[2].line_in(script), 5);
    assert_eq!(copy_data(&st[0]), None);
    // Without a `\.`, the data runs to the end.
    let tail = split(
        "COPY t FROM STDIN WITH (FORMAT csv);\n1,2\n",
        Dialect::Postgres,
    );
    assert_eq!(tail.len(), 1);
    assert_eq!(copy_data(&tail[0]).unwrap().1, "1,2\n");
}

/// The splitter agrees with squawk-syntax's parser on where each
/// statement of a tricky script starts and ends.
#[test]
fn statement_boundaries_agree_with_squawk_syntax() {
    use squawk_syntax::ast::AstNode;
    let scripts = [
        "create table a (id int); -- c;\n/* x; /* nested; */ y; */ insert into a values (1);",
        "create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end;\nselect 1;",
        "do $body$ begin perform ';'; end $body$; select $$a;b$$, E'it\\'s;', 'x''y;';",
        "create function g(a int) returns int as $$ select $1; $$ language sql; select U&'d\\0061t;' uescape '\\';",
        "select \"semi;colon\" from t; select b'101', x'1f';\nalter table t add column \"begin\" int; select 1",
        "create trigger tr after insert on t for each row execute function f(); update t set begin = 1;",
    ];
    for script in scripts {
        let parse = squawk_syntax::SourceFile::parse(script);
        assert!(parse.errors().is_empty(), "{script}: {:?}", parse.errors());
        let theirs: Vec<&str> = parse
            .tree()
            .stmts()
            .map(|s| {
                let r = s.syntax().text_range();
                &script[usize::from(r.start())..usize::from(r.end())]
            })
            .collect();
        let ours: Vec<&str> = split(script, Dialect::Postgres)
            .iter()
            .map(|s| &script[s.token_offset..s.offset + s.sql.len()])
            .collect();
        assert_eq!(ours, theirs, "{script}");
    }
}

#[test]
fn psql_meta_commands_are_statements_of_their_own() {
    let script = "SELECT 1;\n\\connect other\nSELECT '\\x';\n  \\i more.sql\n";
    let st = split(script, Dialect::Postgres);
    let metas: Vec<(usize, &str)> = st
        .iter()
        .filter_map(|s| psql_meta_command(s).map(|m| (s.line_in(script), m)))
        .collect();
    assert_eq!(metas, [(1, "\\connect"), (3, "\\i")]);
    assert_eq!(st.len(), 4);
}

fn texts(sql: &str, d: Dialect) -> Vec<&str> {
    split(sql, d).iter().map(|s| s.sql).collect()
}

#[test]
fn splits_on_semicolons_outside_quotes_and_comments() {
    let sql = "create table a (x text default ';');\n-- a comment; here\ninsert into a values ('it''s;');\n/* block; /* nested; */ still */ select 1;";
    assert_eq!(
        texts(sql, Dialect::Postgres),
        vec![
            "create table a (x text default ';');",
            "-- a comment; here\ninsert into a values ('it''s;');",
            "/* block; /* nested; */ still */ select 1;",
        ]
    );
}

#[test]
fn dollar_quoted_bodies_are_one_statement() {
    let sql = "create function f() returns int as $body$ begin return 1; end; $body$ language plpgsql;\nselect $1, $$a;b$$;";
    let parts = texts(sql, Dialect::Postgres);
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert!(parts[0].ends_with("plpgsql;"));
}

#[test]
fn begin_atomic_bodies_keep_their_semicolons() {
    let sql = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT 2; END;\nSELECT 3;";
    let parts = texts(sql, Dialect::Postgres);
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[1], "SELECT 3;");
}

#[test]
fn a_column_named_begin_is_not_a_block() {
    let sql = "create table t (begin date, \"end\" date);\ncommit;\ncreate table u (id int);";
    assert_eq!(texts(sql, Dialect::Postgres).len(), 3);
    assert_eq!(texts(sql, Dialect::Sqlite).len(), 3);
}

#[test]
fn a_column_named_begin_in_a_trigger_is_not_its_body() {
    let sql = "CREATE TRIGGER t BEFORE UPDATE OF begin ON a FOR EACH ROW WHEN (OLD.begin IS NULL) EXECUTE FUNCTION f();\nCREATE TABLE c (id int);\nCOMMIT;\nSELECT 1;";
    assert_eq!(texts(sql, Dialect::Postgres).len(), 4);
    let lite = "create trigger t after update of begin on a when (old.begin is null) begin update b set n = 1; end;\ncommit;";
    assert_eq!(texts(lite, Dialect::Sqlite).len(), 2);
}

#[test]
fn sqlite_trigger_bodies_are_one_statement() {
    let sql = "create trigger t after insert on a begin update b set n = n + 1; insert into c values (1); end;\nbegin;\ncommit;";
    let parts = texts(sql, Dialect::Sqlite);
    assert_eq!(parts.len(), 3, "{parts:?}");
}

#[test]
fn escape_strings_and_identifiers() {
    let sql = "select E'a\\';b', \"we;ird\";select 2";
    assert_eq!(
        texts(sql, Dialect::Postgres),
        vec!["select E'a\\';b', \"we;ird\";", "select 2"]
    );
}

#[test]
fn comment_only_scripts_are_empty_and_offsets_point_at_tokens() {
    assert!(split("-- nothing\n/* here */\n", Dialect::Sqlite).is_empty());
    let sql = "-- lead\n\nselect 1;\n  select\n2;";
    let st = split(sql, Dialect::Postgres);
    assert_eq!(st[0].line_in(sql), 2);
    assert_eq!(st[1].line_in(sql), 3);
    assert_eq!(&sql[st[1].offset..st[1].offset + 6], "select");
}

#[test]
fn recognises_transaction_control() {
    let sql = "begin;\ncommit work;\nrollback to savepoint a;\nrollback;\nstart transaction;\ncreate table begin_x (id int);\n-- c\nEND;";
    let found: Vec<bool> = split(sql, Dialect::Postgres)
        .iter()
        .map(|st| is_transaction_control(st, sql))
        .collect();
    assert_eq!(found, vec![true, true, false, true, true, false, true]);
}

#[test]
fn recognises_statements_that_cannot_run_in_a_transaction() {
    let sql = "create unique index concurrently i on t (x);\ncreate index j on t (y);\nvacuum t;\ndrop index concurrently i;\nreindex index concurrently j;\ncreate database d;\nreindex database d;\nreindex table t;\ndiscard all;\ncreate index k on t (x) where note = 'concurrently';\nalter system set work_mem = '8MB';";
    let found: Vec<bool> = split(sql, Dialect::Postgres)
        .iter()
        .map(|st| cannot_run_in_transaction(st, sql))
        .collect();
    assert_eq!(
        found,
        vec![
            true, false, true, true, true, true, true, false, true, false, true
        ]
    );
}

#[test]
fn names_the_index_a_concurrent_build_creates() {
    let sql = "create unique index concurrently if not exists \"Users_email\" on users (email);\nCREATE INDEX CONCURRENTLY app.i2 ON t(x);\ncreate index concurrently on t (y);\ncreate index i3 on t (z);";
    let names: Vec<Option<String>> = split(sql, Dialect::Postgres)
        .iter()
        .map(|st| concurrent_index_name(st, sql))
        .collect();
    assert_eq!(
        names,
        vec![
            Some("Users_email".into()),
            Some("app.i2".into()),
            None,
            None
        ]
    );
}

#[test]
fn recognises_destructive_statements() {
    let sql = "drop table a;\ndrop index i;\nalter table t drop column c;\nalter table t drop constraint k;\nalter table t add column d int;\ntruncate t;\ndelete from t where id = 1;\ndelete from t;\nupdate t set x = 'where';\nupdate t set x = 1 where id = 2;\ndrop schema s cascade;\ncreate table drop_me (id int);";
    let found: Vec<Option<&str>> = split(sql, Dialect::Postgres)
        .iter()
        .map(|st| destructive(st, sql))
        .collect();
    assert_eq!(
        found,
        vec![
            Some("drops a table"),
            None,
            Some("drops a column"),
            None,
            None,
            Some("deletes every row of a table"),
            None,
            Some("deletes every row (no WHERE)"),
            Some("updates every row (no WHERE)"),
            None,
            Some("drops a schema and everything in it"),
            None,
        ]
    );
}

#[test]
fn positions_map_to_byte_offsets() {
    let text = "é;select x";
    assert_eq!(char_position_to_offset(text, 3), 3);
    assert_eq!(char_position_to_offset(text, 1), 0);
    assert_eq!(char_position_to_offset(text, 99), text.len());
}
