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
    /// Where each part is in `raw`, its leading zeros left out (empty for
    /// zero); for a repeatable migration, its description. Spans, not
    /// strings: reading ten thousand versions allocates ten thousand times.
    parts: Parts,
    lane: Lane,
    /// A named migration's place in its source's order (`usize::MAX` until
    /// it is known: a history row whose file is gone).
    position: usize,
}

/// Byte ranges of `raw`: one inline (the usual case), or several.
#[derive(Debug, Clone)]
enum Parts {
    One([Span; 1]),
    Many(Box<[Span]>),
}

type Span = (u32, u32);

impl Parts {
    fn of(spans: Vec<Span>) -> Self {
        match spans[..] {
            [one] => Parts::One([one]),
            _ => Parts::Many(spans.into_boxed_slice()),
        }
    }

    fn spans(&self) -> &[Span] {
        match self {
            Parts::One(one) => one,
            Parts::Many(many) => many,
        }
    }

    /// The spans moved `by` bytes to the right (a prefix put before them).
    fn shifted(&self, by: u32) -> Self {
        Parts::of(
            self.spans()
                .iter()
                .map(|&(a, b)| (a + by, b + by))
                .collect(),
        )
    }
}

/// Which kind of migration a version names; lanes sort in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    /// An ordinary, numbered migration.
    Numbered,
    /// A Flyway baseline (`B<version>__`): sorts after the numbered
    /// migration of the same number, which it stands in for.
    Baseline,
    /// A migration without a number in its name (`create_stores_table`),
    /// placed by its source's order manifest; its name is its identity.
    Named,
    /// A repeatable migration (`R__<description>`): after every numbered
    /// one, ordered by description, re-run when it changes.
    Repeatable,
}

