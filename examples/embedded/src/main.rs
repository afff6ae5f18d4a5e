//! A program that brings its database up to date when it starts, with the
//! migrations compiled into it, then uses it.
//!
//! ```text
//! cargo run -p strata-example-embedded -- sqlite://notes.db
//! cargo run -p strata-example-embedded -- postgres://postgres@localhost/notes
//! ```

use std::process::ExitCode;

/// The migrations, read when the program is compiled.
const MIGRATIONS: strata::Embedded = strata::embed!("migrations");

/// What the program does with its database, the same on both engines.
const ADD_NOTE: &str =
    "INSERT INTO notes (id, body) SELECT coalesce(max(id), 0) + 1, 'hello' FROM notes";

#[tokio::main]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!(
            "usage: strata-example-embedded DATABASE_URL (sqlite://notes.db or postgres://...)"
        );
        return ExitCode::from(2);
    };
    match run(&url).await {
        Ok(notes) => {
            println!("{notes} note(s) in the database");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(url: &str) -> Result<i64, Box<dyn std::error::Error>> {
    let migrator = strata::Migrator::new(MIGRATIONS);
    if let Some(path) = url.strip_prefix("sqlite://") {
        // The program's own connection: strata migrates through it.
        let mut conn = rusqlite::Connection::open(path)?;
        let report = migrator.run(&mut conn).await?;
        println!("applied {} migration(s)", report.applied);
        conn.execute(ADD_NOTE, [])?;
        Ok(conn.query_row("SELECT count(*) FROM notes", [], |r| r.get(0))?)
    } else {
        let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        let report = migrator.run(&mut client).await?;
        println!("applied {} migration(s)", report.applied);
        client.execute(ADD_NOTE, &[]).await?;
        Ok(client
            .query_one("SELECT count(*) FROM notes", &[])
            .await?
            .get(0))
    }
}
