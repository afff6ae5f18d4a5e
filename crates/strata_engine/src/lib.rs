//! The strata library: load a project (or build one in code), then `status`,
//! `plan`, `up`, `down` and the rest, with the same types the CLI uses.
//!
//! ```no_run
//! # async fn demo() -> Result<(), strata_engine::EngineError> {
//! use strata_engine::{Engine, LoadOptions, Request, Silent};
//! let engine = Engine::load(&LoadOptions {
//!     database_url: Some("sqlite://app.db".into()),
//!     ..LoadOptions::default()
//! })?;
//! let report = engine.run(&Request::up(), &Silent).await?;
//! println!("applied {}", report.applied);
//! # Ok(()) }
//! ```

// Layers, each using only those below it (docs/architecture.md):
// types: error, report, config, events, target
mod config;
mod error;
mod events;
mod report;
mod target;
mod trace;
// services that take data, not the engine
mod audit;
#[cfg(feature = "backup")]
mod crypt;
mod hooks;
mod in_doubt;
mod notify;
mod script;
// the engine: a project bound to a database, and its lock
mod engine;
mod files;
mod from_env;
mod lock;
// commands, each adding its methods to the engine
mod adopt;
mod backup;
mod databases;
pub mod doctor;
mod exec;
mod integrity;
mod lint;
mod rehearse;
mod roles;
mod schema;
mod scratch;
mod squash;
mod squash_sql;
mod squashed;
mod tasks;
mod validate;
mod verify;

pub use adopt::{AdoptReport, Tool, tool, tool_names};
pub use backup::{BackupCheck, BackupManifest, Encryption};
pub use config::{
    CONFIG_FILE, Config, EnvConfig, InitialDatabase, LOG_KEEP, LOG_MAX_SIZE, LogSettings,
    NewSource, Project, SourceConfig, initial_config, initial_database,
};
pub use engine::{Engine, LoadOptions};
pub use error::{EngineError, ErrorKind};
pub use events::{Event, Reporter, Silent, StepInfo};
pub use from_env::{ENV_VARIABLES, PROJECT_VARIABLES};
pub use integrity::{IntegrityCheck, IntegrityOptions, Severity};
pub use lint::LintReport;
pub use rehearse::{DownKind, Outcome, TestOptions, TestReport, Tested};
pub use report::{Report, Request, RequestKind};
pub use scratch::{Replay, remove_scratch_databases, stopping};
pub use script::interrupt_scripts;
pub use squash::{ProofRow, SquashOptions, SquashRecord, SquashReport};
pub use squash_sql::Carried;
pub use strata_discover::{
    Bodies, Diagnostic, DiscoverError, Found, NewMigration, ORDER_FILE, Scaffold, Scan, SourceSpec,
    Task, format, scan, task_scaffold, unversioned,
};
pub use strata_driver::LockHolder;
pub use strata_lint::{Finding as LintFinding, Level as LintLevel, RuleInfo};
pub use strata_plan::{DownTarget, MigrationState, RepairOptions, UpOptions};
pub use target::DatabaseTarget;
pub use tasks::{TaskInfo, TaskReport, TaskRequest};
pub use trace::{Traced, hide_secrets, trace};
pub use validate::Finding;
pub use verify::Verified;
