//! Notifications: `[[notify]]` entries are told when a run starts, succeeds
//! or fails: a webhook gets a Slack-compatible JSON body (`text`, plus the
//! details under `strata`), an email address a plain-text message through
//! SMTP. Each has a timeout and retries; a notification that cannot be
//! delivered is a warning, never a failed migration.

use crate::config::NotifyOn;
use crate::events::{Event, Reporter};
use crate::{Engine, Report};
use std::time::Duration;

/// What happened, for the message.
pub(crate) struct Notice<'a> {
    pub on: NotifyOn,
    pub command: &'a str,
    pub plan_hash: &'a str,
    pub steps: usize,
    /// Dry runs notify no one.
    pub dry_run: bool,
    pub report: Option<&'a Report>,
    pub error: Option<String>,
}

/// A webhook or a mailbox, ready to send to.
#[derive(Clone)]
struct Target {
    url: String,
    /// For an email: sender and recipients (checked when the config loaded).
    email: Option<(String, Vec<String>)>,
    timeout: Duration,
    retries: u32,
}

/// One notice, written for each kind of target.
struct Message {
    subject: String,
    text: String,
    json: String,
}

impl Engine {
    /// The targets that want `on` in this environment; one whose URL cannot
    /// be expanded is the reason it cannot be told.
    fn targets(&self, on: NotifyOn) -> Vec<Result<Target, String>> {
        let env = self.env_name.as_deref().unwrap_or("");
        self.project
            .config
            .notify
            .iter()
            .filter(|w| w.on.contains(&on))
            .filter(|w| w.environments.is_empty() || w.environments.iter().any(|e| e == env))
            .map(|w| {
                let url = self
                    .project
                    .expand(&w.url, "notify url")
                    .map_err(|e| format!("could not notify {}: {e}", shown(&w.url)))?;
                Ok(Target {
                    url,
                    email: w
                        .from
                        .clone()
                        .filter(|_| !w.to.is_empty())
                        .map(|f| (f, w.to.clone())),
                    timeout: w.timeout.unwrap_or(Duration::from_secs(5)),
                    retries: w.retries,
                })
            })
            .collect()
    }

    /// Sends `notice` to every target that wants it; returns the
    /// deliveries, to be awaited with [`delivered`].
    pub(crate) fn notify(
        &self,
        notice: &Notice<'_>,
    ) -> Vec<tokio::task::JoinHandle<Result<(), String>>> {
        let targets = self.targets(notice.on);
        if targets.is_empty() || notice.dry_run {
            return Vec::new();
        }
        let message = std::sync::Arc::new(self.message(notice));
        targets
            .into_iter()
            .map(|t| {
                let message = message.clone();
                tokio::task::spawn_blocking(move || {
                    let t = t?;
                    match &t.email {
                        Some((from, to)) => mail(&t, from, to, &message),
                        None => post(&t, &message.json),
                    }
                })
            })
            .collect()
    }

    fn message(&self, n: &Notice<'_>) -> Message {
        let env = self.env_name.clone();
        let place = match &env {
            Some(e) => format!("{e} ({})", self.database_display()),
            None => self.database_display(),
        };
        let (applied, reverted) = n.report.map_or((0, 0), |r| (r.applied, r.reverted));
        let text = match n.on {
            NotifyOn::Start => format!(
                "strata {} started on {place}: {} step(s), plan {}",
                n.command, n.steps, n.plan_hash
            ),
            NotifyOn::Success => format!(
                "strata {} succeeded on {place}: {applied} applied, {reverted} reverted in {} ms (plan {})",
                n.command,
                n.report.map_or(0, |r| r.duration_ms),
                n.plan_hash
            ),
            NotifyOn::Failure => format!(
                "strata {} FAILED on {place}{}: {}",
                n.command,
                if n.plan_hash.is_empty() {
                    String::new()
                } else {
                    format!(" (plan {})", n.plan_hash)
                },
                n.error.as_deref().unwrap_or("unknown error")
            ),
        };
        let details = serde_json::json!({
            "event": n.on.as_str(),
            "command": n.command,
            "environment": env,
            "database": self.database_display(),
            "plan_hash": n.plan_hash,
            "steps": n.steps,
            "applied": applied,
            "reverted": reverted,
            "failed": n.report.map_or(0, |r| r.failed),
            "error": n.error,
        });
        let outcome = match n.on {
            NotifyOn::Start => "started",
            NotifyOn::Success => "succeeded",
            NotifyOn::Failure => "FAILED",
        };
        let mut mail_text = format!("{text}\n\n");
        for (key, value) in details.as_object().into_iter().flatten() {
            if !value.is_null() {
                let value = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_string);
                mail_text.push_str(&format!("{key}: {value}\n"));
            }
        }
        Message {
            subject: format!("strata {} {outcome} on {place}", n.command),
            json: serde_json::json!({ "text": text, "strata": details }).to_string(),
            text: mail_text,
        }
    }
}

