//! Backups: `strata backup`, `backups`, `backup verify`, `restore`, and the
//! automatic one before `up` (`backup = "before"`). PostgreSQL through
//! pg_dump/pg_restore (custom format), SQLite through its online backup
//! API, MySQL/MariaDB through mysqldump/mysql. Each backup is a file and a
//! manifest beside it, both mode 0600, in `[backup] dir`.

use crate::audit::{Audited, Outcome};
use crate::config::BackupWhen;
use crate::events::Reporter;
use crate::target::DatabaseTarget;
use crate::{Engine, EngineError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use strata_model::Timestamp;

/// What is known about one backup (its `.json` file).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupManifest {
    pub id: String,
    pub environment: Option<String>,
    pub engine: String,
    /// The database, password hidden.
    pub database: String,
    pub created_at: String,
    /// `manual`, or `before up` for the automatic one.
    pub reason: String,
    /// The plan `up` was about to run, for an automatic backup.
    pub plan_hash: Option<String>,
    /// The backup file's name, in the backup directory.
    pub file: String,
    pub size: u64,
    pub sha256: String,
    /// The program (and version) or API that wrote it.
    pub tool: String,
}

/// What `strata backup verify` found.
#[derive(Debug, Serialize)]
pub struct BackupCheck {
    pub id: String,
    pub ok: bool,
    pub problems: Vec<String>,
}

fn fail(message: impl Into<String>) -> EngineError {
    EngineError::Backup(message.into())
}

/// `restore`: the backup restored, and the one taken before.
impl Audited for (BackupManifest, Option<BackupManifest>) {
    fn outcome(&self) -> Outcome<'_> {
        Outcome::Restored { backup: &self.0.id }
    }
}

impl Engine {
    /// `[backup] dir`, from the project root (default `backups`).
    pub fn backup_dir(&self) -> PathBuf {
        let dir = self.project.config.backup.dir.clone();
        self.project
            .root
            .join(dir.unwrap_or_else(|| PathBuf::from("backups")))
    }

    /// Backs up the database now, then applies retention.
    pub async fn backup(
        &self,
        reason: &str,
        plan_hash: Option<&str>,
    ) -> Result<BackupManifest, EngineError> {
        self.backup_sparing(reason, plan_hash, None).await
    }

    /// Keeps the backup directory out of version control: inside a git
    /// work tree, a directory git does not ignore yet gets a line in the
    /// project's `.gitignore` (backups hold the database's data). Says so
    /// when it added one.
    pub fn ensure_backups_ignored(&self) -> Result<Option<String>, EngineError> {
        let dir = self.backup_dir();
        let root = &self.project.root;
        let in_git = root.ancestors().any(|d| d.join(".git").exists());
        let Ok(rel) = dir.strip_prefix(root) else {
            return Ok(None);
        };
        if !in_git || rel.as_os_str().is_empty() {
            return Ok(None);
        }
        let line = format!("/{}/", rel.display());
        let gitignore = root.join(".gitignore");
        let text = std::fs::read_to_string(&gitignore).unwrap_or_default();
        if text
            .lines()
            .any(|l| l.trim() == line || l.trim() == line.trim_end_matches('/'))
        {
            return Ok(None);
        }
        // git's own answer, when git is there (a pattern elsewhere may
        // already cover the directory).
        let ignored = std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(["check-ignore", "-q", "--no-index"])
            .arg(rel.join("x.dump"))
            .status()
            .is_ok_and(|s| s.success());
        if ignored {
            return Ok(None);
        }
        let mut new = text;
        if !new.is_empty() && !new.ends_with('\n') {
            new.push('\n');
        }
        new.push_str(&format!(
            "# strata backups hold the database's data\n{line}\n"
        ));
        std::fs::write(&gitignore, new).map_err(|e| {
            fail(format!(
                "{} is inside a git work tree and not ignored, and {} cannot be written ({e}); add the line `{line}` to it, or set [backup] dir outside the repository",
                rel.display(),
                gitignore.display()
            ))
        })?;
        Ok(Some(format!(
            "added {line} to {} so backups (which hold the database's data) stay out of git",
            self.display_path(&gitignore)
        )))
    }

