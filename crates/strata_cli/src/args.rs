use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// strata: one migration tool for every database change a project makes.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// An empty setting (`STRATA_ENV=`, as a hook or script gets when
    /// there is no environment) counts as none.
    pub fn without_empty_settings(mut self) -> Cli {
        let g = &mut self.global;
        for value in [
            &mut g.env,
            &mut g.database_url,
            &mut g.database,
            &mut g.source,
        ] {
            if value.as_deref() == Some("") {
                *value = None;
            }
        }
        if g.config.as_deref() == Some(std::path::Path::new("")) {
            g.config = None;
        }
        self
    }
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The config file (default: strata.toml, searched upward).
    #[arg(long, global = true, value_name = "PATH", env = "STRATA_CONFIG")]
    pub config: Option<PathBuf>,
    /// The environment from strata.toml to work on.
    #[arg(long, global = true, value_name = "NAME", env = "STRATA_ENV")]
    pub env: Option<String>,
    /// The database, overriding the environment's url (DATABASE_URL, also from .env, is used when no environment has one).
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "STRATA_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Which of the environment's databases (`[env.NAME.databases]`); commands that read or apply run on each in turn without it.
    #[arg(long, global = true, value_name = "NAME", env = "STRATA_DATABASE_NAME")]
    pub database: Option<String>,
    /// Only this source.
    #[arg(long, global = true, value_name = "NAME", env = "STRATA_SOURCE")]
    pub source: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// More detail.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors and the summary.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// No colors (also off for NO_COLOR or when output is not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Log the run as JSON lines to PATH (over `[project] log_file`): every event with its time and level; -v adds each statement, -vv everything; rotated at log_max_size.
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// Write Prometheus metrics of the run to PATH at its end, atomically (over `[project] metrics_file`): for node_exporter's textfile collector.
    #[arg(long, global = true, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e}; write e.g. 30s, 5m"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// GitHub Actions workflow annotations on the file and line (`lint`, `validate`, `plan`, `up`).
    Github,
}

