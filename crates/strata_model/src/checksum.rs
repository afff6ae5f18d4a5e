use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt;

/// Identifies how a checksum was computed; stored next to every checksum so
/// a future change of algorithm can recognise old rows instead of calling
/// them drifted.
pub const CHECKSUM_ALGORITHM: &str = "sha256-v1";

/// SHA-256 of a migration's up body after removing a leading BOM and turning
/// CRLF and CR into LF, so converting a file's line endings is not a change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checksum {
    /// Borrowed for strata's own ([`CHECKSUM_ALGORITHM`]): ten thousand
    /// rows need not each hold a copy of it.
    pub algorithm: Cow<'static, str>,
    pub hex: String,
}

/// Removes a leading byte-order mark and normalises line endings to LF.
pub fn normalize_text(text: &str) -> Cow<'_, str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

/// [`normalize_text`] of an owned text, without copying one that needs no
/// change.
pub fn normalized(raw: String) -> String {
    let kept = match normalize_text(&raw) {
        Cow::Owned(changed) => return changed,
        Cow::Borrowed(kept) => kept.len(),
    };
    if kept == raw.len() {
        raw
    } else {
        raw[raw.len() - kept..].to_string()
    }
}

impl Checksum {
    pub fn of_body(body: &str) -> Self {
        let digest = Sha256::digest(normalize_text(body).as_bytes());
        Checksum {
            algorithm: Cow::Borrowed(CHECKSUM_ALGORITHM),
            hex: hex(&digest),
        }
    }

    /// The algorithm named `name` (as a history row stores it).
    pub fn algorithm_named(name: &str) -> Cow<'static, str> {
        if name == CHECKSUM_ALGORITHM {
            Cow::Borrowed(CHECKSUM_ALGORITHM)
        } else {
            Cow::Owned(name.to_string())
        }
    }

    /// The first 12 hex digits, for human output.
    pub fn short(&self) -> &str {
        &self.hex[..self.hex.len().min(12)]
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex)
    }
}

/// Lowercase hexadecimal of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_and_bom_do_not_change_the_checksum() {
        let lf = Checksum::of_body("create table a (id int);\nselect 1;\n");
        assert_eq!(
            lf,
            Checksum::of_body("create table a (id int);\r\nselect 1;\r\n")
        );
        assert_eq!(
            lf,
            Checksum::of_body("create table a (id int);\rselect 1;\r")
        );
        assert_eq!(
            lf,
            Checksum::of_body("\u{feff}create table a (id int);\nselect 1;\n")
        );
        assert_ne!(
            lf,
            Checksum::of_body("create table a (id bigint);\nselect 1;\n")
        );
    }

    #[test]
    fn known_digest() {
        assert_eq!(
            Checksum::of_body("").hex,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Checksum::of_body("").algorithm, CHECKSUM_ALGORITHM);
    }
}
