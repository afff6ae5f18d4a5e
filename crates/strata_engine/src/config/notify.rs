//! Checking `[[notify]]` entries when the configuration is read.

use super::{NotifyConfig, Project};
use crate::EngineError;

impl Project {
    /// An email entry needs SMTP, `from` and `to`, each a real address; a
    /// webhook has neither.
    pub(super) fn validate_notify(
        &self,
        number: usize,
        n: &NotifyConfig,
    ) -> Result<(), EngineError> {
        let which = format!(
            "[[notify]] entry {number} ({})",
            strata_driver::redact_endpoint(&n.url)
        );
        if cfg!(not(feature = "notify")) {
            return Err(self.config_error(
                format!("{which}: this build of strata was made without notifications"),
                "add the `notify` feature to strata's features in Cargo.toml, or remove [[notify]]",
            ));
        }
        let scheme = n.url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        let smtp = matches!(scheme.as_deref(), Some("smtp" | "smtps"));
        if n.to.is_empty() {
            if smtp || n.from.is_some() {
                return Err(self.config_error(
                    format!("{which} is an email but has no `to`"),
                    "add to = [\"someone@example.com\"] and from = \"strata@example.com\"",
                ));
            }
            return Ok(());
        }
        if scheme.is_some() && !smtp {
            return Err(self.config_error(
                format!("{which} has `to`, but its URL is not an SMTP server"),
                "write url = \"smtps://user:${SMTP_PASSWORD}@smtp.example.com\" (or smtp://host:587?tls=required)",
            ));
        }
        let from = n.from.as_deref().ok_or_else(|| {
            self.config_error(
                format!("{which} has `to` but no `from`"),
                "add from = \"strata@example.com\"",
            )
        })?;
        for address in std::iter::once(from).chain(n.to.iter().map(String::as_str)) {
            check_address(address).map_err(|e| {
                self.config_error(
                    format!("{which}: `{address}` is not an email address ({e})"),
                    "write name@example.com or \"Name <name@example.com>\"",
                )
            })?;
        }
        Ok(())
    }
}

/// Whether an email can be sent to `address`.
#[cfg(feature = "notify")]
fn check_address(address: &str) -> Result<(), String> {
    address
        .parse::<lettre::message::Mailbox>()
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Without the `notify` feature, addresses are never checked: the
/// configuration is refused before.
#[cfg(not(feature = "notify"))]
fn check_address(_: &str) -> Result<(), String> {
    Ok(())
}