/// Waits for deliveries; each one that failed is a warning.
pub(crate) async fn delivered(
    sends: Vec<tokio::task::JoinHandle<Result<(), String>>>,
    reporter: &dyn Reporter,
) {
    for send in sends {
        let outcome = send.await.unwrap_or_else(|e| Err(e.to_string()));
        if let Err(message) = outcome {
            reporter.event(&Event::Warning { message });
        }
    }
}

/// Sends `message` as an email through the target's SMTP server, retrying
/// after a failure.
fn mail(t: &Target, from: &str, to: &[String], message: &Message) -> Result<(), String> {
    use lettre::Transport;
    let failed = |why: String| {
        format!(
            "could not email {} through {}: {why} (the migration's result is not affected)",
            to.join(", "),
            shown(&t.url),
        )
    };
    let mailbox = |address: &str| {
        address
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| failed(format!("`{address}`: {e}")))
    };
    let mut email = lettre::Message::builder()
        .from(mailbox(from)?)
        .subject(&message.subject);
    for address in to {
        email = email.to(mailbox(address)?);
    }
    let email = email
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(message.text.clone())
        .map_err(|e| failed(e.to_string()))?;
    let mailer = lettre::SmtpTransport::from_url(&t.url)
        .map_err(|e| failed(format!("not an SMTP URL ({e})")))?
        .hello_name(lettre::transport::smtp::extension::ClientId::Domain(
            strata_driver::host_name(),
        ))
        .timeout(Some(t.timeout))
        .build();
    let mut last = String::new();
    for attempt in 0..=t.retries {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500 * u64::from(attempt)));
        }
        match mailer.send(&email) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(failed(format!("{last} ({} attempt(s))", t.retries + 1)))
}

/// POSTs `body`, retrying after a failure or a non-2xx answer.
fn post(t: &Target, body: &str) -> Result<(), String> {
    let agent = ureq::AgentBuilder::new().timeout(t.timeout).build();
    let mut last = String::new();
    for attempt in 0..=t.retries {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500 * u64::from(attempt)));
        }
        match agent
            .post(&t.url)
            .set("Content-Type", "application/json")
            .send_string(body)
        {
            Ok(_) => return Ok(()),
            Err(ureq::Error::Status(code, _)) => last = format!("it answered HTTP {code}"),
            Err(e) => last = e.kind().to_string(),
        }
    }
    Err(format!(
        "could not notify the webhook at {} after {} attempt(s): {last} (the migration's result is not affected)",
        shown(&t.url),
        t.retries + 1
    ))
}

/// A URL without its credentials, path and query, which often hold the
/// secret.
pub(crate) fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?']).next().unwrap_or(rest);
            let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
            format!("{scheme}://{host}/…")
        }
        None => "(not a URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn webhook_urls_are_shown_without_their_secret() {
        assert_eq!(
            super::shown("https://hooks.slack.com/services/T0/B0/XYZ"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            super::shown("http://u:p@127.0.0.1:9/x?token=1"),
            "http://127.0.0.1:9/…"
        );
    }
}
