//! Backups through pg_dump and pg_restore (custom format), with the newest
//! client there is, which must be at least as new as the server.

use async_trait::async_trait;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use strata_driver::backup::{program, run_in_from, run_into, run_out_to, run_to, tool_version};
use strata_driver::{Backup, Driver, TableName};

/// The backups of the PostgreSQL database at `url`, without the rows of
/// `lock_table`.
pub struct PgBackup {
    pub url: String,
    pub lock_table: TableName,
}

#[async_trait]
impl Backup for PgBackup {
    fn extension(&self) -> &'static str {
        "dump"
    }

    async fn write(&self, dest: &Path) -> Result<String, String> {
        let (cmd, version) = self.dump().await?;
        run_into(cmd, dest, "pg_dump").await?;
        Ok(version)
    }

    async fn restore(&self, path: &Path) -> Result<(), String> {
        let mut cmd = self.restore_command().await?;
        cmd.arg(path);
        run_to(cmd, Stdio::null(), "pg_restore").await
    }

    async fn write_to(&self, out: &mut (dyn Write + Send)) -> Result<String, String> {
        let (cmd, version) = self.dump().await?;
        run_out_to(cmd, out, "pg_dump").await?;
        Ok(version)
    }

    async fn restore_from(&self, input: &mut (dyn Read + Send)) -> Result<(), String> {
        // With no file, pg_restore reads the archive from its input.
        let cmd = self.restore_command().await?;
        run_in_from(cmd, input, "pg_restore").await
    }
}

impl PgBackup {
    /// pg_dump of the database in custom format to its output, with its
    /// version.
    async fn dump(&self) -> Result<(tokio::process::Command, String), String> {
        let (pg_dump, version) = self.program("pg_dump").await?;
        let (url, password) = strata_driver::split_password(&self.url);
        let mut cmd = tokio::process::Command::new(&pg_dump);
        cmd.args(["--format=custom", "--no-password"])
            .arg(format!("--exclude-table-data={}", self.lock_table))
            .arg(format!("--dbname={url}"));
        if let Some(p) = password {
            cmd.env("PGPASSWORD", p);
        }
        Ok((cmd, version))
    }

    /// pg_restore into the database, replacing what is there, in one
    /// transaction; the archive is its last argument, or its input.
    async fn restore_command(&self) -> Result<tokio::process::Command, String> {
        let (pg_restore, _) = self.program("pg_restore").await?;
        let (url, password) = strata_driver::split_password(&self.url);
        let mut cmd = tokio::process::Command::new(&pg_restore);
        cmd.args([
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
        ])
        .arg(format!("--dbname={url}"));
        if let Some(p) = password {
            cmd.env("PGPASSWORD", p);
        }
        Ok(cmd)
    }
}

impl PgBackup {
    /// The newest `pg_dump`/`pg_restore` there is, which must be at least
    /// as new as the server; with its `--version` line.
    async fn program(&self, name: &str) -> Result<(PathBuf, String), String> {
        let (program, version) = newest_program(name).await.ok_or_else(|| {
            format!(
                "{name} is not installed (or does not run); install the PostgreSQL client (Debian: postgresql-client)"
            )
        })?;
        let table = TableName::parse("strata_history").expect("a valid name");
        let server = crate::connect(&self.url, table)
            .await
            .map_err(|e| e.to_string())?
            .server_version()
            .await
            .map_err(|e| e.to_string())?;
        if let (Some(tool_major), Some(server_major)) = (
            major_after(&version, ")"),
            major_after(&server, "PostgreSQL"),
        ) && tool_major < server_major
        {
            return Err(format!(
                "{name} {tool_major} ({}) is older than the server (PostgreSQL {server_major}) and cannot {} it; install the PostgreSQL {server_major} client (Debian: postgresql-client-{server_major}) or put its bin directory on PATH",
                program.display(),
                if name == "pg_dump" {
                    "dump"
                } else {
                    "restore into"
                }
            ));
        }
        Ok((program, version))
    }
}

/// What keeps pg_restore from reading the backup at `path`.
pub async fn check_backup(path: &Path) -> Vec<String> {
    let out = list_command()
        .await
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .await;
    match out {
        Ok(o) if o.status.success() => Vec::new(),
        Ok(o) => vec![format!(
            "pg_restore cannot read it: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )],
        Err(e) => vec![format!("cannot run pg_restore to read it: {e}")],
    }
}

/// What keeps pg_restore from reading the backup read from `input`.
pub async fn check_backup_from(input: &mut (dyn Read + Send)) -> Vec<String> {
    match run_in_from(list_command().await, input, "pg_restore --list").await {
        Ok(()) => Vec::new(),
        Err(e) => vec![format!("pg_restore cannot read it: {e}")],
    }
}

/// `pg_restore --list`: the archive's table of contents.
async fn list_command() -> tokio::process::Command {
    let pg_restore = newest_program("pg_restore")
        .await
        .map_or_else(|| PathBuf::from("pg_restore"), |(p, _)| p);
    let mut cmd = tokio::process::Command::new(pg_restore);
    cmd.arg("--list");
    cmd
}

/// The newest build of a PostgreSQL program, by the version it reports:
/// Debian keeps one per major version in /usr/lib/postgresql/N/bin, and
/// PATH may hold another (a newer client can read and restore into every
/// older server, not the reverse). With its `--version` line.
async fn newest_program(name: &str) -> Option<(PathBuf, String)> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.exists())
        .collect();
    candidates.extend(program(&[name]));
    let mut newest: Option<(u32, PathBuf, String)> = None;
    for path in candidates {
        let Some(version) = tool_version(&path).await else {
            continue;
        };
        let major = major_after(&version, ")").unwrap_or(0);
        if newest.as_ref().is_none_or(|(m, _, _)| major > *m) {
            newest = Some((major, path, version));
        }
    }
    newest.map(|(_, path, version)| (path, version))
}

/// The major version number after `marker` in `text` (`pg_dump (PostgreSQL)
/// 15.10` after `)`, `PostgreSQL 18.1` after `PostgreSQL`).
fn major_after(text: &str, marker: &str) -> Option<u32> {
    let rest = &text[text.find(marker)? + marker.len()..];
    rest.trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_major_versions() {
        assert_eq!(
            major_after("pg_dump (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)", ")"),
            Some(15)
        );
        assert_eq!(major_after("PostgreSQL 18.1", "PostgreSQL"), Some(18));
        assert_eq!(major_after("nothing", ")"), None);
    }
}
