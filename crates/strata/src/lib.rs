//! Database migrations run from your program, with the engine of the
//! `strata` command: the same history table, lock, checksums, refusal of
//! changed files, transaction handling and events. A database migrated by
//! your program and one migrated by `strata up` from the same files are
//! interchangeable.
//!
//! The default build links no database client: turn on the engines you use
//! (`postgres`, `sqlite`, `mysql`), and `notify` or `backup` when your
//! `strata.toml` configures notifications or backups.
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // The migrations folder is read when the program is compiled.
//! let migrator = strata::Migrator::new(strata::embed!("tests/migrations"));
//! let mut conn = rusqlite::Connection::open_in_memory()?;
//! let report = migrator.run(&mut conn).await?;
//! assert_eq!(report.applied, 2);
//! // Run again: nothing is pending.
//! assert_eq!(migrator.run(&mut conn).await?.applied, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! A run needs a Tokio runtime. Cargo rebuilds a program when an embedded
//! file changes, but not when a file is added to the folder; a build
//! script saying `cargo:rerun-if-changed=migrations` makes it.

#![deny(missing_docs)]

mod embedded;
mod migrator;

pub use embedded::{Embedded, EmbeddedFile};
pub use migrator::{Connection, IntoConnection, Migrator};
pub use strata_driver::LockHolder;
pub use strata_engine::{
    EngineError as Error, ErrorKind, Event, Report, Reporter, Silent, StepInfo,
};
pub use strata_plan::Plan;

#[doc(hidden)]
pub use strata_macros::embed_files as __embed_files;

/// The `strata` command line, for a program that offers its commands
/// itself (feature `cli`).
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
///     if args.get(1).is_some_and(|a| a == "migrate") {
///         // `myapp migrate status` is `strata status`.
///         args.remove(1);
///         return strata::cli::main_from(args);
///     }
///     // ... the program's own work
///     std::process::ExitCode::SUCCESS
/// }
/// ```
#[cfg(feature = "cli")]
pub mod cli {
    pub use strata_cli::{main, main_from};
}

/// Includes a migrations folder in the program when it is compiled: every
/// file under it (hidden ones left out) with its SHA-256, and the project's
/// `strata.toml` (looked for from the folder upward) when there is one, so
/// the program reads the migrations the way `strata` reads them there
/// (source names, formats, history table). The path is taken from the
/// folder of the crate's `Cargo.toml`.
///
/// ```
/// let embedded = strata::embed!("tests/migrations");
/// assert_eq!(embedded.files().count(), 2);
/// ```
#[macro_export]
macro_rules! embed {
    ($dir:literal) => {
        $crate::Embedded::__from_parts($crate::__embed_files!($dir))
    };
}
