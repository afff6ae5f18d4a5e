use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// A migration version: one or more numeric parts, compared as numbers part
/// by part, so `10` sorts after `9` and `1.2.10` after `1.2.9`.
///
/// Leading zeros do not matter for comparison or equality (`007` == `7`), but
/// the text the user wrote is kept for display and for the history table.
#[derive(Debug, Clone)]
pub struct Version {
    raw: String,
    /// Each part with its leading zeros removed ("" for zero).
    parts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    #[error("version is empty")]
    Empty,
    #[error(
        "version `{0}` must be digits (a timestamp such as 20240101120000 or a number such as 42)"
    )]
    NotNumeric(String),
}

impl Version {
    /// Parses a native strata version: digits only.
    pub fn parse(raw: &str) -> Result<Self, VersionError> {
        Self::parse_with_separators(raw, &[])
    }

    /// Parses a version made of digit groups separated by any of
    /// `separators` (Flyway writes `1.2.10` or `1_2_10`).
    pub fn parse_with_separators(raw: &str, separators: &[char]) -> Result<Self, VersionError> {
        if raw.is_empty() {
            return Err(VersionError::Empty);
        }
        let mut parts = Vec::new();
        for part in raw.split(|c| separators.contains(&c)) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VersionError::NotNumeric(raw.to_string()));
            }
            parts.push(part.trim_start_matches('0').to_string());
        }
        Ok(Version {
            raw: raw.to_string(),
            parts,
        })
    }

    /// Parses a version written by any format strata reads (digit groups
    /// separated by `.`, `_` or `-`): for history rows and for versions the
    /// user types.
    pub fn parse_any(raw: &str) -> Result<Self, VersionError> {
        Self::parse_with_separators(raw, &['.', '_', '-'])
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

fn cmp_digits(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.parts.iter().zip(&other.parts) {
            match cmp_digits(a, b) {
                Ordering::Equal => {}
                unequal => return unequal,
            }
        }
        // `1.2` < `1.2.1`, but `1.2` == `1.2.0`.
        let rest = |p: &[String]| p.iter().any(|s| !s.is_empty());
        match self.parts.len().cmp(&other.parts.len()) {
            Ordering::Less if rest(&other.parts[self.parts.len()..]) => Ordering::Less,
            Ordering::Greater if rest(&self.parts[other.parts.len()..]) => Ordering::Greater,
            _ => Ordering::Equal,
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Consistent with Eq: trailing zero parts do not count.
        let significant = self
            .parts
            .iter()
            .rposition(|p| !p.is_empty())
            .map_or(0, |i| i + 1);
        self.parts[..significant].hash(state);
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn numbers_compare_as_numbers() {
        assert!(v("9") < v("10"));
        assert!(v("20240101000000") > v("999"));
        assert_eq!(v("007"), v("7"));
        assert_eq!(v("0"), v("000"));
    }

    #[test]
    fn multi_part_versions_compare_part_by_part() {
        let p = |s: &str| Version::parse_with_separators(s, &['.', '_']).unwrap();
        assert!(p("1.2.9") < p("1.2.10"));
        assert!(p("1_9") < p("1_10"));
        assert!(p("1.2") < p("1.2.1"));
        assert_eq!(p("1.2"), p("1.2.0"));
        assert!(p("2") > p("1.99"));
    }

    #[test]
    fn rejects_non_digits() {
        assert_eq!(Version::parse(""), Err(VersionError::Empty));
        assert!(matches!(
            Version::parse("12a"),
            Err(VersionError::NotNumeric(_))
        ));
        assert!(Version::parse_with_separators("1..2", &['.']).is_err());
    }

    #[test]
    fn display_keeps_what_the_user_wrote() {
        assert_eq!(v("0042").to_string(), "0042");
    }
}
