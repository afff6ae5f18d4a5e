//! Backups through SQLite's online backup API: a consistent copy even while
//! others write.

use async_trait::async_trait;
use rusqlite::Connection;
use std::io::{Read, Write};
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
        let src = self.source()?;
        create_private(dest)?;
        src.backup(rusqlite::DatabaseName::Main, dest, None)
            .map_err(|e| format!("backing up {} failed: {e}", self.path))?;
        let copy =
            Connection::open(dest).map_err(|e| format!("cannot open {}: {e}", dest.display()))?;
        self.without_leases(&copy)?;
        Ok(TOOL.into())
    }

    async fn write_to(&self, out: &mut (dyn Write + Send)) -> Result<String, String> {
        // Copied into memory, so the only file written is `out`'s.
        let src = self.source()?;
        let mut copy = Connection::open_in_memory().map_err(|e| e.to_string())?;
        rusqlite::backup::Backup::new(&src, &mut copy)
            .and_then(|b| b.run_to_completion(1024, std::time::Duration::ZERO, None))
            .map_err(|e| format!("backing up {} failed: {e}", self.path))?;
        self.without_leases(&copy)?;
        let bytes = copy
            .serialize(rusqlite::DatabaseName::Main)
            .map_err(|e| format!("backing up {} failed: {e}", self.path))?;
        out.write_all(&bytes)
            .map_err(|e| format!("writing the backup failed: {e}"))?;
        Ok(TOOL.into())
    }

    async fn restore_from(&self, input: &mut (dyn Read + Send)) -> Result<(), String> {
        let mut bytes = Vec::new();
        input
            .read_to_end(&mut bytes)
            .map_err(|e| format!("reading the backup failed: {e}"))?;
        if let Some(problem) = not_a_database(&bytes) {
            return Err(problem);
        }
        // SQLite restores from a file: the decrypted copy is written beside
        // the database it becomes (the same data, in the same place), and
        // removed.
        let db = Path::new(&self.path);
        let name = db.file_name().map_or("db".into(), |n| n.to_string_lossy());
        let staged = db.with_file_name(format!(".{name}.restore-{}", std::process::id()));
        let written = create_private(&staged).and_then(|mut f| {
            f.write_all(&bytes)
                .and_then(|()| f.sync_all())
                .map_err(|e| format!("cannot write {}: {e}", staged.display()))
        });
        let restored = match written {
            Ok(()) => self.restore(&staged).await,
            Err(e) => Err(e),
        };
        let _ = std::fs::remove_file(&staged);
        restored
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

const TOOL: &str = "sqlite online backup API";

impl SqliteBackup {
    /// The database to back up, opened read-only.
    fn source(&self) -> Result<Connection, String> {
        let db = &self.path;
        if db == ":memory:" {
            return Err("an in-memory SQLite database cannot be backed up".into());
        }
        if !Path::new(db).exists() {
            return Err(format!("{db} does not exist: nothing to back up"));
        }
        Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("cannot open {db}: {e}"))
    }

    /// Clears the lease rows of a copy: the lease of the run that may be
    /// taking this backup stays out of it.
    fn without_leases(&self, copy: &Connection) -> Result<(), String> {
        let leases = format!("DELETE FROM {}", self.lock_table.quoted());
        match copy.execute_batch(&leases) {
            Ok(()) => Ok(()),
            Err(e) if crate::is_missing_table(&e) => Ok(()),
            Err(e) => Err(format!("cannot clear the lock table of the backup: {e}")),
        }
    }
}

/// Why `bytes` are not a whole SQLite database file: its header names the
/// page size and count, which must account for every byte.
fn not_a_database(bytes: &[u8]) -> Option<String> {
    if bytes.len() < 100 || &bytes[..16] != b"SQLite format 3\0" {
        return Some("it is not an SQLite database (no SQLite header)".into());
    }
    let page = match u16::from_be_bytes([bytes[16], bytes[17]]) {
        1 => 65536,
        n => usize::from(n),
    };
    let pages = u32::from_be_bytes([bytes[28], bytes[29], bytes[30], bytes[31]]) as usize;
    if page < 512 || !page.is_power_of_two() || pages == 0 || page * pages != bytes.len() {
        return Some(format!(
            "the SQLite header says {pages} page(s) of {page} bytes, but there are {} bytes: it was cut short or damaged",
            bytes.len()
        ));
    }
    None
}

/// What is wrong with the SQLite backup read from `input` (its content is
/// never written to disk to open it: the header must account for it all).
pub fn check_backup_from(input: &mut (dyn Read + Send)) -> Vec<String> {
    let mut bytes = Vec::new();
    if let Err(e) = input.read_to_end(&mut bytes) {
        return vec![format!("cannot read it: {e}")];
    }
    not_a_database(&bytes).into_iter().collect()
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
