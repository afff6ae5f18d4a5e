//! The vocabulary every other strata crate speaks: migrations, versions,
//! checksums, history rows and timestamps.
//!
//! This crate does no I/O on purpose (its one helper beyond the types maps
//! work over the cores): discovery, planning and drivers all
//! exchange these types, so keeping them pure lets the planner stay a pure
//! function and lets tests build any scenario in memory.

mod checksum;
mod history;
mod migration;
mod parallel;
mod time;
mod version;

pub use checksum::{CHECKSUM_ALGORITHM, Checksum, hex, normalize_text, normalized};
pub use history::{
    ForeignWrite, HistoryRow, HistoryStatus, LogAction, LogEntry, Progress, ProgressTracker,
    TaskRun,
};
pub use migration::{Body, Migration, MigrationId, MigrationKind, TxMode, is_blank};
pub use parallel::parallel_map;
pub use time::Timestamp;
pub use version::{Lane, Version, VersionError};

/// The strata version written into every history row.
pub const STRATA_VERSION: &str = env!("CARGO_PKG_VERSION");
