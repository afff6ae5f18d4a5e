//! `--metrics-file`: a run's figures in Prometheus's text format, for
//! node_exporter's textfile collector. The file is replaced atomically at
//! the end of each run; samples of other environments (and databases) in
//! it are kept, so one file can serve every environment a machine runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use strata_engine::{Event, Reporter};
use strata_plan::Plan;

/// The families, in the order written: (name, type, help).
const FAMILIES: &[(&str, &str, &str)] = &[
    (
        "strata_run_success",
        "gauge",
        "Whether the last run succeeded (1) or failed (0).",
    ),
    (
        "strata_run_timestamp_seconds",
        "gauge",
        "When the last run ended, in Unix seconds.",
    ),
    (
        "strata_run_duration_seconds",
        "gauge",
        "How long the last run took, lock wait included.",
    ),
    (
        "strata_last_success_timestamp_seconds",
        "gauge",
        "When a run last succeeded, in Unix seconds.",
    ),
    (
        "strata_migrations_applied",
        "gauge",
        "Migrations the last run applied.",
    ),
    (
        "strata_migrations_reverted",
        "gauge",
        "Migrations the last run reverted.",
    ),
    (
        "strata_migrations_failed",
        "gauge",
        "Migrations that failed in the last run.",
    ),
    (
        "strata_migrations_recorded",
        "gauge",
        "Migrations the last run recorded without running them (baseline, repair).",
    ),
    (
        "strata_migration_duration_seconds",
        "gauge",
        "How long each migration of the last run took.",
    ),
    (
        "strata_pending_migrations",
        "gauge",
        "Migrations not applied after the last run (pending, failed or reverted).",
    ),
    (
        "strata_lock_wait_seconds",
        "gauge",
        "How long the last run waited for the migration lock.",
    ),
];

/// A reporter that keeps what the metrics need, and hands every event on.
pub struct Collector<'a> {
    inner: Box<dyn Reporter + 'a>,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    migrations: Vec<Timed>,
    lock_wait_ms: u64,
    /// Since when the run waits for the lock, while it has not got it (a
    /// run that gave up waiting has its wait counted too).
    waiting_since: Option<std::time::Instant>,
}

/// One migration the run applied, reverted or recorded, or that failed.
struct Timed {
    source: String,
    version: String,
    name: String,
    action: &'static str,
    seconds: f64,
    failed: bool,
}

impl Seen {
    /// How many of the run's migrations are `such`.
    fn count(&self, such: impl Fn(&Timed) -> bool) -> f64 {
        self.migrations.iter().filter(|m| such(m)).count() as f64
    }

    /// How long the run waited for the lock, in seconds.
    fn lock_wait(&self) -> f64 {
        match self.waiting_since {
            Some(since) => since.elapsed().as_secs_f64(),
            None => self.lock_wait_ms as f64 / 1000.0,
        }
    }
}

impl<'a> Collector<'a> {
    pub fn new(inner: Box<dyn Reporter + 'a>) -> Self {
        Collector {
            inner,
            seen: Mutex::default(),
        }
    }
}

impl Reporter for Collector<'_> {
    fn event(&self, event: &Event) {
        {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            match event {
                Event::LockWaiting { .. } => {
                    seen.waiting_since
                        .get_or_insert_with(std::time::Instant::now);
                }
                Event::LockAcquired { waited_ms } => {
                    seen.lock_wait_ms = *waited_ms;
                    seen.waiting_since = None;
                }
                Event::MigrationFinished {
                    step, duration_ms, ..
                }
                | Event::MigrationFailed {
                    step, duration_ms, ..
                } => seen.migrations.push(Timed {
                    source: step.source.clone(),
                    version: step.version.clone(),
                    name: step.name.clone(),
                    action: step.action.as_str(),
                    seconds: *duration_ms as f64 / 1000.0,
                    failed: matches!(event, Event::MigrationFailed { .. }),
                }),
                _ => {}
            }
        }
        self.inner.event(event);
    }

    fn confirm(&self, plan: &Plan, environment: &str) -> bool {
        self.inner.confirm(plan, environment)
    }
}

/// The run that just ended.
pub struct Outcome<'a> {
    pub environment: Option<&'a str>,
    pub database: Option<&'a str>,
    pub success: bool,
    pub duration: std::time::Duration,
    /// Pending migrations after it, when they could be counted.
    pub pending: Option<usize>,
}

/// Writes the metrics of `outcome` to `path`: a temporary file beside it,
/// renamed over it.
pub fn write(path: &Path, collector: &Collector<'_>, outcome: &Outcome<'_>) -> anyhow::Result<()> {
    let seen = collector.seen.lock().unwrap_or_else(|e| e.into_inner());
    let env = [
        ("environment", outcome.environment.unwrap_or("")),
        ("database", outcome.database.unwrap_or("main")),
    ];
    let mine = labels(&env);
    let previous = std::fs::read_to_string(path).unwrap_or_default();
    // Samples of other environments, and this one's last success when this
    // run failed.
    let mut kept: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in previous
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        let ours = line.contains(&mine[1..mine.len() - 1]);
        let carried = ours && !outcome.success && name == "strata_last_success_timestamp_seconds";
        if !ours || carried {
            kept.entry(name).or_default().push(line);
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut fresh: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut put = |name: &'static str, labels: String, value: f64| {
        fresh
            .entry(name)
            .or_default()
            .push(format!("{name}{labels} {value}"));
    };
    put(
        "strata_run_success",
        mine.clone(),
        f64::from(u8::from(outcome.success)),
    );
    put("strata_run_timestamp_seconds", mine.clone(), now.floor());
    put(
        "strata_run_duration_seconds",
        mine.clone(),
        outcome.duration.as_secs_f64(),
    );
    if outcome.success {
        put(
            "strata_last_success_timestamp_seconds",
            mine.clone(),
            now.floor(),
        );
    }
    put(
        "strata_migrations_applied",
        mine.clone(),
        seen.count(|m| !m.failed && m.action == "apply"),
    );
    put(
        "strata_migrations_reverted",
        mine.clone(),
        seen.count(|m| !m.failed && m.action == "revert"),
    );
    put(
        "strata_migrations_failed",
        mine.clone(),
        seen.count(|m| m.failed),
    );
    put(
        "strata_migrations_recorded",
        mine.clone(),
        seen.count(|m| !m.failed && !["apply", "revert"].contains(&m.action)),
    );
    for m in &seen.migrations {
        let mut all = env.to_vec();
        all.extend([
            ("source", m.source.as_str()),
            ("version", m.version.as_str()),
            ("name", m.name.as_str()),
            ("action", m.action),
        ]);
        put("strata_migration_duration_seconds", labels(&all), m.seconds);
    }
    if let Some(pending) = outcome.pending {
        put("strata_pending_migrations", mine.clone(), pending as f64);
    }
    put("strata_lock_wait_seconds", mine.clone(), seen.lock_wait());

    let mut text = String::new();
    for (name, kind, help) in FAMILIES {
        let others = kept.get(name).map_or(&[][..], Vec::as_slice);
        let ours = fresh.get(name).map_or(&[][..], Vec::as_slice);
        if others.is_empty() && ours.is_empty() {
            continue;
        }
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for line in others {
            text.push_str(line);
            text.push('\n');
        }
        for line in ours {
            text.push_str(line);
            text.push('\n');
        }
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot write the metrics file {}: {e}", path.display()))?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map_or("metrics".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    std::fs::write(&temp, text)
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            anyhow::anyhow!("cannot write the metrics file {}: {e}", path.display())
        })
}

/// `{a="x",b="y"}`, values escaped as the text format requires.
fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}
