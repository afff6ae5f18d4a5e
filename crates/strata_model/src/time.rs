use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A UTC instant with millisecond precision, the unit history rows use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    millis: i64,
}

impl Timestamp {
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    pub fn from_system_time(t: SystemTime) -> Self {
        let millis = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        };
        Timestamp { millis }
    }

    pub fn from_unix_millis(millis: i64) -> Self {
        Timestamp { millis }
    }

    pub fn unix_millis(self) -> i64 {
        self.millis
    }

    fn system_time(self) -> SystemTime {
        if self.millis >= 0 {
            UNIX_EPOCH + Duration::from_millis(self.millis as u64)
        } else {
            UNIX_EPOCH - Duration::from_millis(self.millis.unsigned_abs())
        }
    }

    /// RFC 3339 in UTC with milliseconds: `2024-01-01T12:00:00.000Z`.
    pub fn rfc3339(self) -> String {
        humantime::format_rfc3339_millis(self.system_time()).to_string()
    }

    /// Parses the RFC 3339 text that [`Timestamp::rfc3339`] writes.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        humantime::parse_rfc3339_weak(s)
            .ok()
            .map(Self::from_system_time)
    }

    /// `yyyymmddhhmmss` in UTC, the version `strata new` gives a file.
    pub fn compact(self) -> String {
        humantime::format_rfc3339_seconds(self.system_time())
            .to_string()
            .chars()
            .filter(char::is_ascii_digit)
            .collect()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let t = Timestamp::from_unix_millis(1_704_110_400_123);
        assert_eq!(t.rfc3339(), "2024-01-01T12:00:00.123Z");
        assert_eq!(t.compact(), "20240101120000");
        assert_eq!(Timestamp::parse_rfc3339(&t.rfc3339()), Some(t));
    }
}
