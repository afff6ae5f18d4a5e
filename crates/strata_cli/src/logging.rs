//! The run log (`--log-file`, `[project] log_file`): every event of a run
//! as a JSON line with its time and level, through `tracing`, in a file
//! rotated by size. `-v` adds each statement sent, `-vv` everything any
//! library traces; `RUST_LOG` sets the filter itself, and also prints what
//! it lets through to standard error.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use strata_engine::LogSettings;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The log file, once a command knows it.
static SINK: Sink = Sink(Mutex::new(None));

struct Sink(Mutex<Option<Rotating>>);

/// Installs the subscriber: the log file's layer (writing nothing until
/// [`open`]), and standard error's when `RUST_LOG` is set.
pub fn install(verbose: u8) {
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    // strata's events; -v its statements; -vv everything any library
    // traces.
    let default = match verbose {
        0 => "strata=info",
        1 => "strata=debug",
        _ => "trace",
    };
    let rust_log = rust_log.filter(|spec| match EnvFilter::try_new(spec) {
        Ok(_) => true,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "warning: RUST_LOG={spec} is not a filter strata can use ({e}); it is ignored"
            );
            false
        }
    });
    let file_filter = EnvFilter::new(rust_log.as_deref().unwrap_or(default));
    let file = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(&SINK)
        .with_filter(file_filter);
    let stderr = rust_log.map(|spec| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_filter(EnvFilter::new(spec))
    });
    // A second install in one process (a program calling main_from twice)
    // keeps the first.
    let _ = tracing_subscriber::registry()
        .with(file)
        .with(stderr)
        .try_init();
}

/// Starts writing the log to `settings.path` (created 0600 when new), unless
/// a log is already open (`--log-file` before `[project] log_file`).
pub fn open(settings: &LogSettings) -> anyhow::Result<()> {
    let mut sink = SINK.0.lock().unwrap_or_else(|e| e.into_inner());
    if sink.is_none() {
        *sink = Some(Rotating::open(settings).map_err(|e| {
            anyhow::anyhow!(
                "cannot open the log file {}: {e}; nothing was run (fix its directory or permissions, or change --log-file or log_file)",
                settings.path.display()
            )
        })?);
    }
    Ok(())
}

impl MakeWriter<'_> for &'static Sink {
    type Writer = SinkWriter;

    fn make_writer(&self) -> Self::Writer {
        SinkWriter(self)
    }
}

/// Writes one formatted event (the layer writes each in one call).
pub struct SinkWriter(&'static Sink);

impl Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut sink = self.0.0.lock().unwrap_or_else(|e| e.into_inner());
        match sink.as_mut() {
            Some(file) => file.write_all(buf).map(|()| buf.len()),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A log file rotated by size: `run.log` becomes `run.log.1` (and `.1`
/// `.2` ...) before a write would take it past the limit; `keep` rotated
/// files are kept.
struct Rotating {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    keep: usize,
}

impl Rotating {
    fn open(settings: &LogSettings) -> std::io::Result<Rotating> {
        if let Some(dir) = settings.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = append(&settings.path)?;
        Ok(Rotating {
            size: file.metadata()?.len(),
            file,
            path: settings.path.clone(),
            max_size: settings.max_size,
            keep: settings.keep,
        })
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        // A rotation that cannot be done (a folder that became read-only)
        // does not lose the line: it goes on in the current file.
        if self.size > 0 && self.size + buf.len() as u64 > self.max_size {
            let _ = self.rotate();
        }
        self.file.write_all(buf)?;
        self.size += buf.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let numbered = |n: usize| {
            let mut name = self.path.clone().into_os_string();
            name.push(format!(".{n}"));
            PathBuf::from(name)
        };
        if self.keep == 0 {
            let _ = std::fs::remove_file(&self.path);
        } else {
            let _ = std::fs::remove_file(numbered(self.keep));
            for n in (1..self.keep).rev() {
                let from = numbered(n);
                if from.exists() {
                    std::fs::rename(&from, numbered(n + 1))?;
                }
            }
            std::fs::rename(&self.path, numbered(1))?;
        }
        self.file = append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

/// Opens `path` to append, readable by its owner only (a file that was
/// not is made so).
fn append(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if file.metadata()?.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
}
