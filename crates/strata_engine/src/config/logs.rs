//! The run log's settings (`[project] log_file`, `log_max_size`,
//! `log_keep`).

use std::path::PathBuf;

/// Where and how the run log is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub path: PathBuf,
    /// Rotate before the file would grow past this many bytes.
    pub max_size: u64,
    /// Rotated files kept.
    pub keep: usize,
}

/// The default of `log_max_size`.
pub const LOG_MAX_SIZE: u64 = 10 * 1024 * 1024;
/// The default of `log_keep`.
pub const LOG_KEEP: usize = 5;
/// The most rotated log files kept (each rotation renames them all).
pub const LOG_KEEP_MAX: usize = 100;

/// A size as `log_max_size` writes it: a number of bytes, or a number with
/// B, KB, MB or GB (powers of 1024).
pub fn parse_size(value: &toml::Value) -> Result<u64, String> {
    let text = match value {
        toml::Value::Integer(n) if *n > 0 => return Ok(*n as u64),
        toml::Value::String(s) => s.trim().to_string(),
        other => return Err(format!("`{other}` is not a size")),
    };
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == ' ');
    let unit = text[digits.len()..].trim().to_ascii_uppercase();
    let factor = match unit.as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1024,
        "M" | "MB" | "MIB" => 1024 * 1024,
        "G" | "GB" | "GIB" => 1024 * 1024 * 1024,
        _ => return Err(format!("`{text}` has an unknown unit")),
    };
    match digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
    {
        Some(n) if n > 0 => Ok(n),
        _ => Err(format!("`{text}` is not a size strata can use")),
    }
}
