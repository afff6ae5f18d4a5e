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
use strata_model::Timestamp;
use strata_sql::EngineKind;

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
    /// How the file is encrypted, when it is (`[backup] encrypt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
}

/// A backup file encrypted with age.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Encryption {
    /// `age` (X25519 recipients).
    pub method: String,
    /// The public keys whose identities can decrypt it.
    pub recipients: Vec<String>,
}

/// What `strata backup verify` found.
#[derive(Debug, Serialize)]
pub struct BackupCheck {
    pub id: String,
    pub ok: bool,
    pub problems: Vec<String>,
}

/// What a check of an encrypted backup without a key says.
fn needs_identity(encryption: &Encryption) -> String {
    format!(
        "it is encrypted with age (for {}): pass --identity FILE (or set STRATA_BACKUP_IDENTITY) with one of their identities to check or restore it",
        encryption.recipients.join(", ")
    )
}

/// Writes `backup` into the new file `path`, encrypted for `recipients` as
/// it is written.
#[cfg(feature = "backup")]
async fn write_encrypted(
    backup: &dyn strata_driver::Backup,
    path: &Path,
    recipients: &[String],
) -> Result<String, String> {
    let mut sealed = crate::crypt::seal(path, recipients)?;
    let tool = backup.write_to(&mut sealed).await?;
    sealed.finish()?;
    Ok(tool)
}

#[cfg(not(feature = "backup"))]
async fn write_encrypted(
    _: &dyn strata_driver::Backup,
    _: &Path,
    _: &[String],
) -> Result<String, String> {
    Err("this build of strata was made without the `backup` feature".into())
}

/// The encrypted backup at `path`, decrypted with `identity` as it is read.
#[cfg(feature = "backup")]
fn decrypting(path: &Path, identity: &Path) -> Result<Box<dyn Read + Send>, String> {
    crate::crypt::open(path, identity)
}

#[cfg(not(feature = "backup"))]
fn decrypting(_: &Path, _: &Path) -> Result<Box<dyn Read + Send>, String> {
    Err("this build of strata was made without the `backup` feature".into())
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
        let backup = database.backup(&self.lock_table())?;
        let extension = backup.extension();
        let now = Timestamp::now();
        let mut id = format!("{stem}-{}", now.compact());
        let mut n = 1;
        while dir.join(format!("{id}.json")).exists() {
            n += 1;
            id = format!("{stem}-{}-{n}", now.compact());
        }
        let encrypt = self.project.config.backup.encrypt.as_ref();
        let file_name = match encrypt {
            Some(_) => format!("{id}.{extension}.age"),
            None => format!("{id}.{extension}"),
        };
        let path = dir.join(&file_name);
        let written = match encrypt {
            Some(e) => write_encrypted(backup.as_ref(), &path, &e.recipients).await,
            None => backup.write(&path).await,
        };
        let tool = match written {
            Ok(tool) => tool,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(fail(e));
            }
        };
        let (size, sha256) = digest(&path)?;
        let manifest = BackupManifest {
            id: id.clone(),
            environment: env,
            engine: database.engine().name().to_string(),
            database: database.display(),
            created_at: now.rfc3339(),
            reason: reason.to_string(),
            plan_hash: plan_hash.map(str::to_string),
            file: file_name,
            size,
            sha256,
            tool,
            encryption: encrypt.map(|e| Encryption {
                method: "age".into(),
                recipients: e.recipients.clone(),
            }),
        };
        let text = serde_json::to_string_pretty(&manifest).expect("a manifest serializes");
        write_private(&dir.join(format!("{id}.json")), text.as_bytes())?;
        self.prune(&manifest, spare)?;
        Ok(manifest)
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
    /// manifest, and the engine's own tool can read it (an encrypted one
    /// decrypted with `identity`, an age identity file, as it is read).
    pub async fn verify_backup(
        &self,
        id: &str,
        identity: Option<&Path>,
    ) -> Result<BackupCheck, EngineError> {
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
            match (EngineKind::parse(&m.engine), &m.encryption) {
                (None, _) => problems.push(format!(
                    "the manifest names engine `{}`, which strata does not know",
                    m.engine
                )),
                (Some(kind), None) => {
                    problems.extend(DatabaseTarget::check_backup(kind, &path).await)
                }
                (Some(kind), Some(encryption)) => match identity {
                    None => problems.push(needs_identity(encryption)),
                    Some(identity) => match decrypting(&path, identity) {
                        Ok(mut plain) => problems
                            .extend(DatabaseTarget::check_backup_from(kind, plain.as_mut()).await),
                        Err(e) => problems.push(e),
                    },
                },
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
        identity: Option<&Path>,
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
        if m.engine != database.engine().name() {
            return Err(fail(format!(
                "backup {id} is of a {} database and {} is {}",
                m.engine,
                database.display(),
                database.engine()
            )));
        }
        let check = self.verify_backup(id, identity).await?;
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
                let backup = database.backup(&self.lock_table())?;
                match (&m.encryption, identity) {
                    (Some(_), Some(identity)) => {
                        let mut plain = decrypting(&path, identity).map_err(fail)?;
                        backup.restore_from(plain.as_mut()).await
                    }
                    _ => backup.restore(&path).await,
                }
                .map_err(fail)?;
                Ok((m, before))
            }
            .await;
            session.release(result).await
        };
        self.audited("restore", false, reporter, work).await
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

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    use std::io::Write;
    strata_driver::backup::create_private(path)
        .map_err(fail)?
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