    /// [`Engine::backup`], with retention sparing the backup `spare` (the
    /// one about to be restored).
    async fn backup_sparing(
        &self,
        reason: &str,
        plan_hash: Option<&str>,
        spare: Option<&str>,
    ) -> Result<BackupManifest, EngineError> {
        let database = self.database()?.clone();
        let dir = self.backup_dir();
        create_private_dir(&dir)?;
        let env = self.env_name.clone();
        let stem = env.as_deref().unwrap_or("database");
        let extension = match &database {
            DatabaseTarget::Postgres { .. } => "dump",
            DatabaseTarget::Sqlite { .. } => "sqlite",
            DatabaseTarget::Mysql { .. } => "sql",
        };
        let now = Timestamp::now();
        let mut id = format!("{stem}-{}", now.compact());
        let mut n = 1;
        while dir.join(format!("{id}.json")).exists() {
            n += 1;
            id = format!("{stem}-{}-{n}", now.compact());
        }
        let file_name = format!("{id}.{extension}");
        let path = dir.join(&file_name);
        let result = self.write_backup(&database, &path).await;
        let tool = match result {
            Ok(tool) => tool,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        let (size, sha256) = digest(&path)?;
        let manifest = BackupManifest {
            id: id.clone(),
            environment: env,
            engine: database.engine().to_string(),
            database: database.display(),
            created_at: now.rfc3339(),
            reason: reason.to_string(),
            plan_hash: plan_hash.map(str::to_string),
            file: file_name,
            size,
            sha256,
            tool,
        };
        let text = serde_json::to_string_pretty(&manifest).expect("a manifest serializes");
        write_private(&dir.join(format!("{id}.json")), text.as_bytes())?;
        self.prune(&manifest, spare)?;
        Ok(manifest)
    }

    /// Writes the backup file; returns the tool that wrote it.
    async fn write_backup(
        &self,
        database: &DatabaseTarget,
        path: &Path,
    ) -> Result<String, EngineError> {
        match database {
            DatabaseTarget::Sqlite { path: db, .. } => {
                if db == ":memory:" {
                    return Err(fail("an in-memory SQLite database cannot be backed up"));
                }
                if !Path::new(db).exists() {
                    return Err(fail(format!("{db} does not exist: nothing to back up")));
                }
                create_private(path)?;
                strata_sqlite::backup_to(db, path).map_err(|e| fail(e.to_string()))?;
                Ok("sqlite online backup API".into())
            }
            DatabaseTarget::Postgres { url } => {
                let (pg_dump, version) = self.pg_program("pg_dump").await?;
                let (url, password) = strata_driver::split_password(url);
                let mut cmd = tokio::process::Command::new(&pg_dump);
                cmd.args(["--format=custom", "--no-password"])
                    .arg(format!("--dbname={url}"));
                if let Some(p) = password {
                    cmd.env("PGPASSWORD", p);
                }
                run_into(cmd, path, "pg_dump").await?;
                Ok(version)
            }
            DatabaseTarget::Mysql { url } => {
                let (args, password) = mysql_args(url)?;
                let dump = program(&["mariadb-dump", "mysqldump"])
                    .ok_or_else(|| fail("neither mysqldump nor mariadb-dump is installed; install the MySQL or MariaDB client (Debian: mariadb-client)"))?;
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
                run_into(cmd, path, &dump.display().to_string()).await?;
                Ok(tool_version(&dump)
                    .await
                    .unwrap_or_else(|| dump.display().to_string()))
            }
        }
    }

    /// The newest `pg_dump`/`pg_restore` there is, which must be at least
    /// as new as the server; with its `--version` line.
    async fn pg_program(&self, name: &str) -> Result<(PathBuf, String), EngineError> {
        let (program, version) = newest_pg_program(name).await.ok_or_else(|| {
            fail(format!(
                "{name} is not installed (or does not run); install the PostgreSQL client (Debian: postgresql-client)"
            ))
        })?;
        let mut driver = self.connect().await?;
        let server = driver.server_version().await?;
        if let (Some(tool_major), Some(server_major)) = (
            major_after(&version, ")"),
            major_after(&server, "PostgreSQL"),
        ) && tool_major < server_major
        {
            return Err(fail(format!(
                "{name} {tool_major} ({}) is older than the server (PostgreSQL {server_major}) and cannot {} it; install the PostgreSQL {server_major} client (Debian: postgresql-client-{server_major}) or put its bin directory on PATH",
                program.display(),
                if name == "pg_dump" {
                    "dump"
                } else {
                    "restore into"
                }
            )));
        }
        Ok((program, version))
    }

    /// Every backup in the directory, newest first.
    pub fn backups(&self) -> Result<Vec<BackupManifest>, EngineError> {
        let dir = self.backup_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
                let manifest: BackupManifest = serde_json::from_str(&text).map_err(|e| {
                    fail(format!(
                        "{}: not a strata backup manifest ({e}); move the file out of the backup directory",
                        path.display()
                    ))
                })?;
                out.push(manifest);
            }
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    fn find_backup(&self, id: &str) -> Result<BackupManifest, EngineError> {
        self.backups()?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| {
                fail(format!(
                    "there is no backup `{id}` in {}; `strata backups` lists them",
                    self.backup_dir().display()
                ))
            })
    }