/// The history text of a baseline version: `B` and its number.
const BASELINE_PREFIX: &str = "B";
/// The history text of a repeatable version: `R__` and its description.
const REPEATABLE_PREFIX: &str = "R__";

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
        // The usual version is one number: a vector only for more.
        let (mut first, mut more, mut start): (Option<Span>, Vec<Span>, usize) =
            (None, Vec::new(), 0);
        for part in raw.split(|c| separators.contains(&c)) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VersionError::NotNumeric(raw.to_string()));
            }
            let end = start + part.len();
            let zeros = part.len() - part.trim_start_matches('0').len();
            let span = ((start + zeros) as u32, end as u32);
            match first {
                None => first = Some(span),
                Some(_) => more.push(span),
            }
            start = end + 1;
        }
        let parts = match first {
            Some(one) if more.is_empty() => Parts::One([one]),
            _ => Parts::of(first.into_iter().chain(more).collect()),
        };
        Ok(Version {
            raw: raw.to_string(),
            parts,
            lane: Lane::Numbered,
            position: 0,
        })
    }

    /// A named migration's identity: its name, at `position` in its
    /// source's order.
    pub fn named(name: &str, position: usize) -> Self {
        Version {
            raw: name.to_string(),
            parts: Parts::One([(0, name.len() as u32)]),
            lane: Lane::Named,
            position,
        }
    }

    /// A version as strata's history records it: any version
    /// [`Version::parse_any`] reads, else a migration's name (placed once
    /// matched with its file: [`Version::placed_as`]).
    pub fn parse_recorded(raw: &str) -> Result<Self, VersionError> {
        match Self::parse_any(raw) {
            Err(VersionError::NotNumeric(_)) => Ok(Version::named(raw, usize::MAX)),
            other => other,
        }
    }

    /// This version with the place `other` has, when both name the same
    /// named migration (a history row and its file).
    pub fn placed_as(&self, other: &Version) -> Option<Version> {
        (self.lane == Lane::Named && other.lane == Lane::Named && self.raw == other.raw)
            .then(|| other.clone())
    }

    /// Parses a version written by any format strata reads (digit groups
    /// separated by `.`, `_` or `-`, or a baseline or repeatable name as
    /// written in history): for history rows and for versions the user
    /// types.
    pub fn parse_any(raw: &str) -> Result<Self, VersionError> {
        if let Some(description) = raw.strip_prefix(REPEATABLE_PREFIX) {
            return Ok(Version::repeatable(description));
        }
        if let Some(number) = raw.strip_prefix(BASELINE_PREFIX) {
            return Version::baseline(number);
        }
        Self::parse_with_separators(raw, &['.', '_', '-'])
    }

    /// A Flyway baseline version (`B1.2` for `B1.2__name.sql`).
    pub fn baseline(number: &str) -> Result<Self, VersionError> {
        let mut v = Self::parse_with_separators(number, &['.', '_'])?;
        v.raw = format!("{BASELINE_PREFIX}{number}");
        v.parts = v.parts.shifted(BASELINE_PREFIX.len() as u32);
        v.lane = Lane::Baseline;
        Ok(v)
    }

    /// A repeatable migration's identity: its description.
    pub fn repeatable(description: &str) -> Self {
        let raw = format!("{REPEATABLE_PREFIX}{description}");
        Version {
            parts: Parts::One([(REPEATABLE_PREFIX.len() as u32, raw.len() as u32)]),
            raw,
            lane: Lane::Repeatable,
            position: 0,
        }
    }

    /// The parts joined by `.`, without leading zeros: `1_01` -> `1.1`.
    pub fn canonical(&self) -> String {
        self.significant()
            .iter()
            .map(|&span| match self.part(span) {
                "" => "0",
                part => part,
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    fn words(&self) -> impl Iterator<Item = &str> {
        self.parts.spans().iter().map(|&span| self.part(span))
    }

    fn part(&self, (a, b): Span) -> &str {
        &self.raw[a as usize..b as usize]
    }

    /// The parts up to the last that is not zero (`1.2.0` -> `1.2`); the
    /// first part is kept even when zero, as [`Version::canonical`] writes.
    fn significant(&self) -> &[Span] {
        let spans = self.parts.spans();
        let kept = spans.iter().rposition(|(a, b)| a != b).map_or(0, |i| i + 1);
        &spans[..kept.max(1).min(spans.len())]
    }

    /// Compares the numbers only, whatever the lanes (`B2` vs `2`: equal).
    pub fn number_cmp(&self, other: &Version) -> Ordering {
        compare_parts(self, other)
    }

    pub fn lane(&self) -> Lane {
        self.lane
    }

    /// A named version whose place is not known (a history row whose file
    /// is gone).
    pub fn is_unplaced(&self) -> bool {
        self.lane == Lane::Named && self.position == usize::MAX
    }

    /// Whether it runs once, in its source's order (a numbered or named
    /// migration), so that one below an applied one is out of order.
    pub fn is_sequential(&self) -> bool {
        matches!(self.lane, Lane::Numbered | Lane::Named)
    }

    /// Whether a baseline at `self` covers the numbered version `other`.
    pub fn covers(&self, other: &Version) -> bool {
        self.lane == Lane::Baseline
            && other.lane == Lane::Numbered
            && compare_parts(other, self) != Ordering::Greater
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
        let numbered = |l: Lane| matches!(l, Lane::Numbered | Lane::Baseline);
        if !numbered(self.lane) || !numbered(other.lane) {
            return (self.lane, self.position)
                .cmp(&(other.lane, other.position))
                .then_with(|| self.words().cmp(other.words()));
        }
        compare_parts(self, other).then(self.lane.cmp(&other.lane))
    }
}

/// Numbered parts compared as numbers, part by part; trailing zero parts
/// do not count (`1.2` == `1.2.0`).
fn compare_parts(this: &Version, that: &Version) -> Ordering {
    let (these, those) = (this.parts.spans(), that.parts.spans());
    for (&a, &b) in these.iter().zip(those) {
        match cmp_digits(this.part(a), that.part(b)) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
    }
    // `1.2` < `1.2.1`, but `1.2` == `1.2.0`.
    let rest = |p: &[Span]| p.iter().any(|(a, b)| a != b);
    match these.len().cmp(&those.len()) {
        Ordering::Less if rest(&those[these.len()..]) => Ordering::Less,
        Ordering::Greater if rest(&these[those.len()..]) => Ordering::Greater,
        _ => Ordering::Equal,
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
        self.lane.hash(state);
        self.position.hash(state);
        // Consistent with Eq: trailing zero parts do not count.
        for &span in self.significant() {
            self.part(span).hash(state);
        }
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
    fn lanes_sort_numbered_then_baseline_then_repeatable() {
        let any = |s: &str| Version::parse_any(s).unwrap();
        let b2 = Version::baseline("2").unwrap();
        assert!(any("2") < b2 && b2 < any("3"));
        assert!(any("99999") < Version::repeatable("views"));
        assert!(Version::repeatable("a") < Version::repeatable("b"));
        assert_eq!(any("R__views"), Version::repeatable("views"));
        assert_eq!(any("B2"), b2);
        assert_eq!(b2.to_string(), "B2");
        assert!(b2.covers(&any("1")) && b2.covers(&any("2")) && !b2.covers(&any("3")));
        assert_ne!(any("2"), b2);
    }

    #[test]
    fn named_versions_sort_by_their_place_and_match_by_name() {
        let stores = Version::named("create_stores_table", 0);
        let users = Version::named("add_users", 1);
        assert!(stores < users, "the order manifest, not the alphabet");
        assert!(Version::parse_any("99999").unwrap() < stores);
        assert!(users < Version::repeatable("views"));
        let recorded = Version::parse_recorded("create_stores_table").unwrap();
        assert_ne!(recorded, stores, "unplaced until matched");
        assert_eq!(recorded.placed_as(&stores), Some(stores.clone()));
        assert_eq!(recorded.placed_as(&users), None);
        assert_eq!(
            Version::parse_recorded("0042").unwrap(),
            Version::parse("42").unwrap()
        );
        assert_eq!(stores.to_string(), "create_stores_table");
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
