//! Backups through mysqldump (or mariadb-dump) and the mysql client.

use crate::ConnectOptions;
use async_trait::async_trait;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use strata_driver::Backup;
use strata_driver::backup::{program, run_in_from, run_into, run_out_to, run_to, tool_version};

/// The backups of the MySQL or MariaDB database at `url`.
pub struct MysqlBackup {
    pub url: String,
}

impl MysqlBackup {
    fn client_args(&self) -> Result<(Vec<String>, Option<String>), String> {
        let options = ConnectOptions::parse(&self.url).map_err(|e| e.to_string())?;
        Ok(options.client_args())
    }
}

#[async_trait]
impl Backup for MysqlBackup {
    fn extension(&self) -> &'static str {
        "sql"
    }

    async fn write(&self, dest: &Path) -> Result<String, String> {
        let (cmd, dump) = self.dump()?;
        run_into(cmd, dest, &dump.display().to_string()).await?;
        Ok(version(&dump).await)
    }

    async fn restore(&self, path: &Path) -> Result<(), String> {
        let file = std::fs::File::open(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut cmd = self.client()?;
        cmd.stdin(Stdio::from(file));
        run_to(cmd, Stdio::null(), "mysql").await
    }

    async fn write_to(&self, out: &mut (dyn Write + Send)) -> Result<String, String> {
        let (cmd, dump) = self.dump()?;
        run_out_to(cmd, out, &dump.display().to_string()).await?;
        Ok(version(&dump).await)
    }

    async fn restore_from(&self, input: &mut (dyn Read + Send)) -> Result<(), String> {
        run_in_from(self.client()?, input, "mysql").await
    }
}

impl MysqlBackup {
    /// mysqldump (or mariadb-dump) of the database to its output, and
    /// which program it is.
    fn dump(&self) -> Result<(tokio::process::Command, std::path::PathBuf), String> {
        let (args, password) = self.client_args()?;
        let dump = program(&["mariadb-dump", "mysqldump"]).ok_or(
            "neither mysqldump nor mariadb-dump is installed; install the MySQL or MariaDB client (Debian: mariadb-client)",
        )?;
        let mut cmd = tokio::process::Command::new(&dump);
        cmd.args([
            "--single-transaction",
            "--routines",
            "--triggers",
            "--events",
            "--hex-blob",
            "--add-drop-table",
        ])
        .args(&args);
        if let Some(p) = password {
            cmd.env("MYSQL_PWD", p);
        }
        Ok((cmd, dump))
    }

    /// The mysql client on the database, running what its input says.
    fn client(&self) -> Result<tokio::process::Command, String> {
        let (args, password) = self.client_args()?;
        let client = program(&["mariadb", "mysql"]).ok_or(
            "neither mysql nor mariadb (the client) is installed; install the MySQL or MariaDB client",
        )?;
        let mut cmd = tokio::process::Command::new(&client);
        cmd.args(&args);
        if let Some(p) = password {
            cmd.env("MYSQL_PWD", p);
        }
        Ok(cmd)
    }
}

async fn version(dump: &Path) -> String {
    tool_version(dump)
        .await
        .unwrap_or_else(|| dump.display().to_string())
}

/// What says the dump at `path` is not whole: mysqldump ends a complete
/// dump with a `Dump completed` line.
pub fn check_backup(path: &Path) -> Vec<String> {
    match std::fs::File::open(path) {
        Ok(mut file) => check_backup_from(&mut file),
        Err(e) => vec![format!("cannot read it: {e}")],
    }
}

/// [`check_backup`] of the dump read from `input`.
pub fn check_backup_from(input: &mut (dyn Read + Send)) -> Vec<String> {
    // Only the end matters: read through, keeping the last stretch.
    let mut tail = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 4096 {
                    tail.drain(..tail.len() - 200);
                }
            }
            Err(e) => return vec![format!("cannot read it: {e}")],
        }
    }
    let tail = String::from_utf8_lossy(&tail[tail.len().saturating_sub(200)..]).into_owned();
    if tail.contains("Dump completed") {
        Vec::new()
    } else {
        vec![
            "the dump does not end with mysqldump's `Dump completed` line: it was cut short".into(),
        ]
    }
}