#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// Check a backup: size and SHA-256 against its manifest, and that the engine's tool can read it. Exit 1 if not.
    Verify {
        /// The backup's id (`strata backups`).
        id: String,
        /// The age identity file that decrypts an encrypted backup.
        #[arg(long, value_name = "FILE", env = "STRATA_BACKUP_IDENTITY")]
        identity: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SchemaAction {
    /// Print the database's schema as SQL that recreates it on an empty database: deterministic (the same schema prints the same bytes), one object per block, in an order that applies. `--format json` gives the model. strata's own tables and the configured tools' history tables are left out.
    Dump,
    /// What differs between two schemas, object by object (a changed table: its columns and constraints). Each side is `env:NAME`, a database URL, `migrations` (the project's migrations replayed on a scratch database), or a SQL file or directory (applied to a scratch database: a desired state). `--sql` prints the DDL from one to the other. Exit 1 when they differ.
    Diff {
        /// The schema to compare from.
        from: String,
        /// The schema to compare with.
        to: String,
        /// The server to make scratch databases on (default: `[project] scratch_url`, else the other side's server).
        #[arg(long, value_name = "URL")]
        scratch_url: Option<String>,
        /// Print the statements that turn FROM into TO instead, in an order that runs: destructive ones and those that cannot run in a transaction marked, renames not guessed (a note says where one may be meant).
        #[arg(long)]
        sql: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DownMode {
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LockModeArg {
    Native,
    Lease,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write strata.toml and a migrations directory.
    Init,
    /// Create a migration file with up, down and verify sections.
    New {
        /// What the migration does, e.g. create_users.
        name: String,
        /// A file holding the up SQL (`-` reads standard input).
        #[arg(long, value_name = "FILE")]
        up: Option<PathBuf>,
        /// `auto`: derive the down from the up (every statement must be mechanically reversible; the irreversible ones are named).
        #[arg(long, value_enum, value_name = "MODE", requires = "up")]
        down: Option<DownMode>,
    },
    /// Every migration, by source: version, description, down?, verify?, how it runs.
    List {
        /// Only this source (the same as --source).
        source: Option<String>,
    },
    /// Applied / pending / failed / drifted / missing, per migration.
    Status {
        /// Exit 1 if anything is pending or wrong.
        #[arg(long)]
        check: bool,
    },
    /// The exact steps `up` would run, and the plan hash.
    Plan(UpArgs),
    /// Apply pending migrations.
    Up {
        #[command(flatten)]
        up: UpArgs,
        #[command(flatten)]
        approval: Approval,
        #[command(flatten)]
        locking: Locking,
        /// Run the plan in a transaction and roll it all back: does it work on this data, which locks does it take?
        #[arg(long)]
        dry_run: bool,
        /// Run a migration an earlier run left half done (outside a transaction) from its first statement, instead of resuming after the last one that completed.
        #[arg(long)]
        restart: bool,
    },
    /// Revert migrations (default: the last batch).
    Down {
        #[command(flatten)]
        target: DownArgs,
        #[command(flatten)]
        approval: Approval,
        #[command(flatten)]
        locking: Locking,
        /// Run the reverts in a transaction and roll them back.
        #[arg(long)]
        dry_run: bool,
        /// With a MIGRATION: also revert the applied migrations that depend on it, newest first.
        #[arg(long, requires = "migration")]
        cascade: bool,
    },
    /// Revert and re-apply the last migration (or the one named, when nothing applied depends on it).
    Redo {
        /// `V`, `NAME`, `SOURCE/V` or `SOURCE/NAME` (default: the last applied).
        migration: Option<String>,
        #[command(flatten)]
        approval: Approval,
        #[command(flatten)]
        locking: Locking,
    },
    /// The full timeline: applied, failed, reverted, repaired, baselined.
    History {
        /// Only the last N entries.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Accept an edited file's checksum, or clear a failed attempt.
    Repair {
        /// `VERSION` or `SOURCE/VERSION` (default: everything that needs it).
        migration: Option<String>,
        /// The named migration's file was deleted on purpose: remove it from history (what it changed stays in the database; the log keeps the record).
        #[arg(long, requires = "migration", conflicts_with = "statement")]
        forget: bool,
        /// The named migration's statement N, in doubt after an interrupted run: say what you found with --done or --not-done; `strata up` then resumes after or at it.
        #[arg(long, value_name = "N", requires = "migration", requires = "finding")]
        statement: Option<usize>,
        /// With --statement: it completed (its effect is in the database).
        #[arg(long, group = "finding", requires = "statement")]
        done: bool,
        /// With --statement: it did not complete.
        #[arg(long, group = "finding", requires = "statement")]
        not_done: bool,
        #[command(flatten)]
        approval: Approval,
        #[command(flatten)]
        locking: Locking,
    },
    /// Record a source's migrations up to VERSION as applied without running them.
    Baseline {
        /// `SOURCE/VERSION`, or `VERSION` when one source has it.
        #[arg(value_name = "VERSION")]
        target: String,
        /// Also record the other sources' migrations ordered before it (listed, and approved, first).
        #[arg(long)]
        all_sources: bool,
        #[command(flatten)]
        approval: Approval,
        #[command(flatten)]
        locking: Locking,
    },
    /// Static checks, running nothing: files parse, versions are unique, requirements resolve; with --env or --database-url, also drift, missing files and out-of-order. Exit 1 on findings.
    Validate,
    /// Check migrations for risky statements: squawk's PostgreSQL rules and strata's own (destructive, non-transactional statements, missing or mismatched downs). Exit 1 on error-level findings.
    Lint {
        /// Files or directories of migrations (default: every migration; with --env, the pending ones).
        paths: Vec<PathBuf>,
        /// Explain a rule (what it catches, the lock, the safe way); without a name, list every rule.
        #[arg(long, value_name = "RULE", num_args = 0..=1, default_missing_value = "")]
        explain: Option<String>,
    },
    /// Back up the database now (pg_dump custom format, SQLite's backup API, mysqldump); `backup verify ID` checks one.
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        #[command(subcommand)]
        action: Option<BackupAction>,
    },
    /// List the backups: id, environment, time, size, reason.
    Backups,
    /// Whether the database's schema is what its applied migrations build: they are replayed on a scratch database (created beside it and dropped) and the two schemas compared. Exit 1 on drift.
    Drift {
        /// The server to make the scratch database on (default: `[project] scratch_url`, else the database's own server).
        #[arg(long, value_name = "URL")]
        scratch_url: Option<String>,
    },
    /// The database's schema: `schema dump` prints it as canonical SQL, `schema diff` compares two.
    Schema {
        #[command(subcommand)]
        action: SchemaAction,
    },
    /// Restore a backup into the database (replacing its data); a protected environment needs --yes and --approve ID or a confirmation.
    Restore {
        /// The backup's id (`strata backups`).
        id: String,
        /// The id again, to approve restoring into a protected environment without a terminal.
        #[arg(long, value_name = "ID")]
        approve: Option<String>,
        /// Accept restoring into a protected environment (still confirmed or approved).
        #[arg(long, short = 'y')]
        yes: bool,
        /// The age identity file that decrypts an encrypted backup.
        #[arg(long, value_name = "FILE", env = "STRATA_BACKUP_IDENTITY")]
        identity: Option<PathBuf>,
        #[command(flatten)]
        locking: Locking,
    },
    /// Squash a source's migrations up to VERSION into one baseline, proven first: the history and the baseline are built on scratch databases and compared object by object (and the tables data statements write, row by row); the old files move to `<source dir>_archive/`. A database that applied them all counts the baseline as applied.
    Squash {
        /// The last migration squashed.
        #[arg(long, value_name = "VERSION", required_unless_present = "undo")]
        to: Option<String>,
        /// The baseline's name.
        #[arg(long, default_value = "baseline")]
        name: String,
        /// Leave out the data statements that cannot be carried (listed) instead of refusing.
        #[arg(long)]
        drop_data: bool,
        /// Also compare with this environment's database, which must have applied exactly the squashed migrations (read only).
        #[arg(long, value_name = "ENV")]
        check_env: Option<String>,
        /// Bring back the files of the last squash (the history was never changed).
        #[arg(long, conflicts_with_all = ["to", "drop_data", "check_env"])]
        undo: bool,
        /// The server to make the scratch databases on (default: `[project] scratch_url`, else the database's own server).
        #[arg(long, value_name = "URL")]
        scratch_url: Option<String>,
    },
    /// Write a migration from a desired state: the migrations replayed on a scratch database are compared with it, and the difference written (with the reverse as its down) in the target source's format. Nothing to do: no file, exit 0.
    Generate {
        /// The migration's name (`add_orders_index`).
        name: String,
        /// The state to reach: a SQL file or directory of them, `env:NAME` (a database changed by hand), or a database URL.
        #[arg(long, value_name = "STATE")]
        from: String,
        /// The server to make the scratch database on (default: `[project] scratch_url`, else the database's own server).
        #[arg(long, value_name = "URL")]
        scratch_url: Option<String>,
    },
    /// Test every migration on a scratch database: up, down, up again, the schema compared after each (the down must undo the up); verify sections run after each up. Exit 1 on any failure.
    Test {
        /// Test from this migration on (`VERSION` or `SOURCE/VERSION`); those before it are applied untested.
        #[arg(long, value_name = "VERSION")]
        from: Option<String>,
        /// Test only the migrations the database (--env) has not applied, on top of those it has.
        #[arg(long, conflicts_with = "from")]
        only_pending: bool,
        /// A migration without a down passes (it fails by default).
        #[arg(long)]
        allow_irreversible: bool,
        /// Also write the results as a JUnit XML file, for CI systems.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// The server to make the scratch database on (default: `[project] scratch_url`, else the database's own server).
        #[arg(long, value_name = "URL")]
        scratch_url: Option<String>,
    },
    /// Print the completion script for a shell (bash, zsh, fish, powershell, elvish): `source <(strata completions bash)`; the README says where each shell keeps them.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print strata's manual page (`strata man | man -l -`), or write a page for every command to DIR (`strata.1`, `strata-up.1`, ...).
    Man {
        /// Write the pages here instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Check that applied migrations' changes are there (their verify sections); exit 1 if not.
    Verify {
        /// `VERSION` or `SOURCE/VERSION` (default: every applied migration with a verify section).
        migration: Option<String>,
    },
    /// Check what can stand in the way of a run: files, connection, privileges, the lock, failed or interrupted migrations, drift, missing files, pending work, INVALID indexes. Exit 1 if there is a problem.
    Doctor {
        /// Also check the data holds together (what `strata check` does).
        #[arg(long)]
        integrity: bool,
        #[command(flatten)]
        integrity_options: IntegrityArgs,
    },
    /// Check the data holds together, reading only: rows whose foreign key reference is missing (NOT VALID keys too), rows breaking a NOT VALID check, INVALID indexes, sequences behind their column, row-level security without a policy. Exit 1 on a violation.
    Check {
        #[command(flatten)]
        integrity_options: IntegrityArgs,
    },
    /// Record what another tool already applied (from its history table), running nothing.
    Adopt {
        /// supabase, prisma, drizzle, sqlx, golang-migrate, dbmate, goose or diesel.
        #[arg(long, value_name = "TOOL")]
        from: String,
        /// Show the lists without writing anything.
        #[arg(long, conflicts_with = "keep_foreign_history")]
        dry_run: bool,
        /// From now on, also write the tool's own history when strata applies or reverts (recorded in strata.toml).
        #[arg(long)]
        keep_foreign_history: bool,
        #[command(flatten)]
        locking: Locking,
    },
    /// The maintenance tasks (sources with kind = "task") and their last run here.
    Tasks,
    /// Run a maintenance task (`NAME` or `SOURCE/NAME`), recorded in history; arguments after `--` go to it. Exit 0 when it exits 0, 1 when a readonly task exits 1 (a check's findings), 2 otherwise.
    Run {
        /// The task: `NAME` or `SOURCE/NAME` (`strata tasks` lists them).
        task: String,
        /// Arguments for the task.
        #[arg(last = true)]
        args: Vec<String>,
        /// Approve running it where the environment requires approval (the hash its refusal shows: this task, as its file is now, with these arguments).
        #[arg(long, value_name = "HASH")]
        approve: Option<String>,
        /// Accept running it on a protected environment (still approved).
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        locking: Locking,
    },
    /// Drop everything in the schema and apply every migration again.
    Fresh {
        #[command(flatten)]
        approval: Approval,
        #[command(flatten)]
        locking: Locking,
    },
}

/// The migration lock: how to take it, how long to wait, what to do with
/// a stale holder (commands that take it).
#[derive(Debug, Args, Default)]
pub struct Locking {
    /// How long to wait for the migration lock, e.g. 60s or 5m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<Duration>,
    /// Take the migration lock as a lease row (for transaction-mode poolers).
    #[arg(long, value_enum)]
    pub lock_mode: Option<LockModeArg>,
    /// End the session holding the migration lock (a killed run's, which the server keeps running until its statement ends) after a typed confirmation, or with --yes; its statement is cancelled and rolled back.
    #[arg(long)]
    pub terminate_stale: bool,
}

/// What a policy may ask of a command that changes the database.
#[derive(Debug, Args, Default)]
pub struct Approval {
    /// Run only if the plan has this hash (shown by `strata plan`, a dry run, or the refusal that asked for it); it stands for a confirmation typed at a terminal.
    #[arg(long, value_name = "HASH")]
    pub approve: Option<String>,
    /// Accept changes to a protected environment (still confirmed or approved).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Run destructive statements on an environment with allow_destructive = false (still approved).
    #[arg(long)]
    pub allow_destructive: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Stop after this migration (`V`, `NAME`, `SOURCE/V` or `SOURCE/NAME`).
    #[arg(long, value_name = "MIGRATION")]
    pub to: Option<String>,
    /// Apply just this migration (refused while one it requires is not applied).
    #[arg(long, value_name = "MIGRATION", conflicts_with = "to")]
    pub only: Option<String>,
    /// Apply a pending migration below an already applied version.
    #[arg(long)]
    pub allow_out_of_order: bool,
    /// Go on when an applied migration's file is gone.
    #[arg(long)]
    pub ignore_missing: bool,
}

#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct DownArgs {
    /// Revert just this migration (`V`, `NAME`, `SOURCE/V` or `SOURCE/NAME`), refused while applied migrations depend on it.
    #[arg(value_name = "MIGRATION")]
    pub migration: Option<String>,
    /// Revert the last N migrations.
    #[arg(long, value_name = "N")]
    pub steps: Option<usize>,
    /// Revert everything applied after this version (`0`: everything).
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// Revert every applied migration (the same as --to 0).
    #[arg(long)]
    pub all: bool,
    /// Revert batch N.
    #[arg(long, value_name = "N")]
    pub batch: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every command a policy may refuse takes what its refusal asks for
    /// (`--yes`, `--approve HASH`, `--allow-destructive`), and options that
    /// mean nothing for a command are not offered by it.
    #[test]
    fn refusals_can_be_answered_and_options_fit_their_commands() {
        let asks = [
            "--yes",
            "--approve",
            "0123456789abcdef",
            "--allow-destructive",
            "--lock-timeout",
            "5s",
            "--terminate-stale",
        ];
        for command in [
            vec!["up"],
            vec!["down", "--all"],
            vec!["redo"],
            vec!["repair", "app/1"],
            vec!["baseline", "app/1", "--all-sources"],
            vec!["fresh"],
        ] {
            let mut line = vec!["strata"];
            line.extend(&command);
            line.extend(asks);
            assert!(Cli::try_parse_from(&line).is_ok(), "{line:?}");
        }
        assert!(
            Cli::try_parse_from(["strata", "restore", "b1", "--yes", "--approve", "b1"]).is_ok()
        );
        for meaningless in [
            ["status", "--yes"],
            ["list", "--allow-destructive"],
            ["init", "--lock-timeout"],
        ] {
            let mut line = vec!["strata"];
            line.extend(meaningless);
            assert!(Cli::try_parse_from(&line).is_err(), "{line:?}");
        }
    }
}

/// How `strata check` (and `doctor --integrity`) reads.
#[derive(Debug, Clone, Args)]
pub struct IntegrityArgs {
    /// Read about this percentage of each table's rows (PostgreSQL's TABLESAMPLE; a random filter on MySQL) instead of all of them.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub sample: Option<f64>,
    /// Each query gives up after this long; that check says so and the others go on.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    pub timeout: Duration,
}

impl IntegrityArgs {
    pub fn options(&self) -> strata_engine::IntegrityOptions {
        strata_engine::IntegrityOptions {
            sample_percent: self.sample,
            timeout: self.timeout,
        }
    }
}

fn parse_percent(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 100.0 => Ok(p),
        _ => Err("a percentage above 0 and at most 100, e.g. 1 or 0.5".into()),
    }
}
