//! GitHub Actions workflow commands (`--format github`): a finding or a
//! failure as `::error file=...,line=...,title=...::message`, which the
//! runner shows on the pull request's lines. Files are named from the
//! repository root (`GITHUB_WORKSPACE`, else the current directory), as
//! the runner expects.

use std::path::Path;
use strata_engine::EngineError;
use strata_plan::{PlanError, Problem};

/// One workflow command.
pub fn annotation(
    level: &str,
    file: Option<&str>,
    line: Option<usize>,
    title: &str,
    message: &str,
) -> String {
    let mut properties = Vec::new();
    if let Some(file) = file {
        properties.push(format!("file={}", escape_property(file)));
        if let Some(line) = line {
            properties.push(format!("line={line}"));
        }
    }
    properties.push(format!("title={}", escape_property(title)));
    format!(
        "::{level} {}::{}",
        properties.join(","),
        escape_data(message)
    )
}

/// `path` (absolute, or relative to the project at `root`) as the runner
/// names files: from the workspace when inside it.
pub fn workspace_path(root: &Path, path: &Path) -> String {
    let full = root.join(path);
    let base = std::env::var_os("GITHUB_WORKSPACE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::current_dir().ok());
    let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    match base {
        Some(base) => match real(&full).strip_prefix(real(&base)) {
            Ok(inside) => inside.display().to_string(),
            Err(_) => full.display().to_string(),
        },
        None => full.display().to_string(),
    }
}

/// The annotations of a failed `command`: one per file and line the error
/// names (a migration's failing statement, each malformed file, each
/// drifted or out-of-order migration), else one without a file.
pub fn error_annotations(root: &Path, command: &str, e: &EngineError) -> Vec<String> {
    let title = format!("strata {command}");
    let at = |path: &Path, line: Option<usize>, message: &str| {
        annotation(
            "error",
            Some(&workspace_path(root, path)),
            line,
            &title,
            message,
        )
    };
    match e {
        EngineError::MigrationFailed {
            location: Some(location),
            ..
        } => {
            if let Some((path, line)) = location.rsplit_once(':')
                && let Ok(line) = line.parse()
            {
                return vec![at(Path::new(path), Some(line), &e.to_string())];
            }
        }
        EngineError::Discover(strata_engine::DiscoverError::Invalid(diagnostics)) => {
            return diagnostics
                .iter()
                .map(|d| at(&d.path, d.line, &d.to_string()))
                .collect();
        }
        EngineError::Plan(PlanError::Blocked(problems)) => {
            return problems
                .iter()
                .map(|p| match p {
                    Problem::Drifted { path, .. } | Problem::OutOfOrder { path, .. } => {
                        at(path, None, &p.to_string())
                    }
                    Problem::Missing { .. } => {
                        annotation("error", None, None, &title, &p.to_string())
                    }
                })
                .collect();
        }
        _ => {}
    }
    vec![annotation("error", None, None, &title, &e.to_string())]
}

pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