    /// Checks a backup: its file is there with the size and SHA-256 of its
    /// manifest, and the engine's own tool can read it.
    pub async fn verify_backup(&self, id: &str) -> Result<BackupCheck, EngineError> {
        let m = self.find_backup(id)?;
        let path = self.backup_dir().join(&m.file);
        let mut problems = Vec::new();
        match digest(&path) {
            Err(_) => problems.push(format!("{} is missing or unreadable", path.display())),
            Ok((size, sha)) => {
                if size != m.size {
                    problems.push(format!(
                        "size is {size} bytes, the manifest says {}",
                        m.size
                    ));
                }
                if sha != m.sha256 {
                    problems.push("SHA-256 does not match the manifest: the file changed since it was written".into());
                }
            }
        }
        if problems.is_empty() {
            match m.engine.as_str() {
                "sqlite" => {
                    if let Some(p) = strata_sqlite::integrity_problem(&path) {
                        problems.push(format!("SQLite integrity check: {p}"));
                    }
                }
                "postgres" => {
                    let pg_restore = newest_pg_program("pg_restore")
                        .await
                        .map_or_else(|| PathBuf::from("pg_restore"), |(p, _)| p);
                    let out = tokio::process::Command::new(pg_restore)
                        .arg("--list")
                        .arg(&path)
                        .stdout(Stdio::null())
                        .stderr(Stdio::piped())
                        .output()
                        .await;
                    match out {
                        Ok(o) if o.status.success() => {}
                        Ok(o) => problems.push(format!(
                            "pg_restore cannot read it: {}",
                            String::from_utf8_lossy(&o.stderr).trim()
                        )),
                        Err(e) => problems.push(format!("cannot run pg_restore to read it: {e}")),
                    }
                }
                _ => {
                    let text = std::fs::read(&path).unwrap_or_default();
                    let tail = String::from_utf8_lossy(&text[text.len().saturating_sub(200)..])
                        .into_owned();
                    if !tail.contains("Dump completed") {
                        problems.push("the dump does not end with mysqldump's `Dump completed` line: it was cut short".into());
                    }
                }
            }
        }
        Ok(BackupCheck {
            id: m.id,
            ok: problems.is_empty(),
            problems,
        })
    }

    /// Restores a backup into this environment's database, holding the
    /// migration lock (a run in progress is waited for, as `up` waits).
    /// The backup must be of the same engine and verify; a protected
    /// environment needs `approved` (--yes plus --approve ID, or a
    /// confirmation). With `backup = "before"` the current state is backed
    /// up first; that backup is returned second. `terminate`: as
    /// `--terminate-stale` for `up`.
    pub async fn restore(
        &self,
        id: &str,
        approved: bool,
        terminate: Option<bool>,
        reporter: &dyn Reporter,
    ) -> Result<(BackupManifest, Option<BackupManifest>), EngineError> {
        let m = self.find_backup(id)?;
        let database = self.database()?.clone();
        if self.env.protected && !approved {
            return Err(EngineError::Refused(format!(
                "environment `{}` is protected: restoring replaces its data; pass --yes --approve {id}, or confirm at a terminal",
                self.env_name.clone().unwrap_or_default()
            )));
        }
        if m.engine != database.engine() {
            return Err(fail(format!(
                "backup {id} is of a {} database and {} is {}",
                m.engine,
                database.display(),
                database.engine()
            )));
        }
        let check = self.verify_backup(id).await?;
        if !check.ok {
            return Err(fail(format!(
                "backup {id} does not verify, nothing was restored: {}",
                check.problems.join("; ")
            )));
        }
        let path = self.backup_dir().join(&m.file);
        let work = async {
            let session = self.locked(reporter, terminate).await?;
            let result = async {
                let before = if self.env.backup == Some(BackupWhen::Before) {
                    Some(
                        self.backup_sparing(&format!("before restore of {id}"), None, Some(id))
                            .await?,
                    )
                } else {
                    None
                };
                self.restore_file(&database, &path).await?;
                Ok((m, before))
            }
            .await;
            session.release(result).await
        };
        self.audited("restore", false, reporter, work).await
    }

