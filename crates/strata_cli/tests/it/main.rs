//! The `strata` binary end to end, in one test binary (the database
//! clients are linked once): each module is one area of behaviour, run on
//! SQLite and on real PostgreSQL and MariaDB servers, each test in a
//! database of its own.

mod architecture;
mod backup;
mod cli;
mod compat;
mod crash;
mod embedded;
mod encrypted;
mod formats;
mod generate;
mod generated;
mod hooks;
mod integrity;
mod lint;
mod locking;
mod monorepo;
mod mysql;
mod observe;
mod output;
mod schema;
mod schema_diff;
mod scripts;
mod squash;
mod testing;
mod trust;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_strata");

/// The first column of the one row `sql` returns from the SQLite database
/// file at `db`.
fn sqlite_value<T: rusqlite::types::FromSql>(db: &std::path::Path, sql: &str) -> T {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}
