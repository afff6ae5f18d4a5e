//! Backups through SQLite's online backup API: a consistent copy even while
//! others write.

use async_trait::async_trait;
use rusqlite::Connection;
use std::path::Path;
use strata_driver::backup::create_private;
use strata_driver::{Backup, TableName};

/// The backups of the SQLite database file at `path`, without the rows of
/// `lock_table`.
pub struct SqliteBackup {
    pub path: String,
    pub lock_table: TableName,
}

#[async_trait]
impl Backup for SqliteBackup {
    fn extension(&self) -> &'static str {
        "sqlite"
    }

    async fn write(&self, dest: &Path) -> Result<String, String> {
        let db = &self.path;
        if db == ":memory:" {
            return Err("an in-memory SQLite database cannot be backed up".into());
        }
        if !Path::new(db).exists() {
            return Err(format!("{db} does not exist: nothing to back up"));
        }
        create_private(dest)?;
        let src = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("cannot open {db}: {e}"))?;
        src.backup(rusqlite::DatabaseName::Main, dest, None)
            .map_err(|e| format!("backing up {db} failed: {e}"))?;
        // The lease of the run that may be taking this backup stays out.
        let copy =
            Connection::open(dest).map_err(|e| format!("cannot open {}: {e}", dest.display()))?;
        let leases = format!("DELETE FROM {}", self.lock_table.quoted());
        match copy.execute_batch(&leases) {
            Ok(()) => {}
            Err(e) if crate::is_missing_table(&e) => {}
            Err(e) => return Err(format!("cannot clear the lock table of the backup: {e}")),
        }
        Ok("sqlite online backup API".into())
    }

    async fn restore(&self, src: &Path) -> Result<(), String> {
        let db = &self.path;
        let mut conn = Connection::open(db).map_err(|e| format!("cannot open {db}: {e}"))?;
        conn.restore(
            rusqlite::DatabaseName::Main,
            src,
            None::<fn(rusqlite::backup::Progress)>,
        )
        .map_err(|e| format!("restoring {db} failed: {e}"))
    }
}

/// What SQLite's `PRAGMA integrity_check` finds wrong with the backup at
/// `path`.
pub fn check_backup(path: &Path) -> Vec<String> {
    let check = || -> rusqlite::Result<String> {
        let db = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        db.query_row("PRAGMA integrity_check", [], |r| r.get(0))
    };
    match check() {
        Ok(ok) if ok == "ok" => Vec::new(),
        Ok(other) => vec![format!("SQLite integrity check: {other}")],
        Err(e) => vec![format!("SQLite integrity check: {e}")],
    }
}