    async fn restore_file(
        &self,
        database: &DatabaseTarget,
        path: &Path,
    ) -> Result<(), EngineError> {
        match database {
            DatabaseTarget::Sqlite { path: db, .. } => {
                strata_sqlite::restore_from(db, path).map_err(|e| fail(e.to_string()))
            }
            DatabaseTarget::Postgres { url } => {
                let (pg_restore, _) = self.pg_program("pg_restore").await?;
                let (url, password) = strata_driver::split_password(url);
                let mut cmd = tokio::process::Command::new(&pg_restore);
                cmd.args([
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    "--exit-on-error",
                    "--no-password",
                ])
                .arg(format!("--dbname={url}"))
                .arg(path);
                if let Some(p) = password {
                    cmd.env("PGPASSWORD", p);
                }
                run_checked(cmd, "pg_restore").await
            }
            DatabaseTarget::Mysql { url } => {
                let (args, password) = mysql_args(url)?;
                let client = program(&["mariadb", "mysql"])
                    .ok_or_else(|| fail("neither mysql nor mariadb (the client) is installed; install the MySQL or MariaDB client"))?;
                let file = std::fs::File::open(path)
                    .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
                let mut cmd = tokio::process::Command::new(&client);
                cmd.args(&args).stdin(Stdio::from(file));
                if let Some(p) = password {
                    cmd.env("MYSQL_PWD", p);
                }
                run_checked(cmd, "mysql").await
            }
        }
    }

    /// Retention: keeps the newest `keep` backups of the environment and
    /// none older than `keep_days` (never the one just made, nor `spare`).
    fn prune(&self, newest: &BackupManifest, spare: Option<&str>) -> Result<(), EngineError> {
        let cfg = &self.project.config.backup;
        if cfg.keep.is_none() && cfg.keep_days.is_none() {
            return Ok(());
        }
        let now = Timestamp::now().unix_millis();
        let same_env: Vec<BackupManifest> = self
            .backups()?
            .into_iter()
            .filter(|m| m.environment == newest.environment)
            .collect();
        for (index, m) in same_env.iter().enumerate() {
            if m.id == newest.id || spare == Some(m.id.as_str()) {
                continue;
            }
            let too_many = cfg.keep.is_some_and(|k| index >= k.max(1));
            let age_days = Timestamp::parse_rfc3339(&m.created_at)
                .map_or(0, |t| (now - t.unix_millis()) / 86_400_000);
            let too_old = cfg.keep_days.is_some_and(|d| age_days >= d as i64);
            if too_many || too_old {
                let dir = self.backup_dir();
                let _ = std::fs::remove_file(dir.join(&m.file));
                let _ = std::fs::remove_file(dir.join(format!("{}.json", m.id)));
            }
        }
        Ok(())
    }
}

fn mysql_args(url: &str) -> Result<(Vec<String>, Option<String>), EngineError> {
    let options = strata_mysql::ConnectOptions::parse(url).map_err(|e| fail(e.to_string()))?;
    Ok(options.client_args())
}

/// The newest build of a PostgreSQL program, by the version it reports:
/// Debian keeps one per major version in /usr/lib/postgresql/N/bin, and
/// PATH may hold another (a newer client can read and restore into every
/// older server, not the reverse). With its `--version` line.
async fn newest_pg_program(name: &str) -> Option<(PathBuf, String)> {
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

/// The first of `names` found on PATH.
fn program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

async fn tool_version(program: &Path) -> Option<String> {
    let out = tokio::process::Command::new(program)
        .arg("--version")
        .output()
        .await
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
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

/// Runs `cmd` with its standard output into a new 0600 file at `path`.
async fn run_into(
    cmd: tokio::process::Command,
    path: &Path,
    what: &str,
) -> Result<(), EngineError> {
    let file = create_private(path)?;
    run_to(cmd, Stdio::from(file), what).await
}

async fn run_checked(cmd: tokio::process::Command, what: &str) -> Result<(), EngineError> {
    run_to(cmd, Stdio::null(), what).await
}

/// Runs `cmd` with its standard output to `stdout`; a failure carries its
/// standard error (URLs in it redacted).
async fn run_to(
    mut cmd: tokio::process::Command,
    stdout: Stdio,
    what: &str,
) -> Result<(), EngineError> {
    let out = cmd
        .stdout(stdout)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(format!("cannot run {what}: {e}")))?
        .wait_with_output()
        .await
        .map_err(|e| fail(format!("{what} did not finish: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(fail(format!(
        "{what} failed ({}): {}",
        out.status,
        strata_driver::redact_url(stderr.trim())
    )))
}

fn create_private_dir(dir: &Path) -> Result<(), EngineError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| {
        fail(format!(
            "cannot create the backup directory {}: {e}",
            dir.display()
        ))
    })
}

fn create_private(path: &Path) -> Result<std::fs::File, EngineError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map_err(|e| fail(format!("cannot create {}: {e}", path.display())))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    use std::io::Write;
    create_private(path)?
        .write_all(bytes)
        .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))
}

/// Size and SHA-256 (hex) of a file.
fn digest(path: &Path) -> Result<(u64, String), EngineError> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, strata_model::hex(&hasher.finalize())))
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
