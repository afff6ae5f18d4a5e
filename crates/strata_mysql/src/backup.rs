//! Backups through mysqldump (or mariadb-dump) and the mysql client.

use crate::ConnectOptions;
use async_trait::async_trait;
use std::path::Path;
use std::process::Stdio;
use strata_driver::Backup;
use strata_driver::backup::{program, run_into, run_to, tool_version};

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
        run_into(cmd, dest, &dump.display().to_string()).await?;
        Ok(tool_version(&dump)
            .await
            .unwrap_or_else(|| dump.display().to_string()))
    }

    async fn restore(&self, path: &Path) -> Result<(), String> {
        let (args, password) = self.client_args()?;
        let client = program(&["mariadb", "mysql"]).ok_or(
            "neither mysql nor mariadb (the client) is installed; install the MySQL or MariaDB client",
        )?;
        let file = std::fs::File::open(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut cmd = tokio::process::Command::new(&client);
        cmd.args(&args).stdin(Stdio::from(file));
        if let Some(p) = password {
            cmd.env("MYSQL_PWD", p);
        }
        run_to(cmd, Stdio::null(), "mysql").await
    }
}

/// What says the dump at `path` is not whole: mysqldump ends a complete
/// dump with a `Dump completed` line.
pub fn check_backup(path: &Path) -> Vec<String> {
    let text = std::fs::read(path).unwrap_or_default();
    let tail = String::from_utf8_lossy(&text[text.len().saturating_sub(200)..]).into_owned();
    if tail.contains("Dump completed") {
        Vec::new()
    } else {
        vec![
            "the dump does not end with mysqldump's `Dump completed` line: it was cut short".into(),
        ]
    }
}
