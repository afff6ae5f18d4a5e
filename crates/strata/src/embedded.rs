//! A migrations folder included at compile time, and the private copy of
//! it a run reads.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use strata_engine::EngineError;

/// A migrations folder included in the program by [`embed!`](crate::embed).
#[derive(Debug, Clone, Copy)]
pub struct Embedded {
    config: Option<&'static str>,
    dir: &'static str,
    files: &'static [(&'static str, &'static [u8], &'static str)],
}

/// One file of an [`Embedded`] folder.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedFile {
    /// The path under the folder, with `/` between its parts.
    pub path: &'static str,
    /// The file's bytes as they were when the program was compiled.
    pub contents: &'static [u8],
    /// The SHA-256 of `contents`, in hex, computed when the program was
    /// compiled.
    pub sha256: &'static str,
}

type Parts = (
    Option<&'static str>,
    &'static str,
    &'static [(&'static str, &'static [u8], &'static str)],
);

impl Embedded {
    #[doc(hidden)]
    pub const fn __from_parts((config, dir, files): Parts) -> Self {
        Embedded { config, dir, files }
    }

    /// The folder's files, in path order.
    ///
    /// ```
    /// let embedded = strata::embed!("tests/migrations");
    /// let first = embedded.files().next().unwrap();
    /// assert_eq!(first.path, "20240101000000_users.sql");
    /// assert_eq!(first.sha256.len(), 64);
    /// ```
    pub fn files(&self) -> impl Iterator<Item = EmbeddedFile> + '_ {
        self.files
            .iter()
            .map(|&(path, contents, sha256)| EmbeddedFile {
                path,
                contents,
                sha256,
            })
    }

    /// The project's `strata.toml` as it was compiled in, if it had one.
    ///
    /// ```
    /// // This crate's test folder has no strata.toml above it.
    /// assert!(strata::embed!("tests/migrations").config().is_none());
    /// ```
    pub fn config(&self) -> Option<&'static str> {
        self.config
    }

    /// Writes the project to a private folder (readable by this user only,
    /// removed when the copy is dropped): `strata.toml` at its root and the
    /// migrations at their place under it, or, without a `strata.toml`,
    /// the migrations in `migrations/`, as `strata` reads a project with no
    /// configuration.
    pub(crate) fn write_out(&self) -> Result<Workdir, EngineError> {
        let mut work = Workdir::new()?;
        work.dir = match self.config {
            Some(config) => {
                let file = work.root.join("strata.toml");
                write(&file, config.as_bytes())?;
                work.config = Some(file);
                work.root.join(self.dir)
            }
            None => work.root.join("migrations"),
        };
        for file in self.files() {
            write(&work.dir.join(file.path), file.contents)?;
        }
        Ok(work)
    }
}

/// A private copy of an embedded project, removed when dropped.
pub(crate) struct Workdir {
    pub(crate) root: PathBuf,
    /// The migrations folder in it.
    pub(crate) dir: PathBuf,
    /// Its `strata.toml`, when the project has one.
    pub(crate) config: Option<PathBuf>,
}

impl Workdir {
    fn new() -> Result<Workdir, EngineError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        // A name nobody can take first: a folder already there (another
        // user's, a crashed run's) is never used, another name is tried.
        let mut tries = 0;
        loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let root = std::env::temp_dir().join(format!(
                "strata-embedded-{}-{}-{nanos:08x}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            match builder.create(&root) {
                Ok(()) => {
                    return Ok(Workdir {
                        dir: root.clone(),
                        root,
                        config: None,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 16 => tries += 1,
                Err(source) => {
                    return Err(EngineError::Io {
                        what: format!(
                            "create the embedded migrations' folder {} (set TMPDIR to a writable folder)",
                            root.display()
                        ),
                        source,
                    });
                }
            }
        }
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn write(path: &Path, contents: &[u8]) -> Result<(), EngineError> {
    let io = |source| EngineError::Io {
        what: format!("write {}", path.display()),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, contents).map_err(io)
}
